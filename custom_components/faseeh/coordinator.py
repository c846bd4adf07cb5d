"""The account's voice and model catalogue, fetched once and refreshed in the background."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
import logging
from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .client import AuthenticationError, FaseehClient, FaseehError, Model, Voice
from .const import DOMAIN

if TYPE_CHECKING:
    from . import FaseehConfigEntry

_LOGGER = logging.getLogger(__name__)

# Catalogues change rarely; synthesis never waits on this refresh.
CATALOGUE_REFRESH_INTERVAL = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Catalogue:
    """What the account can speak with."""

    voices: tuple[Voice, ...]
    models: tuple[Model, ...]

    def voice(self, voice_id: str) -> Voice | None:
        """Return the voice with this id, if the account has it."""
        return next((voice for voice in self.voices if voice.voice_id == voice_id), None)

    def model(self, model_id: str) -> Model | None:
        """Return the model with this id, if the account has it."""
        return next((model for model in self.models if model.model_id == model_id), None)


class FaseehCatalogueCoordinator(DataUpdateCoordinator[Catalogue]):
    """Keeps the last good catalogue through outages; a rejected key starts reauth."""

    config_entry: FaseehConfigEntry

    def __init__(self, hass: HomeAssistant, entry: FaseehConfigEntry, client: FaseehClient) -> None:
        """Set up the coordinator for one account."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} catalogue",
            update_interval=CATALOGUE_REFRESH_INTERVAL,
        )
        self.client = client

    async def _async_update_data(self) -> Catalogue:
        try:
            voices = await self.client.list_voices()
            models = await self.client.list_models()
        except AuthenticationError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="invalid_auth"
            ) from err
        except FaseehError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="catalogue_unavailable",
                translation_placeholders={"message": err.message},
            ) from err
        return Catalogue(voices=tuple(voices), models=tuple(models))
