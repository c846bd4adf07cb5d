"""What an account has used: characters, estimated spend and audio seconds, kept across restarts.

Faseeh has no balance endpoint, so the integration counts what the service bills as it goes. The
counters live in a store of their own: HA's restore state is only written every 15 minutes.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
import logging
import math
from typing import Any, Final, TypedDict

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.storage import Store

from .const import DOMAIN

_LOGGER = logging.getLogger(__name__)

# The wallet's currency: the service's own error texts state balances in US dollars.
SPEND_CURRENCY: Final = "USD"

STORAGE_VERSION: Final = 1
# A crash loses at most this many seconds of counting; a burst of speech is one write.
SAVE_DELAY_SECONDS: Final = 10.0


class StoredUsage(TypedDict):
    """The counters as written to disk; spend is a decimal string so no cent is rounded away."""

    characters: int
    spend: str
    stt_seconds: float
    first_audio_seconds: float | None


@dataclass(slots=True)
class UsageTotals:
    """One account's counters since it was added."""

    characters: int = 0
    spend: Decimal = Decimal(0)
    stt_seconds: float = 0.0
    first_audio_seconds: float | None = None


def usage_store(hass: HomeAssistant, entry_id: str) -> Store[StoredUsage]:
    """The store of one account's counters."""
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.usage.{entry_id}", atomic_writes=True)


class FaseehUsage:
    """Counts what one account is billed, tells the sensors, and saves the totals."""

    def __init__(self, store: Store[StoredUsage]) -> None:
        """Start from zero until async_load reads the saved totals."""
        self._store = store
        self.totals = UsageTotals()
        self._listeners: list[CALLBACK_TYPE] = []
        self._save_scheduled = False

    async def async_load(self) -> None:
        """Read the saved totals; unreadable values count from zero rather than block setup."""
        stored = await self._store.async_load()
        if stored is not None:
            self.totals = _totals_from(stored)

    async def async_save(self) -> None:
        """Write the totals now, so a reload reads what this instance counted."""
        await self._store.async_save(self._stored())

    @callback
    def record_speech(self, characters: int, cost_per_character: float) -> None:
        """Count one completed synthesis at the price its model had when it was requested."""
        self.totals.characters += characters
        # str() keeps the catalogue's price as written (0.0001), not its binary approximation.
        self.totals.spend += Decimal(str(cost_per_character)) * characters
        self._changed()

    @callback
    def record_stt_seconds(self, seconds: float) -> None:
        """Count the audio seconds the service billed for one speech-to-text session."""
        self.totals.stt_seconds += seconds
        self._changed()

    @callback
    def record_first_audio(self, seconds: float) -> None:
        """Remember how long the latest synthesis took to its first audio."""
        self.totals.first_audio_seconds = seconds
        self._changed()

    @callback
    def async_add_listener(self, listener: CALLBACK_TYPE) -> Callable[[], None]:
        """Call ``listener`` after every change; returns the function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def _changed(self) -> None:
        # Scheduling again would push the write back, and steady speech would never be saved.
        if not self._save_scheduled:
            self._save_scheduled = True
            self._store.async_delay_save(self._stored, SAVE_DELAY_SECONDS)
        for listener in list(self._listeners):
            listener()

    def _stored(self) -> StoredUsage:
        """The totals as they are when the store writes them."""
        self._save_scheduled = False
        totals = self.totals
        return StoredUsage(
            characters=totals.characters,
            spend=str(totals.spend),
            stt_seconds=totals.stt_seconds,
            first_audio_seconds=totals.first_audio_seconds,
        )


def _totals_from(stored: StoredUsage) -> UsageTotals:
    """Totals from what was saved; a value that cannot be read counts from zero again."""
    data: dict[str, Any] = dict(stored)
    characters = _number(data, "characters", int)
    spend = _number(data, "spend", lambda value: Decimal(str(value)))
    stt_seconds = _number(data, "stt_seconds", float)
    first_audio = _number(data, "first_audio_seconds", float)
    return UsageTotals(
        characters=int(characters or 0),
        spend=Decimal(spend or 0),
        stt_seconds=float(stt_seconds or 0.0),
        first_audio_seconds=None if first_audio is None else float(first_audio),
    )


def _number[T: int | float | Decimal](
    data: dict[str, Any], key: str, parse: Callable[[Any], T]
) -> T | None:
    """One saved counter, or None when it is missing, negative or not a finite number."""
    if (raw := data.get(key)) is None:
        return None
    try:
        value = parse(raw)
    except TypeError, ValueError, InvalidOperation:
        value = None
    if value is None or not math.isfinite(value) or value < 0:
        _LOGGER.warning("Saved Faseeh usage %s is unreadable (%r); it counts from zero", key, raw)
        return None
    return value


class CountedText:
    """The text on its way to Faseeh, counted as it passes: the service bills code points."""

    def __init__(self, text: AsyncIterable[str]) -> None:
        """Wrap the text stream that the client will read once."""
        self._text = text
        self.characters = 0

    async def __aiter__(self) -> AsyncIterator[str]:
        """Yield each part unchanged, adding its length."""
        async for part in self._text:
            self.characters += len(part)
            yield part
