"""Parse one server text frame of the TTS WebSocket (pure, no I/O).

Audio frames carry no ``type`` (docs/protocol.md §3 step 5): ``{"audio": b64, "sampleRate": N,
"isFinal": bool}``; they are recognised by the ``audio`` key. Anything that is not JSON, not an
object, or an audio frame whose fields are malformed raises ProtocolError. Error frames come in two
shapes (``errorCode``/``errorMessage`` or just ``message``) and become an ErrorFrame holding the
mapped exception. Unknown message types are returned as Ignored.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
import json
from typing import Any, Final

from .errors import FaseehError, ProtocolError, map_error

MAX_SAMPLE_RATE: Final = 384_000


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """An audio frame; ``pcm`` may be empty (typically on the final frame)."""

    pcm: bytes
    sample_rate: int | None
    is_final: bool


@dataclass(frozen=True, slots=True)
class Initialized:
    """``{"type":"connectionInitialized"}``."""


@dataclass(frozen=True, slots=True)
class ErrorFrame:
    """An error frame, already mapped to its exception."""

    error: FaseehError


@dataclass(frozen=True, slots=True)
class Ignored:
    """A message this client does not use (an unknown ``type``)."""

    type: str


type Frame = AudioFrame | Initialized | ErrorFrame | Ignored


def parse_frame(data: str) -> Frame:
    """Parse the text of one frame; raise ProtocolError for anything malformed."""
    message = _load_object(data)
    kind = message.get("type")
    if kind == "error":
        return ErrorFrame(_error_from_frame(message))
    if "audio" in message and kind in (None, "audio"):
        return _audio_frame(message)
    if kind == "connectionInitialized":
        return Initialized()
    return Ignored(kind[:100] if isinstance(kind, str) else type(kind).__name__)


def _load_object(data: str) -> dict[str, Any]:
    try:
        message = json.loads(data)
    except ValueError, RecursionError:
        raise ProtocolError(f"Received a frame that is not JSON ({len(data)} chars)") from None
    if not isinstance(message, dict):
        raise ProtocolError(f"Received a JSON {type(message).__name__}, expected an object")
    return message


def _error_from_frame(message: dict[str, Any]) -> FaseehError:
    text = message.get("errorMessage") or message.get("message")
    return map_error(error_code=message.get("errorCode"), message=text)


def _audio_frame(message: dict[str, Any]) -> AudioFrame:
    audio = message["audio"]
    if audio is None:
        audio = ""
    if not isinstance(audio, str):
        raise ProtocolError(f"Audio frame with a {type(audio).__name__} audio field")
    try:
        pcm = base64.b64decode(audio, validate=True)
    except binascii.Error, ValueError:
        raise ProtocolError("Audio frame whose audio is not valid base64") from None
    return AudioFrame(pcm, _sample_rate(message.get("sampleRate")), _is_final(message))


def _sample_rate(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_SAMPLE_RATE:
        raise ProtocolError(f"Audio frame with an invalid sampleRate ({type(value).__name__})")
    return value


def _is_final(message: dict[str, Any]) -> bool:
    value = message.get("isFinal", False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ProtocolError(f"Audio frame with an invalid isFinal ({type(value).__name__})")
    return value
