"""The Faseeh TTS entity, as a Home Assistant user and an Assist pipeline see it."""

import asyncio
from collections.abc import AsyncGenerator
import contextlib
import gc
from http import HTTPStatus
import logging
from pathlib import Path
from typing import Any

from homeassistant.components import media_source, tts
from homeassistant.components.media_player import MediaPlayerEntity
from homeassistant.components.media_player.const import (
    MediaPlayerEntityFeature,
    MediaPlayerState,
    MediaType,
)
from homeassistant.components.tts.const import DATA_TTS_MANAGER, DOMAIN as TTS_DOMAIN
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator

from custom_components.faseeh.const import CONF_SPEED, CONF_VOICE
from custom_components.faseeh.wav import WAV_HEADER_SIZE, streaming_wav_header
from harness.audio import decode, wav_pcm
from simulator import DEFAULT_API_KEY, FaseehSimulator, deterministic_pcm

from .conftest import added_entities

ENTITY_ID = "tts.faseeh_speech"
GREETING = "مرحبا بك في بيتك الذكي. الجو اليوم مشمس، والحرارة معتدلة!"

pytestmark = pytest.mark.usefixtures("fast_timeouts", "setup_integration")


async def fetch_speech(
    hass_client: ClientSessionGenerator,
    message: str,
    options: dict[str, Any] | None = None,
    *,
    cache: bool = False,
    expected_status: HTTPStatus = HTTPStatus.OK,
) -> bytes:
    """Ask HA for a speech URL over its API and fetch it as a media player would."""
    client = await hass_client()
    response = await client.post(
        "/api/tts_get_url",
        json={"engine_id": ENTITY_ID, "message": message, "cache": cache, "options": options or {}},
    )
    assert response.status == HTTPStatus.OK, await response.text()
    url = (await response.json())["url"]
    audio = await client.get(url.removeprefix("http://example.local:8123"))
    assert audio.status == expected_status
    body: bytes = await audio.read()
    return body


def cached_files(tts_cache_dir: Path) -> list[Path]:
    """Speech files HA keeps on disk."""
    return sorted(tts_cache_dir.glob("*")) if tts_cache_dir.exists() else []


@pytest.fixture(autouse=True)
async def internal_url(hass: HomeAssistant) -> None:
    """Give HA a URL to put in front of its TTS proxy paths."""
    hass.config.internal_url = "http://example.local:8123"


async def test_wav_from_the_proxy_is_our_streaming_header_then_every_pcm_byte(
    hass_client: ClientSessionGenerator, faseeh_sim: FaseehSimulator
) -> None:
    """With preferred_format wav, HA passes our header and the exact PCM through."""
    audio = await fetch_speech(hass_client, GREETING, {"preferred_format": "wav"})

    assert audio[:WAV_HEADER_SIZE] == streaming_wav_header(24000)
    assert wav_pcm(audio, 24000) == deterministic_pcm(GREETING, 24000)
    assert await decode(audio, 24000) == deterministic_pcm(GREETING, 24000)


class Speaker(MediaPlayerEntity):
    """A speaker that remembers what it was asked to play, as a real player entity."""

    _attr_name = "Kitchen"
    _attr_unique_id = "kitchen-speaker"
    _attr_state = MediaPlayerState.IDLE
    _attr_supported_features = (
        MediaPlayerEntityFeature.PLAY_MEDIA | MediaPlayerEntityFeature.MEDIA_ANNOUNCE
    )

    def __init__(self) -> None:
        """Start with nothing played."""
        self.played: list[tuple[str, dict[str, Any]]] = []

    async def async_play_media(
        self, media_type: MediaType | str, media_id: str, **kwargs: Any
    ) -> None:
        """Remember the media and how it was to be played."""
        self.played.append((media_id, kwargs))


async def test_an_announcement_on_a_speaker_is_an_mp3_of_the_whole_message(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """tts.speak announces on the speaker a URL whose mp3 decodes to the whole message."""
    assert await async_setup_component(hass, "media_source", {})
    speaker = Speaker()
    async with added_entities(hass, "test_speaker", Platform.MEDIA_PLAYER, [speaker]):
        await hass.services.async_call(
            TTS_DOMAIN,
            "speak",
            {
                "entity_id": ENTITY_ID,
                "media_player_entity_id": speaker.entity_id,
                "message": GREETING,
            },
            blocking=True,
        )

    [(media_id, play_options)] = speaker.played
    assert play_options["announce"] is True
    media = await media_source.async_resolve_media(hass, media_id, speaker.entity_id)
    client = await hass_client()
    response = await client.get(media.url.removeprefix("http://example.local:8123"))
    assert response.status == HTTPStatus.OK
    assert media.mime_type == "audio/mpeg"
    pcm = await decode(await response.read(), 24000)
    expected_seconds = len(deterministic_pcm(GREETING, 24000)) / 48000
    # mp3 adds encoder padding and rounds to frames; it never loses speech.
    assert expected_seconds <= len(pcm) / 48000 < expected_seconds + 0.2


async def test_a_native_preferred_rate_is_asked_of_faseeh_instead_of_resampled(
    hass_client: ClientSessionGenerator, faseeh_sim: FaseehSimulator
) -> None:
    """A satellite asking for 16 kHz WAV gets Faseeh's own 16 kHz audio."""
    audio = await fetch_speech(
        hass_client, GREETING, {"preferred_format": "wav", "preferred_sample_rate": 16000}
    )

    assert faseeh_sim.ws_sessions[-1].init is not None
    assert faseeh_sim.ws_sessions[-1].init["output_format"] == "pcm_16000"
    assert await decode(audio, 16000) == deterministic_pcm(GREETING, 16000)


async def test_speech_starts_while_the_text_is_still_being_written(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator
) -> None:
    """The rest of an LLM answer is held back until audio arrives, and the request completes."""
    first_audio = asyncio.Event()
    deltas = ["مرحبا بك. ", "كيف يمكن", "ني مساعدتك ", "اليوم؟"]

    async def llm_answer() -> AsyncGenerator[str]:
        yield deltas[0]
        # Without streaming, this would wait forever: no audio before the text ends.
        await first_audio.wait()
        for delta in deltas[1:]:
            yield delta

    stream = tts.async_create_stream(hass, ENTITY_ID, "ar", {"preferred_format": "wav"})
    stream.async_set_message_stream(llm_answer())
    chunks: list[bytes] = []
    async with asyncio.timeout(10):
        async for chunk in stream.async_stream_result():
            chunks.append(chunk)
            first_audio.set()

    text = "".join(deltas)
    assert faseeh_sim.ws_sessions[-1].text == text
    assert wav_pcm(b"".join(chunks), 24000) == deterministic_pcm(text, 24000)


# Each fault the service can produce, and the translated error a user sees for it.
FAILURES = {
    "invalid_key_handshake": "invalid_auth",
    "invalid_key_frame": "invalid_auth",
    "wallet_empty": "insufficient_balance",
    "wallet_empty_midstream": "insufficient_balance",
    "wallet_empty_then_drop": "insufficient_balance",
    "rate_limit": "rate_limited",
    "rate_limit_handshake": "rate_limited",
    "unknown_voice": "voice_not_found",
    "unknown_model": "model_not_found",
    "invalid_setting": "invalid_settings",
    "internal_error": "service_unavailable",
    "drop_mid_audio": "connection_lost",
    "stall": "timeout",
    "malformed_json": "protocol_error",
    "audio_not_base64": "protocol_error",
    "binary_frame": "protocol_error",
    "slow_handshake": "timeout",
}


@pytest.mark.parametrize(("fault", "translation_key"), FAILURES.items())
async def test_a_failed_synthesis_is_a_clear_error_never_cached_and_the_next_one_works(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    faseeh_sim: FaseehSimulator,
    tts_cache_dir: Path,
    fault: str,
    translation_key: str,
) -> None:
    """Failed or truncated audio raises a translated error and leaves nothing cached."""
    faseeh_sim.config.fault = fault
    faseeh_sim.config.fault_after_chunks = 1
    stream = tts.async_create_stream(hass, ENTITY_ID, "ar", {"preferred_format": "wav"})
    stream.async_set_message(GREETING)

    with pytest.raises(HomeAssistantError) as raised:
        async for _ in stream.async_stream_result():
            pass
    await hass.async_block_till_done(wait_background_tasks=True)

    assert raised.value.translation_key == translation_key
    assert hass.data[DATA_TTS_MANAGER].mem_cache == {}
    assert cached_files(tts_cache_dir) == []
    assert await faseeh_sim.all_sessions_closed()

    faseeh_sim.config.fault = None
    audio = await fetch_speech(hass_client, GREETING, {"preferred_format": "wav"}, cache=True)
    assert wav_pcm(audio, 24000) == deterministic_pcm(GREETING, 24000)


async def test_a_player_already_listening_gets_a_short_file_that_is_never_cached(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    faseeh_sim: FaseehSimulator,
    tts_cache_dir: Path,
) -> None:
    """Audio that already went out cannot be recalled, but it is never served again."""
    faseeh_sim.config.fault = "drop_mid_audio"
    faseeh_sim.config.fault_after_chunks = 2

    audio = await fetch_speech(hass_client, GREETING, {"preferred_format": "wav"}, cache=True)
    await hass.async_block_till_done(wait_background_tasks=True)

    complete = deterministic_pcm(GREETING, 24000)
    received = wav_pcm(audio, 24000)
    assert 0 < len(received) < len(complete)
    assert complete.startswith(received)
    assert hass.data[DATA_TTS_MANAGER].mem_cache == {}
    assert cached_files(tts_cache_dir) == []


async def test_no_audio_is_a_failure_when_a_player_connects_after_it(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, faseeh_sim: FaseehSimulator
) -> None:
    """A fetch that arrives after the failure gets an HTTP error, not an empty file."""
    faseeh_sim.config.fault = "wallet_empty"
    await fetch_speech(
        hass_client, GREETING, cache=True, expected_status=HTTPStatus.INTERNAL_SERVER_ERROR
    )


async def test_changing_an_option_is_a_new_cache_entry(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    faseeh_sim: FaseehSimulator,
    setup_integration: MockConfigEntry,
) -> None:
    """The same text is served from cache until a voice setting changes."""
    await fetch_speech(hass_client, GREETING, cache=True)
    await fetch_speech(hass_client, GREETING, cache=True)
    assert len(faseeh_sim.syntheses) == 1

    hass.config_entries.async_update_entry(
        setup_integration, options={**setup_integration.options, CONF_SPEED: 1.1}
    )
    await hass.async_block_till_done()
    await fetch_speech(hass_client, GREETING, cache=True)

    assert len(faseeh_sim.syntheses) == 2
    assert faseeh_sim.syntheses[-1].init is not None
    assert faseeh_sim.syntheses[-1].init["voice_settings"]["speed"] == 1.1


async def test_a_socket_that_never_speaks_falls_back_to_http_streaming(
    hass_client: ClientSessionGenerator, faseeh_sim: FaseehSimulator
) -> None:
    """A silent WebSocket (seen live in 2026) still gives the user the whole message."""
    faseeh_sim.config.fault = "silent"
    faseeh_sim.reset_records()

    audio = await fetch_speech(hass_client, GREETING, {"preferred_format": "wav"})

    # One streaming POST per sentence, spoken in order.
    requests = faseeh_sim.http_requests
    assert "".join(request.json["text"] for request in requests) == GREETING
    assert {request.path for request in requests} == {"/api/v1/text-to-speech/faseeh-v1-preview"}
    spoken = [deterministic_pcm(request.json["text"], 24000) for request in requests]
    assert wav_pcm(audio, 24000) == b"".join(spoken)


async def test_a_per_call_voice_overrides_the_default(
    hass_client: ClientSessionGenerator, faseeh_sim: FaseehSimulator
) -> None:
    """options: voice in tts.speak picks another of the account's voices."""
    await fetch_speech(hass_client, GREETING, {"voice": "ar-najdi-male-2"})

    assert faseeh_sim.ws_sessions[-1].init is not None
    assert faseeh_sim.ws_sessions[-1].init["voice_id"] == "ar-najdi-male-2"


@pytest.mark.parametrize(
    ("options", "translation_key"),
    [
        ({"voice": "ar-martian-1"}, "unknown_voice"),
        ({"model": "faseeh-v9"}, "unknown_model"),
        ({"speed": 3}, "out_of_range"),
        ({"stability": "very"}, "out_of_range"),
        # YAML's `true` is not a number, though Python would make it 1.0.
        ({"stability": True}, "out_of_range"),
    ],
)
async def test_bad_options_give_a_clear_error_without_calling_faseeh(
    hass: HomeAssistant,
    faseeh_sim: FaseehSimulator,
    options: dict[str, Any],
    translation_key: str,
) -> None:
    """An unknown voice or model, or a setting out of range, is named in the error."""
    stream = tts.async_create_stream(hass, ENTITY_ID, "ar", options)
    stream.async_set_message(GREETING)

    with pytest.raises(HomeAssistantError) as raised:
        async for _ in stream.async_stream_result():
            pass

    assert raised.value.translation_key == translation_key
    assert faseeh_sim.ws_sessions == []


@pytest.mark.parametrize("empty", ["", None])
async def test_an_empty_voice_or_model_means_the_users_defaults(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    faseeh_sim: FaseehSimulator,
    setup_integration: MockConfigEntry,
    empty: str | None,
) -> None:
    """A template that rendered nothing falls back to the options, not to built-in defaults."""
    hass.config_entries.async_update_entry(
        setup_integration,
        options={
            **setup_integration.options,
            CONF_VOICE: "ar-najdi-male-2",
            "model": "faseeh-mini-v1-preview",
        },
    )
    await hass.async_block_till_done()

    await fetch_speech(hass_client, GREETING, {"voice": empty, "model": empty})

    init = faseeh_sim.ws_sessions[-1].init
    assert init is not None
    assert (init["voice_id"], init["model_id"]) == ("ar-najdi-male-2", "faseeh-mini-v1-preview")


@pytest.mark.parametrize("arithmetic", ["2*3=6", "2 * 3 = 6", "2**10 = 1024"])
async def test_arithmetic_keeps_its_stars(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator, arithmetic: str
) -> None:
    """Only markdown emphasis is dropped; a star between numbers is multiplication."""
    stream = tts.async_create_stream(hass, ENTITY_ID, "ar", {"preferred_format": "wav"})
    stream.async_set_message(f"الناتج **{arithmetic}** تمامًا.")
    async for _ in stream.async_stream_result():
        pass

    assert faseeh_sim.ws_sessions[-1].text == f"الناتج {arithmetic} تمامًا."


async def test_the_voice_picker_lists_the_account_voices_per_dialect(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, setup_integration: MockConfigEntry
) -> None:
    """Arabic lists every voice, the default first; a dialect tag lists that region's voices."""
    client = await hass_ws_client(hass)

    await client.send_json_auto_id(
        {"type": "tts/engine/voices", "engine_id": ENTITY_ID, "language": "ar"}
    )
    arabic = (await client.receive_json())["result"]["voices"]
    await client.send_json_auto_id(
        {"type": "tts/engine/voices", "engine_id": ENTITY_ID, "language": "ar-SA"}
    )
    saudi = (await client.receive_json())["result"]["voices"]

    assert arabic[0]["voice_id"] == setup_integration.options[CONF_VOICE]
    assert {voice["voice_id"] for voice in arabic} >= {"ar-uae-male-1", "cl-my-voice-01"}
    assert {voice["voice_id"] for voice in saudi} == {
        "ar-hijazi-female-1",
        "ar-hijazi-female-2",
        "ar-najdi-male-2",
        "ar-najdi-female-1",
    }


async def test_the_entity_offers_arabic_and_every_dialect_region(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator
) -> None:
    """Assist can pick Faseeh for plain Arabic and for each regional tag."""
    client = await hass_ws_client(hass)

    await client.send_json_auto_id({"type": "tts/engine/get", "engine_id": ENTITY_ID})
    engine = (await client.receive_json())["result"]["provider"]

    assert set(engine["supported_languages"]) == {"ar", "ar-SA", "ar-AE", "ar-EG", "ar-KW"}


async def test_an_assist_pipeline_in_arabic_accepts_faseeh(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator
) -> None:
    """A pipeline with language ar can use the entity as its TTS engine and voice."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "assist_pipeline", {})
    client = await hass_ws_client(hass)

    await client.send_json_auto_id(
        {
            "type": "assist_pipeline/pipeline/create",
            "conversation_engine": "conversation.home_assistant",
            "conversation_language": "ar",
            "language": "ar",
            "name": "Arabic",
            "stt_engine": None,
            "stt_language": None,
            "tts_engine": ENTITY_ID,
            "tts_language": "ar-SA",
            "tts_voice": "ar-najdi-male-2",
            "wake_word_entity": None,
            "wake_word_id": None,
        }
    )
    response = await client.receive_json()

    assert response["success"], response
    assert response["result"]["tts_engine"] == ENTITY_ID


async def test_voices_survive_a_catalogue_outage_and_speech_resumes_after_it(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    hass_client: ClientSessionGenerator,
    faseeh_sim: FaseehSimulator,
    setup_integration: MockConfigEntry,
) -> None:
    """A failed background refresh keeps the last catalogue; nothing is fetched per request."""
    catalogue = setup_integration.runtime_data.catalogue
    port = faseeh_sim.port
    await faseeh_sim.stop()
    await catalogue.async_refresh()
    assert not catalogue.last_update_success

    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "tts/engine/voices", "engine_id": ENTITY_ID, "language": "ar"}
    )
    assert len((await client.receive_json())["result"]["voices"]) == 9

    faseeh_sim.config.port = port
    await faseeh_sim.start()
    faseeh_sim.reset_records()
    audio = await fetch_speech(hass_client, GREETING, {"preferred_format": "wav"})

    assert wav_pcm(audio, 24000) == deterministic_pcm(GREETING, 24000)
    assert [request.path for request in faseeh_sim.http_requests] == []


async def test_the_api_key_never_reaches_the_log_whatever_fails(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Debug logging of every failure and of a success shows no trace of the key."""
    caplog.set_level(logging.DEBUG)
    for fault in [*FAILURES, None]:
        faseeh_sim.config.fault = fault
        stream = tts.async_create_stream(hass, ENTITY_ID, "ar", {"preferred_format": "wav"})
        stream.async_set_message(f"{GREETING} {fault}")
        with contextlib.suppress(HomeAssistantError):
            async for _ in stream.async_stream_result():
                pass
    await hass.async_block_till_done(wait_background_tasks=True)

    assert "Error getting audio" in caplog.text
    assert DEFAULT_API_KEY not in caplog.text


async def test_a_blank_message_is_named_as_such_not_blamed_on_the_settings(
    hass: HomeAssistant,
) -> None:
    """Whitespace alone gives the translated 'nothing to say' error."""
    stream = tts.async_create_stream(hass, ENTITY_ID, "ar", {})
    stream.async_set_message("  \n ")

    with pytest.raises(HomeAssistantError) as raised:
        async for _ in stream.async_stream_result():
            pass

    assert raised.value.translation_key == "empty_text"


async def test_markdown_from_an_llm_is_not_read_out(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator
) -> None:
    """Emphasis, headings and code marks are dropped, even when split across deltas."""

    async def llm_answer() -> AsyncGenerator[str]:
        for delta in ["## الطقس", "\n*", "*مشمس** و`25` درجة."]:
            yield delta

    stream = tts.async_create_stream(hass, ENTITY_ID, "ar", {"preferred_format": "wav"})
    stream.async_set_message_stream(llm_answer())
    audio = b"".join([chunk async for chunk in stream.async_stream_result()])

    spoken = " الطقس\nمشمس و25 درجة."
    assert faseeh_sim.ws_sessions[-1].text == spoken
    assert wav_pcm(audio, 24000) == deterministic_pcm(spoken, 24000)


async def test_a_stream_that_ffmpeg_abandons_closes_its_socket_at_once(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """HA's ffmpeg failing mid-stream leaves no socket, no task and no shutdown traceback."""
    faseeh_sim.config.realtime_factor = 2.0
    stream = tts.async_create_stream(hass, ENTITY_ID, "ar", {"preferred_format": "xyz"})
    stream.async_set_message(GREETING)
    # HA reports the broken ffmpeg pipe as it is.
    with pytest.raises((HomeAssistantError, ConnectionResetError)):
        async for _ in stream.async_stream_result():
            pass
    del stream
    gc.collect()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert await faseeh_sim.all_sessions_closed()
    client_tasks = [
        task
        for task in asyncio.all_tasks()
        if task.get_name().startswith("faseeh-") and not task.get_name().startswith("faseeh-sim")
    ]
    assert not client_tasks
    await hass.async_stop()
    assert "athrow" not in caplog.text
    assert "Task was destroyed" not in caplog.text
