"""Constants shared by the Faseeh integration's modules."""

from dataclasses import dataclass
from typing import Final

DOMAIN: Final = "faseeh"

# Config entry data.
CONF_REGION: Final = "region"
CONF_URL: Final = "url"

REGION_GLOBAL: Final = "global"
REGION_UAE: Final = "uae"
REGION_MUNSIT: Final = "munsit"
REGION_CUSTOM: Final = "custom"


@dataclass(frozen=True, slots=True)
class Region:
    """Where one region's API lives, where its keys and wallet are managed, and its name.

    title_key names the entry title under "common" in the translations; a custom address
    puts its host in the {host} placeholder.
    """

    api_url: str | None
    dashboard_url: str
    title_key: str


# The one table of regions, in the order the form offers them. A custom address has no
# dashboard of its own, so its links go to the global one.
REGIONS: Final[dict[str, Region]] = {
    REGION_GLOBAL: Region("https://api.faseeh.ai", "https://app.faseeh.ai", "title_global"),
    REGION_UAE: Region("https://ae.api.faseeh.ai", "https://ae.app.munsit.com", "title_uae"),
    REGION_MUNSIT: Region("https://api.munsit.com", "https://app.munsit.com", "title_munsit"),
    REGION_CUSTOM: Region(None, "https://app.faseeh.ai", "title_custom"),
}

# Options: the entity's defaults, and the keys a `tts.speak` call may override.
CONF_VOICE: Final = "voice"
CONF_MODEL: Final = "model"
CONF_STABILITY: Final = "stability"
CONF_SIMILARITY_BOOST: Final = "similarity_boost"
CONF_SPEED: Final = "speed"

DEFAULT_MODEL: Final = "faseeh-v1-preview"
DEFAULT_VOICE: Final = "ar-hijazi-female-1"
DEFAULT_STABILITY: Final = 0.5
DEFAULT_SIMILARITY_BOOST: Final = 0.75
DEFAULT_SPEED: Final = 1.0

# Every option with its default: a new entry's options, and the entity's fallbacks.
DEFAULT_OPTIONS: Final[dict[str, str | float]] = {
    CONF_VOICE: DEFAULT_VOICE,
    CONF_MODEL: DEFAULT_MODEL,
    CONF_STABILITY: DEFAULT_STABILITY,
    CONF_SIMILARITY_BOOST: DEFAULT_SIMILARITY_BOOST,
    CONF_SPEED: DEFAULT_SPEED,
}

# Keep a connected socket ready when speech is likely soon (client/spare.py).
CONF_SPARE_SOCKET: Final = "spare_socket"
DEFAULT_SPARE_SOCKET: Final = True

# Speech-to-text: the model is its own option, so it never becomes part of TTS's cache key.
CONF_STT_MODEL: Final = "stt_model"
DEFAULT_STT_MODEL: Final = "munsit"
