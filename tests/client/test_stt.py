"""The speech-to-text client: framing, hotwords, the session, and every way a session can fail."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import json
import logging
import math
import struct
import traceback

import aiohttp
from aiohttp import web
from hypothesis import given, strategies as st
import pytest

from custom_components.faseeh.client import (
    AudioAheadError,
    AuthenticationError,
    ConnectionLostError,
    FaseehError,
    InsufficientBalanceError,
    InvalidSettingsError,
    ProtocolError,
    RateLimitError,
    ServiceTimeoutError,
    ServiceUnavailableError,
    SpeechToTextClient,
    SttOptions,
    SttTimeouts,
)
from custom_components.faseeh.client.stt import (
    MAX_HOTWORD_LENGTH,
    MAX_HOTWORDS,
    SpeechReframer,
    normalize_arabic,
    usable_hotwords,
)
from simulator import DEFAULT_API_KEY, STT_FAULTS, FaseehSimulator

# Roomy enough for a loaded machine; the faults that stall get STALLS instead.
FAST = SttTimeouts(connect=3.0, drain=3.0, keepalive=5.0)
STALLS = SttTimeouts(connect=0.3, drain=0.3, keepalive=5.0)
STALLING_FAULTS = {"stt_no_metadata", "stt_slow_drain"}
CANARY = "CANARY-stt-0123456789abcdef"


def tone(seconds: float, rate: int = 16000, level: int = 6000) -> bytes:
    """Loud PCM16 audio the simulator counts as speech."""
    count = round(rate * seconds)
    return struct.pack(
        f"<{count}h", *(int(level * math.sin(2 * math.pi * 440 * n / rate)) for n in range(count))
    )


async def chunks(pcm: bytes, size: int = 320) -> AsyncIterator[bytes]:
    """Audio in HA's 10 ms chunks, with a loop turn between them."""
    for offset in range(0, len(pcm), size):
        yield pcm[offset : offset + size]
        await asyncio.sleep(0)


@pytest.fixture
def stt(faseeh_sim: FaseehSimulator, session: aiohttp.ClientSession) -> SpeechToTextClient:
    """A speech-to-text client of the simulator with fast timeouts."""
    return SpeechToTextClient(session, DEFAULT_API_KEY, faseeh_sim.url, timeouts=FAST)


# Framing.


@given(
    st.lists(st.binary(max_size=5000), max_size=30),
    st.sampled_from([8000, 16000]),
)
def test_frames_are_whole_samples_of_20_to_200_ms_and_nothing_is_added(
    pieces: list[bytes], rate: int
) -> None:
    """Any chunking in, the same samples out, in service-sized frames, never padded."""
    reframer = SpeechReframer(rate)
    frames = [frame for piece in pieces for frame in reframer.feed(piece)]
    if rest := reframer.finish():
        frames.append(rest)
    audio = b"".join(pieces)

    assert b"".join(frames) == audio[: len(audio) - len(audio) % 2]
    bytes_per_ms = rate * 2 // 1000
    for frame in frames:
        assert len(frame) % 2 == 0
        assert len(frame) <= 200 * bytes_per_ms
    # Only audio shorter than the minimum as a whole can make a shorter frame.
    if len(audio) >= 20 * bytes_per_ms:
        assert all(len(frame) >= 20 * bytes_per_ms for frame in frames)


def test_hotwords_keep_order_drop_duplicates_and_report_what_breaks_the_limits() -> None:
    """At most 200 entries of at most 40 characters, no commas inside an entry."""
    long_name = "ب" * (MAX_HOTWORD_LENGTH + 1)
    many = [f"اسم {number}" for number in range(MAX_HOTWORDS + 5)]
    sent, dropped = usable_hotwords(
        ["مطبخ", " مطبخ ", "غرفة  النوم", "ضوء, السقف", long_name, *many]
    )

    assert sent[:2] == ("مطبخ", "غرفة النوم")
    assert len(sent) == MAX_HOTWORDS
    assert dropped[:2] == ("ضوء, السقف", long_name)
    assert dropped[2:] == tuple(many[MAX_HOTWORDS - 2 :])


def test_transcripts_are_written_as_home_assistants_arabic_intents_expect() -> None:
    """No tashkeel or tatweel, Western digits, single spaces."""
    assert normalize_arabic("  شَغِّلْ  ضـــوء المطبخ ") == "شغل ضوء المطبخ"
    eastern_fifty_percent = "\u0665\u0660\u066a"
    assert normalize_arabic(f"اضبط السطوع على {eastern_fifty_percent}") == "اضبط السطوع على 50%"


# A session against the simulator.


async def test_the_transcript_billing_and_model_build_come_back(
    stt: SpeechToTextClient, faseeh_sim: FaseehSimulator
) -> None:
    """Every final is joined in order; the closing Metadata gives the billed seconds."""
    faseeh_sim.config.stt.transcripts = ["شغل الضوء", "في المطبخ"]
    audio = tone(0.5) + bytes(16000) + tone(0.5)

    transcript = await stt.transcribe(chunks(audio), SttOptions(hotwords=("مطبخ",)))

    assert transcript.text == "شغل الضوء في المطبخ"
    assert transcript.audio_bytes_sent == len(audio)
    assert transcript.billed_seconds == 1.5
    assert transcript.model_build == "munsit-v2"
    assert transcript.dropped_hotwords == ()
    [session] = faseeh_sim.stt_sessions
    assert session.audio_bytes == audio
    assert session.controls[-1] == {"type": "CloseStream"}
    assert session.query["hotwords"] == "مطبخ"


async def test_audio_is_held_until_the_service_is_ready_then_sent_in_full(
    stt: SpeechToTextClient, faseeh_sim: FaseehSimulator
) -> None:
    """Audio that arrives before the opening Metadata is buffered, not lost or sent early."""
    faseeh_sim.config.stt.metadata_delay = 0.2
    audio = tone(0.3)

    transcript = await stt.transcribe(chunks(audio), SttOptions())

    assert transcript.audio_bytes_sent == len(audio)
    assert faseeh_sim.stt_sessions[0].audio_bytes == audio


async def test_a_pause_in_the_audio_is_bridged_with_keepalive_not_silence(
    faseeh_sim: FaseehSimulator, session: aiohttp.ClientSession
) -> None:
    """Silence would be billed; KeepAlive is not."""
    stt = SpeechToTextClient(
        session, DEFAULT_API_KEY, faseeh_sim.url, timeouts=SttTimeouts(keepalive=0.05)
    )
    # Longer than the service's idle limit: without KeepAlive it would close the session.
    faseeh_sim.config.stt.idle_timeout = 0.6

    async def paused() -> AsyncIterator[bytes]:
        yield tone(0.1)
        await asyncio.sleep(0.9)
        yield tone(0.1)

    transcript = await stt.transcribe(paused(), SttOptions())

    assert transcript.audio_bytes_sent == len(tone(0.1)) * 2
    assert {"type": "KeepAlive"} in faseeh_sim.stt_sessions[0].controls


async def test_the_code_switching_model_is_sent_no_hotwords(
    stt: SpeechToTextClient, faseeh_sim: FaseehSimulator
) -> None:
    """The mixed model ignores them, so they are not sent at all."""
    await stt.transcribe(chunks(tone(0.2)), SttOptions(model="munsit-en-ar", hotwords=("مطبخ",)))

    assert "hotwords" not in faseeh_sim.stt_sessions[0].query
    assert faseeh_sim.stt_sessions[0].query["model"] == "munsit-en-ar"


@pytest.mark.parametrize(
    "options",
    [SttOptions(model="whisper"), SttOptions(sample_rate=44100), SttOptions(endpointing_ms=50)],
)
async def test_options_the_service_refuses_are_refused_before_connecting(
    stt: SpeechToTextClient, faseeh_sim: FaseehSimulator, options: SttOptions
) -> None:
    """Nothing is dialled for a request that can only fail."""
    with pytest.raises(InvalidSettingsError):
        await stt.transcribe(chunks(tone(0.1)), options)
    assert faseeh_sim.stt_sessions == []


STT_FAULT_ERRORS: dict[str, type[FaseehError]] = {
    "stt_invalid_key_handshake": AuthenticationError,
    "stt_wallet_empty": InsufficientBalanceError,
    "stt_wallet_midstream": InsufficientBalanceError,
    "stt_session_limit": RateLimitError,
    "stt_invalid_parameter": InvalidSettingsError,
    "stt_internal_error": ServiceUnavailableError,
    "stt_closed_midstream": ServiceUnavailableError,
    "stt_drop": ConnectionLostError,
    "stt_no_metadata": ServiceTimeoutError,
    "stt_slow_drain": ServiceTimeoutError,
}


def test_every_stt_fault_is_mapped() -> None:
    """The table names every STT fault but the one that is no failure."""
    assert set(STT_FAULT_ERRORS) == STT_FAULTS - {"stt_hotwords_dropped"}


@pytest.mark.parametrize("fault", sorted(STT_FAULT_ERRORS))
async def test_every_fault_is_its_own_error_without_the_key_anywhere(
    faseeh_sim: FaseehSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    """Each failure has its error class; no log line, message or traceback shows the key."""
    faseeh_sim.config.api_keys = {CANARY}
    faseeh_sim.config.fault = fault
    timeouts = STALLS if fault in STALLING_FAULTS else FAST
    stt = SpeechToTextClient(session, CANARY, faseeh_sim.url, timeouts=timeouts)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(FaseehError) as caught:
        async with asyncio.timeout(10):
            await stt.transcribe(chunks(tone(1.0)), SttOptions())

    assert type(caught.value) is STT_FAULT_ERRORS[fault]
    assert CANARY not in caplog.text
    assert CANARY not in "".join(traceback.format_exception(caught.value))
    assert CANARY not in repr(stt)
    tasks = [task for task in asyncio.all_tasks() if task.get_name().startswith("faseeh-stt")]
    assert tasks == []


async def test_a_wrong_key_on_the_socket_is_an_authentication_error(
    faseeh_sim: FaseehSimulator, session: aiohttp.ClientSession
) -> None:
    """Error 1008 'authentication required' after the upgrade."""
    stt = SpeechToTextClient(session, "not-the-key", faseeh_sim.url, timeouts=FAST)
    with pytest.raises(AuthenticationError, match="authentication required"):
        await stt.transcribe(chunks(tone(0.2)), SttOptions())


async def test_nothing_listening_is_service_unavailable(
    session: aiohttp.ClientSession, unused_tcp_port: int
) -> None:
    """A refused connection is reported as such, without the URL's query."""
    stt = SpeechToTextClient(session, CANARY, f"http://127.0.0.1:{unused_tcp_port}", timeouts=FAST)
    with pytest.raises(ServiceUnavailableError) as caught:
        await stt.transcribe(chunks(tone(0.1)), SttOptions())
    assert CANARY not in str(caught.value)


# Behaviour the simulator has no switch for, from a scripted server.

type Script = Callable[[web.WebSocketResponse], Awaitable[None]]

OPENING = {"type": "Metadata", "session_id": "s", "model": "munsit-v2", "sample_rate": 16000}


async def until_close_stream(ws: web.WebSocketResponse) -> None:
    """Read the client's frames until CloseStream."""
    async for message in ws:
        if message.type is aiohttp.WSMsgType.TEXT and json.loads(message.data)["type"] == (
            "CloseStream"
        ):
            return


@pytest.fixture
async def scripted(
    socket_enabled: None, unused_tcp_port_factory: Callable[[], int]
) -> AsyncIterator[Callable[[Script], Awaitable[str]]]:
    """Serve /api/v1/listen with a script; returns its base URL."""
    runners: list[web.AppRunner] = []

    async def serve(script: Script) -> str:
        async def handler(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            await script(ws)
            return ws

        app = web.Application()
        app.router.add_get("/api/v1/listen", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        port = unused_tcp_port_factory()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
        return f"http://127.0.0.1:{port}"

    yield serve
    for runner in runners:
        await runner.cleanup()


async def run_script(
    scripted: Callable[[Script], Awaitable[str]], session: aiohttp.ClientSession, script: Script
) -> str:
    """Transcribe half a second of audio against the script."""
    url = await scripted(script)
    stt = SpeechToTextClient(session, DEFAULT_API_KEY, url, timeouts=FAST)
    async with asyncio.timeout(10):
        return (await stt.transcribe(chunks(tone(0.5)), SttOptions())).text


async def test_forced_splits_and_finals_join_while_interims_and_unknown_events_are_ignored(
    scripted: Callable[[Script], Awaitable[str]], session: aiohttp.ClientSession
) -> None:
    """Every final counts, in order; recoverable errors and new event types change nothing."""

    async def script(ws: web.WebSocketResponse) -> None:
        await ws.send_json(OPENING)
        await ws.send_json({"type": "Results", "transcript": "مرحبا", "is_final": False})
        await ws.send_json({"type": "Results", "transcript": " شغل ", "is_final": True})
        await ws.send_json({"type": "Error", "code": 1, "message": "hiccup", "recoverable": True})
        await ws.send_json({"type": "TurnInfo", "turn_id": 0})
        await ws.send_bytes(b"\x00\x01")
        await until_close_stream(ws)
        await ws.send_json({"type": "Results", "transcript": "", "is_final": True})
        await ws.send_json(
            {"type": "Results", "transcript": "ضوء المطبخ", "is_final": True, "speech_final": True}
        )
        await ws.send_json({"type": "Metadata", "session_id": "s", "audio_seconds_billed": 0.5})
        await ws.close(code=1000, message=b"engine closed")

    assert await run_script(scripted, session, script) == "شغل ضوء المطبخ"


async def test_a_normal_close_without_closing_metadata_still_returns_the_transcript(
    scripted: Callable[[Script], Awaitable[str]], session: aiohttp.ClientSession
) -> None:
    """Billing is then unknown, but the words are all there."""

    async def script(ws: web.WebSocketResponse) -> None:
        await ws.send_json(OPENING)
        await until_close_stream(ws)
        await ws.send_json({"type": "Results", "transcript": "شغل", "is_final": True})
        await ws.close(code=1000)

    assert await run_script(scripted, session, script) == "شغل"


def close_with(code: int, reason: bytes = b"") -> Script:
    """A script that opens, then closes with this code while audio still flows."""

    async def script(ws: web.WebSocketResponse) -> None:
        await ws.send_json(OPENING)
        await ws.receive()
        await ws.close(code=code, message=reason)

    return script


@pytest.mark.parametrize(
    ("code", "reason", "error_class"),
    [
        (1000, b"", ConnectionLostError),
        (4008, b"", AudioAheadError),
        (4002, b"bad", InvalidSettingsError),
        (1009, b"", InvalidSettingsError),
        (1008, b"insufficient balance", InsufficientBalanceError),
        (1008, b"concurrent session limit reached", RateLimitError),
        (1008, b"", AuthenticationError),
        (1011, b"", ServiceUnavailableError),
        (4999, b"", ConnectionLostError),
    ],
)
async def test_each_close_code_without_an_error_event_is_mapped(
    scripted: Callable[[Script], Awaitable[str]],
    session: aiohttp.ClientSession,
    code: int,
    reason: bytes,
    error_class: type[FaseehError],
) -> None:
    """Close codes alone say what went wrong (docs/protocol.md §12); early 1000 is a loss."""
    with pytest.raises(FaseehError) as caught:
        await run_script(scripted, session, close_with(code, reason))
    assert type(caught.value) is error_class


async def test_a_message_that_is_not_json_is_a_protocol_error(
    scripted: Callable[[Script], Awaitable[str]], session: aiohttp.ClientSession
) -> None:
    """Garbage is never taken for a transcript."""

    async def script(ws: web.WebSocketResponse) -> None:
        await ws.send_json(OPENING)
        await ws.send_str("{not json")
        await until_close_stream(ws)

    with pytest.raises(ProtocolError):
        await run_script(scripted, session, script)


async def test_the_service_closing_before_it_is_ready_is_a_lost_connection(
    scripted: Callable[[Script], Awaitable[str]], session: aiohttp.ClientSession
) -> None:
    """A close 1000 instead of the opening Metadata."""

    async def script(ws: web.WebSocketResponse) -> None:
        await ws.close(code=1000)

    with pytest.raises(ConnectionLostError):
        await run_script(scripted, session, script)


def test_stt_timeouts_must_be_positive() -> None:
    """A zero wait would fail every session."""
    with pytest.raises(ValueError, match="drain"):
        SttTimeouts(drain=0)


def test_the_client_is_described_without_its_key() -> None:
    """Its repr is safe to log."""
    assert "CANARY" not in repr(SpeechToTextClient(None, CANARY, "https://api.munsit.com"))  # type: ignore[arg-type]
