"""One synthesis on a TTS WebSocket: a writer task, a reader task, and the policy.

initConnection has just been sent; the text follows without waiting for its reply. The reply
arrives like any frame: connectionInitialized, or an error frame raised as the service's
error (a wrong voice or key), or nothing within ``connect`` (a timeout).

The writer sends the segments of a TextFeed as they become known, one ``text`` message with
``try_trigger_generation`` each; the one known to end the text also carries ``flush`` (or an
empty flush follows the last one), then ``closeConnection``. The reader forwards every
received message. ``next_audio`` hands each event to the EndOfStream policy, which alone
decides when the stream is over (end_of_stream.py, docs/protocol.md §4).

How it ends (``outcome``): COMPLETE; NO_AUDIO (no audio within ``socket_silence`` of the first
trigger) or LOST before any audio: the caller hands the text to HTTP. After audio, a lost
connection is ConnectionLostError and a stall ServiceTimeoutError. An error frame is raised as
the service's error, whatever follows it.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
import enum
from functools import partial
import json
import logging
from types import TracebackType
from typing import Any, Final, Literal, Self

import aiohttp

from .end_of_stream import Decision, EndOfStream, Limits
from .errors import ConnectionLostError, ProtocolError, ServiceTimeoutError
from .feed import TextFeed
from .frames import AudioFrame, ErrorFrame, Frame, Ignored, Initialized, parse_frame
from .models import Timeouts

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


type _Event = aiohttp.WSMessage | _Wake


class WsSynthesis:
    """Send a text and receive its audio on an initialised WebSocket (an async context manager)."""

    def __init__(
        self,
        ws: WebSocket,
        feed: TextFeed,
        timeouts: Timeouts,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Prepare the synthesis; the tasks start in ``__aenter__``."""
        self._ws = ws
        self._feed = feed
        self._timeouts = timeouts
        self._clock = clock or asyncio.get_running_loop().time
        self._events: asyncio.Queue[_Event] = asyncio.Queue()
        # An event taken from the queue while joining audio, not handled yet.
        self._held: collections.deque[_Event] = collections.deque(maxlen=1)
        self._audio_handed_on = False
        self._first_audio_on_its_way = False
        self._tasks: list[asyncio.Task[None]] = []
        self.policy = EndOfStream(
            Limits(timeouts.socket_silence, timeouts.idle, timeouts.final_grace)
        )
        self.outcome = Decision.CONTINUE
        self.initialized = False
        # initConnection was sent just before; its reply must come within ``connect``.
        self._init_deadline = self._clock() + timeouts.connect
        self._stopped_sending = False
        self._lost_detail = "The connection to Faseeh was lost"

    async def __aenter__(self) -> Self:
        """Start the reader, then the writer; the text already known goes out before returning."""
        # Started eagerly: each runs at once up to its first wait, so the reader is listening
        # and the first text is on the wire without waiting a turn of the loop.
        reader = asyncio.create_task(self._receive(), name="faseeh-ws-reader", eager_start=True)
        self._writer = asyncio.create_task(self._write(), name="faseeh-ws-writer", eager_start=True)
        self._writer.add_done_callback(lambda _: self._events.put_nowait(_Wake.WRITER))
        self._tasks = [self._writer, reader]
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

    @property
    def handed_over(self) -> bool:
        """True when the socket gave no audio and the text must go another way."""
        return self.outcome in (Decision.NO_AUDIO, Decision.LOST)

    async def next_audio(self) -> AudioFrame | None:
        """Return the next audio, or None once the stream is over (see outcome).

        After the first audio, frames that have already arrived behind it come joined to it.
        """
        if self._audio_handed_on and not self._first_audio_on_its_way:
            # One turn of the loop first: the first audio is sent on its way before this task
            # parses the frames that piled up behind it. Once only: a turn per chunk would
            # cost a streaming faster than real time more than it gives.
            self._first_audio_on_its_way = True
            await asyncio.sleep(0)
        while self.outcome is Decision.CONTINUE:
            event = self._held.popleft() if self._held else await self._next_event()
            if event is None:
                self._decide(self.policy.expired(self._clock()))
            elif event is _Wake.WRITER:
                self._on_wake()
            elif frame := self._on_message(event):
                if not self._audio_handed_on:
                    # The first audio goes on at once: joining it would make it wait.
                    self._audio_handed_on = True
                    return frame
                return self._joined_with_waiting_audio(frame)
        return None

    def _joined_with_waiting_audio(self, frame: AudioFrame) -> AudioFrame:
        """Join the audio frames already waiting behind ``frame``, up to anything else.

        A burst (a fast service, or a consumer that fell behind) is then handed on as one
        chunk instead of one per frame, which is what every layer above pays for; nothing
        waits for audio that has not arrived yet. The first other event is held back for the
        next call and handled there as usual.
        """
        parts = [frame.pcm]
        is_final = frame.is_final
        while not self._events.empty():
            event = self._events.get_nowait()
            if (audio := self._waiting_audio(event, frame.sample_rate)) is None:
                self._held.append(event)
                break
            self.policy.audio(self._clock(), has_pcm=True, is_final=audio.is_final)
            parts.append(audio.pcm)
            is_final = is_final or audio.is_final
        if len(parts) == 1:
            return frame
        return AudioFrame(b"".join(parts), frame.sample_rate, is_final)

    @staticmethod
    def _waiting_audio(event: _Event, sample_rate: int | None) -> AudioFrame | None:
        """The event as audio at ``sample_rate``; None for anything else (no audio, malformed)."""
        if not isinstance(event, aiohttp.WSMessage) or event.type is not aiohttp.WSMsgType.TEXT:
            return None
        try:
            frame = parse_frame(event.data)
        except ProtocolError:
            return None
        if isinstance(frame, AudioFrame) and frame.pcm and frame.sample_rate == sample_rate:
            return frame
        return None

    def _decide(self, decision: Decision) -> None:
        match decision:
            case Decision.STALLED:
                raise ServiceTimeoutError(
                    f"Faseeh stopped sending audio (nothing for {self._timeouts.idle:g} s)"
                )
            case Decision.LOST if self.policy.audio_started:
                raise ConnectionLostError(self._lost_detail)
            case Decision.CONTINUE:
                return
        _LOGGER.debug(
            "WebSocket stream over: %s (%d generations, %d ended by a final)",
            decision.value,
            self.policy.generations,
            self.policy.ended_generations,
        )
        self.outcome = decision
        self._stopped_sending = True

    # Writer side.

    async def _write(self) -> None:
        feed = self._feed
        index = 0
        flushed = False
        while (segment := await feed.segment(index)) is not None:
            flushed = feed.is_last(index)
            if not await self._send_text(segment, flush=flushed):
                return
            index += 1
            # Let the reader take what arrived: an error frame must not wait behind our sends.
            await asyncio.sleep(0)
        if not flushed and not await self._send_text("", flush=True):
            return
        if await self._send({"type": "closeConnection"}):
            _LOGGER.debug("Sent closeConnection")

    async def _send_text(self, text: str, *, flush: bool) -> bool:
        message: dict[str, Any] = {"type": "text", "text": text, "try_trigger_generation": True}
        if flush:
            message["flush"] = True
        if not await self._send(message):
            return False
        now = self._clock()
        if text:
            self.policy.triggered(now)
        if flush:
            self.policy.flush_sent(now)
        _LOGGER.debug(
            "Sent text (%d chars)%s; %d generations",
            len(text),
            " with flush" if flush else "",
            self.policy.generations,
        )
        self._events.put_nowait(_Wake.WRITER)
        return True

    async def _send(self, message: dict[str, Any]) -> bool:
        if self._stopped_sending:
            return False
        try:
            await self._ws.send_json(message, dumps=_dumps)
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as err:
            # The reader sees the closed socket and reports it.
            _LOGGER.debug("Could not send to Faseeh (%s); stop sending", type(err).__name__)
            self._stopped_sending = True
            return False
        return True

    # Reader side.

    async def _receive(self) -> None:
        while True:
            try:
                message = await self._ws.receive()
            except Exception as err:  # reported as an ERROR message
                message = aiohttp.WSMessage(aiohttp.WSMsgType.ERROR, err, None)
            self._events.put_nowait(message)
            if message.type in _END_TYPES:
                return

    async def _next_event(self) -> _Event | None:
        """The next event, or None when the policy's deadline passed first."""
        if not self._events.empty():
            # What has arrived is handled first, as a wait would hand it over at once too.
            return self._events.get_nowait()
        if self.initialized:
            deadline = self.policy.deadline()
            when = None if deadline is None else deadline[0] - self._clock()
        else:
            when = self._init_deadline - self._clock()
        try:
            async with asyncio.timeout(when):
                return await self._events.get()
        except TimeoutError:
            if not self.initialized:
                raise ServiceTimeoutError("Timed out waiting for connectionInitialized") from None
            return None

    def _on_wake(self) -> None:
        writer = self._writer
        if writer.done() and not writer.cancelled() and (error := writer.exception()):
            # The text source failed (or was empty): that is the caller's error.
            raise error

    def _on_message(self, message: aiohttp.WSMessage) -> AudioFrame | None:
        now = self._clock()
        match message.type:
            case aiohttp.WSMsgType.TEXT:
                return self._on_frame(parse_frame(message.data), now)
            case aiohttp.WSMsgType.BINARY:
                raise ProtocolError("Faseeh sent a binary WebSocket frame")
            case aiohttp.WSMsgType.PING | aiohttp.WSMsgType.PONG:
                self.policy.other_message(now)
                return None
            case aiohttp.WSMsgType.CLOSE:
                clean = message.data in CLEAN_CLOSE_CODES
                _LOGGER.debug("Faseeh closed the socket (code %s)", message.data)
                self._lost_detail = (
                    "Faseeh closed the connection before the end of the text"
                    if clean
                    else f"Faseeh closed the connection with code {message.data}"
                )
            case _:
                clean = False
                detail = type(message.data).__name__ if message.data is not None else "none"
                _LOGGER.debug("The socket ended without a close frame (%s)", detail)
                self._lost_detail = f"The connection to Faseeh was lost ({detail})"
        if not self.initialized:
            # Closed instead of initialised: whatever the reason, nothing was spoken here.
            _LOGGER.debug("The socket closed before connectionInitialized")
            self._decide(Decision.LOST)
            return None
        self._decide(self.policy.closed(clean=clean))
        return None

    def _on_frame(self, frame: Frame, now: float) -> AudioFrame | None:
        match frame:
            case AudioFrame(pcm=pcm, is_final=is_final):
                if not self.initialized:
                    raise ProtocolError("Faseeh sent audio before connectionInitialized")
                self.policy.audio(now, has_pcm=bool(pcm), is_final=is_final)
                _LOGGER.debug(
                    "Audio frame: %d bytes at %s Hz%s",
                    len(pcm),
                    frame.sample_rate,
                    ", isFinal" if is_final else "",
                )
                return frame if pcm else None
            case ErrorFrame(error=error):
                raise error
            case Initialized() if not self.initialized:
                _LOGGER.debug("Connection initialized")
                self.initialized = True
                self.policy.initialized(now)
            case Initialized():
                _LOGGER.debug("Ignoring a repeated connectionInitialized")
            case Ignored(type=kind):
                _LOGGER.debug("Ignoring a message of type %r", kind)
        self.policy.other_message(now)
        return None
