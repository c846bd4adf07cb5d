"""Add a Faseeh account, and change its key, region and speaking defaults."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from enum import StrEnum
import hashlib
import logging
import traceback
from typing import TYPE_CHECKING, Any, override
from urllib.parse import urlsplit

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.typing import UNDEFINED, UndefinedType
import probatio

from .client import SIMILARITY_RANGE, SPEED_RANGE, STABILITY_RANGE, STT_MODELS, FaseehClient
from .client.errors import (
    AuthenticationError,
    ConnectionLostError,
    FaseehError,
    ServiceTimeoutError,
    ServiceUnavailableError,
)
from .const import (
    CONF_MODEL,
    CONF_REGION,
    CONF_SIMILARITY_BOOST,
    CONF_SPARE_SOCKET,
    CONF_SPEED,
    CONF_STABILITY,
    CONF_STT_MODEL,
    CONF_VOICE,
    DEFAULT_MODEL,
    DEFAULT_OPTIONS,
    DEFAULT_SIMILARITY_BOOST,
    DEFAULT_SPARE_SOCKET,
    DEFAULT_SPEED,
    DEFAULT_STABILITY,
    DEFAULT_STT_MODEL,
    DEFAULT_VOICE,
    DOMAIN,
    REGION_CUSTOM,
    REGION_GLOBAL,
    REGIONS,
)
from .coordinator import Catalogue
from .repairs import clear_voice_missing
from .selectors import model_selector, voice_selector
from .texts import Texts, async_get_texts

if TYPE_CHECKING:
    from . import FaseehConfigEntry

_LOGGER = logging.getLogger(__name__)

# Hashing with a fixed prefix keeps the key itself out of the entry's unique id.
_UNIQUE_ID_PREFIX = "faseeh-account:"

# The README promises the key check gives up after 10 s; the catalogue takes two requests,
# each with its own timeouts, so the bound is on the whole check.
KEY_CHECK_TIMEOUT = 10.0

# The client appends this itself, so a pasted API URL must not carry it twice.
_API_PATH = "/api/v1"

SETTING_STEP = 0.05


class FlowError(StrEnum):
    """Why a form is shown again; each is translated under config.error."""

    INVALID_AUTH = "invalid_auth"
    CANNOT_CONNECT = "cannot_connect"
    UNKNOWN = "unknown"
    INVALID_URL = "invalid_url"
    # Reconfigure keeps the key: here the key is fine but the new address does not know it.
    KEY_NOT_ACCEPTED = "key_not_accepted"
    # Reauth has no region to choose, so its rejected key gets a message without one.
    NEW_KEY_REJECTED = "new_key_rejected"


def account_unique_id(api_key: str) -> str:
    """Identify an account by a hash of its key, so the key never appears in clear."""
    return hashlib.sha256(f"{_UNIQUE_ID_PREFIX}{api_key}".encode()).hexdigest()


def normalise_url(raw: str) -> str | None:
    """Return an http(s) base URL without trailing slash, or None if it is not one."""
    text = raw.strip()
    if not text or any(character.isspace() for character in text):
        return None
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018 (read only to reject a port that is not a number)
    except ValueError:
        return None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        # Credentials in the URL would end up in the entry title and diagnostics.
        or parts.username is not None
        or parts.password is not None
        or parts.query
        or parts.fragment
    ):
        return None
    path = parts.path.rstrip("/").removesuffix(_API_PATH).rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{path}"


def default_options(catalogue: Catalogue) -> dict[str, Any]:
    """The documented defaults, with a voice and model the account really has."""
    voice = DEFAULT_VOICE
    if catalogue.voices and catalogue.voice(DEFAULT_VOICE) is None:
        voice = catalogue.voices[0].voice_id
    model = DEFAULT_MODEL
    if catalogue.models and catalogue.model(DEFAULT_MODEL) is None:
        model = catalogue.models[0].model_id
    return {**DEFAULT_OPTIONS, CONF_VOICE: voice, CONF_MODEL: model}


async def async_check_account(hass: HomeAssistant, api_key: str, url: str) -> Catalogue:
    """Prove the key works at this address, and read what the account can speak with."""
    client = FaseehClient(async_get_clientsession(hass), api_key, url)
    try:
        async with asyncio.timeout(KEY_CHECK_TIMEOUT):
            # The catalogue needs the key, so reading it is the key check: no separate request.
            voices = await client.list_voices()
            models = await client.list_models()
    except TimeoutError:
        raise ServiceTimeoutError(f"Faseeh at {url} did not finish the key check") from None
    return Catalogue(voices=tuple(voices), models=tuple(models))


def _log_unexpected(err: Exception, api_key: str, url: str) -> None:
    """Log an unexpected failure with its traceback, the key masked wherever it appears."""
    details = "".join(traceback.format_exception(err))
    if api_key:
        details = details.replace(api_key, "**REDACTED**")
    _LOGGER.error("Unexpected error while checking a Faseeh key at %s:\n%s", url, details)


def _api_url(region: str) -> str:
    """The API address of a known region."""
    url = REGIONS[region].api_url
    if url is None:
        raise ValueError(f"The region {region} has no address of its own")
    return url


def _region_selector() -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=list(REGIONS), mode=SelectSelectorMode.LIST, translation_key="region"
        )
    )


def _api_key_selector() -> TextSelector:
    return TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))


USER_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_API_KEY): _api_key_selector(),
        probatio.Required(CONF_REGION, default=REGION_GLOBAL): _region_selector(),
    }
)
CUSTOM_URL_SCHEMA = probatio.Schema(
    {probatio.Required(CONF_URL): TextSelector(TextSelectorConfig(type=TextSelectorType.URL))}
)
REAUTH_SCHEMA = probatio.Schema({probatio.Required(CONF_API_KEY): _api_key_selector()})
RECONFIGURE_SCHEMA = probatio.Schema({probatio.Required(CONF_REGION): _region_selector()})


def _slider(value_range: tuple[float, float]) -> NumberSelector:
    minimum, maximum = value_range
    return NumberSelector(
        NumberSelectorConfig(
            min=minimum, max=maximum, step=SETTING_STEP, mode=NumberSelectorMode.SLIDER
        )
    )


def options_schema(catalogue: Catalogue, texts: Texts) -> probatio.Schema:
    """The options form: voice and model from the live catalogue, settings as sliders, STT model."""
    return probatio.Schema(
        {
            probatio.Required(CONF_VOICE): voice_selector(catalogue, texts),
            probatio.Required(CONF_MODEL): model_selector(catalogue, texts),
            probatio.Required(CONF_STABILITY, default=DEFAULT_STABILITY): _slider(STABILITY_RANGE),
            probatio.Required(CONF_SIMILARITY_BOOST, default=DEFAULT_SIMILARITY_BOOST): _slider(
                SIMILARITY_RANGE
            ),
            probatio.Required(CONF_SPEED, default=DEFAULT_SPEED): _slider(SPEED_RANGE),
            probatio.Required(CONF_STT_MODEL, default=DEFAULT_STT_MODEL): SelectSelector(
                SelectSelectorConfig(
                    options=list(STT_MODELS),
                    mode=SelectSelectorMode.DROPDOWN,
                    translation_key=CONF_STT_MODEL,
                )
            ),
            probatio.Required(CONF_SPARE_SOCKET, default=DEFAULT_SPARE_SOCKET): BooleanSelector(),
        }
    )


class FaseehConfigFlow(ConfigFlow, domain=DOMAIN):
    """Adds a Faseeh account once its key has been accepted by the service."""

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """Start with nothing entered."""
        self._api_key = ""
        self._region = REGION_GLOBAL
        self._custom_url: str | None = None

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """Let the user change the speaking defaults."""
        return FaseehOptionsFlow()

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the key and the region."""
        if user_input is None:
            return self._show_user_form({})
        self._api_key = user_input[CONF_API_KEY].strip()
        self._region = user_input[CONF_REGION]
        if not self._api_key:
            return self._show_user_form({"base": FlowError.INVALID_AUTH})
        await self.async_set_unique_id(account_unique_id(self._api_key))
        self._abort_if_unique_id_configured()
        if self._region == REGION_CUSTOM:
            return await self.async_step_custom_url()
        url = _api_url(self._region)
        result = await self._async_check(self._api_key, url)
        if isinstance(result, Catalogue):
            return await self._async_create_entry(url, result)
        return self._show_user_form({"base": result})

    async def async_step_custom_url(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the address of a service that is not one of the known regions."""
        errors: dict[str, str] = {}
        suggested: Mapping[str, Any] = {}
        if self._custom_url is not None:
            suggested = {CONF_URL: self._custom_url}
        if user_input is not None:
            suggested = user_input
            url = normalise_url(user_input[CONF_URL])
            if url is None:
                errors[CONF_URL] = FlowError.INVALID_URL
            else:
                self._custom_url = url
                result = await self._async_check(self._api_key, url)
                if isinstance(result, Catalogue):
                    if self.source == SOURCE_RECONFIGURE:
                        return await self._async_update_reconfigured_entry(url)
                    return await self._async_create_entry(url, result)
                if result is FlowError.INVALID_AUTH and self.source != SOURCE_RECONFIGURE:
                    # The address answered; it is the key that needs typing again.
                    return self._show_user_form({"base": result})
                errors["base"] = self._reconfigure_error(result)
        return self.async_show_form(
            step_id="custom_url",
            data_schema=self.add_suggested_values_to_schema(CUSTOM_URL_SCHEMA, suggested),
            errors=errors,
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Start asking for a new key because the service rejected the old one."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new key, check it at the entry's address, then reload the entry."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            api_key = user_input[CONF_API_KEY].strip()
            result = (
                await self._async_check(api_key, entry.data[CONF_URL])
                if api_key
                else FlowError.INVALID_AUTH
            )
            if isinstance(result, Catalogue):
                unique_id = account_unique_id(api_key)
                existing = await self.async_set_unique_id(unique_id, raise_on_progress=False)
                if existing is not None and existing.entry_id != entry.entry_id:
                    return self.async_abort(reason="already_configured")
                return self._update_and_reload(
                    entry,
                    reason="reauth_successful",
                    unique_id=unique_id,
                    data_updates={CONF_API_KEY: api_key},
                )
            errors["base"] = (
                FlowError.NEW_KEY_REJECTED if result is FlowError.INVALID_AUTH else result
            )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=REAUTH_SCHEMA,
            errors=errors,
            description_placeholders={
                "dashboard_url": REGIONS[entry.data[CONF_REGION]].dashboard_url
            },
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Move the account to another region or address; its key is checked there first."""
        entry = self._get_reconfigure_entry()
        self._api_key = entry.data[CONF_API_KEY]
        if entry.data[CONF_REGION] == REGION_CUSTOM and self._custom_url is None:
            self._custom_url = entry.data[CONF_URL]
        errors: dict[str, str] = {}
        suggested: Mapping[str, Any] = {CONF_REGION: entry.data[CONF_REGION]}
        if user_input is not None:
            suggested = user_input
            self._region = user_input[CONF_REGION]
            if self._region == REGION_CUSTOM:
                return await self.async_step_custom_url()
            url = _api_url(self._region)
            result = await self._async_check(self._api_key, url)
            if isinstance(result, Catalogue):
                return await self._async_update_reconfigured_entry(url)
            errors["base"] = self._reconfigure_error(result)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(RECONFIGURE_SCHEMA, suggested),
            errors=errors,
            description_placeholders={"name": entry.title},
        )

    def _show_user_form(self, errors: dict[str, str]) -> ConfigFlowResult:
        suggested: dict[str, Any] = {CONF_REGION: self._region}
        if errors.get("base") not in (FlowError.INVALID_AUTH, None):
            # Only a rejected key needs retyping; after an outage the same key is offered again.
            suggested[CONF_API_KEY] = self._api_key
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(USER_SCHEMA, suggested),
            errors=errors,
        )

    async def _async_check(self, api_key: str, url: str) -> Catalogue | FlowError:
        """Return the account's catalogue, or the error the form should show."""
        try:
            return await async_check_account(self.hass, api_key, url)
        except AuthenticationError:
            return FlowError.INVALID_AUTH
        except (ServiceUnavailableError, ServiceTimeoutError, ConnectionLostError) as err:
            _LOGGER.debug("Cannot reach Faseeh at %s: %s", url, err)
            return FlowError.CANNOT_CONNECT
        except FaseehError as err:
            _LOGGER.warning("Faseeh at %s refused the key check: %s", url, err)
            return FlowError.UNKNOWN
        except Exception as err:  # Any failure must become a form error.
            _log_unexpected(err, api_key, url)
            return FlowError.UNKNOWN

    def _reconfigure_error(self, error: FlowError) -> FlowError:
        if self.source == SOURCE_RECONFIGURE and error is FlowError.INVALID_AUTH:
            return FlowError.KEY_NOT_ACCEPTED
        return error

    async def _async_create_entry(self, url: str, catalogue: Catalogue) -> ConfigFlowResult:
        texts = await async_get_texts(self.hass)
        return self.async_create_entry(
            title=texts.entry_title(self._region, url),
            data={CONF_API_KEY: self._api_key, CONF_REGION: self._region, CONF_URL: url},
            options=default_options(catalogue),
        )

    async def _async_update_reconfigured_entry(self, url: str) -> ConfigFlowResult:
        entry = self._get_reconfigure_entry()
        texts = await async_get_texts(self.hass)
        english = await async_get_texts(self.hass, "en")
        title: str | UndefinedType = UNDEFINED
        # A title the user chose is kept; only one we made up (in either language) follows.
        old_region, old_url = entry.data[CONF_REGION], entry.data[CONF_URL]
        if entry.title in {t.entry_title(old_region, old_url) for t in (texts, english)}:
            title = texts.entry_title(self._region, url)
        return self._update_and_reload(
            entry,
            reason="reconfigure_successful",
            title=title,
            data_updates={CONF_REGION: self._region, CONF_URL: url},
        )

    def _update_and_reload(
        self,
        entry: ConfigEntry,
        *,
        reason: str,
        data_updates: Mapping[str, Any],
        unique_id: str | UndefinedType = UNDEFINED,
        title: str | UndefinedType = UNDEFINED,
    ) -> ConfigFlowResult:
        """Save the new data and reload the entry so a new client uses it at once."""
        # An explicit reason, or HA shows its own untranslated success text instead of ours.
        result = self.async_update_and_abort(
            entry, reason=reason, unique_id=unique_id, title=title, data_updates=data_updates
        )
        # Not async_update_reload_and_abort: the TTS entity's update listener applies option
        # changes in place rather than reloading, and HA warns about that pairing there.
        self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return result


class FaseehOptionsFlow(OptionsFlow):
    """Changes the default voice, model and settings; the entity applies them in place."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the catalogue the entry already holds, with the current choices selected."""
        entry: FaseehConfigEntry = self.config_entry
        if entry.state is not ConfigEntryState.LOADED:
            # Without a loaded entry there is no catalogue to choose from.
            return self.async_abort(reason="not_loaded")
        catalogue = entry.runtime_data.catalogue.data
        if user_input is not None:
            # The dropdown only offers voices the account has, so any earlier complaint is moot.
            clear_voice_missing(self.hass, entry)
            return self.async_create_entry(data={**entry.options, **user_input})
        suggested = dict(entry.options)
        # An option the catalogue no longer has cannot be preselected in a dropdown.
        if catalogue.voice(suggested.get(CONF_VOICE, "")) is None:
            suggested.pop(CONF_VOICE, None)
        if catalogue.model(suggested.get(CONF_MODEL, "")) is None:
            suggested.pop(CONF_MODEL, None)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                options_schema(catalogue, await async_get_texts(self.hass)), suggested
            ),
        )
