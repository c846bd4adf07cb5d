"""audio="speech": the simulator speaks real espeak-ng Arabic over both APIs."""

import io
import json
import wave

import aiohttp
import pytest

from harness.audio import pcm_rms
from simulator import FaseehSimulator, audio

from .helpers import GREETING, collect, initialize, post_tts, text, tts_body, ws_url


async def test_websocket_speech(http: aiohttp.ClientSession, sim: FaseehSimulator) -> None:
    """Each generation is real speech at the session's rate, framed like any audio."""
    sim.config.audio = "speech"
    sim.config.final_style = "batch"
    async with http.ws_connect(ws_url(sim)) as ws:
        await initialize(ws, output_format="pcm_16000")
        await ws.send_json(text("مرحبا بك. ", trigger=True))
        await ws.send_json(text("كيف حالك؟", flush=True))
        received = await collect(ws, finals=2, idle=5)
    assert len(received.finals) == 2
    assert {frame["sampleRate"] for frame in received.frames} == {16000}
    assert 1.0 < len(received.audio) / 2 / 16000 < 6
    assert pcm_rms(received.audio) > 300
    assert sim.ws_sessions[-1].audio_bytes_sent == len(received.audio)


async def test_rest_speech(http: aiohttp.ClientSession, sim: FaseehSimulator) -> None:
    """Streamed and WAV REST answers carry speech at the requested sample_rate."""
    sim.config.audio = "speech"
    status, headers, pcm = await post_tts(http, sim, tts_body(sample_rate=22050))
    assert status == 200
    assert "rate=22050" in headers["Content-Type"]
    assert pcm_rms(pcm) > 300
    status, _, body = await post_tts(http, sim, tts_body(streaming=False, sample_rate=22050))
    assert status == 200
    with wave.open(io.BytesIO(body)) as wav:
        assert wav.getframerate() == 22050
        assert wav.readframes(wav.getnframes()) == pcm
    assert len(pcm) / 2 / 22050 > 0.8


async def test_a_failing_speech_engine_is_a_service_error(
    http: aiohttp.ClientSession, sim: FaseehSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If espeak-ng fails, clients see error 50001 (WS) or HTTP 500, not a hung socket."""
    monkeypatch.setattr(audio, "ESPEAK_NG", "false")
    sim.config.audio = "speech"
    async with http.ws_connect(ws_url(sim)) as ws:
        await initialize(ws)
        await ws.send_json(text(GREETING, flush=True))
        received = await collect(ws, finals=None)
    assert [error["errorCode"] for error in received.errors] == [50001]
    assert received.closed
    for streaming in (True, False):
        status, _, body = await post_tts(http, sim, tts_body(streaming=streaming))
        assert (status, json.loads(body)["errorCode"]) == (500, "50001")
