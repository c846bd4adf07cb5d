"""REST: voices, models and the key check the config flow uses."""

import asyncio
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.faseeh.client import (
    AuthenticationError,
    FaseehClient,
    Model,
    ProtocolError,
    ServiceTimeoutError,
    ServiceUnavailableError,
    Timeouts,
    Voice,
)
from simulator import DEFAULT_API_KEY, FaseehSimulator

from .conftest import FAST


async def test_list_voices(faseeh_sim: FaseehSimulator, client: FaseehClient) -> None:
    """Voices carry id, name, gender, dialects and type; cloned voices have nulls."""
    voices = await client.list_voices()
    assert len(voices) == 9
    by_id = {voice.voice_id: voice for voice in voices}
    assert by_id["ar-hijazi-female-1"] == Voice(
        "ar-hijazi-female-1", "Lama", "female", ("hijazi",), "premade"
    )
    assert by_id["ar-kuwaiti-male-1"].dialects == ("khaleeji", "kuwaiti")
    assert by_id["cl-my-voice-01"] == Voice("cl-my-voice-01", "My cloned voice", None, (), "cloned")
    [request] = faseeh_sim.http_requests
    assert (request.method, request.path, request.api_key) == (
        "GET",
        "/api/v1/voices",
        DEFAULT_API_KEY,
    )


async def test_list_models(faseeh_sim: FaseehSimulator, client: FaseehClient) -> None:
    """Models carry their cost per character."""
    assert await client.list_models() == [
        Model("faseeh-v1-preview", "Faseeh v1", 0.0001),
        Model("faseeh-mini-v1-preview", "Faseeh Mini", 0.00005),
    ]


async def test_lenient_catalogue_parsing(faseeh_sim: FaseehSimulator, client: FaseehClient) -> None:
    """Entries without an id are skipped; odd field types get safe defaults."""
    # Any JSON at all, as a changed or broken service might send it.
    voices: list[Any] = [
        {"voice_id": "v1", "name": None, "gender": 3, "dialect": "najdi", "type": None},
        {"name": "no id"},
        "not an object",
    ]
    models: list[Any] = [
        {"model_id": "m1", "model_name": "", "cost": "0.5"},
        {"model_id": "m2", "cost": None},
        {"id": "only-uuid"},
    ]
    faseeh_sim.config.voices = voices
    faseeh_sim.config.models = models
    assert await client.list_voices() == [Voice("v1", "v1", None, ("najdi",), None)]
    assert await client.list_models() == [Model("m1", "m1", 0.5), Model("m2", "m2", 0.0)]


async def test_validate_key(
    faseeh_sim: FaseehSimulator, session: aiohttp.ClientSession, client: FaseehClient
) -> None:
    """A good key passes; a wrong key is AuthenticationError with the service's message."""
    await client.validate_key()
    bad = FaseehClient(session, "wrong-key", faseeh_sim.url, timeouts=FAST)
    with pytest.raises(AuthenticationError) as caught:
        await bad.validate_key()
    assert caught.value.status == 401
    assert caught.value.error_code == "40101"
    assert caught.value.message == "Invalid or missing API key"


async def test_rest_fault(faseeh_sim: FaseehSimulator, client: FaseehClient) -> None:
    """invalid_key_handshake also rejects REST calls."""
    faseeh_sim.config.fault = "invalid_key_handshake"
    with pytest.raises(AuthenticationError):
        await client.list_voices()


async def test_nothing_listening(
    session: aiohttp.ClientSession, faseeh_sim: FaseehSimulator
) -> None:
    """An unreachable service is ServiceUnavailableError (cannot_connect for the flow)."""
    url = faseeh_sim.url
    await faseeh_sim.stop()
    client = FaseehClient(session, DEFAULT_API_KEY, url, timeouts=FAST)
    with pytest.raises(ServiceUnavailableError):
        await client.validate_key()


async def test_wrong_base_url(faseeh_sim: FaseehSimulator, session: aiohttp.ClientSession) -> None:
    """A base URL that serves no API (404) is ServiceUnavailableError, not a voice error."""
    client = FaseehClient(session, DEFAULT_API_KEY, faseeh_sim.url + "/nothing", timeouts=FAST)
    with pytest.raises(ServiceUnavailableError) as caught:
        await client.list_models()
    assert caught.value.status == 404


async def test_not_json(socket_enabled: None, session: aiohttp.ClientSession) -> None:
    """A 200 that is not a JSON list is ProtocolError; a slow answer is ServiceTimeoutError."""

    async def models(request: web.Request) -> web.Response:
        return web.Response(text="<html>")

    async def voices(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response([])

    async def objects(request: web.Request) -> web.Response:
        return web.json_response({"voices": 3})

    app = web.Application()
    app.router.add_get("/api/v1/models", models)
    app.router.add_get("/api/v1/voices", voices)
    app.router.add_get("/x/api/v1/voices", objects)
    runner = web.AppRunner(app, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    quick = Timeouts(connect=0.3, first_audio=0.3, idle=0.3, final_grace=0.1)
    try:
        client = FaseehClient(session, "k", url, timeouts=quick)
        with pytest.raises(ProtocolError):
            await client.list_models()
        with pytest.raises(ServiceTimeoutError):
            await client.list_voices()
        with pytest.raises(ProtocolError):
            await FaseehClient(session, "k", url + "/x", timeouts=quick).list_voices()
    finally:
        await runner.cleanup()


def test_repr_and_base_url(session: aiohttp.ClientSession) -> None:
    """The repr shows the base URL only."""
    client = FaseehClient(session, "SECRET", "https://api.faseeh.ai/")
    assert repr(client) == "FaseehClient(base_url='https://api.faseeh.ai')"
    assert client.base_url == "https://api.faseeh.ai"
