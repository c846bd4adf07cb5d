"""At most one spare speech WebSocket, opened before speech is needed (pure asyncio).

The spare is connected (TCP, TLS, upgrade) but not initialised: the init must carry the
request's voice and settings, and an un-initialised socket holds no synthesis slot, so a spare
can never take a concurrency slot from a user's request. It is watched while it waits: the
service sends nothing unasked on such a socket, so anything that arrives means it was closed,
and it is dropped. A spare the service closes within QUICK_CLOSE seconds, or an open that
fails, pauses spares for ``pause_for`` seconds (no retry storm); one it closes later shortens
how long the next spares wait. A used socket is never kept: the
protocol does not say a second synthesis may follow on one socket (docs/protocol.md §11, 2).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import logging
import time
from typing import Final

from .errors import FaseehError
from .stream import WebSocket

_LOGGER = logging.getLogger(__name__)

SPARE_KEEP_FOR: Final = 60.0
SPARE_PAUSE_FOR: Final = 10 * 60.0
# A spare the service closes sooner than this is of no use: spares pause. One it closes later
# tells its idle limit: later spares are closed by the client a little before it.
QUICK_CLOSE: Final = 5.0
IDLE_LIMIT_MARGIN: Final = 0.8


class SpareSocket:
    """Hold at most one connected, un-initialised WebSocket for the next synthesis."""

    def __init__(
        self,
        connect: Callable[[], Awaitable[WebSocket]],
        *,
        keep_for: float = SPARE_KEEP_FOR,
        pause_for: float = SPARE_PAUSE_FOR,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Open spares with ``connect``; close one unused for ``keep_for`` seconds."""
        self._connect = connect
        self._keep_for = keep_for
        self._pause_for = pause_for
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._ws: WebSocket | None = None
        self._opened = asyncio.Event()
        self._paused_until: float | None = None
        self._stopped = False

    @property
    def count(self) -> int:
        """How many spares are open or opening (0 or 1)."""
        return int(self._task is not None and not self._task.done())

    @property
    def held(self) -> bool:
        """True when a spare is connected and waiting to be taken."""
        return self._ws is not None

    @property
    def paused(self) -> bool:
        """True while spares are paused after a refusal or a quick close."""
        return self._paused_until is not None and self._clock() < self._paused_until

    def as_dict(self) -> dict[str, bool | float | None]:
        """The spare's state for diagnostics."""
        left = None if self._paused_until is None else self._paused_until - self._clock()
        return {
            "held": self.held,
            "keep_for_seconds": round(self._keep_for, 1),
            "paused_for_seconds": round(left, 1) if left is not None and left > 0 else None,
        }

    def warm_up(self) -> None:
        """Start opening a spare in the background, unless one exists or spares are paused."""
        if self._stopped or self.count or self.paused:
            return
        self._opened = asyncio.Event()
        # Started eagerly: the TCP connect is under way before the caller goes on (HA gives
        # the hint in the middle of setting up the request, and the loop turns only after it).
        self._task = asyncio.create_task(
            self._keep(self._opened), name="faseeh-ws-spare", eager_start=True
        )

    def pause(self, reason: str) -> None:
        """Keep no spare for a while (``reason`` is logged); close the one there is."""
        _LOGGER.debug("No spare socket for %g s: %s", self._pause_for, reason)
        self._paused_until = self._clock() + self._pause_for
        if (task := self._task) is not None and task is not asyncio.current_task():
            task.cancel()

    async def take(self) -> WebSocket | None:
        """Return the open spare for a synthesis (it is then the caller's), or None."""
        task = self._task
        if task is None or task.done():
            return None
        if self._ws is None:
            # Still connecting (the hint came just before the speech, as for tts.speak):
            # that connection is as far along as a new one would be, and a second socket
            # would only sit unused.
            await self._opened.wait()
        ws = self._ws
        if ws is None or self._task is not task:
            return None  # the open failed, or another synthesis took the spare first
        self._task = self._ws = None
        # The watcher must have left receive() before the synthesis reads this socket.
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if ws.closed:
            await ws.close()
            return None
        _LOGGER.debug("Using the spare socket")
        return ws

    async def discard(self) -> None:
        """Close the spare there is, if any (spares may be opened again)."""
        task, ws = self._task, self._ws
        self._task = self._ws = None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if ws is not None:
            await ws.close()

    async def close(self) -> None:
        """Close the spare and open no more (the config entry is unloading)."""
        self._stopped = True
        await self.discard()

    async def _keep(self, opened: asyncio.Event) -> None:
        """Open a spare, then wait until it expires or the service closes it."""
        try:
            ws = await self._connect()
        except FaseehError as err:
            self.pause(f"opening it failed ({type(err).__name__})")
            return
        else:
            self._ws = ws
        finally:
            opened.set()
        expired = False
        opened_at = self._clock()
        try:
            try:
                async with asyncio.timeout(self._keep_for):
                    message = await ws.receive()
            except TimeoutError:
                expired = True
        except asyncio.CancelledError:
            if self._ws is ws:
                # Cancelled by pause(): nobody took the socket, so close it here.
                self._ws = None
                await ws.close()
            raise
        self._ws = None
        await ws.close()
        if expired:
            _LOGGER.debug("Closed the spare socket unused after %g s", self._keep_for)
            return
        lived = self._clock() - opened_at
        closed = (
            f"the service closed it after {lived:.1f} s ({message.type.name}, code {ws.close_code})"
        )
        if lived < QUICK_CLOSE:
            self.pause(closed)
        else:
            self._keep_for = min(self._keep_for, lived * IDLE_LIMIT_MARGIN)
            _LOGGER.debug("%s: later spares wait %.1f s", closed, self._keep_for)
