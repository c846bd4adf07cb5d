"""The simulated live speech-to-text socket: auth, parameters, turns, controls, billing, limits."""

import asyncio
from collections.abc import AsyncIterator
import json
import math
from pathlib import Path
import struct
from typing import Any

import aiohttp
import pytest

from simulator import DEFAULT_API_KEY, LISTEN_PATH, STT_FAULTS, FaseehSimulator
from simulator.__main__ import main as simulator_main

VALID_QUERY = {
    "model": "munsit",
    "language": "ar",
    "encoding": "linear16",
    "sample_rate": "16000",
    "channels": "1",
    "interim_results": "true",
    "endpointing": "300",
    "smart_turn": "false",
}


def tone(seconds: float, rate: int = 16000, level: int = 6000) -> bytes:
    """Loud PCM16 audio: speech, as far as the simulator can tell."""
    count = round(rate * seconds)
    return struct.pack(
        f"<{count}h", *(int(level * math.sin(2 * math.pi * 440 * n / rate)) for n in range(count))
    )


def listen_url(sim: FaseehSimulator) -> str:
    """The /listen URL of the simulator."""
    return sim.url.replace("http://", "ws://") + LISTEN_PATH


class Listener:
    """A raw client of the simulated socket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Wrap an open socket."""
        self.ws = ws
        self.events: list[dict[str, Any]] = []

    async def send_audio(self, pcm: bytes, frame: int = 1280) -> None:
        """Send audio in 40 ms frames."""
        for offset in range(0, len(pcm), frame):
            await self.ws.send_bytes(pcm[offset : offset + frame])

    async def control(self, message: dict[str, Any]) -> None:
        """Send a control message."""
        await self.ws.send_str(json.dumps(message))

    async def next_event(self) -> dict[str, Any]:
        """The next server event."""
        async with asyncio.timeout(5):
            message = await self.ws.receive()
        assert message.type is aiohttp.WSMsgType.TEXT, message
        event: dict[str, Any] = json.loads(message.data)
        self.events.append(event)
        return event

    async def until_closed(self) -> int | None:
        """Read every event until the server closes; return the close code."""
        async with asyncio.timeout(5):
            while True:
                message = await self.ws.receive()
                if message.type is aiohttp.WSMsgType.TEXT:
                    self.events.append(json.loads(message.data))
                elif message.type is aiohttp.WSMsgType.CLOSE:
                    return self.ws.close_code
                else:
                    return None

    def types(self) -> list[str]:
        """The types of the events received."""
        return [event["type"] for event in self.events]


@pytest.fixture
async def http(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp client session."""
    async with aiohttp.ClientSession() as session:
        yield session


async def connect(
    http: aiohttp.ClientSession,
    sim: FaseehSimulator,
    query: dict[str, str] | None = None,
    key: str | None = DEFAULT_API_KEY,
) -> Listener:
    """Open the socket with a valid query (or the one given) and the key in the header."""
    headers = {"x-api-key": key} if key is not None else {}
    ws = await http.ws_connect(
        listen_url(sim), params=VALID_QUERY if query is None else query, headers=headers
    )
    return Listener(ws)


async def test_a_session_opens_with_metadata_and_closes_with_the_billed_seconds(
    http: aiohttp.ClientSession, faseeh_sim: FaseehSimulator
) -> None:
    """Opening Metadata, a turn of the told transcript, then billing and close 1000."""
    faseeh_sim.config.stt.transcripts = ["افتح الستائر"]
    listener = await connect(http, faseeh_sim, {**VALID_QUERY, "correlation_id": "kitchen-1"})
    opening = await listener.next_event()
    assert opening["type"] == "Metadata"
    assert opening["model"] == "munsit-v2"
    assert opening["sample_rate"] == 16000
    assert opening["correlation_id"] == "kitchen-1"
    assert "audio_seconds_billed" not in opening

    audio = tone(1.0) + bytes(16000)
    await listener.send_audio(audio)
    await listener.control({"type": "CloseStream"})
    code = await listener.until_closed()

    assert code == 1000
    finals = [e for e in listener.events if e["type"] == "Results" and e["is_final"]]
    assert [final["transcript"].strip() for final in finals] == ["افتح الستائر"]
    assert finals[0]["speech_final"] is True
    interims = [e for e in listener.events if e["type"] == "Results" and not e["is_final"]]
    assert interims
    assert listener.types()[-5:] == ["Results", "UtteranceEnd", "Gender", "Sentiment", "Metadata"]
    assert listener.events[-1]["audio_seconds_billed"] == 1.5
    assert listener.events[-1]["turn_count"] == 1
    [session] = faseeh_sim.stt_sessions
    assert session.audio_bytes == audio
    arrivals = [frame.at for frame in session.audio]
    assert arrivals == sorted(arrivals)
    assert session.close_stream_at is not None
    assert session.finished_at is not None
    assert arrivals[-1] <= session.close_stream_at <= session.finished_at


async def test_each_turn_gets_the_next_transcript_and_closestream_finishes_an_open_turn(
    http: aiohttp.ClientSession, faseeh_sim: FaseehSimulator
) -> None:
    """Speech, silence past endpointing, speech: two turns, the second ended by CloseStream."""
    faseeh_sim.config.stt.transcripts = ["الأول", "الثاني"]
    listener = await connect(http, faseeh_sim, {**VALID_QUERY, "interim_results": "false"})
    await listener.next_event()
    await listener.send_audio(tone(0.5) + bytes(16000) + tone(0.5))
    await listener.control({"type": "CloseStream"})
    await listener.until_closed()

    finals = [e for e in listener.events if e["type"] == "Results"]
    assert [(final["turn_id"], final["transcript"].strip()) for final in finals] == [
        (0, "الأول"),
        (1, "الثاني"),
    ]
    assert listener.events[-1]["turn_count"] == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sample_rate": "24000"}, "sample_rate must be one of (8000, 16000)"),
        ({"model": "whisper"}, "model must be one of (munsit, munsit-en-ar)"),
        ({"language": "en"}, "language 'en' is not supported by munsit"),
        ({"encoding": "opus"}, "encoding must be one of (linear16, mulaw, alaw)"),
        ({"endpointing": "50"}, "endpointing must be between 100 and 5000"),
        ({"channels": "2"}, "channels must be 1"),
        ({"smart_turn": "yes"}, "smart_turn must be true or false"),
        ({"hotwords": ",".join(f"w{n}" for n in range(201))}, "hotwords must have at most 200"),
        ({"correlation_id": "x" * 129}, "correlation_id is too long"),
        ({"finalize": "true"}, "unknown parameter 'finalize'"),
    ],
)
async def test_a_bad_parameter_is_error_4002_and_close_4002_without_metadata(
    http: aiohttp.ClientSession,
    faseeh_sim: FaseehSimulator,
    change: dict[str, str],
    message: str,
) -> None:
    """The service refuses the session before it starts."""
    listener = await connect(http, faseeh_sim, {**VALID_QUERY, **change})
    code = await listener.until_closed()

    assert code == 4002
    [error] = listener.events
    assert error["type"] == "Error"
    assert error["code"] == 4002
    assert error["message"].startswith(message)
    assert error["recoverable"] is False


async def test_the_code_switching_model_takes_auto_and_drops_every_hotword(
    http: aiohttp.ClientSession, faseeh_sim: FaseehSimulator
) -> None:
    """munsit-en-ar accepts language=auto; its Metadata lists all hotwords as dropped."""
    query = {**VALID_QUERY, "model": "munsit-en-ar", "language": "auto", "hotwords": "مطبخ,ضوء"}
    listener = await connect(http, faseeh_sim, query)
    opening = await listener.next_event()

    assert opening["model"] == "munsit-en-ar-v1"
    assert opening["dropped_hotwords"] == ["مطبخ", "ضوء"]


async def test_the_arabic_model_drops_hotwords_over_40_characters(
    http: aiohttp.ClientSession, faseeh_sim: FaseehSimulator
) -> None:
    """Only too-long entries are dropped."""
    long_word = "ب" * 41
    listener = await connect(http, faseeh_sim, {**VALID_QUERY, "hotwords": f"مطبخ,{long_word}"})
    opening = await listener.next_event()

    assert opening["dropped_hotwords"] == [long_word]


@pytest.mark.parametrize(
    ("key", "use_query"), [(None, False), ("wrong", False), (DEFAULT_API_KEY, True)]
)
async def test_authentication_by_header_or_api_key_parameter(
    http: aiohttp.ClientSession, faseeh_sim: FaseehSimulator, key: str | None, use_query: bool
) -> None:
    """A missing or wrong key is Error 1008 then close 1008; the query parameter also works."""
    query = {**VALID_QUERY, "api_key": key} if use_query and key else VALID_QUERY
    listener = await connect(http, faseeh_sim, query, key=None if use_query else key)
    if use_query:
        assert (await listener.next_event())["type"] == "Metadata"
        return
    assert await listener.until_closed() == 1008
    assert listener.events == [
        {"type": "Error", "code": 1008, "message": "authentication required", "recoverable": False}
    ]


async def test_a_handshake_401_when_asked(
    http: aiohttp.ClientSession, faseeh_sim: FaseehSimulator
) -> None:
    """The other form of a rejected key: HTTP 401 with the REST error body."""
    faseeh_sim.config.fault = "stt_invalid_key_handshake"
    with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
        await connect(http, faseeh_sim)
    assert raised.value.status == 401


async def test_keepalive_keeps_an_idle_socket_open_and_silence_from_the_client_closes_1011(
    http: aiohttp.ClientSession, faseeh_sim: FaseehSimulator
) -> None:
    """The idle timer counts audio and KeepAlive; without either the socket closes 1011."""
    faseeh_sim.config.stt.idle_timeout = 1.0
    listener = await connect(http, faseeh_sim)
    await listener.next_event()
    for _ in range(4):
        await asyncio.sleep(0.3)
        await listener.control({"type": "KeepAlive"})
    assert not listener.ws.closed
    assert await listener.until_closed() == 1011
    assert faseeh_sim.stt_sessions[0].controls.count({"type": "KeepAlive"}) == 4


async def test_audio_too_far_ahead_of_real_time_is_closed_4008(
    http: aiohttp.ClientSession, faseeh_sim: FaseehSimulator
) -> None:
    """A file pushed faster than real time passes the lead limit."""
    faseeh_sim.config.stt.max_lead = 0.5
    listener = await connect(http, faseeh_sim)
    await listener.next_event()
    await listener.send_audio(bytes(32000 * 4))

    assert await listener.until_closed() == 4008
    assert listener.events[-1]["code"] == 4008


async def test_unknown_and_bad_controls_are_recoverable_errors(
    http: aiohttp.ClientSession, faseeh_sim: FaseehSimulator
) -> None:
    """Finalize does not exist and a bad Configure is refused; the session goes on."""
    listener = await connect(http, faseeh_sim)
    await listener.next_event()
    await listener.control({"type": "Finalize"})
    finalize = await listener.next_event()
    await listener.control({"type": "Configure", "endpointing": 20})
    configure = await listener.next_event()
    await listener.control({"type": "Configure", "endpointing": 1000})
    await listener.control({"type": "CloseStream"})

    assert finalize == {
        "type": "Error",
        "code": 4002,
        "message": "unknown control type 'Finalize'",
        "recoverable": True,
    }
    assert configure["message"] == "bad Configure"
    assert configure["recoverable"] is True
    assert await listener.until_closed() == 1000


@pytest.mark.parametrize(
    ("fault", "code", "message"),
    [
        ("stt_wallet_empty", 1008, "insufficient wallet balance"),
        ("stt_session_limit", 1008, "concurrent session limit reached"),
        ("stt_invalid_parameter", 4002, "sample_rate must be one of (8000, 16000)"),
        ("stt_wallet_midstream", 1008, "wallet balance exhausted"),
        ("stt_internal_error", 1011, "internal error"),
        ("stt_closed_midstream", 1011, None),
    ],
)
async def test_fault_switches_end_the_session_as_the_service_does(
    http: aiohttp.ClientSession,
    faseeh_sim: FaseehSimulator,
    fault: str,
    code: int,
    message: str | None,
) -> None:
    """Each failure: its Error (if the service sends one) and its close code."""
    faseeh_sim.config.fault = fault
    listener = await connect(http, faseeh_sim)
    await listener.send_audio(tone(0.5))

    assert await listener.until_closed() == code
    errors = [event for event in listener.events if event["type"] == "Error"]
    assert [error["message"] for error in errors] == ([message] if message else [])


async def test_a_dropped_connection_sends_no_close_frame(
    http: aiohttp.ClientSession, faseeh_sim: FaseehSimulator
) -> None:
    """stt_drop aborts the TCP connection mid-audio."""
    faseeh_sim.config.fault = "stt_drop"
    listener = await connect(http, faseeh_sim)
    await listener.next_event()
    await listener.send_audio(tone(0.5))

    assert await listener.until_closed() is None


async def test_no_metadata_leaves_the_client_waiting_and_slow_drain_never_closes(
    http: aiohttp.ClientSession, faseeh_sim: FaseehSimulator
) -> None:
    """The two stalls: no opening Metadata, and no answer to CloseStream."""
    faseeh_sim.config.fault = "stt_no_metadata"
    listener = await connect(http, faseeh_sim)
    with pytest.raises(TimeoutError):
        await listener.ws.receive(timeout=0.2)
    faseeh_sim.config.fault = "stt_slow_drain"
    listener = await connect(http, faseeh_sim)
    assert (await listener.next_event())["type"] == "Metadata"
    await listener.control({"type": "CloseStream"})
    with pytest.raises(TimeoutError):
        await listener.ws.receive(timeout=0.2)


async def test_every_hotword_dropped_when_asked(
    http: aiohttp.ClientSession, faseeh_sim: FaseehSimulator
) -> None:
    """stt_hotwords_dropped: the Arabic model reports all hotwords dropped."""
    faseeh_sim.config.fault = "stt_hotwords_dropped"
    listener = await connect(http, faseeh_sim, {**VALID_QUERY, "hotwords": "مطبخ,ضوء"})
    assert (await listener.next_event())["dropped_hotwords"] == ["مطبخ", "ضوء"]


def test_every_stt_fault_is_exercised_here() -> None:
    """Each STT fault appears in this file's tests."""
    source = Path(__file__).read_text(encoding="utf-8")
    assert [fault for fault in sorted(STT_FAULTS) if f'"{fault}"' not in source] == []


async def test_the_recorded_audio_can_be_awaited(
    http: aiohttp.ClientSession, faseeh_sim: FaseehSimulator
) -> None:
    """Tests wait for audio to arrive instead of sleeping."""
    listener = await connect(http, faseeh_sim)
    await listener.next_event()
    [session] = faseeh_sim.stt_sessions
    assert not await session.received(1, within=0.05)
    await listener.send_audio(bytes(640))
    assert await session.received(640)


def test_the_command_line_sets_the_transcripts(monkeypatch: pytest.MonkeyPatch) -> None:
    """--stt-transcript is repeatable: one transcript per turn."""
    seen: list[list[str]] = []

    async def serve(config: Any) -> None:
        seen.append(config.stt.transcripts)

    monkeypatch.setattr("simulator.__main__.serve_until_signalled", serve)
    assert simulator_main(["--stt-transcript", "واحد", "--stt-transcript", "اثنان"]) == 0
    assert seen == [["واحد", "اثنان"]]
