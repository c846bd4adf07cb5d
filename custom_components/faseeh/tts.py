"""Faseeh text-to-speech entity: Arabic speech streamed as WAV while the text is still arriving."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
import logging
import time
from typing import Any, override

from homeassistant.components.tts import (
    ATTR_PREFERRED_SAMPLE_RATE,
    ATTR_VOICE,
    TextToSpeechEntity,
    Voice as TTSVoice,
)
from homeassistant.components.tts.entity import TTSAudioRequest, TTSAudioResponse
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import FaseehConfigEntry, warm_up_speech
from .client import (
    DEFAULT_OUTPUT_FORMAT,
    OUTPUT_FORMATS,
    SIMILARITY_RANGE,
    SPEED_RANGE,
    STABILITY_RANGE,
    AuthenticationError,
    FaseehError,
    InsufficientBalanceError,
    ModelNotFoundError,
    SpeechRequest,
    VoiceNotFoundError,
    VoiceSettings,
)
from .client.abandon import ClosedWithConsumer
from .client.errors import (
    AccessDeniedError,
    ConnectionLostError,
    EmptyTextError,
    InvalidSettingsError,
    ProtocolError,
    RateLimitError,
    ServiceTimeoutError,
    ServiceUnavailableError,
)
from .const import (
    CONF_MODEL,
    CONF_SIMILARITY_BOOST,
    CONF_SPEED,
    CONF_STABILITY,
    CONF_VOICE,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from .coordinator import Catalogue
from .device import account_device_info
from .dialects import ARABIC, dialect_languages
from .failures import record_rejected_request, record_service_error
from .markup import MarkupFilter
from .repairs import check_default_voice, clear_wallet_empty, raise_wallet_empty
from .texts import Texts, async_get_texts, async_object_id_base
from .usage import CountedText
from .wav import streaming_wav_header

_LOGGER = logging.getLogger(__name__)

# Synthesis is a network stream per request; HA need not serialise them.
PARALLEL_UPDATES = 0

# The service's failures, as the translated message a user sees.
ERROR_TRANSLATIONS: dict[type[FaseehError], str] = {
    AuthenticationError: "invalid_auth",
    InsufficientBalanceError: "insufficient_balance",
    RateLimitError: "rate_limited",
    VoiceNotFoundError: "voice_not_found",
    ModelNotFoundError: "model_not_found",
    EmptyTextError: "empty_text",
    InvalidSettingsError: "invalid_settings",
    AccessDeniedError: "access_denied",
    ServiceUnavailableError: "service_unavailable",
    ConnectionLostError: "connection_lost",
    ProtocolError: "protocol_error",
    ServiceTimeoutError: "timeout",
    # Last: an error the service describes in a way no class above matches.
    FaseehError: "request_failed",
}

_SETTING_RANGES: dict[str, tuple[float, float]] = {
    CONF_STABILITY: STABILITY_RANGE,
    CONF_SIMILARITY_BOOST: SIMILARITY_RANGE,
    CONF_SPEED: SPEED_RANGE,
}


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FaseehConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's TTS entity, its labels in Home Assistant's language."""
    texts = await async_get_texts(hass)
    object_id = await async_object_id_base(hass, entry)
    async_add_entities([FaseehTTSEntity(entry, texts, f"{Platform.TTS}.{object_id}_speech")])


class FaseehTTSEntity(TextToSpeechEntity):
    """Speaks Arabic with the account's Faseeh voices."""

    _attr_has_entity_name = True
    _attr_translation_key = "speech"
    _attr_default_language = ARABIC

    def __init__(self, entry: FaseehConfigEntry, texts: Texts, entity_id: str) -> None:
        """Describe the entity for one account; the entity id is used only when it is new."""
        self._entry = entry
        self._texts = texts
        self.entity_id = entity_id
        self._attr_unique_id = entry.entry_id
        self._attr_supported_options = [
            ATTR_VOICE,
            CONF_MODEL,
            CONF_STABILITY,
            CONF_SIMILARITY_BOOST,
            CONF_SPEED,
            # Listed so HA hands it to us: Faseeh can produce some rates natively.
            ATTR_PREFERRED_SAMPLE_RATE,
        ]
        self._attr_device_info = account_device_info(entry, texts)
        self._attr_default_options = _default_options(entry.options)
        self._voices: dict[str, list[TTSVoice]] = {}
        self._rebuild_voices()

    @property
    def _catalogue(self) -> Catalogue:
        return self._entry.runtime_data.catalogue.data

    @override
    async def async_added_to_hass(self) -> None:
        """Follow catalogue refreshes and option changes without reloading."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self._entry.runtime_data.catalogue.async_add_listener(self._catalogue_updated)
        )
        self.async_on_remove(self._entry.add_update_listener(self._async_options_updated))

    @callback
    def _catalogue_updated(self) -> None:
        self._rebuild_voices()

    async def _async_options_updated(self, hass: HomeAssistant, entry: FaseehConfigEntry) -> None:
        # Assigning a new value clears HA's cached default_options, so the cache key follows.
        self._attr_default_options = _default_options(entry.options)
        self._rebuild_voices()
        check_default_voice(hass, entry, self._catalogue)

    @callback
    def _rebuild_voices(self) -> None:
        """Offer every voice under "ar" and each voice under its dialect's regional tag.

        The default voice comes first under every tag, its own dialect's or not: HA's voice
        picker and Assist preselect the first voice, and may pick a regional tag by themselves
        (from the home's country).
        """
        default_voice = self._default_voice()
        default = self._catalogue.voice(default_voice)
        by_language: dict[str, list[TTSVoice]] = {ARABIC: []}
        for voice in self._catalogue.voices:
            if voice is default:
                continue
            tts_voice = TTSVoice(voice.voice_id, self._texts.voice_label(voice))
            by_language[ARABIC].append(tts_voice)
            for language in dialect_languages(voice.dialects):
                by_language.setdefault(language, []).append(tts_voice)
        if default is not None:
            default_tts_voice = TTSVoice(default.voice_id, self._texts.voice_label(default))
            for language in dialect_languages(default.dialects):
                by_language.setdefault(language, [])
            for voices in by_language.values():
                voices.insert(0, default_tts_voice)
        self._voices = by_language
        self._attr_supported_languages = sorted(by_language)

    @callback
    @override
    def async_get_supported_voices(self, language: str) -> list[TTSVoice] | None:
        """Return the account's voices for this language, the configured default first."""
        return self._voices.get(language)

    @override
    def async_supports_streaming_input(self) -> bool:
        """Yes; HA asks this when speech may follow (pipeline validation), so warm a socket."""
        warm_up_speech(self._entry)
        return True

    @override
    async def async_stream_tts_audio(self, request: TTSAudioRequest) -> TTSAudioResponse:
        """Start speaking at once; text deltas are forwarded while audio streams back."""
        parameters = self._speech_parameters(request.options)
        stream = self._wav_stream(request.message_gen, parameters)
        # HA's ffmpeg writer abandons a stream it cannot write without closing it.
        return TTSAudioResponse("wav", ClosedWithConsumer(stream))

    async def _wav_stream(
        self, message_gen: AsyncGenerator[str], parameters: SpeechRequest
    ) -> AsyncGenerator[bytes]:
        """Yield one streaming WAV header, then PCM as each frame arrives."""
        data = self._entry.runtime_data
        header_sent = False
        # Billed as sent, after markup removal, at the model's price when the request started.
        text = CountedText(_without_markup(message_gen))
        model = self._catalogue.model(parameters.model_id)
        started = time.monotonic()
        speech = data.client.speak(text, parameters)
        try:
            async with aclosing(speech):
                async for chunk in speech:
                    if header_sent:
                        yield chunk.pcm
                        continue
                    # Sensors are written after the audio has gone on its way, not before.
                    self.hass.loop.call_soon(
                        data.usage.record_first_audio, time.monotonic() - started
                    )
                    # The real rate is only known from the first frame.
                    yield streaming_wav_header(chunk.sample_rate) + chunk.pcm
                    header_sent = True
        except FaseehError as err:
            raise self._failure(err, parameters) from None
        if not header_sent:
            # An empty generator breaks HA's ffmpeg conversion; a header alone is valid audio.
            yield streaming_wav_header(parameters.sample_rate)
        self.hass.loop.call_soon(
            self._spoken, text.characters, model.cost_per_character if model else 0.0
        )

    @callback
    def _spoken(self, characters: int, cost_per_character: float) -> None:
        """Count a finished synthesis, and clear the wallet repair it proves wrong."""
        self._entry.runtime_data.usage.record_speech(characters, cost_per_character)
        clear_wallet_empty(self.hass, self._entry)

    def _failure(self, err: FaseehError, parameters: SpeechRequest) -> HomeAssistantError:
        """Record a failure, start whatever the user must do about it, and describe it."""
        record_service_error(self.hass, self._entry.entry_id, err)
        _LOGGER.debug("Synthesis failed: %s", err)
        if isinstance(err, AuthenticationError):
            self._entry.async_start_reauth(self.hass)
        elif isinstance(err, InsufficientBalanceError):
            raise_wallet_empty(self.hass, self._entry)
        translation_key = next(
            key for kind, key in ERROR_TRANSLATIONS.items() if isinstance(err, kind)
        )
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key=translation_key,
            translation_placeholders={
                "message": err.message,
                "voice": parameters.voice_id,
                "model": parameters.model_id,
            },
        )

    def _default_voice(self) -> str:
        return str(self._entry.options.get(CONF_VOICE) or DEFAULT_OPTIONS[CONF_VOICE])

    def _speech_parameters(self, options: Mapping[str, Any]) -> SpeechRequest:
        """Validate the merged options of one request; each refusal is recorded, then raised."""
        try:
            return self._validated_parameters(options)
        except ServiceValidationError as err:
            record_rejected_request(self.hass, self._entry.entry_id, str(err.translation_key))
            raise

    def _validated_parameters(self, options: Mapping[str, Any]) -> SpeechRequest:
        """Check the voice, model and settings, with a translated error per problem."""
        # An empty or null option (a template that rendered nothing) means "my default".
        voice_id = str(options.get(ATTR_VOICE) or self._default_voice())
        model_id = str(
            options.get(CONF_MODEL)
            or self._entry.options.get(CONF_MODEL)
            or DEFAULT_OPTIONS[CONF_MODEL]
        )
        catalogue = self._catalogue
        if catalogue.voice(voice_id) is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_voice",
                translation_placeholders={"voice": voice_id},
            )
        if catalogue.model(model_id) is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_model",
                translation_placeholders={"model": model_id},
            )
        values = {option: _setting(options, option) for option in _SETTING_RANGES}
        return SpeechRequest(
            voice_id=voice_id,
            model_id=model_id,
            settings=VoiceSettings(
                stability=values[CONF_STABILITY],
                similarity_boost=values[CONF_SIMILARITY_BOOST],
                speed=values[CONF_SPEED],
            ),
            output_format=_output_format(options.get(ATTR_PREFERRED_SAMPLE_RATE)),
        )


async def _without_markup(message_gen: AsyncGenerator[str]) -> AsyncGenerator[str]:
    """Pass the text on as it arrives, minus the markdown marks no one should hear."""
    markup = MarkupFilter()
    async for delta in message_gen:
        if text := markup.feed(delta):
            yield text
    if text := markup.end():
        yield text


def _default_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The entry's options as TTS defaults, so each of them is part of HA's cache key."""
    # CONF_VOICE is HA's ATTR_VOICE ("voice"), so the entry's speech keys are the TTS option
    # keys; other options (the STT model) stay out of the TTS cache key.
    return {**DEFAULT_OPTIONS, **{key: options[key] for key in DEFAULT_OPTIONS if key in options}}


def _setting(options: Mapping[str, Any], option: str) -> float:
    """Read one numeric setting, which YAML or the UI may give as a string."""
    raw = options.get(option, DEFAULT_OPTIONS[option])
    minimum, maximum = _SETTING_RANGES[option]
    try:
        # float(True) is 1.0, but "stability: true" is a mistake, not a number.
        value = float("nan") if isinstance(raw, bool) else float(raw)
    except TypeError, ValueError:
        value = float("nan")
    if not minimum <= value <= maximum:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="out_of_range",
            translation_placeholders={
                "option": option,
                "value": str(raw),
                "minimum": str(minimum),
                "maximum": str(maximum),
            },
        )
    return value


def _output_format(preferred_sample_rate: Any) -> str:
    """Ask Faseeh for the rate the consumer wants when it can produce it natively."""
    output_format = f"pcm_{preferred_sample_rate}"
    return output_format if output_format in OUTPUT_FORMATS else DEFAULT_OUTPUT_FORMAT
