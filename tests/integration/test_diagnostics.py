"""The diagnostics download: useful to a maintainer, and never the API key."""

import json

from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.faseeh.client.errors import (
    AuthenticationError,
    InsufficientBalanceError,
)
from custom_components.faseeh.config_flow import account_unique_id
from custom_components.faseeh.const import CONF_REGION, REGION_CUSTOM
from simulator import DEFAULT_API_KEY, FaseehSimulator

from .conftest import DEFAULT_OPTIONS

pytestmark = pytest.mark.usefixtures("unload_faseeh_entries")


async def test_the_download_holds_the_entry_catalogue_and_recent_errors_but_not_the_key(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    setup_integration: MockConfigEntry,
    faseeh_sim: FaseehSimulator,
) -> None:
    """Everything a bug report needs is there; the key string appears nowhere in it."""
    setup_integration.runtime_data.record_error(
        InsufficientBalanceError("Insufficient wallet balance", error_code="40201", status=402)
    )
    setup_integration.runtime_data.record_error(AuthenticationError("Invalid API key"))

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, setup_integration)

    assert DEFAULT_API_KEY not in json.dumps(diagnostics)
    entry = diagnostics["entry"]
    assert entry["data"] == {
        CONF_API_KEY: "**REDACTED**",
        CONF_REGION: REGION_CUSTOM,
        CONF_URL: faseeh_sim.url,
    }
    assert entry["unique_id"] == "**REDACTED**"
    assert diagnostics["state"] == "loaded"
    assert diagnostics["options"] == DEFAULT_OPTIONS
    catalogue = diagnostics["catalogue"]
    assert catalogue["last_update_success"] is True
    assert catalogue["voice_count"] == len(faseeh_sim.config.voices) == len(catalogue["voice_ids"])
    assert catalogue["model_count"] == 2
    assert "ar-hijazi-female-1" in catalogue["voice_ids"]
    assert catalogue["model_ids"] == ["faseeh-v1-preview", "faseeh-mini-v1-preview"]
    assert [
        (error["kind"], error["error_code"], error["status"])
        for error in diagnostics["recent_errors"]
    ] == [("InsufficientBalanceError", "40201", 402), ("AuthenticationError", None, None)]
    assert all(error["when"] for error in diagnostics["recent_errors"])


async def test_the_download_of_an_entry_that_failed_to_load_still_hides_the_key(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, faseeh_sim: FaseehSimulator
) -> None:
    """A rejected key is exactly when someone downloads diagnostics; it must still be redacted."""
    secret = "a-rejected-but-real-secret-key"
    entry = MockConfigEntry(
        domain="faseeh",
        title="Faseeh",
        unique_id=account_unique_id(secret),
        data={CONF_API_KEY: secret, CONF_REGION: REGION_CUSTOM, CONF_URL: faseeh_sim.url},
        options=dict(DEFAULT_OPTIONS),
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    download = json.dumps(diagnostics)
    assert secret not in download
    assert account_unique_id(secret) not in download
    assert diagnostics["state"] == "setup_error"
    assert "catalogue" not in diagnostics
