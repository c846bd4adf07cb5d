"""Which transport speech takes for one account, learnt from what the WebSocket did (pure).

The socket streams text in and audio out, so it is the first choice. A live probe has seen it
accept text and never send audio (docs/protocol.md, open questions): once it stays silent past
``Timeouts.socket_silence``, the client sends that text and every later one over HTTP, and
tries the socket again at most once per ``retry_after`` seconds, in the background (a short
probe text, never a user's message).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import enum
import time
from typing import Final

SOCKET_RETRY_AFTER: Final = 30 * 60.0


class Transport(enum.StrEnum):
    """How the text is sent and the audio received."""

    WEBSOCKET = "websocket"
    HTTP = "http"


@dataclass(frozen=True, slots=True)
class TransportChoice:
    """The transport in use, why, and since when (clock seconds)."""

    transport: Transport
    reason: str
    since: float


class TransportMemory:
    """Remember whether the socket delivers audio for this account."""

    def __init__(
        self,
        *,
        retry_after: float = SOCKET_RETRY_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Start with the socket, which has not failed yet."""
        self._retry_after = retry_after
        self._clock = clock
        self._last_socket_try = clock()
        self.choice = TransportChoice(Transport.WEBSOCKET, "not tried yet", self._last_socket_try)

    @property
    def transport(self) -> Transport:
        """The transport a new request takes."""
        return self.choice.transport

    def socket_delivered(self) -> None:
        """The socket sent audio: keep (or go back to) it."""
        now = self._clock()
        self._last_socket_try = now
        if self.choice.transport is not Transport.WEBSOCKET or self.choice.reason != "delivers":
            self.choice = TransportChoice(Transport.WEBSOCKET, "delivers", now)

    def socket_failed(self, reason: str) -> None:
        """The socket gave no audio (``reason`` says how): use HTTP from now on."""
        now = self._clock()
        self._last_socket_try = now
        self.choice = TransportChoice(Transport.HTTP, reason, now)

    def probe_due(self) -> bool:
        """True when the socket is out of use and has not been tried for ``retry_after``."""
        return (
            self.choice.transport is Transport.HTTP
            and self._clock() - self._last_socket_try >= self._retry_after
        )

    def probe_started(self) -> None:
        """A background probe of the socket starts now (so no other starts for a while)."""
        self._last_socket_try = self._clock()

    def as_dict(self) -> dict[str, str]:
        """The choice for diagnostics: the transport and why."""
        return {"transport": str(self.choice.transport), "reason": self.choice.reason}
