"""What a user reads: labels, titles, device and reasons in the home's language."""

import re
from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.translation import async_get_translations
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.faseeh.const import CONF_REGION, CONF_VOICE, DOMAIN, REGION_CUSTOM
from custom_components.faseeh.texts import (
    FIRST_STRONG_ISOLATE as FSI,
    POP_DIRECTIONAL_ISOLATE as PDI,
)
from simulator import DEFAULT_API_KEY, FaseehSimulator

pytestmark = pytest.mark.usefixtures("unload_faseeh_entries")

LATIN = re.compile(r"[A-Za-z]")


def isolated(text: str) -> str:
    """How a Latin name sits inside Arabic text."""
    return f"{FSI}{text}{PDI}"


@pytest.fixture
def arabic_home(hass: HomeAssistant) -> HomeAssistant:
    """A Home Assistant whose language is Arabic."""
    hass.config.language = "ar"
    return hass


@pytest.fixture
async def arabic_setup(
    arabic_home: HomeAssistant, config_entry: MockConfigEntry
) -> MockConfigEntry:
    """The simulator account, loaded in an Arabic home."""
    config_entry.add_to_hass(arabic_home)
    assert await arabic_home.config_entries.async_setup(config_entry.entry_id)
    await arabic_home.async_block_till_done()
    return config_entry


async def picker_voices(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, entity_id: str, language: str
) -> list[dict[str, str]]:
    """The voices HA's TTS voice picker lists for one language."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "tts/engine/voices", "engine_id": entity_id, "language": language}
    )
    answer = await client.receive_json()
    assert answer["success"], answer
    voices: list[dict[str, str]] = answer["result"]["voices"]
    return voices


def entity_id_of(hass: HomeAssistant, entry: ConfigEntry, domain: str = "tts") -> str:
    """The entry's entity of one platform."""
    [entity_id] = [
        entity.entity_id
        for entity in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if entity.domain == domain
    ]
    return entity_id


async def options_dropdowns(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, list[Any]]:
    """The voice and model choices the options form offers."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    schema = result["data_schema"]
    assert schema is not None
    fields = {str(key): value for key, value in schema.schema.items()}
    hass.config_entries.options.async_abort(result["flow_id"])
    return {name: list(fields[name].config["options"]) for name in (CONF_VOICE, "model")}


async def test_in_an_arabic_home_voices_are_named_with_arabic_dialects_and_genders(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, arabic_setup: MockConfigEntry
) -> None:
    """The picker and the options dropdown agree; only the voice's own name stays Latin."""
    voices = await picker_voices(hass, hass_ws_client, entity_id_of(hass, arabic_setup), "ar")
    labels = {voice["voice_id"]: voice["name"] for voice in voices}

    assert labels["ar-hijazi-female-1"] == f"{isolated('Lama')} · حجازية · أنثى"
    assert labels["ar-kuwaiti-male-1"] == f"{isolated('Yousef')} · خليجية، كويتية · ذكر"
    assert labels["cl-my-voice-01"] == f"{isolated('My cloned voice')} · مستنسخ"
    dropdowns = await options_dropdowns(hass, arabic_setup)
    assert {option["value"]: option["label"] for option in dropdowns[CONF_VOICE]} == labels


async def test_in_an_arabic_home_the_model_price_reads_in_arabic(
    hass: HomeAssistant, arabic_setup: MockConfigEntry
) -> None:
    """Dollars per thousand characters, written the Arabic way around the Latin model name."""
    dropdowns = await options_dropdowns(hass, arabic_setup)
    labels = {option["value"]: option["label"] for option in dropdowns["model"]}

    assert labels["faseeh-v1-preview"] == (
        f"{isolated('Faseeh v1')} · {isolated('0.1')} دولار لكل {isolated('1000')} حرف"
    )


async def test_in_an_english_home_labels_stay_as_they_were(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, setup_integration: MockConfigEntry
) -> None:
    """English labels carry no isolation marks."""
    voices = await picker_voices(hass, hass_ws_client, entity_id_of(hass, setup_integration), "ar")
    labels = {voice["voice_id"]: voice["name"] for voice in voices}
    dropdowns = await options_dropdowns(hass, setup_integration)
    models = {option["value"]: option["label"] for option in dropdowns["model"]}

    assert labels["ar-kuwaiti-male-1"] == "Yousef · Khaleeji, Kuwaiti · male"
    assert labels["cl-my-voice-01"] == "My cloned voice · cloned"
    assert models["faseeh-v1-preview"] == "Faseeh v1 · $0.1 per 1000 characters"


async def test_the_default_voice_leads_every_regional_list_even_of_another_dialect(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, setup_integration: MockConfigEntry
) -> None:
    """HA's panel picks ar-AE by itself in the Emirates; the Hijazi default is still first."""
    entity_id = entity_id_of(hass, setup_integration)
    default = setup_integration.options[CONF_VOICE]

    emirati = await picker_voices(hass, hass_ws_client, entity_id, "ar-AE")
    everything = await picker_voices(hass, hass_ws_client, entity_id, "ar")

    assert [voice["voice_id"] for voice in emirati] == [default, "ar-uae-male-1"]
    assert everything[0]["voice_id"] == default
    assert [voice["voice_id"] for voice in everything].count(default) == 1


async def test_an_arabic_home_names_the_entry_and_device_in_arabic_but_keeps_the_entity_id(
    arabic_home: HomeAssistant, faseeh_sim: FaseehSimulator
) -> None:
    """The title and device model are Arabic; the entity id is the one the README documents."""
    hass = arabic_home
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: DEFAULT_API_KEY, CONF_REGION: REGION_CUSTOM}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: faseeh_sim.url}
    )
    await hass.async_block_till_done()

    host = faseeh_sim.url.removeprefix("http://")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"فصيح ({isolated(host)})"
    entry = result["result"]
    [device] = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert device.name == result["title"]
    assert device.model == "تحويل النص العربي إلى كلام"
    port = host.rsplit(":", 1)[1]
    assert entity_id_of(hass, entry) == f"tts.faseeh_127_0_0_1_{port}_speech"
    assert entity_id_of(hass, entry, "stt") == f"stt.faseeh_127_0_0_1_{port}_speech_recognition"
    state = hass.states.get(entity_id_of(hass, entry))
    assert state is not None
    assert state.attributes["friendly_name"] == f"{result['title']} تحويل النص إلى كلام"


async def test_a_setup_retry_says_why_in_arabic_without_the_clients_english(
    arabic_home: HomeAssistant, closed_port_url: str
) -> None:
    """The frontend shows the reason from its translation key: no URL, no exception class name."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="فصيح",
        data={CONF_API_KEY: DEFAULT_API_KEY, CONF_REGION: REGION_CUSTOM, CONF_URL: closed_port_url},
    )
    entry.add_to_hass(arabic_home)

    await arabic_home.config_entries.async_setup(entry.entry_id)

    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.error_reason_translation_key == "catalogue_unreachable"
    assert not entry.error_reason_translation_placeholders
    exceptions = await async_get_translations(arabic_home, "ar", "exceptions", [DOMAIN])
    shown = exceptions[f"component.{DOMAIN}.exceptions.catalogue_unreachable.message"]
    assert not LATIN.search(shown.replace(isolated("Home\u00a0Assistant"), ""))
