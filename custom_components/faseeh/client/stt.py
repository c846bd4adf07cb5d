"""Speech-to-text over Munsit's live ``/api/v1/listen`` WebSocket (docs/protocol.md §12).

Audio is sent as it arrives, re-framed to whole-sample binary frames of 20-200 ms and never
padded (the service bills every second it receives). When the caller's audio ends the client
sends ``CloseStream`` and reads until the service closes: the transcript is every non-empty
final ``Results`` in arrival order. The service closes first; closing earlier would lose the
last words and the billing ``Metadata``.

The key goes only in the ``x-api-key`` header of the upgrade request, never in the URL. Debug
logs hold sizes, counts and codes, never audio, transcripts or the key.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Callable, Iterable
import contextlib
from dataclasses import dataclass, field
import json
import logging
import re
from typing import Any, Final, Literal

import aiohttp

from .errors import (
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
    map_error,
)

_LOGGER = logging.getLogger(__name__)

type WebSocket = aiohttp.ClientWebSocketResponse[Literal[True]]

LISTEN_PATH: Final = "/api/v1/listen"

STT_MODEL_ARABIC: Final = "munsit"
STT_MODEL_CODE_SWITCHING: Final = "munsit-en-ar"
STT_MODELS: Final = (STT_MODEL_ARABIC, STT_MODEL_CODE_SWITCHING)
STT_SAMPLE_RATES: Final = (8000, 16000)
# Every source accepts "ar" for both models; other spellings are disputed (docs/protocol.md §12).
STT_LANGUAGE: Final = "ar"

# The service's hotword limits: entries, characters per entry, and no commas inside.
MAX_HOTWORDS: Final = 200
MAX_HOTWORD_LENGTH: Final = 40

# The caller's own voice detection ends the stream, so the service's turn model only adds
# delay; a short silence window makes finals arrive during the stream, not after it.
DEFAULT_ENDPOINTING_MS: Final = 300
ENDPOINTING_RANGE_MS: Final = (100, 5000)

_BYTES_PER_SAMPLE: Final = 2
# Frames of 40 ms; 20 ms are held back so the last frame is never shorter than the minimum.
_FRAME_MS: Final = 40
_MIN_FRAME_MS: Final = 20
# The service closes with 4008 once audio is 60 s ahead of real time; stay well below.
_MAX_LEAD_SECONDS: Final = 30.0

_CLOSE_OK: Final = 1000
_CLOSE_POLICY: Final = 1008
_CLOSE_TOO_BIG: Final = 1009
_CLOSE_INTERNAL: Final = 1011
_CLOSE_INVALID: Final = 4002
_CLOSE_AHEAD: Final = 4008

_ARABIC_MARKS: Final = re.compile("[\u064b-\u0652\u0670\u0640]")
_EASTERN_DIGITS: Final = str.maketrans("٠١٢٣٤٥٦٧٨٩٪", "0123456789%")


@dataclass(frozen=True, slots=True)
class SttTimeouts:
    """Timeouts in seconds.

    connect: TCP connect, upgrade and the opening Metadata.
    drain: after CloseStream, how long the service may take to finish and close.
    keepalive: send KeepAlive after this long without a frame (the service gives up at 12 s).
    """

    connect: float = 10.0
    drain: float = 10.0
    keepalive: float = 5.0

    def __post_init__(self) -> None:
        """Reject timeouts that are not positive."""
        for name in ("connect", "drain", "keepalive"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")


@dataclass(frozen=True, slots=True)
class SttOptions:
    """What one transcription asks the service for."""

    model: str = STT_MODEL_ARABIC
    sample_rate: int = 16000
    language: str = STT_LANGUAGE
    hotwords: tuple[str, ...] = ()
    endpointing_ms: int = DEFAULT_ENDPOINTING_MS


@dataclass(frozen=True, slots=True)
class Transcript:
    """The result of one session."""

    text: str
    audio_bytes_sent: int
    billed_seconds: float | None
    dropped_hotwords: tuple[str, ...]
    model_build: str | None


@dataclass(slots=True)
class _State:
    """What the receiver learnt so far."""

    finals: list[str] = field(default_factory=list)
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    dropped_hotwords: tuple[str, ...] = ()
    model_build: str | None = None
    billed_seconds: float | None = None
    stream_closed: bool = False


def usable_hotwords(candidates: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split candidate hotwords into (sent, dropped) by the service's limits; order is kept."""
    sent: list[str] = []
    dropped: list[str] = []
    seen: set[str] = set()
    for candidate in candidates:
        word = " ".join(candidate.split())
        if not word or word in seen:
            continue
        seen.add(word)
        if "," in word or len(word) > MAX_HOTWORD_LENGTH or len(sent) >= MAX_HOTWORDS:
            dropped.append(word)
        else:
            sent.append(word)
    return tuple(sent), tuple(dropped)


def normalize_arabic(text: str) -> str:
    """Drop tashkeel and tatweel and use Western digits, as Home Assistant's intents expect."""
    return " ".join(_ARABIC_MARKS.sub("", text).translate(_EASTERN_DIGITS).split())


class SpeechReframer:
    """Turn chunks of any size into whole-sample frames of 20-200 ms, without padding."""

    def __init__(self, sample_rate: int) -> None:
        """Frame for 16-bit mono audio at ``sample_rate``."""
        bytes_per_ms = sample_rate * _BYTES_PER_SAMPLE // 1000
        self._frame = _FRAME_MS * bytes_per_ms
        self._hold = _MIN_FRAME_MS * bytes_per_ms
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add audio; return the frames that are ready."""
        self._buffer += chunk
        frames: list[bytes] = []
        while len(self._buffer) >= self._frame + self._hold:
            frames.append(bytes(self._buffer[: self._frame]))
            del self._buffer[: self._frame]
        return frames

    def finish(self) -> bytes:
        """Return what is left, whole samples only (an odd last byte is no sample)."""
        rest = bytes(self._buffer[: len(self._buffer) - len(self._buffer) % _BYTES_PER_SAMPLE])
        self._buffer.clear()
        return rest


class SpeechToTextClient:
    """Client for Munsit's streaming speech-to-text."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_key: str,
        base_url: str,
        *,
        timeouts: SttTimeouts | None = None,
    ) -> None:
        """Use ``session`` (HA's shared one in production) for every socket."""
        self._session = session
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._url = re.sub(r"^http", "ws", self._base_url) + LISTEN_PATH
        self._timeouts = timeouts or SttTimeouts()

    def __repr__(self) -> str:
        """Return a repr without the key."""
        return f"{type(self).__name__}(base_url={self._base_url!r})"

    async def transcribe(self, audio: AsyncIterable[bytes], options: SttOptions) -> Transcript:
        """Stream 16-bit mono PCM from ``audio`` as it arrives and return the final transcript.

        Raises a FaseehError (scrubbed of the key) for every failure; never waits unbounded on
        the service.
        """
        _check_options(options)
        try:
            return await self._transcribe(audio, options)
        except FaseehError as err:
            raise err.scrub(self._api_key) from None

    async def _transcribe(self, audio: AsyncIterable[bytes], options: SttOptions) -> Transcript:
        ws = await self._connect(options)
        state = _State()
        receiver = asyncio.create_task(self._receive(ws, state), name="faseeh-stt-reader")
        sender = asyncio.create_task(
            self._send(ws, audio, state, options), name="faseeh-stt-writer"
        )
        try:
            sent = await self._run(sender, receiver, state)
        finally:
            for task in (sender, receiver):
                task.cancel()
            await asyncio.gather(sender, receiver, return_exceptions=True)
            await ws.close()
            _LOGGER.debug("Speech-to-text socket closed (code %s)", ws.close_code)
        text = " ".join(state.finals)
        _LOGGER.debug(
            "Transcript of %d characters from %d finals; %d bytes sent, %s s billed",
            len(text),
            len(state.finals),
            sent,
            state.billed_seconds,
        )
        return Transcript(
            text=text,
            audio_bytes_sent=sent,
            billed_seconds=state.billed_seconds,
            dropped_hotwords=state.dropped_hotwords,
            model_build=state.model_build,
        )

    async def _connect(self, options: SttOptions) -> WebSocket:
        params = {
            "model": options.model,
            "language": options.language,
            "encoding": "linear16",
            "sample_rate": str(options.sample_rate),
            "channels": "1",
            "interim_results": "false",
            "endpointing": str(options.endpointing_ms),
            "smart_turn": "false",
        }
        if options.hotwords and options.model == STT_MODEL_ARABIC:
            params["hotwords"] = ",".join(options.hotwords)
        _LOGGER.debug(
            "Connecting to %s (model %s, %d Hz, %d hotwords)",
            self._url,
            options.model,
            options.sample_rate,
            len(params["hotwords"].split(",")) if "hotwords" in params else 0,
        )
        try:
            async with asyncio.timeout(self._timeouts.connect):
                return await self._session.ws_connect(
                    self._url,
                    params=params,
                    headers={"x-api-key": self._api_key},
                    timeout=aiohttp.ClientWSTimeout(ws_close=1.0),
                )
        except aiohttp.WSServerHandshakeError as err:
            if err.status < 400:
                raise ProtocolError(
                    f"Unexpected WebSocket handshake response (HTTP {err.status})"
                ) from None
            raise map_error(status=err.status, not_found=ServiceUnavailableError) from None
        except TimeoutError:
            raise ServiceTimeoutError(
                f"Timed out connecting to the speech service at {self._base_url}"
            ) from None
        except (aiohttp.ClientError, OSError) as err:
            raise ServiceUnavailableError(
                f"Error connecting to the speech service at {self._base_url} ({type(err).__name__})"
            ) from None

    async def _run(
        self, sender: asyncio.Task[int], receiver: asyncio.Task[None], state: _State
    ) -> int:
        """Wait for the sender, then for the service to finish; the receiver's error wins."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeouts.connect
        # Until the opening Metadata the whole wait is bounded; afterwards the caller's
        # stream decides how long audio flows.
        while not state.opened.is_set():
            opened = asyncio.ensure_future(state.opened.wait())
            try:
                await asyncio.wait(
                    {opened, receiver},
                    timeout=deadline - loop.time(),
                    return_when="FIRST_COMPLETED",
                )
            finally:
                opened.cancel()
            if receiver.done():
                receiver.result()
                raise ConnectionLostError("The speech service closed before it was ready")
            if not state.opened.is_set():
                raise ServiceTimeoutError("The speech service did not get ready in time")
        await asyncio.wait({sender, receiver}, return_when="FIRST_COMPLETED")
        if receiver.done():
            receiver.result()
            if not state.stream_closed:
                # The service ended the session before the audio was all sent.
                raise ConnectionLostError("The speech service closed before the audio ended")
        sent = await sender
        try:
            async with asyncio.timeout(self._timeouts.drain):
                await receiver
        except TimeoutError:
            raise ServiceTimeoutError(
                f"The speech service did not finish within {self._timeouts.drain:g} s "
                "of the end of the audio"
            ) from None
        return sent

    async def _send(
        self, ws: WebSocket, audio: AsyncIterable[bytes], state: _State, options: SttOptions
    ) -> int:
        """Send the audio as it arrives (after the opening Metadata), then CloseStream."""
        reframer = SpeechReframer(options.sample_rate)
        loop = asyncio.get_running_loop()
        sent = 0
        started: float | None = None
        last_frame = loop.time()
        pending: list[bytes] = []
        keepalive = asyncio.create_task(
            self._keep_alive(ws, lambda: last_frame), name="faseeh-stt-keepalive"
        )
        try:
            async for chunk in audio:
                pending.extend(reframer.feed(chunk))
                if not state.opened.is_set():
                    continue
                for frame in pending:
                    started = started if started is not None else loop.time()
                    await self._pace(sent, started, options.sample_rate)
                    await ws.send_bytes(frame)
                    sent += len(frame)
                    last_frame = loop.time()
                pending.clear()
            await state.opened.wait()
            if rest := reframer.finish():
                pending.append(rest)
            for frame in pending:
                await ws.send_bytes(frame)
                sent += len(frame)
            _LOGGER.debug("Audio ended after %d bytes; sending CloseStream", sent)
            state.stream_closed = True
            await ws.send_str(json.dumps({"type": "CloseStream"}))
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as err:
            # The receiver sees the closed socket and says why.
            _LOGGER.debug("Could not send to the speech service (%s)", type(err).__name__)
        finally:
            keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keepalive
        return sent

    async def _keep_alive(self, ws: WebSocket, last_frame: Callable[[], float]) -> None:
        loop = asyncio.get_running_loop()
        interval = self._timeouts.keepalive
        while True:
            await asyncio.sleep(max(0.0, last_frame() + interval - loop.time()))
            if loop.time() - last_frame() >= interval and not ws.closed:
                _LOGGER.debug("No audio for %g s; sending KeepAlive", interval)
                with contextlib.suppress(aiohttp.ClientError, ConnectionError, RuntimeError):
                    await ws.send_str(json.dumps({"type": "KeepAlive"}))
                await asyncio.sleep(interval)

    @staticmethod
    async def _pace(sent: int, started: float, sample_rate: int) -> None:
        """Keep a file posted faster than real time from running too far ahead (close 4008)."""
        lead = sent / (_BYTES_PER_SAMPLE * sample_rate) - (
            asyncio.get_running_loop().time() - started
        )
        if lead > _MAX_LEAD_SECONDS:
            await asyncio.sleep(lead - _MAX_LEAD_SECONDS)

    async def _receive(self, ws: WebSocket, state: _State) -> None:
        """Read events until the service closes; raise the mapped error for any failure."""
        pending_error: FaseehError | None = None
        while True:
            message = await ws.receive()
            if message.type is aiohttp.WSMsgType.TEXT:
                pending_error = _on_event(message.data, state) or pending_error
            elif message.type is aiohttp.WSMsgType.CLOSE:
                _on_close(message.data, message.extra, state, pending_error)
                return
            elif message.type in (aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                raise pending_error or ConnectionLostError(
                    "The connection to the speech service was lost (no close frame)"
                )
            elif message.type is aiohttp.WSMsgType.ERROR:
                raise pending_error or ConnectionLostError(
                    f"The connection to the speech service was lost ({type(message.data).__name__})"
                )
            # Binary frames, pings and pongs carry nothing for us.


def _check_options(options: SttOptions) -> None:
    if options.model not in STT_MODELS:
        raise InvalidSettingsError(f"model must be one of {', '.join(STT_MODELS)}")
    if options.sample_rate not in STT_SAMPLE_RATES:
        raise InvalidSettingsError("sample_rate must be 8000 or 16000")
    low, high = ENDPOINTING_RANGE_MS
    if not low <= options.endpointing_ms <= high:
        raise InvalidSettingsError(f"endpointing must be between {low} and {high} ms")


def _on_event(data: str, state: _State) -> FaseehError | None:
    """Apply one server event; return the error a fatal Error event announces."""
    try:
        event = json.loads(data)
    except ValueError:
        raise ProtocolError("The speech service sent a message that is not JSON") from None
    if not isinstance(event, dict):
        raise ProtocolError("The speech service sent a message that is not a JSON object")
    match event.get("type"):
        case "Metadata" if "audio_seconds_billed" in event:
            billed = event.get("audio_seconds_billed")
            if isinstance(billed, int | float) and not isinstance(billed, bool):
                state.billed_seconds = float(billed)
            _LOGGER.debug("Closing Metadata: %s s billed", state.billed_seconds)
        case "Metadata":
            dropped = event.get("dropped_hotwords")
            if isinstance(dropped, list):
                state.dropped_hotwords = tuple(word for word in dropped if isinstance(word, str))
            build = event.get("model")
            state.model_build = build if isinstance(build, str) else None
            _LOGGER.debug(
                "Opening Metadata: model %s, %d hotwords dropped",
                state.model_build,
                len(state.dropped_hotwords),
            )
            state.opened.set()
        case "Results" if event.get("is_final") is True:
            transcript = event.get("transcript")
            if isinstance(transcript, str) and (text := normalize_arabic(transcript)):
                state.finals.append(text)
            _LOGGER.debug("Final result (speech_final %s)", event.get("speech_final"))
        case "Error":
            error = _event_error(event)
            if event.get("recoverable") is True:
                _LOGGER.debug("Recoverable speech service error %s", error.error_code)
                return None
            _LOGGER.debug("Speech service error %s: %s", error.error_code, type(error).__name__)
            return error
        case kind:
            # Interim Results, SpeechStarted, UtteranceEnd, Gender, Sentiment, and new types.
            _LOGGER.debug("Ignoring a %r event", kind)
    return None


def _event_error(event: dict[str, Any]) -> FaseehError:
    message = event.get("message")
    text = message.strip() if isinstance(message, str) and message.strip() else ""
    code = event.get("code")
    return _error_for_code(code if isinstance(code, int) else None, text)


def _error_for_code(code: int | None, text: str) -> FaseehError:
    """The error of a close code or an Error event's code, refined by its message."""
    lowered = text.lower()
    error_class: type[FaseehError]
    if code == _CLOSE_POLICY:
        if any(hint in lowered for hint in ("wallet", "balance", "credit")):
            error_class = InsufficientBalanceError
        elif any(hint in lowered for hint in ("limit", "concurren")):
            error_class = RateLimitError
        else:
            error_class = AuthenticationError
    elif code in (_CLOSE_INVALID, _CLOSE_TOO_BIG):
        error_class = InvalidSettingsError
    elif code == _CLOSE_AHEAD:
        error_class = AudioAheadError
    elif code == _CLOSE_INTERNAL:
        error_class = ServiceUnavailableError
    else:
        error_class = ConnectionLostError
    detail = text or f"the speech service closed the connection with code {code}"
    return error_class(detail, error_code=str(code) if code is not None else None)


def _on_close(code: object, reason: object, state: _State, pending: FaseehError | None) -> None:
    """Accept a normal close after CloseStream; raise the error any other close means."""
    if pending is not None:
        raise pending
    close_code = code if isinstance(code, int) else None
    if close_code == _CLOSE_OK and state.stream_closed:
        _LOGGER.debug("The speech service closed normally")
        return
    if close_code == _CLOSE_OK:
        raise ConnectionLostError("The speech service closed the connection before the audio ended")
    text = reason.strip() if isinstance(reason, str) else ""
    raise _error_for_code(close_code, text)
