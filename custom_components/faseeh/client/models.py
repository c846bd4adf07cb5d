"""Data classes and request validation of the Faseeh client."""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Final

from .errors import InvalidSettingsError

STABILITY_RANGE: Final = (0.0, 1.0)
SIMILARITY_RANGE: Final = (0.0, 1.0)
SPEED_RANGE: Final = (0.7, 1.2)

# WebSocket output formats and their sample rates (docs/protocol.md §3, §7).
OUTPUT_FORMATS: Final[dict[str, int]] = {
    "pcm_8000": 8000,
    "pcm_16000": 16000,
    "pcm_22050": 22050,
    "pcm_24000": 24000,
}
DEFAULT_OUTPUT_FORMAT: Final = "pcm_24000"


@dataclass(frozen=True, slots=True)
class VoiceSettings:
    """Voice settings sent with every synthesis request."""

    stability: float = 0.5
    similarity_boost: float = 0.75
    speed: float = 1.0


@dataclass(frozen=True, slots=True)
class Voice:
    """A voice of the account's catalogue (GET /voices)."""

    voice_id: str
    name: str
    gender: str | None
    dialects: tuple[str, ...]
    type: str | None


@dataclass(frozen=True, slots=True)
class Model:
    """A synthesis model (GET /models)."""

    model_id: str
    name: str
    cost_per_character: float


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """Raw PCM16 little-endian mono audio; always a whole number of samples."""

    pcm: bytes
    sample_rate: int


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Timeouts in seconds (docs/protocol.md §10: the service publishes none of its own).

    connect: TCP connect, WebSocket handshake and connectionInitialized (HTTP: response headers).
    first_audio: the longest wait for the first audio of an HTTP request.
    idle: longest silence between messages once audio started and the whole text was sent.
    final_grace: after an isFinal frame, how long silence means "complete"; also the time
        allowed for the WebSocket closing handshake.
    socket_silence: no audio on the WebSocket this long after the first trigger means the
        socket is silent: the text goes over HTTP at once, and so do the next requests.
    busy_retry: the first wait before asking again after "too many at once" (429 or 42901)
        before any audio; it doubles on each of the RATE_LIMIT_RETRIES retries.
    """

    connect: float = 10.0
    first_audio: float = 10.0
    idle: float = 10.0
    final_grace: float = 1.0
    socket_silence: float = 1.5
    busy_retry: float = 0.25

    def __post_init__(self) -> None:
        """Reject timeouts that are not positive."""
        for name in (
            "connect",
            "first_audio",
            "idle",
            "final_grace",
            "socket_silence",
            "busy_retry",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")


@dataclass(frozen=True, slots=True)
class SpeechRequest:
    """One request's voice, model, settings and output format; validated when it is made."""

    voice_id: str
    model_id: str
    settings: VoiceSettings = VoiceSettings()
    output_format: str = DEFAULT_OUTPUT_FORMAT

    def __post_init__(self) -> None:
        """Raise InvalidSettingsError for a missing id, a setting out of range or a format."""
        validate_id("voice_id", self.voice_id)
        validate_id("model_id", self.model_id)
        validate_settings(self.settings)
        sample_rate_of(self.output_format)

    @property
    def sample_rate(self) -> int:
        """The sample rate of the output format."""
        return OUTPUT_FORMATS[self.output_format]


def _check_range(name: str, value: float, bounds: tuple[float, float]) -> None:
    low, high = bounds
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise InvalidSettingsError(f"{name} must be a number between {low} and {high}")


def validate_settings(settings: VoiceSettings) -> None:
    """Raise InvalidSettingsError unless every setting is within its documented range."""
    _check_range("stability", settings.stability, STABILITY_RANGE)
    _check_range("similarity_boost", settings.similarity_boost, SIMILARITY_RANGE)
    _check_range("speed", settings.speed, SPEED_RANGE)


def sample_rate_of(output_format: str) -> int:
    """Return the sample rate of an output format; InvalidSettingsError if it is unknown."""
    try:
        return OUTPUT_FORMATS[output_format]
    except KeyError, TypeError:
        known = ", ".join(OUTPUT_FORMATS)
        raise InvalidSettingsError(
            f"Unknown output format {output_format!r} (known: {known})"
        ) from None


def validate_id(name: str, value: str) -> None:
    """Raise InvalidSettingsError unless ``value`` is a non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidSettingsError(f"{name} is required")
