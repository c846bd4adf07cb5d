"""Setting an entry up and tearing it down, with the service up, down or rejecting the key."""

from datetime import timedelta

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from simulator import FaseehSimulator

pytestmark = pytest.mark.usefixtures("unload_faseeh_entries")


async def test_a_good_key_loads_the_catalogue_and_the_entry_unloads_cleanly(
    hass: HomeAssistant, config_entry: MockConfigEntry, faseeh_sim: FaseehSimulator
) -> None:
    """Setup reads the account's voices and models; unloading leaves nothing behind."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    assert config_entry.state is ConfigEntryState.LOADED
    catalogue = config_entry.runtime_data.catalogue.data
    assert len(catalogue.voices) == len(faseeh_sim.config.voices)
    assert len(catalogue.models) == len(faseeh_sim.config.models)

    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()
    # mypy would carry the LOADED asserted above across the unload.
    assert config_entry.state is ConfigEntryState.NOT_LOADED  # type: ignore[comparison-overlap]


async def test_a_rejected_key_fails_setup_as_an_auth_error_and_asks_for_a_new_key(
    hass: HomeAssistant, config_entry: MockConfigEntry, faseeh_sim: FaseehSimulator
) -> None:
    """ConfigEntryAuthFailed: no retries against a dead key, a reauth flow instead."""
    faseeh_sim.config.fault = "invalid_key_handshake"
    config_entry.add_to_hass(hass)

    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(config_entry.domain)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert flows[0]["context"]["entry_id"] == config_entry.entry_id


async def test_an_unreachable_service_is_retried_until_it_answers(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    faseeh_sim: FaseehSimulator,
    closed_port_url: str,
) -> None:
    """ConfigEntryNotReady: HA retries on its own and the entry loads once the service is back."""
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry, data={**config_entry.data, CONF_URL: closed_port_url}
    )

    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert config_entry.reason is not None
    assert hass.config_entries.flow.async_progress_by_handler(config_entry.domain) == []

    hass.config_entries.async_update_entry(
        config_entry, data={**config_entry.data, CONF_URL: faseeh_sim.url}
    )
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=5))
    await hass.async_block_till_done(wait_background_tasks=True)
    # mypy would carry the SETUP_RETRY asserted above across the retry.
    assert config_entry.state is ConfigEntryState.LOADED  # type: ignore[comparison-overlap]
