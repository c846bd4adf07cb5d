"""One synthesis on an initialised TTS WebSocket: writer, receiver and the end-of-stream rule.

The writer task sends the text: a plain str as one message (one generation); deltas as they
arrive, one ``text`` message with ``try_trigger_generation`` per completed segment (see
sentences.py). It ends with the rest of the text with ``flush`` and a ``closeConnection``. The
receiver task forwards every received message to a queue; ``next_audio`` consumes it and
decides when the stream is complete (docs/protocol.md §4). Once the flush was sent:

a. the server closes the socket with a close frame (code 1000); or
b. as many isFinal frames arrived as generations were triggered; or
c. an isFinal frame was the last message and nothing followed for ``final_grace`` seconds
   (counted from the flush if that is later). Rule c is disarmed once audio has been seen
   after an isFinal frame: finals then mark generations and rule b decides.

Everything else is an error: a close before the flush, or an abnormal closure (no close frame),
is ConnectionLostError; once audio started and the whole text was sent, ``idle`` seconds without
any message is ServiceTimeoutError (stalled audio is never reported as complete). No audio
within ``first_audio`` seconds of the first trigger ends the stream without audio; the caller
then falls back to HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable
import enum
from functools import partial
import json
import logging
from types import TracebackType
from typing import Any, Final, Literal, Self

import aiohttp

from .errors import (
    ConnectionLostError,
    EmptyTextError,
    ProtocolError,
    ServiceTimeoutError,
)
from .frames import AudioFrame, ErrorFrame, Frame, Ignored, Initialized, parse_frame
from .models import Timeouts
from .sentences import SentenceTrigger

_LOGGER = logging.getLogger(__name__)

type WebSocket = aiohttp.ClientWebSocketResponse[Literal[True]]

CLEAN_CLOSE_CODES: Final = frozenset({0, aiohttp.WSCloseCode.OK})
_END_TYPES: Final = frozenset(
    {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR}
)
_dumps = partial(json.dumps, ensure_ascii=False)


class _Wake(enum.Enum):
    """The writer changed the state (a trigger, the flush, or it finished)."""

    WRITER = enum.auto()


class _Timer(enum.Enum):
    """What the expiry of the current deadline means."""

    COMPLETE = "complete"
    NO_AUDIO = "no audio"
    STALLED = "stalled"


type _Event = aiohttp.WSMessage | _Wake


class WsSynthesis:
    """Send a text and receive its audio on an initialised WebSocket (an async context manager)."""

    def __init__(self, ws: WebSocket, text: str | AsyncIterable[str], timeouts: Timeouts) -> None:
        """Prepare the synthesis; the tasks start in ``__aenter__``."""
        self._ws = ws
        self._text = text
        self._timeouts = timeouts
        self._loop = asyncio.get_running_loop()
        self._events: asyncio.Queue[_Event] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self.text_parts: list[str] = []
        self.generations = 0
        self.finals = 0
        self.flush_sent = False
        self.no_audio = False
        self._first_trigger: float | None = None
        self._flush_time = 0.0
        self._last_message = self._loop.time()
        self._final_pending = False
        self._audio_after_final = False
        self._audio_started = False
        self._abandoned = False
        self._done = False

    async def __aenter__(self) -> Self:
        """Start the writer and the receiver."""
        self._writer = asyncio.create_task(self._write(), name="faseeh-ws-writer")
        self._writer.add_done_callback(lambda _: self._events.put_nowait(_Wake.WRITER))
        self._tasks = [self._writer, asyncio.create_task(self._receive(), name="faseeh-ws-reader")]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Cancel and await both tasks."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def next_audio(self) -> AudioFrame | None:
        """Return the next frame with audio, or None once the stream is complete."""
        while not self._done:
            event = await self._next_event()
            if isinstance(event, _Timer):
                self._on_timer(event)
            elif event is _Wake.WRITER:
                self._on_wake()
            elif frame := self._on_message(event):
                return frame
        return None

    async def collect_text(self) -> str:
        """Stop sending, let the writer read the rest of the text, and return all of it."""
        self._abandoned = True
        await self._writer
        return "".join(self.text_parts)

    # Writer side.

    async def _write(self) -> None:
        if isinstance(self._text, str):
            # A whole text is one generation, so its isFinal is unambiguously the end.
            rest = self._text
            self.text_parts.append(rest)
        else:
            trigger = SentenceTrigger()
            async for delta in self._text:
                await self._add(delta, trigger)
            rest = trigger.flush()
        if not any(part.strip() for part in self.text_parts):
            raise EmptyTextError("text is empty")
        self._count_generation(rest)
        if await self._send(
            {"type": "text", "text": rest, "try_trigger_generation": True, "flush": True}
        ):
            self.flush_sent = True
            self._flush_time = self._loop.time()
            _LOGGER.debug("Sent the flush (%d chars); %d generations", len(rest), self.generations)
        self._events.put_nowait(_Wake.WRITER)
        if await self._send({"type": "closeConnection"}):
            _LOGGER.debug("Sent closeConnection")

    async def _add(self, delta: str, trigger: SentenceTrigger) -> None:
        self.text_parts.append(delta)
        for segment in trigger.feed(delta):
            self._count_generation(segment)
            self._events.put_nowait(_Wake.WRITER)
            if await self._send({"type": "text", "text": segment, "try_trigger_generation": True}):
                _LOGGER.debug("Sent text (%d chars), generation %d", len(segment), self.generations)

    def _count_generation(self, text: str) -> None:
        # Every message triggers, so the server's buffer is empty before each one: a message
        # with text starts exactly one generation.
        if text:
            self.generations += 1
            if self._first_trigger is None:
                self._first_trigger = self._loop.time()

    async def _send(self, message: dict[str, Any]) -> bool:
        if self._abandoned:
            return False
        try:
            await self._ws.send_json(message, dumps=_dumps)
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as err:
            # The receiver sees the closed socket and reports it; keep reading the text.
            _LOGGER.debug("Could not send to Faseeh (%s); stop sending", type(err).__name__)
            self._abandoned = True
            return False
        return True

    # Receiver side.

    async def _receive(self) -> None:
        while True:
            try:
                message = await self._ws.receive()
            except Exception as err:  # reported as an ERROR message
                message = aiohttp.WSMessage(aiohttp.WSMsgType.ERROR, err, None)
            self._events.put_nowait(message)
            if message.type in _END_TYPES:
                return

    async def _next_event(self) -> _Event | _Timer:
        while True:
            deadline, timer = self._deadline()
            try:
                async with asyncio.timeout_at(deadline):
                    return await self._events.get()
            except TimeoutError:
                deadline, timer = self._deadline()
                if deadline is not None and deadline <= self._loop.time():
                    return timer

    def _deadline(self) -> tuple[float | None, _Timer]:
        timeouts = self._timeouts
        deadlines: list[tuple[float, _Timer]] = []
        if not self._audio_started and self._first_trigger is not None:
            deadlines.append((self._first_trigger + timeouts.first_audio, _Timer.NO_AUDIO))
        if self.flush_sent and self._audio_started:
            last = max(self._last_message, self._flush_time)
            deadlines.append((last + timeouts.idle, _Timer.STALLED))
        if self.flush_sent and self._final_pending and not self._audio_after_final:
            last = max(self._last_message, self._flush_time)
            deadlines.append((last + timeouts.final_grace, _Timer.COMPLETE))
        return min(deadlines, key=lambda item: item[0], default=(None, _Timer.COMPLETE))

    def _on_timer(self, timer: _Timer) -> None:
        if timer is _Timer.STALLED:
            raise ServiceTimeoutError(
                f"Faseeh stopped sending audio (nothing for {self._timeouts.idle:g} s)"
            )
        if timer is _Timer.NO_AUDIO:
            _LOGGER.debug("No audio %g s after the first trigger", self._timeouts.first_audio)
            self.no_audio = True
        else:
            _LOGGER.debug("Complete: nothing for %g s after isFinal", self._timeouts.final_grace)
        self._done = True

    def _on_wake(self) -> None:
        writer = self._writer
        if writer.done() and not writer.cancelled() and (error := writer.exception()):
            raise error
        self._check_complete()

    def _check_complete(self) -> None:
        if self.flush_sent and self.finals >= self.generations:
            _LOGGER.debug(
                "Complete: %d isFinal frames for %d generations", self.finals, self.generations
            )
            self._done = True

    def _on_message(self, message: aiohttp.WSMessage) -> AudioFrame | None:
        self._last_message = self._loop.time()
        if message.type is aiohttp.WSMsgType.TEXT:
            return self._on_frame(parse_frame(message.data))
        if message.type is aiohttp.WSMsgType.BINARY:
            raise ProtocolError("Faseeh sent a binary WebSocket frame")
        if message.type is aiohttp.WSMsgType.CLOSE:
            self._on_close(message.data)
            return None
        if message.type in (aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG):
            return None
        detail = type(message.data).__name__ if message.data is not None else "no close frame"
        raise ConnectionLostError(f"The connection to Faseeh was lost ({detail})")

    def _on_close(self, code: object) -> None:
        if code in CLEAN_CLOSE_CODES and self.flush_sent:
            _LOGGER.debug("Complete: the server closed the socket (code %s)", code)
            self._done = True
            return
        when = "before the end of the text" if code in CLEAN_CLOSE_CODES else f"with code {code}"
        raise ConnectionLostError(f"Faseeh closed the connection {when}")

    def _on_frame(self, frame: Frame) -> AudioFrame | None:
        self._final_pending = False
        match frame:
            case AudioFrame(pcm=pcm, is_final=is_final):
                return self._on_audio(frame) if pcm or is_final else None
            case ErrorFrame(error=error):
                raise error
            case Initialized():
                _LOGGER.debug("Ignoring a repeated connectionInitialized")
            case Ignored(type=kind):
                _LOGGER.debug("Ignoring a message of type %r", kind)
        return None

    def _on_audio(self, frame: AudioFrame) -> AudioFrame | None:
        _LOGGER.debug(
            "Audio frame: %d bytes at %s Hz%s",
            len(frame.pcm),
            frame.sample_rate,
            ", isFinal" if frame.is_final else "",
        )
        if frame.is_final:
            self.finals += 1
            self._final_pending = True
            self._check_complete()
        if not frame.pcm:
            return None
        if self.finals and not frame.is_final:
            # More audio after an isFinal: finals mark generations, not the end of the input,
            # so silence after one no longer means "complete" (rule b still applies).
            self._audio_after_final = True
        self._audio_started = True
        return frame
