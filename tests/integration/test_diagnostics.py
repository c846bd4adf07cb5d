"""The diagnostics download: useful to a maintainer, and never the API key."""

from datetime import datetime
import json
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props
from syrupy.types import PropertyMatcher, PropertyPath

from custom_components.faseeh.client.errors import (
    AuthenticationError,
    InsufficientBalanceError,
)
from custom_components.faseeh.config_flow import account_unique_id
from custom_components.faseeh.failures import record_service_error
from simulator import DEFAULT_API_KEY, FaseehSimulator

from .conftest import simulator_entry

pytestmark = pytest.mark.usefixtures("unload_faseeh_entries")

# What Home Assistant makes up anew for every entry.
PER_ENTRY = props("entry_id", "created_at", "modified_at")


def run_independent(sim: FaseehSimulator) -> PropertyMatcher:
    """Name the values that change from run to run (the simulator's port, error times)."""

    def matcher(*, data: Any, path: PropertyPath) -> Any:
        if data == sim.url:
            return "<simulator url>"
        if path and path[-1][0] == "when":
            datetime.fromisoformat(data)
            return "<time>"
        return data

    return matcher


async def test_the_download_holds_the_entry_catalogue_and_recent_errors_but_not_the_key(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    setup_integration: MockConfigEntry,
    faseeh_sim: FaseehSimulator,
    snapshot: SnapshotAssertion,
) -> None:
    """Everything a bug report needs is there; the key string appears nowhere in it."""
    record_service_error(
        hass,
        setup_integration.entry_id,
        InsufficientBalanceError("Insufficient wallet balance", error_code="40201", status=402),
    )
    record_service_error(hass, setup_integration.entry_id, AuthenticationError("Invalid API key"))

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, setup_integration)

    assert DEFAULT_API_KEY not in json.dumps(diagnostics)
    assert diagnostics == snapshot(exclude=PER_ENTRY, matcher=run_independent(faseeh_sim))


async def test_the_download_of_an_entry_that_failed_to_load_still_hides_the_key(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    faseeh_sim: FaseehSimulator,
    snapshot: SnapshotAssertion,
) -> None:
    """A rejected key is exactly when someone downloads diagnostics; it must still be redacted."""
    secret = "a-rejected-but-real-secret-key"
    entry = simulator_entry(faseeh_sim, api_key=secret, title="Faseeh")
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    download = json.dumps(diagnostics)
    assert secret not in download
    assert account_unique_id(secret) not in download
    assert diagnostics == snapshot(exclude=PER_ENTRY, matcher=run_independent(faseeh_sim))
