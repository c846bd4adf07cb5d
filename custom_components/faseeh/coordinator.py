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
from .client.errors import (
    ConnectionLostError,
    ProtocolError,
    ServiceTimeoutError,
    ServiceUnavailableError,
)
from .const import DOMAIN
from .failures import record_service_error

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
        except FaseehError as err:
            record_service_error(self.hass, self.config_entry.entry_id, err)
            if isinstance(err, AuthenticationError):
                raise ConfigEntryAuthFailed(
                    translation_domain=DOMAIN, translation_key="invalid_auth"
                ) from err
            # The client's own text is English and technical: the log gets it, the UI (the
            # setup-retry reason among others) gets a translated sentence.
            reason = catalogue_failure_key(err)
            # A refusal has a cause the user must read; an outage says all there is to say.
            level = logging.WARNING if reason == "catalogue_refused" else logging.DEBUG
            _LOGGER.log(level, "Could not load the Faseeh catalogue: %s", err)
            raise UpdateFailed(translation_domain=DOMAIN, translation_key=reason) from err
        return Catalogue(voices=tuple(voices), models=tuple(models))


def catalogue_failure_key(err: FaseehError) -> str:
    """The translated reason the catalogue could not be loaded, by kind of failure."""
    if isinstance(err, ServiceUnavailableError | ServiceTimeoutError | ConnectionLostError):
        return "catalogue_unreachable"
    if isinstance(err, ProtocolError):
        return "catalogue_unreadable"
    return "catalogue_refused"
