"""Adding, reauthenticating and reconfiguring a Faseeh account, against the simulator."""

import asyncio
from collections.abc import AsyncIterator
import logging
from pathlib import Path
from typing import Any
from unittest.mock import patch

from aiohttp import web
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_USER,
    ConfigEntryState,
    ConfigFlowResult,
)
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.faseeh.config_flow import KEY_CHECK_TIMEOUT, account_unique_id
from custom_components.faseeh.const import (
    CONF_MODEL,
    CONF_REGION,
    CONF_VOICE,
    DEFAULT_MODEL,
    DEFAULT_OPTIONS,
    DEFAULT_VOICE,
    DOMAIN,
    REGION_CUSTOM,
    REGION_GLOBAL,
    REGION_MUNSIT,
    REGION_UAE,
)
from simulator import DEFAULT_API_KEY, FaseehSimulator, SimulatorConfig

from .conftest import point_region, simulator_entry, speak, suggested

pytestmark = pytest.mark.usefixtures("unload_faseeh_entries")

NEW_KEY = "faseeh-rotated-key"


async def start_user_flow(hass: HomeAssistant) -> ConfigFlowResult:
    """Open the "add integration" dialog."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return result


async def submit(
    hass: HomeAssistant, result: ConfigFlowResult, data: dict[str, Any]
) -> ConfigFlowResult:
    """Submit one form of a config flow."""
    return await hass.config_entries.flow.async_configure(result["flow_id"], data)


# Adding an account


@pytest.mark.parametrize(
    ("region", "title"),
    [
        (REGION_GLOBAL, "Faseeh"),
        (REGION_UAE, "Faseeh (UAE)"),
        (REGION_MUNSIT, "Munsit"),
    ],
)
async def test_a_good_key_in_a_known_region_creates_the_entry_with_default_options(
    hass: HomeAssistant, known_regions_on_simulator: FaseehSimulator, region: str, title: str
) -> None:
    """The key is checked with the service, then the entry is created and set up."""
    result = await start_user_flow(hass)
    result = await submit(hass, result, {CONF_API_KEY: DEFAULT_API_KEY, CONF_REGION: region})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == title
    assert result["data"] == {
        CONF_API_KEY: DEFAULT_API_KEY,
        CONF_REGION: region,
        CONF_URL: known_regions_on_simulator.url,
    }
    assert result["options"] == DEFAULT_OPTIONS
    assert [request.api_key for request in known_regions_on_simulator.http_requests][:1] == [
        DEFAULT_API_KEY
    ]
    await hass.async_block_till_done()
    assert result["result"].state is ConfigEntryState.LOADED


async def test_custom_url_asks_for_the_address_and_stores_it_normalised(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator
) -> None:
    """A pasted API address loses its trailing slash and /api/v1; the title names the host."""
    result = await start_user_flow(hass)
    result = await submit(hass, result, {CONF_API_KEY: DEFAULT_API_KEY, CONF_REGION: REGION_CUSTOM})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "custom_url"

    result = await submit(hass, result, {CONF_URL: f" {faseeh_sim.url}/api/v1/ "})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    host = faseeh_sim.url.removeprefix("http://")
    assert result["title"] == f"Faseeh ({host})"
    assert result["data"][CONF_URL] == faseeh_sim.url
    assert result["data"][CONF_REGION] == REGION_CUSTOM


async def test_the_unique_id_is_a_hash_that_never_holds_the_key(
    hass: HomeAssistant, known_regions_on_simulator: FaseehSimulator
) -> None:
    """Two accounts differ by key, yet the key itself is nowhere in the unique id."""
    result = await start_user_flow(hass)
    result = await submit(hass, result, {CONF_API_KEY: DEFAULT_API_KEY, CONF_REGION: REGION_GLOBAL})

    unique_id = result["result"].unique_id
    assert unique_id is not None
    assert DEFAULT_API_KEY not in unique_id
    assert len(unique_id) == 64
    assert unique_id == account_unique_id(DEFAULT_API_KEY) != account_unique_id(NEW_KEY)


async def test_missing_default_voice_and_model_fall_back_to_the_first_in_the_catalogue(
    hass: HomeAssistant, known_regions_on_simulator: FaseehSimulator
) -> None:
    """The entry's defaults are always something the account can actually speak with."""
    config = known_regions_on_simulator.config
    config.voices = [voice for voice in config.voices if voice["voice_id"] != DEFAULT_VOICE]
    config.models = [model for model in config.models if model["model_id"] != DEFAULT_MODEL]

    result = await start_user_flow(hass)
    result = await submit(hass, result, {CONF_API_KEY: DEFAULT_API_KEY, CONF_REGION: REGION_GLOBAL})

    assert result["options"][CONF_VOICE] == config.voices[0]["voice_id"]
    assert result["options"][CONF_MODEL] == config.models[0]["model_id"]


async def test_wrong_key_shows_invalid_auth_then_a_good_key_creates_the_entry(
    hass: HomeAssistant, known_regions_on_simulator: FaseehSimulator
) -> None:
    """A rejected key keeps the form open with a translated error, and a retry succeeds."""
    result = await start_user_flow(hass)
    result = await submit(hass, result, {CONF_API_KEY: "wrong-key", CONF_REGION: REGION_GLOBAL})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": "invalid_auth"}

    result = await submit(hass, result, {CONF_API_KEY: DEFAULT_API_KEY, CONF_REGION: REGION_GLOBAL})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_blank_key_shows_invalid_auth_without_asking_the_service(
    hass: HomeAssistant, known_regions_on_simulator: FaseehSimulator
) -> None:
    """Spaces are not a key."""
    result = await start_user_flow(hass)
    result = await submit(hass, result, {CONF_API_KEY: "   ", CONF_REGION: REGION_GLOBAL})

    assert result["errors"] == {"base": "invalid_auth"}
    assert known_regions_on_simulator.http_requests == []


async def test_key_fault_at_the_service_shows_invalid_auth_then_recovers(
    hass: HomeAssistant, known_regions_on_simulator: FaseehSimulator
) -> None:
    """The simulator's invalid_key fault rejects even the right key; fixing it lets it through."""
    known_regions_on_simulator.config.fault = "invalid_key_handshake"
    result = await start_user_flow(hass)
    result = await submit(hass, result, {CONF_API_KEY: DEFAULT_API_KEY, CONF_REGION: REGION_UAE})
    assert result["errors"] == {"base": "invalid_auth"}

    known_regions_on_simulator.config.fault = None
    result = await submit(hass, result, {CONF_API_KEY: DEFAULT_API_KEY, CONF_REGION: REGION_UAE})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_unreachable_service_shows_cannot_connect_then_recovers(
    hass: HomeAssistant,
    known_regions_on_simulator: FaseehSimulator,
    closed_port_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing listening at the region's address is cannot_connect, and the key is offered again."""
    point_region(monkeypatch, REGION_GLOBAL, closed_port_url)
    result = await start_user_flow(hass)
    result = await submit(hass, result, {CONF_API_KEY: DEFAULT_API_KEY, CONF_REGION: REGION_GLOBAL})
    assert result["errors"] == {"base": "cannot_connect"}
    assert suggested(result, CONF_API_KEY) == DEFAULT_API_KEY

    point_region(monkeypatch, REGION_GLOBAL, known_regions_on_simulator.url)
    result = await submit(hass, result, {CONF_API_KEY: DEFAULT_API_KEY, CONF_REGION: REGION_GLOBAL})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_stopped_service_shows_cannot_connect_on_the_address_step_then_recovers(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator, closed_port_url: str
) -> None:
    """A custom address that does not answer is reported there, and another address works."""
    result = await start_user_flow(hass)
    result = await submit(hass, result, {CONF_API_KEY: DEFAULT_API_KEY, CONF_REGION: REGION_CUSTOM})
    result = await submit(hass, result, {CONF_URL: closed_port_url})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "custom_url"
    assert result["errors"] == {"base": "cannot_connect"}

    result = await submit(hass, result, {CONF_URL: faseeh_sim.url})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_wrong_key_at_a_custom_url_asks_for_the_key_again_then_keeps_the_address(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator
) -> None:
    """The address answered, so the key form comes back and the address is offered again."""
    result = await start_user_flow(hass)
    result = await submit(hass, result, {CONF_API_KEY: "wrong-key", CONF_REGION: REGION_CUSTOM})
    result = await submit(hass, result, {CONF_URL: faseeh_sim.url})
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": "invalid_auth"}
    assert suggested(result, CONF_API_KEY) is None

    result = await submit(hass, result, {CONF_API_KEY: DEFAULT_API_KEY, CONF_REGION: REGION_CUSTOM})
    assert result["step_id"] == "custom_url"
    assert suggested(result, CONF_URL) == faseeh_sim.url
    result = await submit(hass, result, {CONF_URL: faseeh_sim.url})
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    "bad_url",
    [
        "api.faseeh.ai",
        "ftp://127.0.0.1:8080",
        "http://",
        "http://user:secret@127.0.0.1:8080",
        "http://127.0.0.1:notaport",
        "http://127.0.0.1/?x-api-key=abc",
        "http://exa mple.com",
    ],
)
async def test_an_address_that_is_not_http_with_a_host_shows_invalid_url_then_a_good_one_works(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator, bad_url: str
) -> None:
    """Only http(s) addresses with a host, without credentials, query or fragment, are tried."""
    result = await start_user_flow(hass)
    result = await submit(hass, result, {CONF_API_KEY: DEFAULT_API_KEY, CONF_REGION: REGION_CUSTOM})
    result = await submit(hass, result, {CONF_URL: bad_url})
    assert result["errors"] == {CONF_URL: "invalid_url"}
    assert faseeh_sim.http_requests == []

    result = await submit(hass, result, {CONF_URL: faseeh_sim.url})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_unexpected_answer_shows_unknown_then_recovers(
    hass: HomeAssistant, known_regions_on_simulator: FaseehSimulator
) -> None:
    """A catalogue the client cannot read is "unknown"; once the service is sane again it works."""
    config = known_regions_on_simulator.config
    good_voices = config.voices
    not_a_catalogue: Any = "not a list"
    config.voices = not_a_catalogue
    result = await start_user_flow(hass)
    result = await submit(hass, result, {CONF_API_KEY: DEFAULT_API_KEY, CONF_REGION: REGION_GLOBAL})
    assert result["errors"] == {"base": "unknown"}

    config.voices = good_voices
    result = await submit(hass, result, {CONF_API_KEY: DEFAULT_API_KEY, CONF_REGION: REGION_GLOBAL})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_unexpected_exception_shows_unknown_and_the_log_never_holds_the_key(
    hass: HomeAssistant,
    known_regions_on_simulator: FaseehSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug is logged with its traceback, with the key masked even if the error quotes it."""
    caplog.set_level(logging.DEBUG)
    with patch(
        "custom_components.faseeh.config_flow.FaseehClient.list_voices",
        side_effect=RuntimeError(f"exploded while holding {DEFAULT_API_KEY}"),
    ):
        result = await start_user_flow(hass)
        result = await submit(
            hass, result, {CONF_API_KEY: DEFAULT_API_KEY, CONF_REGION: REGION_GLOBAL}
        )
    assert result["errors"] == {"base": "unknown"}
    assert "exploded while holding" in caplog.text
    assert "RuntimeError" in caplog.text
    assert DEFAULT_API_KEY not in caplog.text

    result = await submit(hass, result, {CONF_API_KEY: DEFAULT_API_KEY, CONF_REGION: REGION_GLOBAL})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert DEFAULT_API_KEY not in caplog.text


async def test_the_same_account_cannot_be_added_twice(
    hass: HomeAssistant, known_regions_on_simulator: FaseehSimulator
) -> None:
    """The second attempt with the same key aborts, whatever region it names."""
    simulator_entry(known_regions_on_simulator).add_to_hass(hass)

    result = await start_user_flow(hass)
    result = await submit(hass, result, {CONF_API_KEY: DEFAULT_API_KEY, CONF_REGION: REGION_MUNSIT})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_a_second_account_with_another_key_can_be_added(
    hass: HomeAssistant, known_regions_on_simulator: FaseehSimulator
) -> None:
    """Different keys are different accounts."""
    simulator_entry(known_regions_on_simulator).add_to_hass(hass)
    known_regions_on_simulator.config.api_keys.add(NEW_KEY)

    result = await start_user_flow(hass)
    result = await submit(hass, result, {CONF_API_KEY: NEW_KEY, CONF_REGION: REGION_GLOBAL})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert len(hass.config_entries.async_entries(DOMAIN)) == 2


# Reauthentication


def reauth_flows(hass: HomeAssistant) -> list[ConfigFlowResult]:
    """The reauthentication flows waiting for the user."""
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_REAUTH
    ]


async def test_a_rejected_key_at_setup_starts_reauth_and_a_new_key_works_without_restart(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator
) -> None:
    """Wrong key, then a second wrong key, then the new key: the entry loads again by itself."""
    entry = simulator_entry(faseeh_sim, api_key="revoked-key")
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    [flow] = reauth_flows(hass)
    assert flow["step_id"] == "reauth_confirm"

    result = await submit(hass, flow, {CONF_API_KEY: "still-wrong"})
    assert result["type"] is FlowResultType.FORM
    # Reauth has no region to choose, so its message does not ask for one.
    assert result["errors"] == {"base": "new_key_rejected"}

    faseeh_sim.config.api_keys.add(NEW_KEY)
    result = await submit(hass, flow, {CONF_API_KEY: NEW_KEY})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    # Our own text: HA's default success message is English only.
    assert result.get("translation_domain") is None
    await hass.async_block_till_done()

    assert entry.data[CONF_API_KEY] == NEW_KEY
    assert entry.unique_id == account_unique_id(NEW_KEY)
    assert faseeh_sim.http_requests[-1].api_key == NEW_KEY
    assert reauth_flows(hass) == []
    # Last, because mypy would carry the SETUP_ERROR asserted above across the reauth flow.
    assert entry.state is ConfigEntryState.LOADED  # type: ignore[comparison-overlap]


async def test_a_key_revoked_while_running_starts_reauth_from_the_next_request(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator
) -> None:
    """The catalogue refresh finding the key rejected asks the user for a new one."""
    entry = simulator_entry(faseeh_sim)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert reauth_flows(hass) == []

    faseeh_sim.config.api_keys = {NEW_KEY}
    await entry.runtime_data.catalogue.async_refresh()
    await hass.async_block_till_done()
    [flow] = reauth_flows(hass)

    result = await submit(hass, flow, {CONF_API_KEY: NEW_KEY})
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.data[CONF_API_KEY] == NEW_KEY


async def test_a_key_rejected_during_speech_starts_reauth(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator
) -> None:
    """Synthesis meeting a rejected key asks the user for a new one, and the new one works."""
    entry = simulator_entry(faseeh_sim)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    faseeh_sim.config.fault = "invalid_key_handshake"
    with pytest.raises(HomeAssistantError):
        await speak(hass, entry, "مرحبا")
    await hass.async_block_till_done(wait_background_tasks=True)
    [flow] = reauth_flows(hass)

    faseeh_sim.config.fault = None
    result = await submit(hass, flow, {CONF_API_KEY: DEFAULT_API_KEY})
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert await speak(hass, entry, "أهلا")


async def test_reauth_while_the_service_is_down_shows_cannot_connect_then_recovers(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator, closed_port_url: str
) -> None:
    """The new key is checked at the entry's own address; an outage there is reported."""
    entry = simulator_entry(faseeh_sim)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_URL: closed_port_url})
    result = await entry.start_reauth_flow(hass)
    result = await submit(hass, result, {CONF_API_KEY: DEFAULT_API_KEY})
    assert result["errors"] == {"base": "cannot_connect"}

    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_URL: faseeh_sim.url})
    result = await submit(hass, result, {CONF_API_KEY: DEFAULT_API_KEY})
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_reauth_with_the_key_of_another_configured_account_aborts(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator
) -> None:
    """A key already used by another entry would make two entries of one account."""
    simulator_entry(faseeh_sim, title="Other account").add_to_hass(hass)
    entry = simulator_entry(faseeh_sim, api_key="revoked-key")
    entry.add_to_hass(hass)

    result = await entry.start_reauth_flow(hass)
    result = await submit(hass, result, {CONF_API_KEY: DEFAULT_API_KEY})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_API_KEY] == "revoked-key"


async def test_reauth_form_points_to_the_regions_dashboard(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator
) -> None:
    """The user is told where a new key can be made, and which entry it is for."""
    entry = simulator_entry(faseeh_sim, title="Home speech")
    entry.add_to_hass(hass)

    result = await entry.start_reauth_flow(hass)

    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"] == {
        "name": "Home speech",
        "dashboard_url": "https://app.faseeh.ai",
    }


# Reconfiguration


async def test_reconfigure_to_another_custom_url_checks_the_key_there_and_reloads(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator
) -> None:
    """The entry moves to the new address, its made-up title follows, and it loads there."""
    entry = simulator_entry(faseeh_sim)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    async with FaseehSimulator() as other:
        result = await entry.start_reconfigure_flow(hass)
        assert result["step_id"] == "reconfigure"
        assert suggested(result, CONF_REGION) == REGION_CUSTOM
        result = await submit(hass, result, {CONF_REGION: REGION_CUSTOM})
        assert result["step_id"] == "custom_url"
        assert suggested(result, CONF_URL) == faseeh_sim.url

        result = await submit(hass, result, {CONF_URL: other.url + "/"})
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        # Our own text: HA's default success message is English only.
        assert result.get("translation_domain") is None
        await hass.async_block_till_done()

        assert entry.data[CONF_URL] == other.url
        assert entry.data[CONF_API_KEY] == DEFAULT_API_KEY
        assert entry.title == f"Faseeh ({other.url.removeprefix('http://')})"
        assert entry.state is ConfigEntryState.LOADED
        assert other.http_requests
        assert {request.api_key for request in other.http_requests} == {DEFAULT_API_KEY}
        await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_to_a_known_region_keeps_a_title_the_user_chose(
    hass: HomeAssistant, known_regions_on_simulator: FaseehSimulator
) -> None:
    """A renamed entry keeps its name; region and address change."""
    entry = simulator_entry(known_regions_on_simulator, title="Kitchen voice")
    entry.add_to_hass(hass)

    result = await entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, {CONF_REGION: REGION_UAE})

    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_REGION] == REGION_UAE
    assert entry.data[CONF_URL] == known_regions_on_simulator.url
    assert entry.title == "Kitchen voice"
    assert entry.state is ConfigEntryState.LOADED


async def test_reconfigure_to_an_address_that_rejects_the_key_says_so_then_recovers(
    hass: HomeAssistant, faseeh_sim: FaseehSimulator
) -> None:
    """Keys belong to one region: the user is told, and the entry is left as it was."""
    entry = simulator_entry(faseeh_sim)
    entry.add_to_hass(hass)
    async with FaseehSimulator(SimulatorConfig(api_keys={"someone-elses-key"})) as other:
        result = await entry.start_reconfigure_flow(hass)
        result = await submit(hass, result, {CONF_REGION: REGION_CUSTOM})
        result = await submit(hass, result, {CONF_URL: other.url})
        assert result["step_id"] == "custom_url"
        assert result["errors"] == {"base": "key_not_accepted"}
        assert entry.data[CONF_URL] == faseeh_sim.url

        result = await submit(hass, result, {CONF_URL: "not an address"})
        assert result["errors"] == {CONF_URL: "invalid_url"}

        result = await submit(hass, result, {CONF_URL: faseeh_sim.url})
        assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()


async def test_reconfigure_to_a_region_that_rejects_the_key_or_is_down_then_recovers(
    hass: HomeAssistant,
    faseeh_sim: FaseehSimulator,
    closed_port_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Errors show on the region form; choosing a working region finishes the flow."""
    entry = simulator_entry(faseeh_sim)
    entry.add_to_hass(hass)
    point_region(monkeypatch, REGION_MUNSIT, closed_port_url)
    point_region(monkeypatch, REGION_UAE, faseeh_sim.url)

    result = await entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, {CONF_REGION: REGION_MUNSIT})
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"base": "cannot_connect"}

    faseeh_sim.config.fault = "invalid_key_handshake"
    result = await submit(hass, result, {CONF_REGION: REGION_UAE})
    assert result["errors"] == {"base": "key_not_accepted"}

    faseeh_sim.config.fault = None
    result = await submit(hass, result, {CONF_REGION: REGION_UAE})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_REGION] == REGION_UAE
    assert entry.title == "Faseeh (UAE)"


@pytest.fixture
async def answers_voices_then_stalls(socket_enabled: None) -> AsyncIterator[str]:
    """A server that lists voices, then never answers for the models."""
    never = asyncio.Event()

    async def voices(request: web.Request) -> web.Response:
        return web.json_response([])

    async def models(request: web.Request) -> web.Response:
        await never.wait()
        return web.json_response([])

    app = web.Application()
    app.router.add_get("/api/v1/voices", voices)
    app.router.add_get("/api/v1/models", models)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    never.set()
    await runner.cleanup()


def test_the_key_check_bound_is_the_one_the_readme_promises() -> None:
    """The README tells users a check gives up after 10 s."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"a timeout ({KEY_CHECK_TIMEOUT:g} s)" in readme


@pytest.mark.timeout(8)
async def test_a_service_that_stops_answering_mid_check_is_cannot_connect(
    hass: HomeAssistant, answers_voices_then_stalls: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole check is bounded, not each request: the form comes back with the key kept."""
    monkeypatch.setattr("custom_components.faseeh.config_flow.KEY_CHECK_TIMEOUT", 0.5)
    result = await start_user_flow(hass)
    result = await submit(hass, result, {CONF_API_KEY: DEFAULT_API_KEY, CONF_REGION: REGION_CUSTOM})

    result = await submit(hass, result, {CONF_URL: answers_voices_then_stalls})

    assert result["step_id"] == "custom_url"
    assert result["errors"] == {"base": "cannot_connect"}
