"""One exception hierarchy for HTTP statuses, errorCodes (str or int) and WS error frames."""

from typing import Any

import pytest

from custom_components.faseeh.client import (
    AccessDeniedError,
    AuthenticationError,
    ConnectionLostError,
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
from custom_components.faseeh.client.errors import error_from_body, map_error

SUBCLASSES = [
    AccessDeniedError,
    AuthenticationError,
    ConnectionLostError,
    InsufficientBalanceError,
    InvalidSettingsError,
    ModelNotFoundError,
    ProtocolError,
    RateLimitError,
    ServiceTimeoutError,
    ServiceUnavailableError,
    VoiceNotFoundError,
]


@pytest.mark.parametrize("error_class", SUBCLASSES)
def test_hierarchy_and_attributes(error_class: type[FaseehError]) -> None:
    """Every error is a FaseehError with message, error_code and status."""
    error = error_class("the message", error_code="40001", status=400)
    assert isinstance(error, FaseehError)
    assert str(error) == "the message"
    assert (error.message, error.error_code, error.status) == ("the message", "40001", 400)
    assert repr(error) == (
        f"{error_class.__name__}(message='the message', error_code='40001', status=400)"
    )


@pytest.mark.parametrize(
    ("status", "body", "error_class"),
    [
        (400, {"errorCode": "40001", "errorMessage": "speed must be..."}, InvalidSettingsError),
        (400, {"errorCode": "40001", "errorMessage": "Model not found: m"}, ModelNotFoundError),
        (400, {"errorCode": "40002", "errorMessage": "Voice not found: v"}, VoiceNotFoundError),
        (400, {"errorMessage": "text is required"}, InvalidSettingsError),
        (401, {"errorCode": "40101", "errorMessage": "Invalid API key"}, AuthenticationError),
        (401, None, AuthenticationError),
        (402, {"errorCode": "40201", "errorMessage": "Insufficient"}, InsufficientBalanceError),
        (403, {"errorCode": "40301", "errorMessage": "no access"}, AccessDeniedError),
        (403, "<html>Forbidden</html>", AccessDeniedError),
        (404, {"errorCode": "40401", "errorMessage": "gone"}, ModelNotFoundError),
        (404, {"errorCode": "40402", "errorMessage": "gone"}, VoiceNotFoundError),
        (404, {"errorMessage": "Model not found: m"}, ModelNotFoundError),
        (404, {"errorMessage": "Voice not found: v"}, VoiceNotFoundError),
        (404, {"message": "not found"}, VoiceNotFoundError),
        (429, {"errorCode": 42901, "errorMessage": "slow down"}, RateLimitError),
        (500, {"errorCode": "50001", "errorMessage": "failed"}, ServiceUnavailableError),
        (502, "Bad Gateway", ServiceUnavailableError),
        (503, None, ServiceUnavailableError),
        (418, {"errorMessage": "teapot"}, FaseehError),
        # The errorCode wins over the status.
        (400, {"errorCode": "42901", "errorMessage": "x"}, RateLimitError),
    ],
)
def test_http_errors(status: int, body: Any, error_class: type[FaseehError]) -> None:
    """REST errors map by errorCode, then status, refined by not-found messages."""
    error = error_from_body(status, body)
    assert type(error) is error_class
    assert error.status == status
    assert error.message
    if isinstance(body, dict) and (message := body.get("errorMessage") or body.get("message")):
        assert error.message == message
    if isinstance(body, dict) and "errorCode" in body:
        assert error.error_code == str(body["errorCode"])


def test_default_404_class_is_configurable() -> None:
    """A bare 404 of a catalogue endpoint is not a voice error."""
    error = error_from_body(404, None, not_found=ServiceUnavailableError)
    assert type(error) is ServiceUnavailableError


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        (40001, InvalidSettingsError),
        ("40099", InvalidSettingsError),
        (40101, AuthenticationError),
        ("40201", InsufficientBalanceError),
        (40202, InsufficientBalanceError),
        (40301, AccessDeniedError),
        (40401, ModelNotFoundError),
        ("40402", VoiceNotFoundError),
        (42901, RateLimitError),
        (50001, ServiceUnavailableError),
        ("50301", ServiceUnavailableError),
        (" 40101 ", AuthenticationError),
        (401, AuthenticationError),
        ("abc", FaseehError),
        (True, FaseehError),
        ("9" * 5000, FaseehError),
    ],
)
def test_error_codes_str_or_int(code: object, error_class: type[FaseehError]) -> None:
    """errorCode families, given as int or str, without a status."""
    error = map_error(error_code=code, message="msg")
    assert type(error) is error_class
    assert error.message == "msg"


def test_missing_message_gets_a_default() -> None:
    """Without a message, the class's default message (plus the status) is used."""
    assert str(map_error(status=401)) == "Invalid or missing API key (HTTP 401)"
    assert str(map_error(error_code=40201)) == "Insufficient wallet balance"
    assert str(map_error()) == "Faseeh error"


def test_scrub_removes_a_secret_and_a_suppressed_context() -> None:
    """scrub() replaces the key in the message and drops a suppressed __context__."""

    def aiohttp_like() -> None:
        raise ValueError("http://x/?x-api-key=SECRET")

    def fail() -> None:
        try:
            aiohttp_like()
        except ValueError:
            raise AuthenticationError("bad key SECRET") from None

    with pytest.raises(AuthenticationError) as caught:
        fail()
    error = caught.value
    assert error.__context__ is not None
    error.scrub("SECRET")
    assert "SECRET" not in str(error)
    assert "SECRET" not in repr(error)
    assert error.args == ("bad key ***",)
    assert error.__context__ is None
