"""Rare replies while a socket initialises or the HTTP fallback streams: each a clear error."""

from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.faseeh.client import (
    FaseehClient,
    ProtocolError,
    ServiceTimeoutError,
    VoiceNotFoundError,
)
from simulator import FaseehSimulator, Fault, deterministic_pcm

from .conftest import client_tasks, collect, deltas_of, fake_client
from .fake_server import FakeConnection, FakeFaseeh

TEXT = "مرحبا بك."


async def never_speaks(conn: FakeConnection) -> None:
    """Read the text and close the socket cleanly without a word."""
    await conn.read_until_flush()
    await conn.ws.close()


async def silence(ws: web.WebSocketResponse) -> None:
    """Never answer initConnection (but read whatever the client sends)."""
    async for _ in ws:
        pass


async def close_at_once(ws: web.WebSocketResponse) -> None:
    """Close instead of answering initConnection."""
    await ws.close(code=4000)


async def binary_reply(ws: web.WebSocketResponse) -> None:
    """Answer initConnection with a binary frame."""
    await ws.send_bytes(b"\x00\x01")
    async for _ in ws:
        pass


async def audio_first(ws: web.WebSocketResponse) -> None:
    """Send audio before connectionInitialized."""
    await ws.send_json({"audio": "AAAA", "sampleRate": 24000, "isFinal": False})
    async for _ in ws:
        pass


@pytest.mark.parametrize(
    ("init_reply", "error", "match"),
    [
        (silence, ServiceTimeoutError, "connectionInitialized"),
        (binary_reply, ProtocolError, "binary"),
        (audio_first, ProtocolError, "before connectionInitialized"),
    ],
)
async def test_a_bad_answer_to_initconnection_is_a_clear_error(
    session: aiohttp.ClientSession,
    init_reply: Any,
    error: type[Exception],
    match: str,
) -> None:
    """No speech is attempted on a socket that did not initialise properly."""
    async with FakeFaseeh(never_speaks, init_reply=init_reply) as server:
        with pytest.raises(error, match=match):
            await collect(fake_client(session, server, connect=0.3), TEXT)
    assert not client_tasks()


async def test_a_socket_closed_instead_of_initialised_hands_the_text_to_http(
    session: aiohttp.ClientSession,
) -> None:
    """Its error frame may have been lost to a reset, so HTTP is asked and answers."""
    audio = deterministic_pcm(TEXT, 16000)
    async with FakeFaseeh(never_speaks, http_audio=audio, init_reply=close_at_once) as server:
        chunks = await collect(fake_client(session, server), TEXT)
    assert b"".join(chunk.pcm for chunk in chunks) == audio
    assert [body["text"] for body in server.http_bodies] == [TEXT]
    assert not client_tasks()


async def test_an_init_error_behind_which_text_was_sent_is_still_its_own_error(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """initConnection and the text go out back to back; a wrong voice is still VoiceNotFound."""
    faseeh_sim.config.fault = Fault.UNKNOWN_VOICE
    with pytest.raises(VoiceNotFoundError):
        await collect(client, deltas_of(["مرحبا بك. ", "كيف حالك؟"]))
    assert faseeh_sim.ws_sessions[-1].messages[0]["type"] == "initConnection"


async def test_a_stalled_http_fallback_is_a_timeout_not_short_audio(
    session: aiohttp.ClientSession,
) -> None:
    """The fallback stream obeys the idle timeout too: stalled audio is never complete."""
    audio = deterministic_pcm(TEXT, 16000)
    async with FakeFaseeh(never_speaks, http_audio=audio, http_stall_after=1000) as server:
        received: list[Any] = []
        with pytest.raises(ServiceTimeoutError, match="stopped sending audio"):
            await collect(fake_client(session, server), TEXT, sink=received)
    assert 0 < sum(len(chunk.pcm) for chunk in received) < len(audio)
    assert not client_tasks()


async def test_a_model_whose_price_is_unreadable_costs_nothing_rather_than_failing(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """A catalogue with a malformed cost still lists the model."""
    malformed: list[Any] = [
        {"model_id": "faseeh-v1-preview", "model_name": "Faseeh v1", "cost": "cheap"}
    ]
    faseeh_sim.config.models = malformed

    [model] = await client.list_models()

    assert (model.model_id, model.cost_per_character) == ("faseeh-v1-preview", 0.0)
