"""Dropdowns of the account's voices and models, shared by the options and repair flows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

if TYPE_CHECKING:
    from .coordinator import Catalogue
    from .texts import Texts


def voice_selector(catalogue: Catalogue, texts: Texts) -> SelectSelector:
    """A dropdown of the catalogue's voices, by name."""
    voices = sorted(catalogue.voices, key=lambda voice: voice.name.casefold())
    return SelectSelector(
        SelectSelectorConfig(
            options=[
                SelectOptionDict(value=voice.voice_id, label=texts.voice_label(voice))
                for voice in voices
            ],
            mode=SelectSelectorMode.DROPDOWN,
        )
    )


def model_selector(catalogue: Catalogue, texts: Texts) -> SelectSelector:
    """A dropdown of the catalogue's models, in the service's order."""
    return SelectSelector(
        SelectSelectorConfig(
            options=[
                SelectOptionDict(value=model.model_id, label=texts.model_label(model))
                for model in catalogue.models
            ],
            mode=SelectSelectorMode.DROPDOWN,
        )
    )
