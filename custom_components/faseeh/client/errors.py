"""Exceptions raised by the Faseeh client, and the mapping from service errors to them.

One hierarchy covers REST errors (HTTP status + ``errorCode``/``errorMessage`` body) and WebSocket
error frames in both shapes (``{"type":"error","errorCode":..,"errorMessage":..}`` and
``{"type":"error","message":..}``). Every exception carries the service's message. The codes
and what they mean are in docs/protocol.md §6.
"""

from __future__ import annotations

from typing import Any


class FaseehError(Exception):
    """Base class of every error the Faseeh client raises."""

    def __init__(
        self, message: str, *, error_code: str | None = None, status: int | None = None
    ) -> None:
        """Store the service's message, its errorCode and the HTTP status (when known)."""
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        self.status = status

    def __str__(self) -> str:
        """Return the service's message."""
        return self.message

    def __repr__(self) -> str:
        """Return a repr with the message, errorCode and status."""
        return (
            f"{type(self).__name__}(message={self.message!r}, "
            f"error_code={self.error_code!r}, status={self.status!r})"
        )

    def scrub(self, secret: str) -> FaseehError:
        """Remove ``secret`` from the message and drop a suppressed context (in place).

        ``raise ... from None`` still records the handled exception as ``__context__``; an
        aiohttp exception there would carry the request URL, so it is dropped too.
        """
        if secret and secret in self.message:
            self.message = self.message.replace(secret, "***")
            self.args = (self.message,)
        if self.__suppress_context__:
            self.__context__ = None
        return self


class AuthenticationError(FaseehError):
    """The API key is missing, invalid or rejected (HTTP 401, errorCode 401xx)."""


class InsufficientBalanceError(FaseehError):
    """The wallet balance is too low (HTTP 402, errorCode 402xx)."""


class AccessDeniedError(FaseehError):
    """The model or feature is not enabled for the account (HTTP 403, errorCode 403xx)."""


class RateLimitError(FaseehError):
    """Rate or concurrency limit exceeded (HTTP 429, errorCode 429xx)."""


class VoiceNotFoundError(FaseehError):
    """The voice does not exist (errorCode 40402, or 404 "Voice not found")."""


class ModelNotFoundError(FaseehError):
    """The model does not exist (errorCode 40401, or "Model not found")."""


class InvalidSettingsError(FaseehError):
    """Invalid request parameters, empty text or an unknown output format (400, 400xx)."""


class EmptyTextError(InvalidSettingsError):
    """There is nothing to speak: the text is empty or only whitespace."""


class ServiceUnavailableError(FaseehError):
    """The service failed (5xx, errorCode 5xxxx) or cannot be reached."""


class ConnectionLostError(FaseehError):
    """The WebSocket closed abnormally or before the end of the stream."""


class ProtocolError(FaseehError):
    """The service sent something the protocol does not allow (garbage, binary frames...)."""


class ServiceTimeoutError(FaseehError):
    """Connecting, the first audio or the next audio frame took too long."""


class AudioAheadError(FaseehError):
    """Speech-to-text audio ran too far ahead of real time (close code 4008)."""


_STATUS_ERRORS: dict[int, type[FaseehError]] = {
    400: InvalidSettingsError,
    401: AuthenticationError,
    402: InsufficientBalanceError,
    403: AccessDeniedError,
    404: VoiceNotFoundError,
    429: RateLimitError,
}

_CODE_ERRORS: dict[int, type[FaseehError]] = {
    40401: ModelNotFoundError,
    40402: VoiceNotFoundError,
}

# Used when neither an errorCode nor a status says what went wrong ({"type":"error","message":..}).
# Order matters: the first hint found in the lower-cased message wins.
_MESSAGE_HINTS: tuple[tuple[str, type[FaseehError]], ...] = (
    ("model not found", ModelNotFoundError),
    ("voice not found", VoiceNotFoundError),
    ("balance", InsufficientBalanceError),
    ("wallet", InsufficientBalanceError),
    ("api key", AuthenticationError),
    ("unauthori", AuthenticationError),
    ("rate limit", RateLimitError),
    ("too many", RateLimitError),
    ("concurren", RateLimitError),
    ("access denied", AccessDeniedError),
    ("forbidden", AccessDeniedError),
    ("not enabled", AccessDeniedError),
    ("must be", InvalidSettingsError),
    ("invalid", InvalidSettingsError),
    ("is required", InvalidSettingsError),
    ("internal", ServiceUnavailableError),
    ("unavailable", ServiceUnavailableError),
)

_DEFAULT_MESSAGES: dict[type[FaseehError], str] = {
    AuthenticationError: "Invalid or missing API key",
    InsufficientBalanceError: "Insufficient wallet balance",
    AccessDeniedError: "Access denied",
    RateLimitError: "Rate limit exceeded",
    VoiceNotFoundError: "Voice not found",
    ModelNotFoundError: "Model not found",
    InvalidSettingsError: "Invalid request",
    ServiceUnavailableError: "Faseeh service error",
}


def normalize_error_code(value: object) -> str | None:
    """Return an errorCode given as a string or an int as a string (None otherwise)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _hinted_class(message: str) -> type[FaseehError] | None:
    lowered = message.lower()
    for hint, error_class in _MESSAGE_HINTS:
        if hint in lowered:
            return error_class
    return None


def _not_found_class(message: str) -> type[FaseehError] | None:
    lowered = message.lower()
    if "model not found" in lowered:
        return ModelNotFoundError
    if "voice not found" in lowered:
        return VoiceNotFoundError
    return None


def _class_for_code(code: int, message: str) -> type[FaseehError] | None:
    if code in _CODE_ERRORS:
        return _CODE_ERRORS[code]
    family = code // 100 if code >= 10000 else code
    if family in (400, 404):
        return _not_found_class(message) or _STATUS_ERRORS[family]
    if family in _STATUS_ERRORS:
        return _STATUS_ERRORS[family]
    if 500 <= family < 600:
        return ServiceUnavailableError
    return None


def _class_for_status(
    status: int, message: str, not_found: type[FaseehError]
) -> type[FaseehError] | None:
    if status in (400, 404):
        return _not_found_class(message) or (not_found if status == 404 else InvalidSettingsError)
    if status in _STATUS_ERRORS:
        return _STATUS_ERRORS[status]
    if 500 <= status < 600:
        return ServiceUnavailableError
    return None


def map_error(
    *,
    status: int | None = None,
    error_code: object = None,
    message: object = None,
    not_found: type[FaseehError] = VoiceNotFoundError,
) -> FaseehError:
    """Return the exception for an HTTP status, an errorCode (str or int) and a message.

    The errorCode wins over the status, the status over hints in the message. A "Model not found"
    or "Voice not found" message refines 400/404 errors. ``not_found`` is the class of a bare 404.
    """
    code = normalize_error_code(error_code)
    text = message.strip() if isinstance(message, str) and message.strip() else ""
    error_class: type[FaseehError] | None = None
    if code is not None and code.isascii() and code.isdigit() and len(code) <= 9:
        error_class = _class_for_code(int(code), text)
    if error_class is None and status is not None:
        error_class = _class_for_status(status, text, not_found)
    if error_class is None:
        error_class = _hinted_class(text) or FaseehError
    if not text:
        text = _DEFAULT_MESSAGES.get(error_class, "Faseeh error")
        if status is not None:
            text = f"{text} (HTTP {status})"
    return error_class(text, error_code=code, status=status)


def error_from_body(
    status: int, body: Any, *, not_found: type[FaseehError] = VoiceNotFoundError
) -> FaseehError:
    """Return the exception for an HTTP error response and its (parsed JSON or text) body."""
    if isinstance(body, dict):
        message = body.get("errorMessage") or body.get("message")
        return map_error(
            status=status, error_code=body.get("errorCode"), message=message, not_found=not_found
        )
    message = body[:300] if isinstance(body, str) else None
    return map_error(status=status, message=message, not_found=not_found)
