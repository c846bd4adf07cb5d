"""The simulated REST API: catalogue, synthesis (streamed and WAV), errors and recording."""

import io
import json
import time
from typing import Any
import wave

import aiohttp
import pytest

from simulator import FaseehSimulator, HttpRequest, deterministic_pcm

from .helpers import GREETING, KEY, MODEL, post_tts, tts_body


async def _get(
    http: aiohttp.ClientSession, sim: FaseehSimulator, path: str, key: str | None = KEY
) -> tuple[int, Any]:
    """GET a REST path; returns status and JSON body."""
    headers = {} if key is None else {"x-api-key": key}
    async with http.get(f"{sim.url}/api/v1/{path}", headers=headers) as response:
        return response.status, await response.json()


async def test_voices(http: aiohttp.ClientSession, sim: FaseehSimulator) -> None:
    """GET /voices lists the default catalogue in the service's shape."""
    status, voices = await _get(http, sim, "voices")
    assert status == 200
    by_id = {voice["voice_id"]: voice for voice in voices}
    assert list(by_id) == [
        "ar-hijazi-female-1",
        "ar-hijazi-female-2",
        "ar-najdi-male-2",
        "ar-najdi-female-1",
        "ar-uae-male-1",
        "ar-egyptian-male-1",
        "ar-kuwaiti-male-1",
        "ar-fusha-female-1",
        "cl-my-voice-01",
    ]
    assert by_id["ar-kuwaiti-male-1"] == {
        "voice_id": "ar-kuwaiti-male-1",
        "name": "Yousef",
        "gender": "male",
        "dialect": ["khaleeji", "kuwaiti"],
        "type": "premade",
    }
    assert by_id["cl-my-voice-01"] == {
        "voice_id": "cl-my-voice-01",
        "name": "My cloned voice",
        "gender": None,
        "dialect": None,
        "type": "cloned",
    }
    assert {voice["type"] for voice in voices[:-1]} == {"premade"}


async def test_models(http: aiohttp.ClientSession, sim: FaseehSimulator) -> None:
    """GET /models lists both models with their cost per character."""
    status, models = await _get(http, sim, "models")
    assert status == 200
    assert [(m["model_id"], m["model_name"], m["cost"]) for m in models] == [
        ("faseeh-v1-preview", "Faseeh v1", 0.0001),
        ("faseeh-mini-v1-preview", "Faseeh Mini", 0.00005),
    ]
    assert all(set(m) == {"id", "model_id", "model_name", "cost", "description"} for m in models)


async def test_catalogue_can_be_replaced(http: aiohttp.ClientSession, sim: FaseehSimulator) -> None:
    """A test can give the simulator another account's catalogue."""
    sim.config.voices = sim.config.voices[:1]
    _, voices = await _get(http, sim, "voices")
    assert [voice["voice_id"] for voice in voices] == ["ar-hijazi-female-1"]
    status, _, _ = await post_tts(http, sim, tts_body(voice_id="ar-najdi-male-2"))
    assert status == 404


@pytest.mark.parametrize("path", ["voices", "models"])
@pytest.mark.parametrize("key", [None, "wrong"])
async def test_rest_auth(
    http: aiohttp.ClientSession, sim: FaseehSimulator, path: str, key: str | None
) -> None:
    """A missing or wrong x-api-key header is a 401 with errorCode as a string."""
    status, body = await _get(http, sim, path, key)
    assert status == 401
    assert body == {"errorCode": "40101", "errorMessage": "Invalid or missing API key"}


async def test_query_key_does_not_authenticate_rest(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """REST takes the key from the header only."""
    async with http.get(f"{sim.url}/api/v1/voices?x-api-key={KEY}") as response:
        assert response.status == 401


@pytest.mark.parametrize("sample_rate", [None, 8000, 16000, 48000])
async def test_streaming_synthesis(
    http: aiohttp.ClientSession, sim: FaseehSimulator, sample_rate: int | None
) -> None:
    """streaming:true returns raw PCM16 at the requested rate, the same deterministic audio."""
    rate = sample_rate or 24000
    status, headers, body = await post_tts(http, sim, tts_body(sample_rate=sample_rate))
    assert status == 200
    assert headers["Content-Type"] == f"audio/raw;codec=pcm16;rate={rate};channels=1"
    assert headers["Transfer-Encoding"] == "chunked"
    assert body == deterministic_pcm(GREETING, rate)


async def test_streaming_arrives_in_chunk_bytes_pieces(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """The body is written in chunk_bytes pieces, paced by realtime_factor."""
    sim.config.chunk_bytes = 1600
    sim.config.realtime_factor = 10
    started = time.monotonic()
    async with http.post(
        f"{sim.url}/api/v1/text-to-speech/{MODEL}",
        json=tts_body(text="x" * 20, sample_rate=8000),
        headers={"x-api-key": KEY},
    ) as response:
        pieces = [piece async for piece, _ in response.content.iter_chunks()]
    elapsed = time.monotonic() - started
    body = b"".join(pieces)
    assert body == deterministic_pcm("x" * 20, 8000)
    assert len(pieces) >= 2
    # Ten 100 ms chunks at 10x real time: nine pauses of 10 ms.
    assert 0.08 <= elapsed < 1.5


async def test_first_audio_delay_applies_to_rest(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """The streamed and the WAV answers both wait first_audio_delay."""
    sim.config.first_audio_delay = 0.15
    for streaming in (True, False):
        started = time.monotonic()
        status, _, _ = await post_tts(http, sim, tts_body(streaming=streaming))
        assert status == 200
        assert time.monotonic() - started >= 0.15


async def test_non_streaming_synthesis_is_a_complete_wav(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """streaming:false returns audio/wav with a Content-Length."""
    status, headers, body = await post_tts(http, sim, tts_body(streaming=False, sample_rate=16000))
    assert status == 200
    assert headers["Content-Type"] == "audio/wav"
    assert int(headers["Content-Length"]) == len(body)
    with wave.open(io.BytesIO(body)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16000)
        assert wav.readframes(wav.getnframes()) == deterministic_pcm(GREETING, 16000)


@pytest.mark.parametrize(
    ("model", "body", "expected"),
    [
        ("faseeh-v9", tts_body(), (404, "40401", "Model not found: faseeh-v9")),
        (MODEL, tts_body(voice_id="ar-x"), (404, "40402", "Voice not found: ar-x")),
        (MODEL, tts_body(voice_id=None), (400, "40001", "voice_id is required")),
        (MODEL, tts_body(text=None), (400, "40001", "text is required")),
        (MODEL, tts_body(text="  "), (400, "40001", "text is required")),
        (
            MODEL,
            tts_body(stability=1.2),
            (400, "40001", "stability must be a number between 0 and 1"),
        ),
        (
            MODEL,
            tts_body(speed=0.5),
            (400, "40001", "speed must be a number between 0.7 and 1.2"),
        ),
        (
            MODEL,
            tts_body(sample_rate=96000),
            (400, "40001", "sample_rate must be an integer between 8000 and 48000"),
        ),
    ],
)
async def test_synthesis_errors(
    http: aiohttp.ClientSession,
    sim: FaseehSimulator,
    model: str,
    body: dict[str, Any],
    expected: tuple[int, str, str],
) -> None:
    """Bad requests get the service's status and {errorCode, errorMessage} body."""
    status, code, message = expected
    got_status, _, got_body = await post_tts(http, sim, body, model=model)
    assert got_status == status
    assert json.loads(got_body) == {"errorCode": code, "errorMessage": message}


async def test_synthesis_needs_the_key(http: aiohttp.ClientSession, sim: FaseehSimulator) -> None:
    """POST without x-api-key is a 401."""
    status, _, body = await post_tts(http, sim, tts_body(), key=None)
    assert status == 401
    assert json.loads(body)["errorCode"] == "40101"


async def test_invalid_json_body(http: aiohttp.ClientSession, sim: FaseehSimulator) -> None:
    """A body that is not a JSON object is a 400, recorded with json None."""
    async with http.post(
        f"{sim.url}/api/v1/text-to-speech/{MODEL}",
        data=b"{nope",
        headers={"x-api-key": KEY, "Content-Type": "application/json"},
    ) as response:
        assert response.status == 400
        assert (await response.json())["errorCode"] == "40001"
    assert sim.http_requests[-1].json is None


async def test_every_request_is_recorded(http: aiohttp.ClientSession, sim: FaseehSimulator) -> None:
    """Method, path, the header key and the JSON body of every REST call are kept."""
    await _get(http, sim, "voices")
    await _get(http, sim, "models", key="wrong")
    await post_tts(http, sim, tts_body(streaming=False))
    assert sim.http_requests == [
        HttpRequest(method="GET", path="/api/v1/voices", api_key=KEY, json=None),
        HttpRequest(method="GET", path="/api/v1/models", api_key="wrong", json=None),
        HttpRequest(
            method="POST",
            path=f"/api/v1/text-to-speech/{MODEL}",
            api_key=KEY,
            json=tts_body(streaming=False),
        ),
    ]
    assert sim.ws_sessions == []
    sim.reset_records()
    assert sim.http_requests == []
