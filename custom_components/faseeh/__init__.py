"""Faseeh (Munsit) Arabic text-to-speech and speech-to-text for Home Assistant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_API_KEY, CONF_URL, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .client import FaseehClient, SpeechToTextClient, SttTimeouts, Timeouts
from .const import CONF_SPARE_SOCKET, DEFAULT_SPARE_SOCKET
from .coordinator import FaseehCatalogueCoordinator
from .failures import forget_failures
from .repairs import check_default_voice, delete_issues
from .usage import FaseehUsage, usage_store

PLATFORMS: list[Platform] = [Platform.SENSOR, Platform.STT, Platform.TTS]

# The client's defaults; one name so tests can make a silent or stalled service fail fast.
CLIENT_TIMEOUTS = Timeouts()
STT_TIMEOUTS = SttTimeouts()


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
    usage: FaseehUsage
    last_transcription: TranscriptionRecord | None = None
    # Set once HA has prepared a stream on our TTS entity: only then can our speech-to-text
    # hint that our voice will answer (a pipeline may pair our STT with another TTS).
    speech_prepared: bool = False


type FaseehConfigEntry = ConfigEntry[FaseehData]


async def async_setup_entry(hass: HomeAssistant, entry: FaseehConfigEntry) -> bool:
    """Check the key by loading the catalogue, read the usage, then set up the entities."""
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
    usage = FaseehUsage(usage_store(hass, entry.entry_id))
    await usage.async_load()
    # Written at unload, so the entry's next setup (a reload) reads every count.
    entry.async_on_unload(usage.async_save)
    entry.runtime_data = FaseehData(
        client=client, catalogue=coordinator, transcriber=transcriber, usage=usage
    )

    def _check_default_voice() -> None:
        check_default_voice(hass, entry, coordinator.data)

    _check_default_voice()
    entry.async_on_unload(entry.add_update_listener(_async_spare_option_updated))
    entry.async_on_unload(coordinator.async_add_listener(_check_default_voice))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


def warm_up_speech(entry: FaseehConfigEntry, *, from_listening: bool = False) -> None:
    """Speech from this entry is likely soon: have a socket ready, unless the option is off.

    ``from_listening``: the hint is our speech-to-text starting, which says only that some
    voice will answer; it warms a socket once our TTS entity has been prepared for speech.
    """
    data = entry.runtime_data
    if from_listening and not data.speech_prepared:
        return
    data.speech_prepared = True
    if entry.options.get(CONF_SPARE_SOCKET, DEFAULT_SPARE_SOCKET):
        data.client.warm_up()


async def _async_spare_option_updated(hass: HomeAssistant, entry: FaseehConfigEntry) -> None:
    """Turning the spare socket off closes the one kept now."""
    if not entry.options.get(CONF_SPARE_SOCKET, DEFAULT_SPARE_SOCKET):
        await entry.runtime_data.client.spare.discard()


async def async_unload_entry(hass: HomeAssistant, entry: FaseehConfigEntry) -> bool:
    """Unload the entities and stop the client's background work."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.client.close()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: FaseehConfigEntry) -> None:
    """Forget the account's repair issues, failures and usage: nothing is left to fix or count."""
    delete_issues(hass, entry.entry_id)
    forget_failures(hass, entry.entry_id)
    await usage_store(hass, entry.entry_id).async_remove()
