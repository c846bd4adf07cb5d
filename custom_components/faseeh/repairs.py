"""Repair issues: an empty wallet, and a default voice the account no longer has."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
import probatio

from .const import CONF_REGION, CONF_VOICE, DOMAIN, REGIONS
from .selectors import voice_selector
from .texts import async_get_texts

if TYPE_CHECKING:
    from . import FaseehConfigEntry
    from .coordinator import Catalogue

ISSUE_WALLET_EMPTY = "wallet_empty"
ISSUE_VOICE_MISSING = "voice_missing"

# Which entry a fix flow is about travels in the issue's data.
_DATA_ENTRY_ID = "entry_id"


def wallet_empty_issue_id(entry_id: str) -> str:
    """The wallet issue of one account."""
    return f"{ISSUE_WALLET_EMPTY}_{entry_id}"


def voice_missing_issue_id(entry_id: str) -> str:
    """The vanished-voice issue of one account."""
    return f"{ISSUE_VOICE_MISSING}_{entry_id}"


@callback
def raise_wallet_empty(hass: HomeAssistant, entry: FaseehConfigEntry) -> None:
    """Tell the user to top up; only the dashboard can fix this, so it is not fixable here."""
    dashboard_url = REGIONS[entry.data[CONF_REGION]].dashboard_url
    ir.async_create_issue(
        hass,
        DOMAIN,
        wallet_empty_issue_id(entry.entry_id),
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        learn_more_url=dashboard_url,
        translation_key=ISSUE_WALLET_EMPTY,
        translation_placeholders={"name": entry.title, "dashboard_url": dashboard_url},
    )


@callback
def clear_wallet_empty(hass: HomeAssistant, entry: FaseehConfigEntry) -> None:
    """Forget the wallet issue once speech has been paid for again."""
    ir.async_delete_issue(hass, DOMAIN, wallet_empty_issue_id(entry.entry_id))


@callback
def check_default_voice(
    hass: HomeAssistant, entry: FaseehConfigEntry, catalogue: Catalogue
) -> None:
    """Raise a fixable issue while the default voice is not in the catalogue, else clear it."""
    voice_id = entry.options.get(CONF_VOICE)
    # With no voices at all there is nothing to offer instead; that is an outage, not a choice.
    if voice_id is None or not catalogue.voices or catalogue.voice(voice_id) is not None:
        clear_voice_missing(hass, entry)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        voice_missing_issue_id(entry.entry_id),
        is_fixable=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_VOICE_MISSING,
        translation_placeholders={"name": entry.title, "voice": voice_id},
        data={_DATA_ENTRY_ID: entry.entry_id},
    )


@callback
def clear_voice_missing(hass: HomeAssistant, entry: FaseehConfigEntry) -> None:
    """Forget the vanished-voice issue, because a voice the account has was chosen."""
    ir.async_delete_issue(hass, DOMAIN, voice_missing_issue_id(entry.entry_id))


@callback
def delete_issues(hass: HomeAssistant, entry_id: str) -> None:
    """Forget every issue of an account, for when its entry is removed."""
    ir.async_delete_issue(hass, DOMAIN, wallet_empty_issue_id(entry_id))
    ir.async_delete_issue(hass, DOMAIN, voice_missing_issue_id(entry_id))


class VoiceMissingRepairFlow(RepairsFlow):
    """Lets the user pick one of the account's current voices as the new default."""

    def __init__(self, entry_id: str) -> None:
        """Remember which account the issue is about."""
        super().__init__()
        self._entry_id = entry_id

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Open the voice form; what HA passes here is the issue id, not a choice."""
        return await self.async_step_pick_voice()

    async def async_step_pick_voice(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Offer the current voices; saving one replaces the default and ends the issue."""
        entry: FaseehConfigEntry | None = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="not_loaded")
        if user_input is not None:
            self.hass.config_entries.async_update_entry(
                entry, options={**entry.options, CONF_VOICE: user_input[CONF_VOICE]}
            )
            # The repairs manager deletes the issue when the flow creates its entry.
            return self.async_create_entry(data={})
        catalogue = entry.runtime_data.catalogue.data
        texts = await async_get_texts(self.hass)
        return self.async_show_form(
            step_id="pick_voice",
            data_schema=probatio.Schema(
                {probatio.Required(CONF_VOICE): voice_selector(catalogue, texts)}
            ),
            description_placeholders={
                "name": entry.title,
                "voice": str(entry.options.get(CONF_VOICE, "")),
            },
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """Start the flow that fixes one of this integration's fixable issues."""
    if issue_id.startswith(f"{ISSUE_VOICE_MISSING}_") and data is not None:
        return VoiceMissingRepairFlow(str(data[_DATA_ENTRY_ID]))
    return ConfirmRepairFlow()
