"""The recent failures diagnostics show, kept per entry across reloads until it is removed."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .client import FaseehError
from .const import DOMAIN

# Enough history for diagnostics to show a pattern without growing without bound.
RECENT_ERRORS_KEPT = 20

# Reauth and reconfigure reload the entry, which is exactly when a user wants the history, so
# it lives beside the entries rather than in their runtime data.
_HISTORIES: HassKey[dict[str, deque[RecordedError]]] = HassKey(f"{DOMAIN}_failures")


@dataclass(frozen=True, slots=True)
class RecordedError:
    """A failure a user may ask about, without any secret in it."""

    when: datetime
    kind: str
    error_code: str | None
    status: int | None


def failure_history(hass: HomeAssistant, entry_id: str) -> deque[RecordedError]:
    """The entry's recent failures, oldest first; the same deque for the entry's whole life."""
    histories = hass.data.setdefault(_HISTORIES, {})
    return histories.setdefault(entry_id, deque(maxlen=RECENT_ERRORS_KEPT))


def record_service_error(hass: HomeAssistant, entry_id: str, err: FaseehError) -> None:
    """Remember a failure the service or the connection reported."""
    failure_history(hass, entry_id).append(
        RecordedError(dt_util.utcnow(), type(err).__name__, err.error_code, err.status)
    )


def record_rejected_request(hass: HomeAssistant, entry_id: str, reason: str) -> None:
    """Remember a request refused before Faseeh was called, by its translation key."""
    failure_history(hass, entry_id).append(RecordedError(dt_util.utcnow(), reason, None, None))


def forget_failures(hass: HomeAssistant, entry_id: str) -> None:
    """Drop the history of an entry that has been removed."""
    hass.data.get(_HISTORIES, {}).pop(entry_id, None)
