"""Diagnostics download: what the entry is set to and what went wrong lately, never the key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant

from .failures import failure_history
from .usage import SPEND_CURRENCY

if TYPE_CHECKING:
    from . import FaseehConfigEntry

# The unique id is only a hash of the key, but a hash is still a fingerprint of a secret.
TO_REDACT = {CONF_API_KEY, "unique_id"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: FaseehConfigEntry
) -> dict[str, Any]:
    """Return the entry (key redacted), catalogue, last transcription, failures and usage."""
    diagnostics: dict[str, Any] = {
        "entry": async_redact_data(entry.as_dict(), TO_REDACT),
        "state": entry.state.value,
        "options": dict(entry.options),
        # Kept across reloads, and recorded even while setup fails: when help is needed most.
        "recent_errors": [
            {
                "when": error.when.isoformat(),
                "kind": error.kind,
                "error_code": error.error_code,
                "status": error.status,
            }
            for error in failure_history(hass, entry.entry_id)
        ],
    }
    if entry.state is not ConfigEntryState.LOADED:
        # Runtime data only exists while the entry is loaded.
        return diagnostics
    coordinator = entry.runtime_data.catalogue
    catalogue = coordinator.data
    diagnostics["catalogue"] = {
        "last_update_success": coordinator.last_update_success,
        "last_error": type(coordinator.last_exception).__name__
        if coordinator.last_exception
        else None,
        "voice_count": len(catalogue.voices),
        "model_count": len(catalogue.models),
        "voice_ids": [voice.voice_id for voice in catalogue.voices],
        "model_ids": [model.model_id for model in catalogue.models],
    }
    record = entry.runtime_data.last_transcription
    diagnostics["last_transcription"] = (
        None
        if record is None
        else {
            "when": record.when.isoformat(),
            "model": record.model,
            "sample_rate": record.sample_rate,
            "hotword_count": len(record.hotwords_sent),
            # Names of the user's own devices and areas that could not help recognition.
            "hotwords_over_limits": list(record.hotwords_over_limits),
            "hotwords_dropped_by_service": list(record.hotwords_dropped_by_service),
            "audio_seconds_sent": record.audio_seconds_sent,
            "billed_seconds": record.billed_seconds,
            "error": record.error,
        }
    )
    # Which transport speech takes (the WebSocket, or HTTP after a silent socket) and why.
    diagnostics["speech_transport"] = entry.runtime_data.client.transport.as_dict()
    # Whether a connection is kept ready, or spares are paused after a refusal or a close.
    diagnostics["spare_socket"] = entry.runtime_data.client.spare.as_dict()
    totals = entry.runtime_data.usage.totals
    diagnostics["usage"] = {
        "characters": totals.characters,
        "spend": str(totals.spend),
        "spend_currency": SPEND_CURRENCY,
        "stt_seconds": totals.stt_seconds,
        "first_audio_seconds": totals.first_audio_seconds,
    }
    return diagnostics
