"""Hotwords for speech-to-text: the Arabic names Assist can act on, so the service hears them."""

from __future__ import annotations

import re

from homeassistant.components.homeassistant.exposed_entities import async_should_expose
from homeassistant.core import DOMAIN as DOMAIN_HOMEASSISTANT, HomeAssistant, callback
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
    intent,
)

_ARABIC_LETTER = re.compile("[\u0620-\u064a]")
# Assist's own voice assistant; exposure to it is what makes a name worth hearing.
_ASSISTANT = "conversation"


@callback
def exposed_arabic_names(hass: HomeAssistant) -> list[str]:
    """Areas first, then entity names and aliases, of every entity exposed to Assist."""
    if DOMAIN_HOMEASSISTANT not in hass.config.components:
        # Exposure settings live in the core integration; without it nothing is exposed.
        return []
    entities = er.async_get(hass)
    devices = dr.async_get(hass)
    areas = ar.async_get(hass)
    area_ids: list[str] = []
    names: list[str] = []
    for state in hass.states.async_all():
        if not async_should_expose(hass, _ASSISTANT, state.entity_id):
            continue
        entry = entities.async_get(state.entity_id)
        names.extend(intent.async_get_entity_aliases(hass, entry, state=state))
        area_id = entry.area_id if entry is not None else None
        device = devices.async_get(entry.device_id) if entry and entry.device_id else None
        if area_id is None and device is not None:
            area_id = dr.async_get_effective_area_id(hass, device)
        if area_id is not None and area_id not in area_ids:
            area_ids.append(area_id)
    area_names: list[str] = []
    for area_id in area_ids:
        if (area := areas.async_get_area(area_id)) is not None:
            area_names.extend([area.name, *sorted(area.aliases)])
    return [name for name in (*area_names, *names) if _ARABIC_LETTER.search(name)]
