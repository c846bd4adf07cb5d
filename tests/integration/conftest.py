"""Fixtures for tests that run the integration inside a real Home Assistant."""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
import socket
from typing import Any

from homeassistant.components import tts
from homeassistant.config_entries import ConfigEntry, ConfigEntryState, ConfigFlow
from homeassistant.const import CONF_API_KEY, CONF_URL, Platform
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.selector import SelectSelector
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    mock_config_flow,
    mock_integration,
    mock_platform,
)

from custom_components.faseeh.client import Timeouts
from custom_components.faseeh.config_flow import account_unique_id
from custom_components.faseeh.const import (
    CONF_REGION,
    DEFAULT_OPTIONS,
    DOMAIN,
    REGION_CUSTOM,
    REGIONS,
)
from simulator import DEFAULT_API_KEY, FaseehSimulator


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant find custom_components/faseeh."""


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """Keep the TTS disk cache in a per-test folder, not inside site-packages."""
    return hass_tmp_config_dir


@pytest.fixture
def tts_cache_dir(hass_tmp_config_dir: str) -> Path:
    """Where Home Assistant writes cached speech."""
    return Path(hass_tmp_config_dir) / "tts"


@pytest.fixture
def fast_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A silent or stalled service is given up on in a fraction of a second."""
    monkeypatch.setattr(
        "custom_components.faseeh.CLIENT_TIMEOUTS",
        Timeouts(connect=0.5, first_audio=0.5, idle=0.5, final_grace=0.5, busy_retry=0.02),
    )


def simulator_entry(
    sim: FaseehSimulator,
    *,
    api_key: str = DEFAULT_API_KEY,
    title: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> MockConfigEntry:
    """An account on the simulator as the config flow creates it (the flow's title by default)."""
    return MockConfigEntry(
        domain=DOMAIN,
        # The title the flow makes up for a custom address in an English home.
        title=title or f"Faseeh ({sim.url.removeprefix('http://')})",
        unique_id=account_unique_id(api_key),
        data={CONF_API_KEY: api_key, CONF_REGION: REGION_CUSTOM, CONF_URL: sim.url},
        options=dict(DEFAULT_OPTIONS if options is None else options),
    )


@pytest.fixture
def config_entry(faseeh_sim: FaseehSimulator) -> MockConfigEntry:
    """The simulator account titled "Faseeh", so its entity is tts.faseeh_speech."""
    return simulator_entry(faseeh_sim, title="Faseeh")


@pytest.fixture
async def setup_integration(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """Set the Faseeh entry up in a real Home Assistant and unload it afterwards."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    yield config_entry
    await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.fixture
def closed_port_url(socket_enabled: None) -> str:
    """The address of a port on 127.0.0.1 that nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def known_regions_on_simulator(
    monkeypatch: pytest.MonkeyPatch, faseeh_sim: FaseehSimulator
) -> FaseehSimulator:
    """Point the global, UAE and Munsit regions at the simulator: tests may not leave 127.0.0.1."""
    for region, known in REGIONS.items():
        if known.api_url is not None:
            point_region(monkeypatch, region, faseeh_sim.url)
    return faseeh_sim


def point_region(monkeypatch: pytest.MonkeyPatch, region: str, url: str) -> None:
    """Make a known region's API live at this address for one test."""
    monkeypatch.setitem(REGIONS, region, replace(REGIONS[region], api_url=url))


@pytest.fixture
async def unload_faseeh_entries(hass: HomeAssistant) -> AsyncIterator[None]:
    """Unload whatever Faseeh entries a test created, and let their tasks finish."""
    yield
    await hass.async_block_till_done(wait_background_tasks=True)
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state is ConfigEntryState.LOADED:
            await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


def form_field(result: FlowResult[Any, Any], name: str) -> tuple[Any, Any]:
    """The schema key (with its default and suggestion) and the selector of one form field."""
    schema = result.get("data_schema")
    assert schema is not None, "the step shows no form"
    for key, selector in schema.schema.items():
        if key == name:
            return key, selector
    raise AssertionError(f"{name} is not in the form")


def suggested(result: FlowResult[Any, Any], name: str) -> Any:
    """What a form field is pre-filled with, if anything."""
    key, _ = form_field(result, name)
    return (key.description or {}).get("suggested_value")


def dropdown(result: FlowResult[Any, Any], name: str) -> dict[str, str]:
    """The choices a dropdown field offers, value to label, in their order."""
    _, selector = form_field(result, name)
    assert isinstance(selector, SelectSelector), f"{name} is not a dropdown"
    choices: dict[str, str] = {}
    for option in selector.config["options"]:
        if isinstance(option, str):
            choices[option] = option
        else:
            choices[option["value"]] = option["label"]
    return choices


async def speak(hass: HomeAssistant, entry: ConfigEntry, message: str) -> bytes:
    """Speak through Home Assistant's TTS manager as a WAV consumer would; errors propagate."""
    [entity] = [
        entity
        for entity in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if entity.domain == Platform.TTS
    ]
    stream = tts.async_create_stream(hass, entity.entity_id, "ar", {"preferred_format": "wav"})
    stream.async_set_message(message)
    return b"".join([chunk async for chunk in stream.async_stream_result()])


class _TestIntegrationFlow(ConfigFlow):
    """A flow for test-only integrations; HA needs one to set up their entries."""


@asynccontextmanager
async def added_entities(
    hass: HomeAssistant, domain: str, platform: Platform, entities: list[Entity]
) -> AsyncIterator[None]:
    """Add real entities of one platform through a test-only integration."""

    async def setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        await hass.config_entries.async_forward_entry_setups(entry, [platform])
        return True

    async def setup_platform(
        hass: HomeAssistant, entry: ConfigEntry, add_entities: AddEntitiesCallback
    ) -> None:
        add_entities(entities)

    mock_integration(hass, MockModule(domain, async_setup_entry=setup_entry))
    mock_platform(hass, f"{domain}.config_flow")
    mock_platform(hass, f"{domain}.{platform}", MockPlatform(async_setup_entry=setup_platform))
    entry = MockConfigEntry(domain=domain)
    entry.add_to_hass(hass)
    with mock_config_flow(domain, _TestIntegrationFlow):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        yield
