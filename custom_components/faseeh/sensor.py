"""Usage sensors of a Faseeh account: what it has spoken, heard and probably spent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import FaseehConfigEntry
from .device import account_device_info
from .texts import Texts, async_get_texts
from .usage import SPEND_CURRENCY, UsageTotals

# The sensors only read counters kept in memory; nothing to fetch, nothing to serialise.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class UsageSensorDescription(SensorEntityDescription):
    """A usage sensor and the counter it shows."""

    value: Callable[[UsageTotals], int | float | Decimal | None]


USAGE_SENSORS: tuple[UsageSensorDescription, ...] = (
    UsageSensorDescription(
        key="characters",
        translation_key="characters",
        # The unit is translated ("characters"), so no native unit is set.
        state_class=SensorStateClass.TOTAL_INCREASING,
        value=lambda totals: totals.characters,
    ),
    UsageSensorDescription(
        key="spend",
        translation_key="spend",
        device_class=SensorDeviceClass.MONETARY,
        # Monetary sensors may only be totals; this one never resets.
        state_class=SensorStateClass.TOTAL,
        native_unit_of_measurement=SPEND_CURRENCY,
        suggested_display_precision=4,
        value=lambda totals: totals.spend,
    ),
    UsageSensorDescription(
        key="stt_seconds",
        translation_key="stt_seconds",
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_display_precision=1,
        value=lambda totals: totals.stt_seconds,
    ),
    UsageSensorDescription(
        key="first_audio",
        translation_key="first_audio",
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_display_precision=2,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value=lambda totals: totals.first_audio_seconds,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: FaseehConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's usage sensors."""
    texts = await async_get_texts(hass)
    async_add_entities(
        FaseehUsageSensor(entry, texts, description) for description in USAGE_SENSORS
    )


class FaseehUsageSensor(SensorEntity):
    """One counter of the account's usage, updated the moment it changes."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description: UsageSensorDescription

    def __init__(
        self, entry: FaseehConfigEntry, texts: Texts, description: UsageSensorDescription
    ) -> None:
        """Describe the sensor on the account's device."""
        self.entity_description = description
        self._entry = entry
        self._attr_unique_id = f"{entry.entry_id}_{description.key}"
        self._attr_device_info = account_device_info(entry, texts)
        self._show_totals()

    async def async_added_to_hass(self) -> None:
        """Follow the counters; they keep counting while a sensor is disabled."""
        await super().async_added_to_hass()
        self.async_on_remove(self._entry.runtime_data.usage.async_add_listener(self._updated))

    @callback
    def _updated(self) -> None:
        # One listener serves every counter; a sensor whose counter did not move stays quiet.
        if self._show_totals():
            self.async_write_ha_state()

    @callback
    def _show_totals(self) -> bool:
        """Take the counter's current value; True when it changed."""
        value = self.entity_description.value(self._entry.runtime_data.usage.totals)
        changed = value != self._attr_native_value
        self._attr_native_value = value
        return changed
