"""Texts the integration composes from its translations: entry titles, voice and model labels.

Home Assistant translates flow forms, errors and issues in each user's own language, but labels
built in Python (dropdown entries, the voice picker, entry titles, the device model) can only
follow Home Assistant's language (Settings → System → General), so that is the one used here.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import slugify

from .client import Model, Voice
from .const import CONF_REGION, DOMAIN, REGIONS

# Prices are per character; per thousand gives numbers a person can compare at a glance.
PRICE_UNIT_CHARACTERS = 1000

# Languages written right to left, where Latin names need isolating so they do not reorder
# the text around them.
_RIGHT_TO_LEFT = frozenset({"ar", "fa", "he", "ur"})
FIRST_STRONG_ISOLATE = "\u2068"
POP_DIRECTIONAL_ISOLATE = "\u2069"

_CATEGORIES = ("common", "selector")


@dataclass(frozen=True, slots=True)
class Texts:
    """The integration's composable strings in one language, English where a key is missing."""

    language: str
    strings: dict[str, str]

    def _get(self, category: str, key: str) -> str:
        return self.strings[f"component.{DOMAIN}.{category}.{key}"]

    def _option(self, selector: str, value: str) -> str | None:
        return self.strings.get(f"component.{DOMAIN}.selector.{selector}.options.{value}")

    @property
    def right_to_left(self) -> bool:
        """Whether this language is written right to left."""
        return self.language.split("-")[0].lower() in _RIGHT_TO_LEFT

    def isolate(self, text: str) -> str:
        """Keep a name from another script whole inside right-to-left text.

        Only for parts composed here; the translations isolate their own placeholders.
        """
        if not self.right_to_left:
            return text
        return f"{FIRST_STRONG_ISOLATE}{text}{POP_DIRECTIONAL_ISOLATE}"

    def entry_title(self, region: str, url: str) -> str:
        """Name an entry after its region, or after the host of a custom address."""
        template = self._get("common", REGIONS[region].title_key)
        return template.format(host=urlsplit(url).netloc)

    @property
    def device_model(self) -> str:
        """What the account's device is, for the device page."""
        return self._get("common", "device_model")

    def voice_label(self, voice: Voice) -> str:
        """Describe a voice by name, dialect, gender and origin, leaving out what is not known."""
        parts = [self.isolate(voice.name)]
        if voice.dialects:
            separator = f"{self._get('common', 'list_separator')} "
            parts.append(separator.join(self._dialect(dialect) for dialect in voice.dialects))
        if voice.gender:
            parts.append(self._option("gender", voice.gender.lower()) or self.isolate(voice.gender))
        if voice.type == "cloned":
            parts.append(self._get("common", "cloned"))
        return " · ".join(parts)

    def _dialect(self, dialect: str) -> str:
        name = dialect.strip().lower()
        return self._option("dialect", name) or self.isolate(name.capitalize())

    def model_label(self, model: Model) -> str:
        """Describe a model by name and price per thousand characters."""
        price = model.cost_per_character * PRICE_UNIT_CHARACTERS
        return self._get("common", "model_price").format(
            model=model.name, price=f"{price:g}", characters=PRICE_UNIT_CHARACTERS
        )


async def async_get_texts(hass: HomeAssistant, language: str | None = None) -> Texts:
    """Load the texts in this language, by default Home Assistant's own."""
    language = language or hass.config.language
    strings: dict[str, str] = {}
    for category in _CATEGORIES:
        strings |= await async_get_translations(hass, language, category, [DOMAIN])
    return Texts(language, strings)


async def async_object_id_base(hass: HomeAssistant, entry: ConfigEntry) -> str:
    """What the entry's entity ids start with, the same whatever the home's language.

    A title we made up gives the slug of its English form ("faseeh_uae"); a title the user
    chose gives its own.
    """
    region, url = entry.data[CONF_REGION], entry.data[CONF_URL]
    title = entry.title
    if title == (await async_get_texts(hass)).entry_title(region, url):
        title = (await async_get_texts(hass, "en")).entry_title(region, url)
    return slugify(title)
