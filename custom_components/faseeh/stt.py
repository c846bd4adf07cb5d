"""Munsit speech-to-text entity: Arabic speech streamed to the service while it is spoken.

Home Assistant's own voice detection ends the audio stream, so the service's turn detection is
off and its endpointing short (see client/stt.py): the transcript is ready as soon as the
service has finished the last words it received.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
import logging
from typing import override

from homeassistant.components.stt import (
    AudioBitRates,
    AudioChannels,
    AudioCodecs,
    AudioFormats,
    AudioSampleRates,
    SpeechMetadata,
    SpeechResult,
    SpeechResultState,
    SpeechToTextEntity,
)
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from . import FaseehConfigEntry, TranscriptionRecord, warm_up_speech
from .client import (
    STT_MODEL_ARABIC,
    STT_MODELS,
    AuthenticationError,
    FaseehError,
    InsufficientBalanceError,
    SttOptions,
    Transcript,
)
from .client.stt import STT_LANGUAGE, usable_hotwords
from .const import CONF_STT_MODEL, DEFAULT_STT_MODEL, DOMAIN
from .dialects import ARABIC, dialect_languages
from .failures import record_service_error
from .hotwords import exposed_arabic_names
from .repairs import clear_wallet_empty, raise_wallet_empty
from .texts import async_object_id_base
from .wav import without_wav_header

_LOGGER = logging.getLogger(__name__)

# Each transcription is its own socket; HA need not serialise them.
PARALLEL_UPDATES = 0

_BYTES_PER_SECOND_PER_HZ = 2


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FaseehConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's STT entity, its id the same whatever the home's language."""
    object_id = await async_object_id_base(hass, entry)
    async_add_entities([FaseehSTTEntity(entry, f"{Platform.STT}.{object_id}_speech_recognition")])


class FaseehSTTEntity(SpeechToTextEntity):
    """Transcribes Arabic speech with the account's Munsit speech recognition."""

    _attr_has_entity_name = True
    _attr_translation_key = "speech_recognition"

    def __init__(self, entry: FaseehConfigEntry, entity_id: str) -> None:
        """Describe the entity for one account, on the account's device; the id is for a new one."""
        self._entry = entry
        self.entity_id = entity_id
        self._attr_unique_id = f"{entry.entry_id}_stt"
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, entry.entry_id)})

    @property
    @override
    def supported_languages(self) -> list[str]:
        """Arabic, and the regional tags the account's TTS voices offer (all sent as "ar")."""
        languages = {ARABIC}
        for voice in self._entry.runtime_data.catalogue.data.voices:
            languages |= dialect_languages(voice.dialects)
        return sorted(languages)

    @property
    @override
    def supported_formats(self) -> list[AudioFormats]:
        """WAV: a pipeline's headerless PCM, or a posted file whose header is removed."""
        return [AudioFormats.WAV]

    @property
    @override
    def supported_codecs(self) -> list[AudioCodecs]:
        """Raw PCM."""
        return [AudioCodecs.PCM]

    @property
    @override
    def supported_bit_rates(self) -> list[AudioBitRates]:
        """16-bit samples."""
        return [AudioBitRates.BITRATE_16]

    @property
    @override
    def supported_sample_rates(self) -> list[AudioSampleRates]:
        """The two rates the service accepts; pipelines always send 16 kHz."""
        return [AudioSampleRates.SAMPLERATE_8000, AudioSampleRates.SAMPLERATE_16000]

    @property
    @override
    def supported_channels(self) -> list[AudioChannels]:
        """Mono."""
        return [AudioChannels.CHANNEL_MONO]

    @override
    async def async_process_audio_stream(
        self, metadata: SpeechMetadata, stream: AsyncIterable[bytes]
    ) -> SpeechResult:
        """Stream the audio to the service as it arrives; return its transcript or an error."""
        # The answer will most likely be spoken in a few seconds.
        warm_up_speech(self._entry, from_listening=True)
        data = self._entry.runtime_data
        model = str(self._entry.options.get(CONF_STT_MODEL, DEFAULT_STT_MODEL))
        if model not in STT_MODELS:
            model = STT_MODEL_ARABIC
        # The mixed model ignores hotwords (the service reports them all dropped).
        candidates = exposed_arabic_names(self.hass) if model == STT_MODEL_ARABIC else []
        hotwords, over_limits = usable_hotwords(candidates)
        options = SttOptions(
            model=model,
            sample_rate=int(metadata.sample_rate),
            language=STT_LANGUAGE,
            hotwords=hotwords,
        )
        transcript: Transcript | None = None
        error: FaseehError | None = None
        try:
            transcript = await data.transcriber.transcribe(without_wav_header(stream), options)
        except FaseehError as err:
            error = err
        data.last_transcription = TranscriptionRecord(
            when=dt_util.utcnow(),
            model=model,
            sample_rate=options.sample_rate,
            hotwords_sent=hotwords,
            hotwords_over_limits=over_limits,
            hotwords_dropped_by_service=transcript.dropped_hotwords if transcript else (),
            audio_seconds_sent=round(
                (transcript.audio_bytes_sent if transcript else 0)
                / (_BYTES_PER_SECOND_PER_HZ * options.sample_rate),
                2,
            ),
            billed_seconds=transcript.billed_seconds if transcript else None,
            error=type(error).__name__ if error else None,
        )
        if error is not None:
            self._failed(error)
            return SpeechResult(None, SpeechResultState.ERROR)
        assert transcript is not None
        # The service's own billing figure; a session that ended without it is not guessed at.
        if transcript.billed_seconds is not None:
            data.usage.record_stt_seconds(transcript.billed_seconds)
        clear_wallet_empty(self.hass, self._entry)
        return SpeechResult(transcript.text, SpeechResultState.SUCCESS)

    def _failed(self, err: FaseehError) -> None:
        """Record a failure and start whatever the user must do about it."""
        record_service_error(self.hass, self._entry.entry_id, err)
        # The pipeline only says "speech-to-text failed"; the log says why.
        _LOGGER.warning("Munsit speech-to-text failed: %s", err.message)
        if isinstance(err, AuthenticationError):
            self._entry.async_start_reauth(self.hass)
        elif isinstance(err, InsufficientBalanceError):
            raise_wallet_empty(self.hass, self._entry)
