"""An async generator that is closed as soon as the task consuming it ends without closing it.

A consumer that breaks out of ``async for`` on an exception (Home Assistant's ffmpeg writer when
ffmpeg fails) leaves the generator suspended with its socket and tasks open until garbage
collection, or until the loop's shutdown closes every generator of the chain at the same time,
which races nested generators against each other. Bound to its consumer, the chain is closed in
order, from the outside in, the moment the consumer's task is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import logging
from types import TracebackType
from typing import Any

_LOGGER = logging.getLogger(__name__)


class ClosedWithConsumer[T](AsyncGenerator[T]):
    """Wrap ``generator``; close it when the first task that reads it ends first."""

    def __init__(self, generator: AsyncGenerator[T]) -> None:
        """Wrap a fresh generator."""
        self._generator = generator
        self._consumer: asyncio.Task[Any] | None = None
        self._finished = False

    async def asend(self, value: None) -> T:
        """Resume the generator (binding it to the calling task the first time)."""
        if self._consumer is None and (task := asyncio.current_task()) is not None:
            self._consumer = task
            task.add_done_callback(self._consumer_done)
        try:
            return await self._generator.asend(value)
        except BaseException:
            self._finished = True
            raise

    async def athrow(
        self,
        typ: type[BaseException] | BaseException,
        val: object = None,
        tb: TracebackType | None = None,
    ) -> T:
        """Throw into the generator."""
        try:
            if isinstance(typ, BaseException):
                return await self._generator.athrow(typ)
            return await self._generator.athrow(typ(val) if val is not None else typ())
        except BaseException:
            self._finished = True
            raise

    async def aclose(self) -> None:
        """Close the generator."""
        self._finished = True
        self._unbind()
        await self._generator.aclose()

    def _unbind(self) -> None:
        if self._consumer is not None:
            self._consumer.remove_done_callback(self._consumer_done)
            self._consumer = None

    def _consumer_done(self, task: asyncio.Task[Any]) -> None:
        if self._finished:
            return
        _LOGGER.debug("The consumer of a speech stream ended without closing it; closing it")
        task.get_loop().create_task(self._close_abandoned(), name="faseeh-close-abandoned")

    async def _close_abandoned(self) -> None:
        # An outer generator of the same chain may be closing this one already.
        if not getattr(self._generator, "ag_running", False):
            await self.aclose()
