"""Faseeh (Munsit) Arabic text-to-speech and speech-to-text for Home Assistant."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_API_KEY, CONF_URL, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import dt as dt_util

from .client import FaseehClient, FaseehError, SpeechToTextClient, SttTimeouts, Timeouts
from .coordinator import FaseehCatalogueCoordinator
from .repairs import check_default_voice, delete_issues

PLATFORMS: list[Platform] = [Platform.STT, Platform.TTS]

# Enough history for diagnostics to show a pattern without growing without bound.
RECENT_ERRORS_KEPT = 20

# The client's defaults; one name so tests can make a silent or stalled service fail fast.
CLIENT_TIMEOUTS = Timeouts()
STT_TIMEOUTS = SttTimeouts()


@dataclass(frozen=True, slots=True)
class RecordedError:
    """A failure a user may ask about, without any secret in it."""

    when: datetime
    kind: str
    error_code: str | None
    status: int | None


@dataclass(frozen=True, slots=True)
class TranscriptionRecord:
    """What the last speech-to-text session sent and got back, without audio or words spoken."""

    when: datetime
    model: str
    sample_rate: int
    hotwords_sent: tuple[str, ...]
    hotwords_over_limits: tuple[str, ...]
    hotwords_dropped_by_service: tuple[str, ...]
    audio_seconds_sent: float
    billed_seconds: float | None
    error: str | None


@dataclass(slots=True)
class FaseehData:
    """What one config entry keeps while it is loaded."""

    client: FaseehClient
    catalogue: FaseehCatalogueCoordinator
    transcriber: SpeechToTextClient
    last_transcription: TranscriptionRecord | None = None
    recent_errors: deque[RecordedError] = field(
        default_factory=lambda: deque(maxlen=RECENT_ERRORS_KEPT)
    )

    def record_error(self, err: FaseehError) -> None:
        """Remember a failure for diagnostics."""
        self.recent_errors.append(
            RecordedError(dt_util.utcnow(), type(err).__name__, err.error_code, err.status)
        )


type FaseehConfigEntry = ConfigEntry[FaseehData]


async def async_setup_entry(hass: HomeAssistant, entry: FaseehConfigEntry) -> bool:
    """Check the key by loading the catalogue, then set up the STT and TTS entities."""
    client = FaseehClient(
        async_get_clientsession(hass),
        entry.data[CONF_API_KEY],
        entry.data[CONF_URL],
        timeouts=CLIENT_TIMEOUTS,
    )
    coordinator = FaseehCatalogueCoordinator(hass, entry, client)
    # Raises ConfigEntryAuthFailed (reauth) or ConfigEntryNotReady (retry) for us.
    await coordinator.async_config_entry_first_refresh()
    transcriber = SpeechToTextClient(
        async_get_clientsession(hass),
        entry.data[CONF_API_KEY],
        entry.data[CONF_URL],
        timeouts=STT_TIMEOUTS,
    )
    entry.runtime_data = FaseehData(client=client, catalogue=coordinator, transcriber=transcriber)

    def _check_default_voice() -> None:
        check_default_voice(hass, entry, coordinator.data)

    _check_default_voice()
    entry.async_on_unload(coordinator.async_add_listener(_check_default_voice))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: FaseehConfigEntry) -> bool:
    """Unload the STT and TTS entities and stop the client's background work."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.client.close()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: FaseehConfigEntry) -> None:
    """Forget the account's repair issues: nothing would be left to fix them."""
    delete_issues(hass, entry.entry_id)
