"""The diagnostics download: useful to a maintainer, and never the API key."""

from datetime import datetime
import json
from typing import Any

from homeassistant.components import tts
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
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


async def test_failures_survive_a_reload_and_refused_requests_are_recorded(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    setup_integration: MockConfigEntry,
) -> None:
    """Reauth and reconfigure reload the entry: the history a user needs then is still there."""
    record_service_error(hass, setup_integration.entry_id, AuthenticationError("Invalid API key"))
    stream = tts.async_create_stream(
        hass, "tts.faseeh_speech", "ar", {"voice": "ar-martian-1", "preferred_format": "wav"}
    )
    stream.async_set_message("مرحبا")
    with pytest.raises(ServiceValidationError):
        async for _ in stream.async_stream_result():
            pass

    assert await hass.config_entries.async_reload(setup_integration.entry_id)
    await hass.async_block_till_done()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, setup_integration)

    recent_errors: list[dict[str, Any]] = diagnostics["recent_errors"]  # type: ignore[assignment]
    assert [error["kind"] for error in recent_errors] == [
        "AuthenticationError",
        "unknown_voice",
    ]


async def test_a_removed_entry_leaves_no_failure_history_behind(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    config_entry: MockConfigEntry,
    faseeh_sim: FaseehSimulator,
) -> None:
    """An account removed and added again (same entry id) starts with a clean history."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    record_service_error(hass, config_entry.entry_id, AuthenticationError("Invalid API key"))

    await hass.config_entries.async_remove(config_entry.entry_id)
    again = MockConfigEntry(
        domain=config_entry.domain,
        entry_id=config_entry.entry_id,
        title=config_entry.title,
        data=dict(config_entry.data),
        options=dict(config_entry.options),
    )
    again.add_to_hass(hass)
    assert await hass.config_entries.async_setup(again.entry_id)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, again)

    assert diagnostics["recent_errors"] == []
