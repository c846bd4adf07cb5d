"""Repair issues: an empty wallet, and a default voice that left the catalogue."""

from homeassistant.components.repairs import (
    ConfirmRepairFlow,
    RepairsFlowManager,
    repairs_flow_manager,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.faseeh.const import (
    CONF_VOICE,
    DEFAULT_OPTIONS,
    DOMAIN,
    REGION_CUSTOM,
    REGIONS,
)
from custom_components.faseeh.failures import failure_history
from custom_components.faseeh.repairs import (
    async_create_fix_flow,
    clear_wallet_empty,
    raise_wallet_empty,
    voice_missing_issue_id,
    wallet_empty_issue_id,
)
from simulator import FaseehSimulator, Fault

from .conftest import dropdown, speak

pytestmark = pytest.mark.usefixtures("unload_faseeh_entries")

RETIRED_VOICE = "ar-retired-voice"


async def repairs(hass: HomeAssistant) -> RepairsFlowManager:
    """The repairs integration's flow manager, as the Repairs dashboard uses it."""
    assert await async_setup_component(hass, "repairs", {})
    manager = repairs_flow_manager(hass)
    assert manager is not None
    return manager


# Empty wallet


async def test_an_empty_wallet_raises_an_issue_that_the_next_good_speech_clears(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    faseeh_sim: FaseehSimulator,
    issue_registry: ir.IssueRegistry,
) -> None:
    """The failure points the user to the dashboard; after a top-up the warning goes away."""
    issue_id = wallet_empty_issue_id(setup_integration.entry_id)
    faseeh_sim.config.fault = "wallet_empty"

    with pytest.raises(HomeAssistantError):
        await speak(hass, setup_integration, "مرحبا")
    await hass.async_block_till_done(wait_background_tasks=True)

    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.is_fixable is False
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_key == "wallet_empty"
    assert issue.learn_more_url == REGIONS[REGION_CUSTOM].dashboard_url
    assert issue.translation_placeholders == {
        "name": setup_integration.title,
        "dashboard_url": REGIONS[REGION_CUSTOM].dashboard_url,
    }

    faseeh_sim.config.fault = None
    assert await speak(hass, setup_integration, "أهلا وسهلا")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


@pytest.mark.parametrize("fault", [Fault.WALLET_EMPTY, Fault.WALLET_EMPTY_THEN_DROP])
async def test_an_empty_wallet_is_never_reported_as_a_lost_connection(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    faseeh_sim: FaseehSimulator,
    issue_registry: ir.IssueRegistry,
    fault: Fault,
) -> None:
    """Error frame then close (or an abrupt drop), three sentences: the wallet, every time."""
    faseeh_sim.config.fault = fault
    for _ in range(10):
        with pytest.raises(HomeAssistantError) as raised:
            await speak(hass, setup_integration, "مرحبا بك. كيف حالك اليوم؟ أنا بخير، شكرا!")
        assert raised.value.translation_key == "insufficient_balance"
    await hass.async_block_till_done(wait_background_tasks=True)
    issue_id = wallet_empty_issue_id(setup_integration.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    kinds = {error.kind for error in failure_history(hass, setup_integration.entry_id)}
    assert kinds == {"InsufficientBalanceError"}


async def test_the_wallet_issue_can_be_raised_and_cleared_directly(
    hass: HomeAssistant, setup_integration: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    """The helpers the entity calls are idempotent: raising twice is one issue, clearing is safe."""
    raise_wallet_empty(hass, setup_integration)
    raise_wallet_empty(hass, setup_integration)
    assert len([i for i in issue_registry.issues.values() if i.domain == DOMAIN]) == 1

    clear_wallet_empty(hass, setup_integration)
    clear_wallet_empty(hass, setup_integration)
    assert not [i for i in issue_registry.issues.values() if i.domain == DOMAIN]


# Default voice gone from the catalogue


async def setup_with_voice(hass: HomeAssistant, entry: MockConfigEntry, voice: str) -> None:
    """Load the entry with this default voice."""
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, options={**DEFAULT_OPTIONS, CONF_VOICE: voice})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def test_a_default_voice_missing_at_setup_raises_a_fixable_issue(
    hass: HomeAssistant, config_entry: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    """The issue names the vanished voice and offers a fix."""
    await setup_with_voice(hass, config_entry, RETIRED_VOICE)

    issue = issue_registry.async_get_issue(DOMAIN, voice_missing_issue_id(config_entry.entry_id))
    assert issue is not None
    assert issue.is_fixable is True
    assert issue.translation_key == "voice_missing"
    assert issue.translation_placeholders == {"name": config_entry.title, "voice": RETIRED_VOICE}


async def test_fixing_the_voice_issue_offers_current_voices_and_saves_the_choice(
    hass: HomeAssistant, config_entry: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    """The fix flow is the same dropdown as the options; picking a voice ends the issue."""
    await setup_with_voice(hass, config_entry, RETIRED_VOICE)
    issue_id = voice_missing_issue_id(config_entry.entry_id)
    manager = await repairs(hass)

    result = await manager.async_init(DOMAIN, context={"issue_id": issue_id})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "pick_voice"
    assert result["description_placeholders"] == {
        "name": config_entry.title,
        "voice": RETIRED_VOICE,
    }
    labels = dropdown(result, CONF_VOICE)
    assert labels["ar-najdi-male-2"] == "Fahad · Najdi · male"
    assert RETIRED_VOICE not in labels

    result = await manager.async_configure(result["flow_id"], {CONF_VOICE: "ar-najdi-male-2"})
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert config_entry.options[CONF_VOICE] == "ar-najdi-male-2"
    assert config_entry.state is ConfigEntryState.LOADED
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_a_voice_that_vanishes_later_raises_the_issue_and_its_return_clears_it(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    faseeh_sim: FaseehSimulator,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Each catalogue refresh re-checks the default voice, both ways."""
    issue_id = voice_missing_issue_id(setup_integration.entry_id)
    config = faseeh_sim.config
    all_voices = config.voices
    default_voice = setup_integration.options[CONF_VOICE]
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None

    config.voices = [voice for voice in all_voices if voice["voice_id"] != default_voice]
    await setup_integration.runtime_data.catalogue.async_refresh()
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None

    config.voices = all_voices
    await setup_integration.runtime_data.catalogue.async_refresh()
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_choosing_a_voice_in_the_options_also_clears_the_issue(
    hass: HomeAssistant, config_entry: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    """Users may fix it from the options instead of the repair."""
    await setup_with_voice(hass, config_entry, RETIRED_VOICE)

    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**DEFAULT_OPTIONS, CONF_VOICE: "ar-fusha-female-1"}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert (
        issue_registry.async_get_issue(DOMAIN, voice_missing_issue_id(config_entry.entry_id))
        is None
    )


async def test_an_empty_catalogue_does_not_blame_the_default_voice(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    faseeh_sim: FaseehSimulator,
    issue_registry: ir.IssueRegistry,
) -> None:
    """No voices at all is an outage, with nothing to pick instead, so no voice issue."""
    faseeh_sim.config.voices = []
    await setup_with_voice(hass, config_entry, RETIRED_VOICE)

    assert (
        issue_registry.async_get_issue(DOMAIN, voice_missing_issue_id(config_entry.entry_id))
        is None
    )


async def test_the_fix_flow_aborts_when_the_entry_is_no_longer_loaded(
    hass: HomeAssistant, config_entry: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    """Without a loaded entry there is no catalogue to choose from; the issue stays."""
    await setup_with_voice(hass, config_entry, RETIRED_VOICE)
    issue_id = voice_missing_issue_id(config_entry.entry_id)
    manager = await repairs(hass)
    await hass.config_entries.async_unload(config_entry.entry_id)

    result = await manager.async_init(DOMAIN, context={"issue_id": issue_id})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_loaded"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None


async def test_an_issue_without_a_fix_of_its_own_gets_a_plain_confirmation(
    hass: HomeAssistant,
) -> None:
    """Only the voice issue has a dedicated flow; anything else just confirms."""
    flow = await async_create_fix_flow(hass, "something_else", None)

    assert isinstance(flow, ConfirmRepairFlow)


async def test_removing_an_account_forgets_all_of_its_issues(
    hass: HomeAssistant, config_entry: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    """Issues of a deleted entry would otherwise linger with nothing to fix them."""
    await setup_with_voice(hass, config_entry, RETIRED_VOICE)
    raise_wallet_empty(hass, config_entry)

    await hass.config_entries.async_remove(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert not [issue for issue in issue_registry.issues.values() if issue.domain == DOMAIN]
