"""Protocol client for the Faseeh (Munsit) text-to-speech and speech-to-text APIs.

Imports nothing from Home Assistant: it needs only an ``aiohttp.ClientSession``.
"""

from .client import FaseehClient, PcmAssembler
from .errors import (
    AccessDeniedError,
    AudioAheadError,
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
    SpeechRequest,
    Timeouts,
    Voice,
    VoiceSettings,
)
from .sentences import SENTENCE_MARKS, SentenceTrigger, split_sentences
from .stt import (
    STT_MODEL_ARABIC,
    STT_MODEL_CODE_SWITCHING,
    STT_MODELS,
    STT_SAMPLE_RATES,
    SpeechToTextClient,
    SttOptions,
    SttTimeouts,
    Transcript,
)
from .transport import Transport

__all__ = [
    "DEFAULT_OUTPUT_FORMAT",
    "OUTPUT_FORMATS",
    "SENTENCE_MARKS",
    "SIMILARITY_RANGE",
    "SPEED_RANGE",
    "STABILITY_RANGE",
    "STT_MODELS",
    "STT_MODEL_ARABIC",
    "STT_MODEL_CODE_SWITCHING",
    "STT_SAMPLE_RATES",
    "AccessDeniedError",
    "AudioAheadError",
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
    "SpeechRequest",
    "SpeechToTextClient",
    "SttOptions",
    "SttTimeouts",
    "Timeouts",
    "Transcript",
    "Transport",
    "Voice",
    "VoiceNotFoundError",
    "VoiceSettings",
    "split_sentences",
]
