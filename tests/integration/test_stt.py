"""The Munsit speech-to-text entity, as Home Assistant's STT API and an Assist pipeline see it."""

import asyncio
from collections.abc import AsyncIterator, Callable
from http import HTTPStatus
import logging
import math
import struct
from typing import Any

from homeassistant.components.light import LightEntity
from homeassistant.components.light.const import ColorMode
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar, entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MockHAClientWebSocket,
    WebSocketGenerator,
)

from custom_components.faseeh.client import SttTimeouts
from custom_components.faseeh.const import CONF_STT_MODEL, DOMAIN
from custom_components.faseeh.diagnostics import async_get_config_entry_diagnostics
from harness.audio import SILENCE_RMS, decode, pcm_rms
from simulator import DEFAULT_API_KEY, FaseehSimulator
from simulator.audio import speech_pcm

from .conftest import added_entities

STT_ENTITY_ID = "stt.faseeh_speech_recognition"
TTS_ENTITY_ID = "tts.faseeh_speech"
COMMAND = "شغل ضوء المطبخ"
ANSWER = "تم تشغيل الأضواء"
SPEECH_HEADER = "format=wav; codec=pcm; sample_rate={rate}; bit_rate=16; channel=1; language={lang}"
CHUNK = 320  # what a pipeline hands the entity: 10 ms at 16 kHz

pytestmark = pytest.mark.usefixtures("setup_integration")


@pytest.fixture(autouse=True)
def fast_stt_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stalled speech service is given up on in a second (roomy for a loaded machine)."""
    monkeypatch.setattr(
        "custom_components.faseeh.STT_TIMEOUTS", SttTimeouts(connect=1.5, drain=1.0)
    )


def tone(seconds: float, rate: int = 16000, level: int = 6000) -> bytes:
    """Loud PCM16 audio the simulator counts as speech."""
    samples = (
        int(level * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(rate * seconds))
    )
    return struct.pack(f"<{int(rate * seconds)}h", *samples)


def wav_file(pcm: bytes, rate: int) -> bytes:
    """A WAV file as a user would post it, with a LIST chunk before the data."""
    info = b"LIST" + struct.pack("<I", 4) + b"INFO"
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + fmt + info + b"data" + struct.pack("<I", len(pcm)) + pcm
    return b"RIFF" + struct.pack("<I", len(body)) + body


async def post_audio(
    hass_client: ClientSessionGenerator, body: bytes, rate: int = 16000, language: str = "ar"
) -> tuple[HTTPStatus, Any]:
    """POST audio to HA's STT endpoint as a user's script would."""
    http = await hass_client()
    async with asyncio.timeout(10):
        response = await http.post(
            f"/api/stt/{STT_ENTITY_ID}",
            data=body,
            headers={"X-Speech-Content": SPEECH_HEADER.format(rate=rate, lang=language)},
        )
        return HTTPStatus(response.status), await response.json()


async def test_a_posted_wav_file_is_transcribed_and_its_header_never_reaches_the_service(
    hass_client: ClientSessionGenerator, faseeh_sim: FaseehSimulator
) -> None:
    """Only the samples are sent; the answer is the transcript the service gave."""
    pcm = tone(1.0) + bytes(6400)

    status, result = await post_audio(hass_client, wav_file(pcm, 16000))

    assert status is HTTPStatus.OK
    assert result == {"text": COMMAND, "result": "success"}
    [session] = faseeh_sim.stt_sessions
    assert session.audio_bytes == pcm
    assert session.close_code == 1000


async def test_the_service_is_asked_for_arabic_without_its_own_turn_detection(
    hass_client: ClientSessionGenerator, faseeh_sim: FaseehSimulator
) -> None:
    """HA's voice detection ends the turn, so smart_turn is off and endpointing short."""
    await post_audio(hass_client, tone(0.5))

    [session] = faseeh_sim.stt_sessions
    assert session.query["model"] == "munsit"
    assert session.query["language"] == "ar"
    assert session.query["sample_rate"] == "16000"
    assert session.query["encoding"] == "linear16"
    assert session.query["smart_turn"] == "false"
    assert int(session.query["endpointing"]) <= 500
    # The key travels in a header only: URLs end up in access logs.
    assert session.header_key == DEFAULT_API_KEY
    assert DEFAULT_API_KEY not in str(session.query)


async def test_8_khz_audio_is_sent_at_8_khz(
    hass_client: ClientSessionGenerator, faseeh_sim: FaseehSimulator
) -> None:
    """The service takes 8 kHz too, so telephone-rate audio is not resampled."""
    pcm = tone(1.0, rate=8000)
    status, result = await post_audio(hass_client, pcm, rate=8000)

    assert (status, result["result"]) == (HTTPStatus.OK, "success")
    [session] = faseeh_sim.stt_sessions
    assert session.query["sample_rate"] == "8000"
    assert session.audio_bytes == pcm


async def test_the_entity_offers_arabic_and_the_regional_tags_of_the_tts_voices(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """A pipeline set to a regional tag the TTS offers finds the same tag here."""
    http = await hass_client()
    response = await http.get(f"/api/stt/{STT_ENTITY_ID}")
    info = await response.json()

    tts_languages = hass.data["tts"].get_entity(TTS_ENTITY_ID).supported_languages
    assert info["languages"] == tts_languages
    assert "ar" in info["languages"]
    assert "ar-SA" in info["languages"]
    assert info["sample_rates"] == [8000, 16000]
    assert (info["formats"], info["codecs"], info["bit_rates"], info["channels"]) == (
        ["wav"],
        ["pcm"],
        [16],
        [1],
    )


async def test_a_regional_tag_is_sent_to_the_service_as_arabic(
    hass_client: ClientSessionGenerator, faseeh_sim: FaseehSimulator
) -> None:
    """The service has no dialect parameter; ar-SA is transcribed as Arabic."""
    status, result = await post_audio(hass_client, tone(0.5), language="ar-SA")

    assert (status, result["result"]) == (HTTPStatus.OK, "success")
    assert faseeh_sim.stt_sessions[0].query["language"] == "ar"


async def test_the_entity_belongs_to_the_accounts_device(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """STT, TTS and the usage sensors of one account are one device."""
    entities = er.async_entries_for_config_entry(er.async_get(hass), setup_integration.entry_id)
    assert {STT_ENTITY_ID, TTS_ENTITY_ID} <= {entity.entity_id for entity in entities}
    assert len({entity.device_id for entity in entities}) == 1


async def test_the_code_switching_model_is_used_when_chosen_and_gets_no_hotwords(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    faseeh_sim: FaseehSimulator,
    setup_integration: MockConfigEntry,
    kitchen_light: KitchenLight,
) -> None:
    """munsit-en-ar ignores hotwords, so none are sent."""
    hass.config_entries.async_update_entry(
        setup_integration, options={**setup_integration.options, CONF_STT_MODEL: "munsit-en-ar"}
    )
    await post_audio(hass_client, tone(0.5))

    [session] = faseeh_sim.stt_sessions
    assert session.query["model"] == "munsit-en-ar"
    assert "hotwords" not in session.query


# Assist: a kitchen light, the built-in Arabic agent, our STT and TTS.


class KitchenLight(LightEntity):
    """A real light entity that Assist can turn on."""

    _attr_color_mode = ColorMode.ONOFF
    _attr_unique_id = "kitchen-ceiling"
    _attr_name = "ضوء السقف"
    _attr_is_on = False

    def __init__(self) -> None:
        """An on/off light, switched off."""
        self._attr_supported_color_modes = {ColorMode.ONOFF}

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Switch on."""
        self._attr_is_on = True
        self.async_write_ha_state()

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Switch off."""
        self._attr_is_on = False
        self.async_write_ha_state()


@pytest.fixture
async def kitchen_light(hass: HomeAssistant) -> AsyncIterator[KitchenLight]:
    """The light, exposed to Assist, in an area named as the Arabic templates need."""
    assert await async_setup_component(hass, "homeassistant", {})
    light = KitchenLight()
    async with added_entities(hass, "kitchen", Platform.LIGHT, [light]):
        # Without the article: the templates add [ال] themselves.
        area = ar.async_get(hass).async_create("مطبخ", aliases={"المطبخ الكبير"})
        er.async_get(hass).async_update_entity(light.entity_id, area_id=area.id)
        yield light


@pytest.fixture
async def pipeline_id(hass: HomeAssistant, hass_ws_client: WebSocketGenerator) -> str:
    """A fully Arabic pipeline: our STT, the built-in agent, our TTS."""
    hass.config.internal_url = "http://example.local:8123"
    # The agent reads exposure settings from the core integration.
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    assert await async_setup_component(hass, "assist_pipeline", {})
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "assist_pipeline/pipeline/create",
            "conversation_engine": "conversation.home_assistant",
            "conversation_language": "ar",
            "language": "ar",
            "name": "Arabic voice",
            "stt_engine": STT_ENTITY_ID,
            "stt_language": "ar",
            "tts_engine": TTS_ENTITY_ID,
            "tts_language": "ar",
            "tts_voice": "ar-najdi-male-2",
            "wake_word_entity": None,
            "wake_word_id": None,
        }
    )
    response = await client.receive_json()
    assert response["success"], response
    return str(response["result"]["id"])


class PipelineRun:
    """One assist_pipeline/run from audio, fed over the websocket like a satellite would."""

    def __init__(self, client: MockHAClientWebSocket, handler_id: int) -> None:
        """Wrap a started run."""
        self.client = client
        self.handler_id = handler_id
        self.events: list[dict[str, Any]] = []

    async def send(self, pcm: bytes) -> None:
        """Send audio in the pipeline's own 10 ms chunks."""
        for offset in range(0, len(pcm), CHUNK):
            await self.client.send_bytes(bytes([self.handler_id]) + pcm[offset : offset + CHUNK])

    async def end_audio(self) -> None:
        """An empty payload ends the input stream."""
        await self.client.send_bytes(bytes([self.handler_id]))

    async def until(self, event_type: str) -> dict[str, Any]:
        """Collect events up to and including the next one of this type."""
        async with asyncio.timeout(10):
            while True:
                message = await self.client.receive_json()
                event: dict[str, Any] = message["event"]
                self.events.append(event)
                if event["type"] == event_type:
                    return event

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        """The events of one type seen so far."""
        return [event for event in self.events if event["type"] == event_type]


async def start_run(
    hass_ws_client: WebSocketGenerator, hass: HomeAssistant, pipeline: str, end_stage: str
) -> PipelineRun:
    """Start a run at the stt stage without HA's VAD, so only end_audio ends the input."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "assist_pipeline/run",
            "pipeline": pipeline,
            "start_stage": "stt",
            "end_stage": end_stage,
            "input": {"sample_rate": 16000, "no_vad": True},
        }
    )
    assert (await client.receive_json())["success"]
    run = PipelineRun(client, 0)
    start = await run.until("run-start")
    run.handler_id = start["data"]["runner_data"]["stt_binary_handler_id"]
    await run.until("stt-start")
    return run


async def eventually(condition: Callable[[], bool]) -> bool:
    """Wait (bounded) for a condition about the simulator's records."""
    try:
        async with asyncio.timeout(5):
            # The simulator's records are plain lists, polled: no event to wait on.
            while not condition():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    except TimeoutError:
        return False
    return True


async def test_arabic_speech_turns_on_the_kitchen_light_and_the_answer_is_spoken(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    hass_client: ClientSessionGenerator,
    faseeh_sim: FaseehSimulator,
    kitchen_light: KitchenLight,
    pipeline_id: str,
) -> None:
    """Speech in, HA's Arabic intents, speech out: one account, the whole voice loop."""
    faseeh_sim.config.audio = "speech"
    spoken = await speech_pcm(COMMAND, 16000)
    run = await start_run(hass_ws_client, hass, pipeline_id, "tts")

    await run.send(spoken + bytes(16000))
    await run.end_audio()
    stt_end = await run.until("stt-end")
    intent_end = await run.until("intent-end")
    tts_end = await run.until("tts-end")
    await run.until("run-end")

    assert stt_end["data"]["stt_output"]["text"] == COMMAND
    speech = intent_end["data"]["intent_output"]["response"]["speech"]["plain"]["speech"]
    assert speech == ANSWER
    light_state = hass.states.get(kitchen_light.entity_id)
    assert light_state is not None
    assert light_state.state == "on"
    [stt_session] = faseeh_sim.stt_sessions
    # The pipeline passes whole 10 ms chunks only; every one of them reached the service.
    sent = spoken + bytes(16000)
    assert stt_session.audio_bytes == sent[: len(sent) - len(sent) % CHUNK]
    # The kitchen is among the hotwords, so "المطبخ" is biased towards the area's name.
    assert "مطبخ" in stt_session.query["hotwords"].split(",")
    assert "ضوء السقف" in stt_session.query["hotwords"].split(",")

    http = await hass_client()
    url = tts_end["data"]["tts_output"]["url"].removeprefix("http://example.local:8123")
    response = await http.get(url)
    assert response.status == HTTPStatus.OK
    answer_pcm = await decode(await response.read(), 16000)
    # Real speech: longer than half a second and not silence.
    assert len(answer_pcm) > 16000
    assert pcm_rms(answer_pcm) > SILENCE_RMS
    [tts_session] = faseeh_sim.ws_sessions
    assert tts_session.text == ANSWER


async def test_audio_reaches_the_service_while_the_user_is_still_speaking(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    faseeh_sim: FaseehSimulator,
    pipeline_id: str,
) -> None:
    """The service has the first words before the input stream has ended: no buffering."""
    run = await start_run(hass_ws_client, hass, pipeline_id, "stt")
    first_words = tone(0.5)

    await run.send(first_words)
    assert await eventually(lambda: len(faseeh_sim.stt_sessions) == 1)
    [session] = faseeh_sim.stt_sessions
    assert await session.received(len(first_words) // 2)
    assert run.of_type("stt-end") == []

    await run.send(tone(0.5))
    await run.end_audio()
    stt_end = await run.until("stt-end")
    assert stt_end["data"]["stt_output"]["text"] == COMMAND
    assert session.audio_bytes == first_words + tone(0.5)


async def test_silence_gives_no_text_and_is_billed_only_as_long_as_it_was(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    faseeh_sim: FaseehSimulator,
    setup_integration: MockConfigEntry,
    pipeline_id: str,
) -> None:
    """No words: HA says nothing was recognised; nothing extra was sent as padding."""
    silence = bytes(16000)
    run = await start_run(hass_ws_client, hass, pipeline_id, "stt")
    await run.send(silence)
    await run.end_audio()
    error = await run.until("error")
    await run.until("run-end")

    assert error["data"]["code"] == "stt-no-text-recognized"
    [session] = faseeh_sim.stt_sessions
    assert session.audio_bytes == silence
    record = setup_integration.runtime_data.last_transcription
    assert record is not None
    assert record.billed_seconds == 0.5
    assert record.audio_seconds_sent == 0.5


async def test_the_end_of_a_posted_file_is_sent_as_it_is_without_padding(
    hass_client: ClientSessionGenerator, faseeh_sim: FaseehSimulator
) -> None:
    """Seven samples past the last full frame arrive as they are; a lone odd byte is no sample."""
    pcm = tone(0.5) + tone(7 / 16000)
    status, result = await post_audio(hass_client, pcm + b"\x01")

    assert (status, result["result"]) == (HTTPStatus.OK, "success")
    [session] = faseeh_sim.stt_sessions
    assert session.audio_bytes == pcm
    assert all(len(frame.data) % 2 == 0 for frame in session.audio)


FAULTS = [
    "stt_invalid_key_handshake",
    "stt_wallet_empty",
    "stt_wallet_midstream",
    "stt_session_limit",
    "stt_invalid_parameter",
    "stt_internal_error",
    "stt_closed_midstream",
    "stt_drop",
    "stt_no_metadata",
    "stt_slow_drain",
]


@pytest.mark.parametrize("fault", FAULTS)
async def test_every_service_failure_ends_the_run_with_an_stt_error_and_leaves_nothing_open(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    faseeh_sim: FaseehSimulator,
    setup_integration: MockConfigEntry,
    pipeline_id: str,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    """A clear stt-stream-failed, the cause in the log and diagnostics, no socket or task left."""
    faseeh_sim.config.fault = fault
    run = await start_run(hass_ws_client, hass, pipeline_id, "stt")
    with caplog.at_level(logging.DEBUG, logger="custom_components.faseeh"):
        await run.send(tone(1.0))
        await run.end_audio()
        error = await run.until("error")
        await run.until("run-end")

    assert error["data"]["code"] == "stt-stream-failed"
    assert run.of_type("stt-end") == []
    assert "Munsit speech-to-text failed" in caplog.text
    assert DEFAULT_API_KEY not in caplog.text
    diagnostics = await async_get_config_entry_diagnostics(hass, setup_integration)
    [recorded] = diagnostics["recent_errors"]
    assert diagnostics["last_transcription"]["error"] == recorded["kind"]
    assert await eventually(lambda: all(session.closed for session in faseeh_sim.stt_sessions))
    await hass.async_block_till_done()
    assert [task for task in asyncio.all_tasks() if task.get_name().startswith("faseeh-stt")] == []


@pytest.mark.parametrize("fault", ["stt_invalid_key_handshake"])
async def test_a_rejected_key_starts_reauthentication(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    faseeh_sim: FaseehSimulator,
    fault: str,
) -> None:
    """The same reauth flow as a failed synthesis."""
    faseeh_sim.config.fault = fault
    _, result = await post_audio(hass_client, tone(0.5))
    await hass.async_block_till_done()

    assert result == {"text": None, "result": "error"}
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_a_key_rejected_on_the_socket_also_starts_reauthentication(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, faseeh_sim: FaseehSimulator
) -> None:
    """Error 1008 'authentication required' is the same bad key as an HTTP 401."""
    faseeh_sim.config.api_keys = {"another-key"}
    _, result = await post_audio(hass_client, tone(0.5))
    await hass.async_block_till_done()

    assert result["result"] == "error"
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


@pytest.mark.parametrize("fault", ["stt_wallet_empty", "stt_wallet_midstream"])
async def test_an_empty_wallet_raises_the_repair_until_a_transcription_succeeds(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    faseeh_sim: FaseehSimulator,
    fault: str,
) -> None:
    """The wallet repair of the TTS, raised and cleared by speech-to-text too."""
    issues = ir.async_get(hass)
    faseeh_sim.config.fault = fault
    _, result = await post_audio(hass_client, tone(0.5))
    assert result["result"] == "error"
    assert [issue for (domain, issue) in issues.issues if domain == DOMAIN] != []

    faseeh_sim.config.fault = None
    _, result = await post_audio(hass_client, tone(0.5))
    assert result["result"] == "success"
    assert [issue for (domain, issue) in issues.issues if domain == DOMAIN] == []


async def test_diagnostics_show_hotwords_over_the_limits_and_those_the_service_dropped(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    faseeh_sim: FaseehSimulator,
    setup_integration: MockConfigEntry,
    kitchen_light: KitchenLight,
) -> None:
    """A name too long to be a hotword is not sent; names the service drops are listed."""
    long_name = "مصباح " * 8
    er.async_get(hass).async_update_entity(
        kitchen_light.entity_id, aliases=[er.COMPUTED_NAME, long_name]
    )
    faseeh_sim.config.fault = "stt_hotwords_dropped"
    await post_audio(hass_client, tone(0.5))

    [session] = faseeh_sim.stt_sessions
    sent = session.query["hotwords"].split(",")
    assert long_name.strip() not in sent
    diagnostics = await async_get_config_entry_diagnostics(hass, setup_integration)
    record = diagnostics["last_transcription"]
    assert record["hotwords_over_limits"] == [long_name.strip()]
    assert record["hotwords_dropped_by_service"] == sent
    assert record["hotword_count"] == len(sent)
    assert record["billed_seconds"] == 0.5
