"""Protocol client for the Faseeh (Munsit) text-to-speech API.

Imports nothing from Home Assistant: it needs only an ``aiohttp.ClientSession``.
"""

from .client import FaseehClient, PcmAssembler
from .errors import (
    AccessDeniedError,
    AuthenticationError,
    ConnectionLostError,
    EmptyTextError,
    FaseehError,
    InsufficientBalanceError,
    InvalidSettingsError,
    ModelNotFoundError,
    ProtocolError,
    RateLimitError,
    ServiceTimeoutError,
    ServiceUnavailableError,
    VoiceNotFoundError,
)
from .models import (
    DEFAULT_OUTPUT_FORMAT,
    OUTPUT_FORMATS,
    SIMILARITY_RANGE,
    SPEED_RANGE,
    STABILITY_RANGE,
    AudioChunk,
    Model,
    Timeouts,
    Voice,
    VoiceSettings,
)
from .sentences import SENTENCE_MARKS, SentenceTrigger, split_sentences

__all__ = [
    "DEFAULT_OUTPUT_FORMAT",
    "OUTPUT_FORMATS",
    "SENTENCE_MARKS",
    "SIMILARITY_RANGE",
    "SPEED_RANGE",
    "STABILITY_RANGE",
    "AccessDeniedError",
    "AudioChunk",
    "AuthenticationError",
    "ConnectionLostError",
    "EmptyTextError",
    "FaseehClient",
    "FaseehError",
    "InsufficientBalanceError",
    "InvalidSettingsError",
    "Model",
    "ModelNotFoundError",
    "PcmAssembler",
    "ProtocolError",
    "RateLimitError",
    "SentenceTrigger",
    "ServiceTimeoutError",
    "ServiceUnavailableError",
    "Timeouts",
    "Voice",
    "VoiceNotFoundError",
    "VoiceSettings",
    "split_sentences",
]
