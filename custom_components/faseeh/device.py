"""The device that stands for one Faseeh account; every entity of the account sits on it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo

from .const import CONF_REGION, DOMAIN, REGIONS

if TYPE_CHECKING:
    from . import FaseehConfigEntry
    from .texts import Texts


def account_device_info(entry: FaseehConfigEntry, texts: Texts) -> DeviceInfo:
    """The account's service device, in the user's language, linking to its region's dashboard."""
    return DeviceInfo(
        identifiers={(DOMAIN, entry.entry_id)},
        name=entry.title,
        manufacturer="Faseeh",
        model=texts.device_model,
        entry_type=DeviceEntryType.SERVICE,
        configuration_url=REGIONS[entry.data[CONF_REGION]].dashboard_url,
    )
