"""The simulated Munsit live speech-to-text socket ``GET /api/v1/listen`` (docs/protocol.md §12).

It cannot recognise speech: each turn is answered with the next transcript it was told. A turn
starts at the first loud frame and ends after ``endpointing`` ms of received quiet audio, or at
``CloseStream``. Every binary frame is recorded with the loop time it arrived at, so tests can
tell what reached the service and when.
"""

from __future__ import annotations

import array
import asyncio
from dataclasses import dataclass, field
import json
import logging
import math
import sys
from typing import TYPE_CHECKING, Any
import uuid

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from .server import FaseehSimulator

_LOGGER = logging.getLogger(__name__)

LISTEN_PATH = "/api/v1/listen"
DEFAULT_TRANSCRIPT = "شغل ضوء المطبخ"

MODEL_BUILDS = {"munsit": "munsit-v2", "munsit-en-ar": "munsit-en-ar-v1"}
MODEL_LANGUAGES = {"munsit": {"ar"}, "munsit-en-ar": {"ar", "en", "ar-en", "auto"}}
SAMPLE_RATES = (8000, 16000)
ENCODINGS = ("linear16", "mulaw", "alaw")
ENDPOINTING_RANGE = (100, 5000)
MAX_HOTWORDS = 200
MAX_HOTWORD_LENGTH = 40
MAX_CORRELATION_ID = 128
KNOWN_PARAMETERS = frozenset(
    {
        "model",
        "language",
        "encoding",
        "sample_rate",
        "channels",
        "interim_results",
        "endpointing",
        "smart_turn",
        "hotwords",
        "correlation_id",
        "metadata",
        "api_key",
    }
)
# Mean absolute sample value above which a frame counts as speech.
SPEECH_LEVEL = 300
# An interim result for every this much audio of a turn.
INTERIM_EVERY_SECONDS = 0.2

CLOSE_OK = 1000
CLOSE_POLICY = 1008
CLOSE_INTERNAL = 1011
CLOSE_INVALID = 4002
CLOSE_AHEAD = 4008


@dataclass
class SttConfig:
    """How the speech-to-text socket behaves; tests may change it between sessions."""

    transcripts: list[str] = field(default_factory=lambda: [DEFAULT_TRANSCRIPT])
    metadata_delay: float = 0.0
    finalise_delay: float = 0.0
    idle_timeout: float = 12.0
    max_lead: float = 60.0
    fault_after_bytes: int = 3200


@dataclass(frozen=True)
class ReceivedAudio:
    """One binary frame as it reached the service."""

    at: float
    data: bytes


@dataclass
class SttSession:
    """What one /listen connection attempt sent and was sent."""

    query: dict[str, str]
    header_key: str | None
    audio: list[ReceivedAudio] = field(default_factory=list)
    controls: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None
    closed: bool = False
    # Loop times (CLOCK_MONOTONIC): CloseStream received, and the closing Metadata sent.
    close_stream_at: float | None = None
    finished_at: float | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def record(self, frame: ReceivedAudio) -> None:
        """Remember an audio frame and wake whoever waits for audio."""
        self.audio.append(frame)
        self._arrived.set()

    @property
    def audio_bytes(self) -> bytes:
        """Every audio byte received, in order."""
        return b"".join(frame.data for frame in self.audio)

    async def received(self, count: int, within: float = 5.0) -> bool:
        """Wait until at least ``count`` audio bytes arrived; False on timeout."""
        try:
            async with asyncio.timeout(within):
                while sum(len(frame.data) for frame in self.audio) < count:
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            return False
        return True


class _InvalidParameterError(Exception):
    """A query parameter the service refuses (Error 4002, then close 4002)."""


def _flag(query: dict[str, str], name: str, default: bool) -> bool:
    value = query.get(name)
    if value is None:
        return default
    if value not in ("true", "false"):
        raise _InvalidParameterError(f"{name} must be true or false")
    return value == "true"


def _integer(query: dict[str, str], name: str, default: int) -> int:
    value = query.get(name)
    if value is None:
        return default
    if not value.isascii() or not value.isdigit():
        raise _InvalidParameterError(f"{name} must be an integer")
    return int(value)


@dataclass
class _Parameters:
    model: str
    sample_rate: int
    interim_results: bool
    endpointing: int
    hotwords: list[str]
    correlation_id: str | None


def validate_parameters(query: dict[str, str]) -> _Parameters:
    """Check the query string as the service does; raises _InvalidParameterError."""
    if unknown := sorted(set(query) - KNOWN_PARAMETERS):
        raise _InvalidParameterError(f"unknown parameter '{unknown[0]}'")
    model = query.get("model", "munsit")
    if model not in MODEL_BUILDS:
        raise _InvalidParameterError("model must be one of (munsit, munsit-en-ar)")
    language = query.get("language", "ar")
    if language not in MODEL_LANGUAGES[model]:
        raise _InvalidParameterError(f"language '{language}' is not supported by {model}")
    if query.get("encoding", "linear16") not in ENCODINGS:
        raise _InvalidParameterError("encoding must be one of (linear16, mulaw, alaw)")
    sample_rate = _integer(query, "sample_rate", 16000)
    if sample_rate not in SAMPLE_RATES:
        raise _InvalidParameterError("sample_rate must be one of (8000, 16000)")
    if _integer(query, "channels", 1) != 1:
        raise _InvalidParameterError("channels must be 1")
    endpointing = _integer(query, "endpointing", 800)
    low, high = ENDPOINTING_RANGE
    if not low <= endpointing <= high:
        raise _InvalidParameterError(f"endpointing must be between {low} and {high}")
    interim_results = _flag(query, "interim_results", True)
    _flag(query, "smart_turn", True)
    hotwords = [word for word in query.get("hotwords", "").split(",") if word]
    if len(hotwords) > MAX_HOTWORDS:
        raise _InvalidParameterError(f"hotwords must have at most {MAX_HOTWORDS} entries")
    correlation_id = query.get("correlation_id")
    if correlation_id is not None and len(correlation_id) > MAX_CORRELATION_ID:
        raise _InvalidParameterError("correlation_id is too long")
    return _Parameters(model, sample_rate, interim_results, endpointing, hotwords, correlation_id)


def _loud(frame: bytes) -> bool:
    samples = array.array("h", frame[: len(frame) - len(frame) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    if not samples:
        return False
    return sum(abs(sample) for sample in samples) / len(samples) > SPEECH_LEVEL


class _FatalError(Exception):
    """End the session: send this Error (if any) and close with this code."""

    def __init__(self, code: int, message: str | None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Listener:
    """One accepted /listen socket."""

    def __init__(
        self,
        sim: FaseehSimulator,
        request: web.Request,
        ws: web.WebSocketResponse,
        session: SttSession,
        parameters: _Parameters,
    ) -> None:
        self.sim = sim
        self.config = sim.config.stt
        self.request = request
        self.ws = ws
        self.session = session
        self.parameters = parameters
        self.session_id = str(uuid.uuid4())
        self.loop = asyncio.get_running_loop()
        self.first_audio: float | None = None
        self.received_bytes = 0
        self.turns = 0
        self.in_turn = False
        self.turn_audio = 0
        self.quiet_bytes = 0
        self.interims_sent = 0

    @property
    def bytes_per_second(self) -> int:
        return 2 * self.parameters.sample_rate

    async def send(self, event: dict[str, Any]) -> None:
        self.session.events.append(event)
        await self.ws.send_json(event)

    async def fail(self, code: int, message: str | None) -> None:
        if message is not None:
            await self.send(
                {"type": "Error", "code": code, "message": message, "recoverable": False}
            )
        await self.close(code)

    async def close(self, code: int, message: bytes = b"") -> None:
        self.session.close_code = code
        await self.ws.close(code=code, message=message)

    async def run(self) -> None:
        fault = self.sim.fault
        try:
            await self._open(fault)
            while True:
                try:
                    message = await self.ws.receive(timeout=self.config.idle_timeout)
                except TimeoutError:
                    # No audio and no KeepAlive for too long.
                    await self.close(CLOSE_INTERNAL)
                    return
                if message.type is WSMsgType.BINARY:
                    await self._on_audio(message.data, fault)
                elif message.type is WSMsgType.TEXT:
                    if await self._on_control(message.data, fault):
                        return
                else:
                    return
        except _FatalError as fatal:
            await self.fail(fatal.code, fatal.message)
        except ConnectionError:
            _LOGGER.debug("Speech-to-text client went away")

    async def _open(self, fault: str | None) -> None:
        if fault == "stt_wallet_empty":
            raise _FatalError(CLOSE_POLICY, "insufficient wallet balance")
        if fault == "stt_session_limit":
            raise _FatalError(CLOSE_POLICY, "concurrent session limit reached")
        if fault == "stt_invalid_parameter":
            raise _FatalError(CLOSE_INVALID, "sample_rate must be one of (8000, 16000)")
        if fault == "stt_no_metadata":
            await asyncio.get_running_loop().create_future()
        if self.config.metadata_delay > 0:
            await asyncio.sleep(self.config.metadata_delay)
        parameters = self.parameters
        if parameters.model == "munsit-en-ar" or fault == "stt_hotwords_dropped":
            dropped = list(parameters.hotwords)
        else:
            dropped = [word for word in parameters.hotwords if len(word) > MAX_HOTWORD_LENGTH]
        await self.send(
            {
                "type": "Metadata",
                "session_id": self.session_id,
                "correlation_id": parameters.correlation_id,
                "model": MODEL_BUILDS[parameters.model],
                "protocol_version": 1,
                "channels": 1,
                "sample_rate": parameters.sample_rate,
                "dropped_hotwords": dropped,
            }
        )

    async def _on_audio(self, data: bytes, fault: str | None) -> None:
        now = self.loop.time()
        self.session.record(ReceivedAudio(now, data))
        self.received_bytes += len(data)
        if self.first_audio is None:
            self.first_audio = now
        lead = self.received_bytes / self.bytes_per_second - (now - self.first_audio)
        if lead > self.config.max_lead:
            raise _FatalError(CLOSE_AHEAD, "audio is too far ahead of real time")
        if self.received_bytes >= self.config.fault_after_bytes:
            await self._midstream_fault(fault)
        await self._advance_turn(data)

    async def _midstream_fault(self, fault: str | None) -> None:
        match fault:
            case "stt_wallet_midstream":
                raise _FatalError(CLOSE_POLICY, "wallet balance exhausted")
            case "stt_internal_error":
                raise _FatalError(CLOSE_INTERNAL, "internal error")
            case "stt_closed_midstream":
                raise _FatalError(CLOSE_INTERNAL, None)
            case "stt_drop":
                if (transport := self.request.transport) is not None:
                    transport.abort()
                raise ConnectionError

    def _transcript(self, turn: int) -> str:
        transcripts = self.config.transcripts
        return transcripts[turn] if turn < len(transcripts) else ""

    async def _advance_turn(self, data: bytes) -> None:
        loud = _loud(data)
        if not self.in_turn:
            if not loud:
                return
            self.in_turn = True
            self.turn_audio = self.quiet_bytes = self.interims_sent = 0
            start = (self.received_bytes - len(data)) / self.bytes_per_second
            await self.send({"type": "SpeechStarted", "channel": 0, "ts": round(start, 3)})
        self.turn_audio += len(data)
        self.quiet_bytes = 0 if loud else self.quiet_bytes + len(data)
        if self.quiet_bytes * 1000 >= self.parameters.endpointing * self.bytes_per_second:
            await self._end_turn()
            return
        due = int(self.turn_audio / self.bytes_per_second / INTERIM_EVERY_SECONDS)
        if self.parameters.interim_results and due > self.interims_sent:
            self.interims_sent = due
            words = self._transcript(self.turns).split()
            await self.send(self._results(" ".join(words[: min(len(words), due)]), is_final=False))

    def _results(self, transcript: str, *, is_final: bool) -> dict[str, Any]:
        return {
            "type": "Results",
            "channel": 0,
            "turn_id": self.turns,
            "transcript": transcript,
            "words": [],
            "is_final": is_final,
            "speech_final": is_final,
            "language": "ar",
            "confidence": 0.98 if is_final else None,
        }

    async def _end_turn(self) -> None:
        if self.config.finalise_delay > 0:
            await asyncio.sleep(self.config.finalise_delay)
        await self.send(self._results(f" {self._transcript(self.turns)} ", is_final=True))
        end = self.received_bytes / self.bytes_per_second
        turn = self.turns
        await self.send(
            {"type": "UtteranceEnd", "channel": 0, "turn_id": turn, "last_word_end": round(end, 3)}
        )
        await self.send(
            {"type": "Gender", "channel": 0, "turn_id": turn, "label": "male", "score": 0.99}
        )
        await self.send(
            {"type": "Sentiment", "channel": 0, "turn_id": turn, "label": "neutral", "score": 0.64}
        )
        self.turns += 1
        self.in_turn = False

    async def _on_control(self, data: str, fault: str | None) -> bool:
        """Handle a text frame; True once the session is over."""
        try:
            control = json.loads(data)
        except ValueError:
            control = None
        if not isinstance(control, dict):
            await self._recoverable("control messages must be JSON objects")
            return False
        self.session.controls.append(control)
        match control.get("type"):
            case "KeepAlive":
                return False
            case "Configure":
                endpointing = control.get("endpointing")
                low, high = ENDPOINTING_RANGE
                if isinstance(endpointing, int) and low <= endpointing <= high:
                    self.parameters.endpointing = endpointing
                else:
                    await self._recoverable("bad Configure")
                return False
            case "CloseStream":
                self.session.close_stream_at = self.loop.time()
                await self._close_stream(fault)
                return True
            case other:
                await self._recoverable(f"unknown control type '{other}'")
                return False

    async def _recoverable(self, message: str) -> None:
        await self.send(
            {"type": "Error", "code": CLOSE_INVALID, "message": message, "recoverable": True}
        )

    async def _close_stream(self, fault: str | None) -> None:
        if fault == "stt_slow_drain":
            await asyncio.get_running_loop().create_future()
        if self.in_turn:
            await self._end_turn()
        billed = math.floor(self.received_bytes / self.bytes_per_second * 100) / 100
        await self.send(
            {
                "type": "Metadata",
                "session_id": self.session_id,
                "audio_seconds_billed": billed,
                "turn_count": self.turns,
            }
        )
        self.session.finished_at = self.loop.time()
        await self.close(CLOSE_OK, b"engine closed")


async def serve_listen(sim: FaseehSimulator, request: web.Request) -> web.StreamResponse:
    """Serve GET /api/v1/listen."""
    query = dict(request.query)
    header_key = request.headers.get("x-api-key")
    session = SttSession(query=query, header_key=header_key)
    sim.stt_sessions.append(session)
    try:
        return await _serve(sim, request, session)
    finally:
        session.closed = True


async def _serve(
    sim: FaseehSimulator, request: web.Request, session: SttSession
) -> web.StreamResponse:
    if sim.fault == "stt_invalid_key_handshake":
        body = {"errorCode": 40101, "errorMessage": "Invalid API key"}
        return web.json_response(body, status=401)
    ws = web.WebSocketResponse(compress=False)
    if not ws.can_prepare(request).ok:
        body = {"errorCode": 40001, "errorMessage": "Invalid request"}
        return web.json_response(body, status=400)
    await ws.prepare(request)
    key = session.header_key or session.query.get("api_key")
    refusal: _FatalError | None = None
    parameters: _Parameters | None = None
    if key not in sim.config.api_keys:
        refusal = _FatalError(CLOSE_POLICY, "authentication required")
    else:
        try:
            parameters = validate_parameters(session.query)
        except _InvalidParameterError as err:
            refusal = _FatalError(CLOSE_INVALID, str(err))
    if parameters is None:
        assert refusal is not None
        placeholder = _Parameters("munsit", 16000, False, 800, [], None)
        listener = _Listener(sim, request, ws, session, placeholder)
        try:
            await listener.fail(refusal.code, refusal.message)
        except ConnectionError:
            _LOGGER.debug("Speech-to-text client went away before the error")
        return ws
    listener = _Listener(sim, request, ws, session, parameters)
    sim.stt_listeners.add(listener)
    try:
        await listener.run()
    finally:
        sim.stt_listeners.discard(listener)
    return ws


async def shutdown_listener(listener: _Listener) -> None:
    """Close a socket for sim.stop(), or drop it if it will not close."""
    try:
        async with asyncio.timeout(1.0):
            await listener.ws.close(code=1001, message=b"Server shutdown")
    except TimeoutError:
        if (transport := listener.request.transport) is not None:
            transport.abort()
