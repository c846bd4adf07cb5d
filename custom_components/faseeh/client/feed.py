"""The text of one synthesis as segments, read once from its source and replayable by index.

A plain str is one segment. Deltas go through the sentence trigger; a pump task reads the source
so that the WebSocket writer and, after a handover, the HTTP path can both read the segments
from the start without reading the source twice or cancelling it halfway.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable
from types import TracebackType
from typing import Self

from .errors import EmptyTextError
from .sentences import SentenceTrigger, speakable


class TextFeed:
    """Segments of a text (an async context manager that owns the pump task)."""

    def __init__(self, text: str | AsyncIterable[str]) -> None:
        """Prepare the feed; a str is checked at once, deltas when they arrive."""
        self.segments: list[str] = []
        self.finished = False
        self._changed = asyncio.Event()
        self._speakable = asyncio.Event()
        self._error: BaseException | None = None
        self._source: AsyncIterable[str] | None = None
        self._pump: asyncio.Task[None] | None = None
        if isinstance(text, str):
            if not speakable(text):
                raise EmptyTextError("text is empty")
            self.segments.append(text)
            self.finished = True
            self._speakable.set()
        else:
            self._source = text

    async def __aenter__(self) -> Self:
        """Start reading the deltas."""
        if self._source is not None:
            self._pump = asyncio.create_task(self._read(self._source), name="faseeh-text-feed")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop reading the source (the consumer is done with this text)."""
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)

    @property
    def text(self) -> str:
        """The text read so far."""
        return "".join(self.segments)

    async def wait_speakable(self) -> None:
        """Return once the text holds something to speak; EmptyTextError if it never will."""
        while not self._speakable.is_set():
            self._raise_if_failed()
            if self.finished:
                raise EmptyTextError("text is empty")
            await self._wait_change()

    async def segment(self, index: int) -> str | None:
        """Return segment ``index`` once it is known; None when the text has fewer."""
        while index >= len(self.segments):
            self._raise_if_failed()
            if self.finished:
                return None
            await self._wait_change()
        return self.segments[index]

    def is_last(self, index: int) -> bool:
        """True when segment ``index`` is known to end the text."""
        return self.finished and self._error is None and index == len(self.segments) - 1

    async def _wait_change(self) -> None:
        self._changed.clear()
        await self._changed.wait()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _add(self, segments: list[str]) -> None:
        if segments:
            self.segments.extend(segments)
            self._changed.set()

    async def _read(self, source: AsyncIterable[str]) -> None:
        trigger = SentenceTrigger()
        # Segments of invisible text are held back: nothing is sent before there is speech.
        held: list[str] = []
        try:
            async for delta in source:
                held.extend(trigger.feed(delta))
                if not self._speakable.is_set() and speakable(delta):
                    self._speakable.set()
                    self._changed.set()
                if self._speakable.is_set():
                    self._add(held)
                    held = []
            held.append(trigger.flush())
            if self._speakable.is_set():
                self._add([segment for segment in held if segment])
        except Exception as err:  # the source failed: whoever reads the feed sees it
            self._error = err
        finally:
            self.finished = True
            self._changed.set()
