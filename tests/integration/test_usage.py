"""Usage and cost sensors: what an account was billed, as the user reads it in Home Assistant."""

from collections.abc import AsyncGenerator
from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus
from pathlib import Path
import re
from typing import Any

from homeassistant.components import tts
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import homeassistant.util.dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator
import yaml

from custom_components.faseeh.usage import SAVE_DELAY_SECONDS
from simulator import Charge, FaseehSimulator

from .test_stt import post_audio, tone

TTS_ENTITY = "tts.faseeh_speech"
CHARACTERS = "sensor.faseeh_characters_synthesised"
SPEND = "sensor.faseeh_estimated_spend"
STT_SECONDS = "sensor.faseeh_speech_to_text_audio_billed"
FIRST_AUDIO = "sensor.faseeh_last_time_to_first_audio"

GREETING = "مرحبا بك في بيتك الذكي. الجو اليوم مشمس، والحرارة معتدلة!"
README = Path(__file__).parents[2] / "README.md"

pytestmark = pytest.mark.usefixtures("fast_timeouts")


async def say(hass: HomeAssistant, message: str, options: dict[str, Any] | None = None) -> bytes:
    """Speak through HA's TTS manager as a WAV consumer would; a repeat comes from its cache."""
    stream = tts.async_create_stream(
        hass, TTS_ENTITY, "ar", {"preferred_format": "wav", **(options or {})}
    )
    stream.async_set_message(message)
    return b"".join([chunk async for chunk in stream.async_stream_result()])


async def say_failing(hass: HomeAssistant, message: str) -> None:
    """Speak a message that must fail with a translated error."""
    with pytest.raises(HomeAssistantError):
        await say(hass, message)
    await hass.async_block_till_done(wait_background_tasks=True)


def state_of(hass: HomeAssistant, entity_id: str) -> str:
    """The state string of an entity that must exist."""
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


def billed_characters(charges: list[Charge]) -> int:
    """What the simulated wallet charged, in characters."""
    return sum(charge.characters for charge in charges)


def billed_spend(charges: list[Charge]) -> Decimal:
    """What the simulated wallet charged, in its currency, to the last digit."""
    return sum(
        (Decimal(str(charge.cost_per_character)) * charge.characters for charge in charges),
        Decimal(0),
    )


async def test_after_mixed_syntheses_the_sensors_equal_what_faseeh_billed(
    hass: HomeAssistant, setup_integration: MockConfigEntry, faseeh_sim: FaseehSimulator
) -> None:
    """Spoken, cached, failed and fallback messages: the sensors follow the wallet exactly."""
    assert state_of(hass, CHARACTERS) == "0"

    await say(hass, GREETING)
    sessions = len(faseeh_sim.syntheses)
    await say(hass, GREETING)
    assert len(faseeh_sim.syntheses) == sessions, "the replay came from the cache"

    async def llm_answer() -> AsyncGenerator[str]:
        for delta in ["**الطقس** اليوم", " مشمس. وغدًا", " ممطر!"]:
            yield delta

    stream = tts.async_create_stream(hass, TTS_ENTITY, "ar", {"preferred_format": "wav"})
    stream.async_set_message_stream(llm_answer())
    assert [chunk async for chunk in stream.async_stream_result()]

    await say(hass, "رسالة بنموذج آخر.", {"model": "faseeh-mini-v1-preview"})

    for fault in ("wallet_empty", "rate_limit", "drop_mid_audio"):
        faseeh_sim.config.fault = fault
        faseeh_sim.config.fault_after_chunks = 1
        await say_failing(hass, f"رسالة لن تُنطق بسبب {fault}.")
    faseeh_sim.config.fault = None
    with pytest.raises(HomeAssistantError):
        await say(hass, "صوت غير موجود.", {"voice": "ar-nobody"})

    # Last: a silent socket makes later requests skip the WebSocket for a while.
    faseeh_sim.config.fault = "silent"
    await say(hass, "هذه الرسالة تصل عبر HTTP.")
    await hass.async_block_till_done(wait_background_tasks=True)

    charges = faseeh_sim.charges
    assert {charge.model_id for charge in charges} == {
        "faseeh-v1-preview",
        "faseeh-mini-v1-preview",
    }
    assert [charge.transport for charge in charges].count("http") == 1
    assert int(state_of(hass, CHARACTERS)) == billed_characters(charges)
    assert Decimal(state_of(hass, SPEND)) == billed_spend(charges)
    assert float(state_of(hass, STT_SECONDS)) == 0


async def test_the_sensors_describe_their_units_and_sit_on_the_account_device(
    hass: HomeAssistant, setup_integration: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """Spend is money in US dollars, audio is seconds, and all four belong to the account."""
    spend = hass.states.get(SPEND)
    assert spend is not None
    assert spend.attributes[ATTR_UNIT_OF_MEASUREMENT] == "USD"
    assert spend.attributes["device_class"] == "monetary"
    assert spend.attributes["state_class"] == "total"
    characters = hass.states.get(CHARACTERS)
    assert characters is not None
    assert characters.attributes[ATTR_UNIT_OF_MEASUREMENT] == "characters"
    assert characters.attributes["state_class"] == "total_increasing"
    assert characters.attributes["friendly_name"] == "Faseeh Characters synthesised"
    stt_seconds = hass.states.get(STT_SECONDS)
    assert stt_seconds is not None
    assert stt_seconds.attributes[ATTR_UNIT_OF_MEASUREMENT] == "s"

    tts_device = entity_registry.async_get(TTS_ENTITY)
    assert tts_device is not None
    for entity_id in (CHARACTERS, SPEND, STT_SECONDS, FIRST_AUDIO):
        entry = entity_registry.async_get(entity_id)
        assert entry is not None, entity_id
        assert entry.device_id == tts_device.device_id


async def test_in_an_arabic_home_assistant_the_sensors_are_named_in_arabic(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """Names follow HA's language; entity ids and the unit stay, so statistics never break."""
    hass.config.language = "ar"
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    characters = hass.states.get(CHARACTERS)
    assert characters is not None
    assert characters.attributes["friendly_name"] == "Faseeh الأحرف المنطوقة"
    # HA takes translated units from English: a language change must not change the unit.
    assert characters.attributes[ATTR_UNIT_OF_MEASUREMENT] == "characters"
    spend = hass.states.get(SPEND)
    assert spend is not None
    assert spend.attributes["friendly_name"] == "Faseeh الإنفاق التقديري"
    await hass.config_entries.async_unload(config_entry.entry_id)


async def test_the_counts_survive_a_reload(
    hass: HomeAssistant, setup_integration: MockConfigEntry, faseeh_sim: FaseehSimulator
) -> None:
    """Reloading the entry (as an update or a region change does) loses nothing."""
    await say(hass, GREETING)
    before = (state_of(hass, CHARACTERS), state_of(hass, SPEND))

    assert await hass.config_entries.async_reload(setup_integration.entry_id)
    await hass.async_block_till_done()
    assert (state_of(hass, CHARACTERS), state_of(hass, SPEND)) == before

    await say(hass, "وبعد إعادة التحميل يستمر العد.")
    assert int(state_of(hass, CHARACTERS)) == billed_characters(faseeh_sim.charges)
    assert Decimal(state_of(hass, SPEND)) == billed_spend(faseeh_sim.charges)


async def test_the_counts_reach_the_disk_soon_without_waiting_for_a_shutdown(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    faseeh_sim: FaseehSimulator,
    hass_storage: dict[str, Any],
) -> None:
    """A crash loses seconds of counting, not the 15 minutes of HA's restore state."""
    key = f"faseeh.usage.{setup_integration.entry_id}"
    await say(hass, GREETING)
    assert key not in hass_storage

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=SAVE_DELAY_SECONDS + 1))
    await hass.async_block_till_done()

    saved = hass_storage[key]["data"]
    assert saved["characters"] == billed_characters(faseeh_sim.charges)
    assert Decimal(saved["spend"]) == billed_spend(faseeh_sim.charges)


async def test_steady_use_does_not_keep_putting_the_save_off(
    hass: HomeAssistant, setup_integration: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """A count made while a save is pending is written with it, on the first save's time."""
    key = f"faseeh.usage.{setup_integration.entry_id}"
    usage = setup_integration.runtime_data.usage
    start = dt_util.utcnow()
    usage.record_stt_seconds(2.0)
    async_fire_time_changed(hass, start + timedelta(seconds=SAVE_DELAY_SECONDS / 2))
    await hass.async_block_till_done()
    usage.record_stt_seconds(3.0)
    assert key not in hass_storage

    async_fire_time_changed(hass, start + timedelta(seconds=SAVE_DELAY_SECONDS + 1))
    await hass.async_block_till_done()

    assert hass_storage[key]["data"]["stt_seconds"] == 5.0


async def test_after_a_restart_the_sensors_continue_from_the_saved_counts(
    hass: HomeAssistant, config_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """What the last run saved is where this run starts counting."""
    hass_storage[f"faseeh.usage.{config_entry.entry_id}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"faseeh.usage.{config_entry.entry_id}",
        "data": {
            "characters": 1200,
            "spend": "0.12",
            "stt_seconds": 42.5,
            "first_audio_seconds": 0.4,
        },
    }
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    assert state_of(hass, CHARACTERS) == "1200"
    assert Decimal(state_of(hass, SPEND)) == Decimal("0.12")
    assert float(state_of(hass, STT_SECONDS)) == 42.5

    await say(hass, GREETING)
    assert int(state_of(hass, CHARACTERS)) == 1200 + len(GREETING)
    await hass.config_entries.async_unload(config_entry.entry_id)


async def test_unreadable_saved_counts_start_from_zero_instead_of_failing_setup(
    hass: HomeAssistant, config_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """A damaged counter is counted again from zero; the readable ones are kept."""
    hass_storage[f"faseeh.usage.{config_entry.entry_id}"] = {
        "version": 1,
        "key": f"faseeh.usage.{config_entry.entry_id}",
        "data": {"characters": "many", "spend": "0.5", "stt_seconds": -3},
    }
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    assert config_entry.state is ConfigEntryState.LOADED
    assert state_of(hass, CHARACTERS) == "0"
    assert Decimal(state_of(hass, SPEND)) == Decimal("0.5")
    assert float(state_of(hass, STT_SECONDS)) == 0
    await hass.config_entries.async_unload(config_entry.entry_id)


async def test_deleting_the_account_deletes_its_counts(
    hass: HomeAssistant, config_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """Nothing of a removed account is left in .storage."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    await say(hass, GREETING)
    await hass.config_entries.async_unload(config_entry.entry_id)
    key = f"faseeh.usage.{config_entry.entry_id}"
    assert key in hass_storage

    await hass.config_entries.async_remove(config_entry.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage


async def test_speech_to_text_seconds_add_up_what_the_service_billed(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """Each session's billed seconds add to the sensor, and to nothing else."""
    usage = setup_integration.runtime_data.usage
    usage.record_stt_seconds(3.56)
    usage.record_stt_seconds(12.4)

    assert float(state_of(hass, STT_SECONDS)) == 3.56 + 12.4
    assert state_of(hass, CHARACTERS) == "0"


async def test_transcriptions_count_the_seconds_in_the_services_closing_metadata(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    setup_integration: MockConfigEntry,
    faseeh_sim: FaseehSimulator,
) -> None:
    """Speech, silence and a failed session: the sensor is the sum the service reported billed."""
    assert (await post_audio(hass_client, tone(1.2)))[0] is HTTPStatus.OK
    assert (await post_audio(hass_client, bytes(8000)))[0] is HTTPStatus.OK
    faseeh_sim.config.fault = "stt_wallet_midstream"
    assert (await post_audio(hass_client, tone(1.0)))[1]["result"] == "error"
    faseeh_sim.config.fault = None

    billed = [
        float(event["audio_seconds_billed"])
        for session in faseeh_sim.stt_sessions
        for event in session.events
        if "audio_seconds_billed" in event
    ]
    assert len(billed) == 2
    assert float(state_of(hass, STT_SECONDS)) == sum(billed)
    assert state_of(hass, SPEND) == "0"


async def test_the_time_to_first_audio_is_a_diagnostic_sensor_off_until_enabled(
    hass: HomeAssistant, setup_integration: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """Disabled by default; once enabled it shows the latest message's wait in seconds."""
    entry = entity_registry.async_get(FIRST_AUDIO)
    assert entry is not None
    assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert entry.entity_category is EntityCategory.DIAGNOSTIC
    assert hass.states.get(FIRST_AUDIO) is None

    entity_registry.async_update_entity(FIRST_AUDIO, disabled_by=None)
    assert await hass.config_entries.async_reload(setup_integration.entry_id)
    await hass.async_block_till_done()
    assert state_of(hass, FIRST_AUDIO) == "unknown"

    await say(hass, GREETING)
    assert float(state_of(hass, FIRST_AUDIO)) > 0


async def test_the_diagnostics_hold_the_counters(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    setup_integration: MockConfigEntry,
    faseeh_sim: FaseehSimulator,
) -> None:
    """A bug report shows what the account has used, in the wallet's currency."""
    await say(hass, GREETING)

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, setup_integration)

    usage = diagnostics["usage"]
    assert isinstance(usage, dict)
    assert usage["characters"] == billed_characters(faseeh_sim.charges)
    assert Decimal(str(usage["spend"])) == billed_spend(faseeh_sim.charges)
    assert usage["spend_currency"] == "USD"


def readme_spend_warning() -> dict[str, Any]:
    """The utility meter and automation the README offers, exactly as printed."""
    readme = README.read_text(encoding="utf-8")
    section = readme.split("### A warning when a month's spend passes a limit", 1)[1]
    match = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert match is not None
    config: dict[str, Any] = yaml.safe_load(match.group(1))
    return config


# The utility meter's monthly reset stays scheduled: YAML helpers are never unloaded.
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_the_readme_automation_warns_once_when_the_month_passes_the_limit(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    faseeh_sim: FaseehSimulator,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """The README's utility meter and automation, verbatim, notify on crossing 5 USD."""
    # A price at which two greetings cost more than the README's 5 USD, and one does not.
    for model in faseeh_sim.config.models:
        model["cost"] = 0.05
    assert len(GREETING) * 0.05 < 5 < 2 * len(GREETING) * 0.05
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    # Always loaded in a real Home Assistant; the test instance starts with nothing.
    assert await async_setup_component(hass, "persistent_notification", {})
    config = readme_spend_warning()
    assert await async_setup_component(
        hass, "utility_meter", {"utility_meter": config["utility_meter"]}
    )
    assert await async_setup_component(hass, "automation", {"automation": config["automation"]})
    await hass.async_block_till_done()
    client = await hass_ws_client(hass)

    async def notifications() -> list[dict[str, Any]]:
        await client.send_json_auto_id({"type": "persistent_notification/get"})
        response = await client.receive_json()
        result: list[dict[str, Any]] = response["result"]
        return result

    await say(hass, GREETING)
    await hass.async_block_till_done()
    assert await notifications() == []

    await say(hass, GREETING[::-1])
    await hass.async_block_till_done()
    [notification] = await notifications()
    assert notification["notification_id"] == "faseeh_spend"
    assert f"{round(float(billed_spend(faseeh_sim.charges)), 2)} USD" in notification["message"]
    await hass.config_entries.async_unload(config_entry.entry_id)
