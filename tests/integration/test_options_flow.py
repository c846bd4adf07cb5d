"""Changing the speaking defaults: live catalogue dropdowns, sliders, no reload."""

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, Platform
from homeassistant.core import Event, EventStateChangedData, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.helpers.selector import NumberSelector
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.faseeh.const import (
    CONF_MODEL,
    CONF_SIMILARITY_BOOST,
    CONF_SPARE_SOCKET,
    CONF_SPEED,
    CONF_STABILITY,
    CONF_STT_MODEL,
    CONF_VOICE,
    DEFAULT_MODEL,
    DEFAULT_OPTIONS,
    DEFAULT_VOICE,
)
from simulator import FaseehSimulator

from .conftest import dropdown, form_field, suggested

pytestmark = pytest.mark.usefixtures("unload_faseeh_entries")

NEW_OPTIONS: dict[str, Any] = {
    CONF_VOICE: "ar-najdi-male-2",
    CONF_MODEL: "faseeh-mini-v1-preview",
    CONF_STABILITY: 0.8,
    CONF_SIMILARITY_BOOST: 0.4,
    CONF_SPEED: 1.15,
    CONF_STT_MODEL: "munsit-en-ar",
    CONF_SPARE_SOCKET: False,
}


async def test_the_form_offers_the_live_voices_with_dialect_and_gender(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """Every catalogue voice is in the dropdown, labelled for a person, the current one chosen."""
    result = await hass.config_entries.options.async_init(setup_integration.entry_id)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    labels = dropdown(result, CONF_VOICE)
    assert labels[DEFAULT_VOICE] == "Lama · Hijazi · female"
    assert labels["ar-kuwaiti-male-1"] == "Yousef · Khaleeji, Kuwaiti · male"
    assert labels["cl-my-voice-01"] == "My cloned voice · cloned"
    assert len(labels) == 9
    assert suggested(result, CONF_VOICE) == DEFAULT_VOICE


async def test_the_form_offers_both_speech_recognition_models_arabic_by_default(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """Arabic, or Arabic mixed with English; the names come from the translations."""
    result = await hass.config_entries.options.async_init(setup_integration.entry_id)

    assert list(dropdown(result, CONF_STT_MODEL)) == ["munsit", "munsit-en-ar"]
    key, model = form_field(result, CONF_STT_MODEL)
    assert model.config["translation_key"] == CONF_STT_MODEL
    assert key.default() == "munsit"


async def test_the_form_offers_the_models_with_their_price(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """The model dropdown names each model and what a thousand characters cost."""
    result = await hass.config_entries.options.async_init(setup_integration.entry_id)

    assert list(dropdown(result, CONF_MODEL).items()) == [
        ("faseeh-v1-preview", "Faseeh v1 · $0.1 per 1000 characters"),
        ("faseeh-mini-v1-preview", "Faseeh Mini · $0.05 per 1000 characters"),
    ]
    assert suggested(result, CONF_MODEL) == DEFAULT_MODEL


@pytest.mark.parametrize(
    ("option", "minimum", "maximum"),
    [(CONF_STABILITY, 0.0, 1.0), (CONF_SIMILARITY_BOOST, 0.0, 1.0), (CONF_SPEED, 0.7, 1.2)],
)
async def test_settings_are_sliders_over_the_documented_ranges(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    option: str,
    minimum: float,
    maximum: float,
) -> None:
    """Stability and similarity go from 0 to 1, speed from 0.7 to 1.2, in steps of 0.05."""
    result = await hass.config_entries.options.async_init(setup_integration.entry_id)

    _, slider = form_field(result, option)
    assert isinstance(slider, NumberSelector)
    assert slider.config["mode"] == "slider"
    assert (slider.config["min"], slider.config["max"], slider.config["step"]) == (
        minimum,
        maximum,
        0.05,
    )
    assert suggested(result, option) == DEFAULT_OPTIONS[option]


async def test_saved_options_apply_at_once_without_reload_or_the_entity_going_unavailable(
    hass: HomeAssistant, setup_integration: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """The same loaded entry keeps running; the entity's defaults follow the new options."""
    [tts_entry] = [
        entity
        for entity in er.async_entries_for_config_entry(entity_registry, setup_integration.entry_id)
        if entity.domain == Platform.TTS
    ]
    states: list[str | None] = []

    def remember(event: Event[EventStateChangedData]) -> None:
        new_state = event.data["new_state"]
        states.append(new_state.state if new_state else None)

    unsubscribe = async_track_state_change_event(hass, tts_entry.entity_id, remember)
    runtime_data = setup_integration.runtime_data

    result = await hass.config_entries.options.async_init(setup_integration.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], NEW_OPTIONS)
    await hass.async_block_till_done()
    unsubscribe()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert setup_integration.options == NEW_OPTIONS
    assert setup_integration.state is ConfigEntryState.LOADED
    assert setup_integration.runtime_data is runtime_data
    assert STATE_UNAVAILABLE not in states
    state = hass.states.get(tts_entry.entity_id)
    assert state is not None
    assert state.state != STATE_UNAVAILABLE
    entity = hass.data["tts"].get_entity(tts_entry.entity_id)
    assert entity.default_options["voice"] == NEW_OPTIONS[CONF_VOICE]
    assert entity.default_options[CONF_SPEED] == NEW_OPTIONS[CONF_SPEED]
    # The speech-to-text model is no TTS option, so it stays out of the TTS cache key.
    assert CONF_STT_MODEL not in entity.default_options


@pytest.mark.parametrize(
    ("option", "value"),
    [
        (CONF_SPEED, 1.5),
        (CONF_SPEED, 0.5),
        (CONF_STABILITY, 1.2),
        (CONF_SIMILARITY_BOOST, -0.1),
        (CONF_VOICE, "ar-not-a-voice"),
        (CONF_MODEL, "not-a-model"),
    ],
)
async def test_values_outside_the_ranges_or_the_catalogue_are_refused(
    hass: HomeAssistant, setup_integration: MockConfigEntry, option: str, value: Any
) -> None:
    """The form itself refuses what the service would reject; the options stay as they were."""
    result = await hass.config_entries.options.async_init(setup_integration.entry_id)

    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"], {**NEW_OPTIONS, option: value}
        )
    assert setup_integration.options == DEFAULT_OPTIONS


@pytest.mark.parametrize("option", [CONF_VOICE, CONF_MODEL])
async def test_a_voice_or_model_the_catalogue_lost_is_not_preselected(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator, config_entry: MockConfigEntry, option: str
) -> None:
    """A stale choice cannot be kept by pressing Submit; the user has to pick a current one."""
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry, options={**DEFAULT_OPTIONS, option: "retired-by-the-service"}
    )
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    result = await hass.config_entries.options.async_init(config_entry.entry_id)

    assert suggested(result, option) is None
    other = CONF_MODEL if option == CONF_VOICE else CONF_VOICE
    assert suggested(result, other) == DEFAULT_OPTIONS[other]


async def test_the_options_flow_aborts_while_the_entry_is_not_loaded(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator, config_entry: MockConfigEntry
) -> None:
    """Without a loaded entry there is no catalogue to choose from."""
    faseeh_sim.config.api_keys = set()
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.SETUP_ERROR

    result = await hass.config_entries.options.async_init(config_entry.entry_id)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_loaded"
