"""Dropdowns of the account's voices and models, shared by the options and repair flows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from .client import Model, Voice

if TYPE_CHECKING:
    from .coordinator import Catalogue

# Prices are per character; per thousand gives numbers a person can compare at a glance.
_PRICE_UNIT_CHARACTERS = 1000


def voice_label(voice: Voice) -> str:
    """Describe a voice as "Lama · Hijazi · female", leaving out what the service did not say."""
    parts = [voice.name]
    if voice.dialects:
        parts.append(", ".join(dialect.capitalize() for dialect in voice.dialects))
    if voice.gender:
        parts.append(voice.gender)
    if voice.type == "cloned":
        parts.append("cloned")
    return " · ".join(parts)


def model_label(model: Model) -> str:
    """Describe a model as "Faseeh v1 · $0.1 per 1000 characters"."""
    price = model.cost_per_character * _PRICE_UNIT_CHARACTERS
    return f"{model.name} · ${price:g} per {_PRICE_UNIT_CHARACTERS} characters"


def voice_selector(catalogue: Catalogue) -> SelectSelector:
    """A dropdown of the catalogue's voices, by name."""
    voices = sorted(catalogue.voices, key=lambda voice: voice.name.casefold())
    return SelectSelector(
        SelectSelectorConfig(
            options=[
                SelectOptionDict(value=voice.voice_id, label=voice_label(voice)) for voice in voices
            ],
            mode=SelectSelectorMode.DROPDOWN,
        )
    )


def model_selector(catalogue: Catalogue) -> SelectSelector:
    """A dropdown of the catalogue's models, in the service's order."""
    return SelectSelector(
        SelectSelectorConfig(
            options=[
                SelectOptionDict(value=model.model_id, label=model_label(model))
                for model in catalogue.models
            ],
            mode=SelectSelectorMode.DROPDOWN,
        )
    )
