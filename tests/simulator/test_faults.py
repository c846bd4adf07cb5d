"""Every Fault, observed over the raw WebSocket and REST API."""

import asyncio
import base64
import binascii
from collections.abc import Awaitable, Callable
import json

import aiohttp
import pytest

from simulator import TTS_FAULTS, FaseehSimulator, Fault, deterministic_pcm

from .helpers import (
    GREETING,
    collect,
    init_message,
    initialize,
    post_tts,
    text,
    tts_body,
    ws_url,
)

LONG = GREETING * 3
type Check = Callable[[FaseehSimulator, aiohttp.ClientSession], Awaitable[None]]


async def _handshake_status(http: aiohttp.ClientSession, sim: FaseehSimulator) -> int:
    """The HTTP status the WS handshake is refused with."""
    with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
        await http.ws_connect(ws_url(sim))
    return raised.value.status


async def _init_error(http: aiohttp.ClientSession, sim: FaseehSimulator) -> dict[str, object]:
    """The single error frame that answers a valid initConnection, which is then closed."""
    async with http.ws_connect(ws_url(sim)) as ws:
        await ws.send_json(
            {"type": "initConnection", "model_id": "faseeh-v1-preview", "voice_id": "ar-uae-male-1"}
        )
        received = await collect(ws, finals=None)
    assert received.closed
    assert received.close_code == 1000
    [frame] = received.frames
    return frame


async def _rest_error(http: aiohttp.ClientSession, sim: FaseehSimulator) -> tuple[int, str]:
    """Status and errorCode of a valid REST synthesis request."""
    status, _, body = await post_tts(http, sim, tts_body())
    return status, json.loads(body)["errorCode"]


async def _speak(
    http: aiohttp.ClientSession, sim: FaseehSimulator, value: str = LONG, *, idle: float = 2.0
) -> aiohttp.ClientWebSocketResponse:
    """Open a session, initialise it and flush `value`; the caller reads and closes."""
    ws = await http.ws_connect(ws_url(sim))
    await initialize(ws)
    await ws.send_json(text(value, flush=True))
    return ws


async def check_invalid_key_handshake(sim: FaseehSimulator, http: aiohttp.ClientSession) -> None:
    """HTTP 401 at the handshake, and on REST."""
    assert await _handshake_status(http, sim) == 401
    async with http.get(f"{sim.url}/api/v1/voices", headers={"x-api-key": "faseeh-sim-key"}) as r:
        assert r.status == 401
        assert (await r.json())["errorCode"] == "40101"
    assert await _rest_error(http, sim) == (401, "40101")


async def check_invalid_key_frame(sim: FaseehSimulator, http: aiohttp.ClientSession) -> None:
    """The valid key is refused with 40101 after initConnection."""
    frame = await _init_error(http, sim)
    assert frame["errorCode"] == 40101


async def check_wallet_empty(sim: FaseehSimulator, http: aiohttp.ClientSession) -> None:
    """40201 when the generation starts, before any audio; REST 402."""
    async with await _speak(http, sim) as ws:
        received = await collect(ws, finals=None)
    assert received.kinds() == ["error"]
    assert received.errors[0]["errorCode"] == 40201
    assert str(received.errors[0]["errorMessage"]).startswith("Insufficient wallet balance")
    assert received.closed
    assert await _rest_error(http, sim) == (402, "40201")


async def check_wallet_empty_midstream(sim: FaseehSimulator, http: aiohttp.ClientSession) -> None:
    """40201 after fault_after_chunks frames, then close."""
    async with await _speak(http, sim) as ws:
        received = await collect(ws, finals=None)
    assert received.kinds() == ["audio", "audio", "error"]
    assert received.errors[0]["errorCode"] == 40201
    assert received.closed
    assert received.audio == deterministic_pcm(LONG, 24000)[: 2 * 4800]


async def check_wallet_empty_then_drop(sim: FaseehSimulator, http: aiohttp.ClientSession) -> None:
    """40201 before any audio, then the connection is gone without a close frame; REST 402."""
    async with await _speak(http, sim) as ws:
        received = await collect(ws, finals=None)
    assert received.kinds() == ["error"]
    assert received.errors[0]["errorCode"] == 40201
    assert received.closed
    assert received.close_code not in (1000, 1001)
    assert await _rest_error(http, sim) == (402, "40201")


async def check_rate_limit(sim: FaseehSimulator, http: aiohttp.ClientSession) -> None:
    """42901 after initConnection; REST 429."""
    assert (await _init_error(http, sim))["errorCode"] == 42901
    assert await _rest_error(http, sim) == (429, "42901")


async def check_rate_limit_handshake(sim: FaseehSimulator, http: aiohttp.ClientSession) -> None:
    """HTTP 429 at the handshake."""
    assert await _handshake_status(http, sim) == 429


async def check_unknown_voice(sim: FaseehSimulator, http: aiohttp.ClientSession) -> None:
    """A catalogue voice is 'not found'; REST 404."""
    frame = await _init_error(http, sim)
    assert frame == {
        "type": "error",
        "errorCode": 40402,
        "errorMessage": "Voice not found: ar-uae-male-1",
    }
    assert await _rest_error(http, sim) == (404, "40402")


async def check_unknown_model(sim: FaseehSimulator, http: aiohttp.ClientSession) -> None:
    """A catalogue model is 'not found'; REST 404."""
    frame = await _init_error(http, sim)
    assert frame["errorCode"] == 40401
    assert frame["errorMessage"] == "Model not found: faseeh-v1-preview"
    assert await _rest_error(http, sim) == (404, "40401")


async def check_invalid_setting(sim: FaseehSimulator, http: aiohttp.ClientSession) -> None:
    """Valid settings are refused with 40001; REST 400."""
    frame = await _init_error(http, sim)
    assert frame["errorCode"] == 40001
    assert frame["errorMessage"] == "speed must be a number between 0.7 and 1.2"
    assert await _rest_error(http, sim) == (400, "40001")


async def check_internal_error(sim: FaseehSimulator, http: aiohttp.ClientSession) -> None:
    """50001 after initConnection; REST 500."""
    assert (await _init_error(http, sim))["errorCode"] == 50001
    assert await _rest_error(http, sim) == (500, "50001")


async def check_drop_mid_audio(sim: FaseehSimulator, http: aiohttp.ClientSession) -> None:
    """Two frames, then the TCP connection is gone without a close frame."""
    async with await _speak(http, sim) as ws:
        received = await collect(ws, finals=None)
    assert received.kinds() == ["audio", "audio"]
    assert received.closed
    assert received.close_code not in (1000, 1001)
    assert sim.ws_sessions[-1].closed


async def check_stall(sim: FaseehSimulator, http: aiohttp.ClientSession) -> None:
    """Two frames, then silence on an open socket."""
    async with await _speak(http, sim) as ws:
        received = await collect(ws, finals=None, idle=0.3)
        assert received.timed_out
        assert not ws.closed
    assert received.kinds() == ["audio", "audio"]


async def check_silent(sim: FaseehSimulator, http: aiohttp.ClientSession) -> None:
    """connectionInitialized, then nothing; REST still speaks."""
    async with await _speak(http, sim) as ws:
        received = await collect(ws, finals=None, idle=0.3)
        assert received.timed_out
        assert not ws.closed
    assert received.frames == []
    status, _, body = await post_tts(http, sim, tts_body())
    assert status == 200
    assert body == deterministic_pcm(GREETING, 24000)


async def check_malformed_json(sim: FaseehSimulator, http: aiohttp.ClientSession) -> None:
    """A text frame that is not JSON right after connectionInitialized."""
    async with http.ws_connect(ws_url(sim)) as ws:
        await initialize(ws)
        message = await ws.receive(timeout=2)
    assert message.type is aiohttp.WSMsgType.TEXT
    with pytest.raises(ValueError, match=r"Expecting|Unterminated|Invalid"):
        json.loads(message.data)


async def check_audio_not_base64(sim: FaseehSimulator, http: aiohttp.ClientSession) -> None:
    """The first audio frame does not decode as base64."""
    async with await _speak(http, sim) as ws:
        frame = await ws.receive_json(timeout=2)
    assert frame["isFinal"] is False
    with pytest.raises(binascii.Error):
        base64.b64decode(frame["audio"], validate=True)


async def check_odd_byte_chunks(sim: FaseehSimulator, http: aiohttp.ClientSession) -> None:
    """Frames split inside samples, yet together they are the exact audio."""
    async with await _speak(http, sim, "مرحبا") as ws:
        received = await collect(ws)
    sizes = [len(base64.b64decode(frame["audio"])) for frame in received.audio_frames]
    assert any(size % 2 for size in sizes)
    assert received.audio == deterministic_pcm("مرحبا", 24000)
    assert received.kinds()[-1] == "final"


async def check_binary_frame(sim: FaseehSimulator, http: aiohttp.ClientSession) -> None:
    """A binary frame arrives where the first audio frame belongs."""
    async with await _speak(http, sim) as ws:
        message = await ws.receive(timeout=2)
    assert message.type is aiohttp.WSMsgType.BINARY
    assert message.data == deterministic_pcm(LONG, 24000)[:4800]


async def check_unknown_message_type(sim: FaseehSimulator, http: aiohttp.ClientSession) -> None:
    """A sessionStats frame before the audio; the audio itself is intact."""
    async with await _speak(http, sim, "مرحبا") as ws:
        received = await collect(ws)
    assert received.kinds() == ["sessionStats", "audio", "audio", "audio", "final"]
    assert received.audio == deterministic_pcm("مرحبا", 24000)


async def check_slow_handshake(sim: FaseehSimulator, http: aiohttp.ClientSession) -> None:
    """The handshake does not finish in a short client timeout."""
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await http.ws_connect(ws_url(sim))


FAULT_CHECKS: dict[Fault, Check] = {
    Fault.INVALID_KEY_HANDSHAKE: check_invalid_key_handshake,
    Fault.INVALID_KEY_FRAME: check_invalid_key_frame,
    Fault.WALLET_EMPTY: check_wallet_empty,
    Fault.WALLET_EMPTY_MIDSTREAM: check_wallet_empty_midstream,
    Fault.WALLET_EMPTY_THEN_DROP: check_wallet_empty_then_drop,
    Fault.RATE_LIMIT: check_rate_limit,
    Fault.RATE_LIMIT_HANDSHAKE: check_rate_limit_handshake,
    Fault.UNKNOWN_VOICE: check_unknown_voice,
    Fault.UNKNOWN_MODEL: check_unknown_model,
    Fault.INVALID_SETTING: check_invalid_setting,
    Fault.INTERNAL_ERROR: check_internal_error,
    Fault.DROP_MID_AUDIO: check_drop_mid_audio,
    Fault.STALL: check_stall,
    Fault.SILENT: check_silent,
    Fault.MALFORMED_JSON: check_malformed_json,
    Fault.AUDIO_NOT_BASE64: check_audio_not_base64,
    Fault.ODD_BYTE_CHUNKS: check_odd_byte_chunks,
    Fault.BINARY_FRAME: check_binary_frame,
    Fault.UNKNOWN_MESSAGE_TYPE: check_unknown_message_type,
    Fault.SLOW_HANDSHAKE: check_slow_handshake,
}


def test_every_fault_has_a_check() -> None:
    """A new fault cannot be added without a test for it."""
    assert FAULT_CHECKS.keys() == set(TTS_FAULTS)
    assert all(fault.description and "\n" not in fault.description for fault in Fault)


@pytest.mark.parametrize("fault", TTS_FAULTS)
async def test_fault(http: aiohttp.ClientSession, sim: FaseehSimulator, fault: Fault) -> None:
    """The fault behaves as the contract says."""
    sim.config.fault = fault
    await FAULT_CHECKS[fault](sim, http)


@pytest.mark.parametrize("fault", ["drop_mid_audio", "wallet_empty_midstream", "stall"])
async def test_midstream_faults_fire_even_on_short_audio(
    http: aiohttp.ClientSession, sim: FaseehSimulator, fault: str
) -> None:
    """Audio shorter than fault_after_chunks frames still gets its fault, not a final."""
    sim.config.fault = fault
    async with await _speak(http, sim, "مر") as ws:
        received = await collect(ws, idle=0.3)
    assert received.finals == []
    assert received.audio == deterministic_pcm("مر", 24000)


async def test_fault_after_chunks_moves_the_fault(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """fault_after_chunks=0 fires before any audio, 5 after five frames."""
    sim.config.fault = "wallet_empty_midstream"
    for after in (0, 5):
        sim.config.fault_after_chunks = after
        async with await _speak(http, sim) as ws:
            received = await collect(ws, finals=None)
        assert received.kinds() == ["audio"] * after + ["error"]


async def test_a_fault_applies_until_changed(
    http: aiohttp.ClientSession, sim: FaseehSimulator
) -> None:
    """Every request fails while the fault is set; clearing it restores normal service."""
    sim.config.fault = "rate_limit"
    for _ in range(2):
        assert (await _init_error(http, sim))["errorCode"] == 42901
    sim.config.fault = None
    async with await _speak(http, sim, "مرحبا") as ws:
        received = await collect(ws)
    assert received.audio == deterministic_pcm("مرحبا", 24000)


async def test_overlapping_connections_can_each_have_their_own_fault(
    faseeh_sim: FaseehSimulator, http: aiohttp.ClientSession
) -> None:
    """connection_faults gives the next connections one fault each, in the order they arrive."""
    faseeh_sim.connection_faults.extend(["rate_limit", None])
    async with (
        http.ws_connect(ws_url(faseeh_sim)) as limited,
        http.ws_connect(ws_url(faseeh_sim)) as healthy,
    ):
        await limited.send_json(init_message())
        error = await limited.receive_json(timeout=2)
        await initialize(healthy)
        await healthy.send_json(text(GREETING, flush=True))
        spoken = await collect(healthy)

    assert error["errorCode"] == 42901
    assert spoken.audio == deterministic_pcm(GREETING, 24000)
    assert await faseeh_sim.sessions_started(2)
    assert not faseeh_sim.connection_faults
