"""The simulated wallet: charged per completed generation at its model's price, never on failure."""

import aiohttp
import pytest

from simulator import Charge, FaseehSimulator

from .helpers import (
    GREETING,
    MODEL,
    collect,
    init_message,
    initialize,
    post_tts,
    text,
    tts_body,
    wait_for,
    ws_url,
)

SECOND_SENTENCE = "كيف حالك اليوم؟"


def price(sim: FaseehSimulator, model_id: str) -> float:
    """The catalogue's cost per character of a model."""
    return next(model["cost"] for model in sim.config.models if model["model_id"] == model_id)


async def test_each_completed_socket_generation_is_charged_its_characters(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """Two triggered sentences are two charges, each its own length at the model's price."""
    async with http.ws_connect(ws_url(sim)) as ws:
        await initialize(ws)
        await ws.send_json(text(GREETING, trigger=True))
        await ws.send_json(text(SECOND_SENTENCE, flush=True))
        await collect(ws, finals=2)

    await wait_for(lambda: len(sim.charges) == 2)
    assert sim.charges == [
        Charge("websocket", MODEL, len(GREETING), price(sim, MODEL)),
        Charge("websocket", MODEL, len(SECOND_SENTENCE), price(sim, MODEL)),
    ]


@pytest.mark.parametrize("streaming", [True, False])
async def test_a_rest_synthesis_is_charged_once_at_its_model_price(
    http: aiohttp.ClientSession, sim: FaseehSimulator, streaming: bool
) -> None:
    """A streamed or WAV synthesis charges the text at the price of the model in its path."""
    model = "faseeh-mini-v1-preview"
    status, _, _ = await post_tts(http, sim, tts_body(streaming=streaming), model=model)

    assert status == 200
    assert sim.charges == [Charge("http", model, len(GREETING), price(sim, model))]


@pytest.mark.parametrize("fault", ["wallet_empty", "rate_limit", "drop_mid_audio"])
async def test_a_failed_socket_generation_is_not_charged(
    http: aiohttp.ClientSession, sim: FaseehSimulator, fault: str
) -> None:
    """The service bills on success; a refused or broken generation costs nothing."""
    sim.config.fault = fault
    sim.config.fault_after_chunks = 1
    async with http.ws_connect(ws_url(sim)) as ws:
        await ws.send_json(init_message())
        await ws.send_json(text(GREETING, flush=True))
        await collect(ws)

    await wait_for(lambda: all(session.closed for session in sim.ws_sessions))
    assert sim.charges == []


@pytest.mark.parametrize("fault", ["wallet_empty", "rate_limit"])
async def test_a_refused_rest_synthesis_is_not_charged(
    http: aiohttp.ClientSession, sim: FaseehSimulator, fault: str
) -> None:
    """An error response costs nothing."""
    sim.config.fault = fault
    status, _, _ = await post_tts(http, sim, tts_body())

    assert status >= 400
    assert sim.charges == []
