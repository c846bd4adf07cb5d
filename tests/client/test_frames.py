"""Parsing of server frames: any JSON or garbage gives a frame or a ProtocolError, nothing else."""

import base64
import json
from typing import Any

from hypothesis import given, strategies as st
import pytest

from custom_components.faseeh.client import (
    AuthenticationError,
    FaseehError,
    InsufficientBalanceError,
    ModelNotFoundError,
    ProtocolError,
    RateLimitError,
    VoiceNotFoundError,
)
from custom_components.faseeh.client.frames import (
    AudioFrame,
    ErrorFrame,
    Frame,
    Ignored,
    Initialized,
    parse_frame,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = ["type", "audio", "sampleRate", "isFinal", "errorCode", "errorMessage", "message"]
frame_like = st.dictionaries(
    st.sampled_from(FIELDS) | st.text(max_size=8),
    json_values
    | st.sampled_from(["error", "audio", "connectionInitialized", "AAAA", "", "%%", 24000, True]),
    max_size=6,
)


def _parse_or_protocol_error(data: str) -> Frame | None:
    try:
        return parse_frame(data)
    except ProtocolError:
        return None


@given(st.text(max_size=200))
def test_property_garbage_text(data: str) -> None:
    """Arbitrary text: a frame or ProtocolError."""
    _parse_or_protocol_error(data)


@given(st.binary(max_size=200))
def test_property_garbage_bytes_as_text(data: bytes) -> None:
    """Arbitrary bytes decoded leniently: a frame or ProtocolError."""
    _parse_or_protocol_error(data.decode("utf-8", "replace"))


@given(json_values)
def test_property_any_json(value: Any) -> None:
    """Any JSON value: non-objects are ProtocolError; objects give a frame or ProtocolError."""
    frame = _parse_or_protocol_error(json.dumps(value))
    if not isinstance(value, dict):
        assert frame is None


@given(frame_like)
def test_property_frame_like_objects(value: dict[str, Any]) -> None:
    """Objects with the protocol's field names and odd values: a well-formed frame or
    ProtocolError; error frames hold a FaseehError."""
    frame = _parse_or_protocol_error(json.dumps(value))
    if isinstance(frame, ErrorFrame):
        assert value.get("type") == "error"
        assert isinstance(frame.error, FaseehError)
        assert frame.error.message
    elif isinstance(frame, AudioFrame):
        assert isinstance(frame.pcm, bytes)
        assert frame.sample_rate is None or frame.sample_rate > 0
        assert isinstance(frame.is_final, bool)


@given(st.binary(max_size=3000), st.sampled_from([8000, 16000, 22050, 24000]), st.booleans())
def test_property_audio_round_trip(pcm: bytes, rate: int, final: bool) -> None:
    """A well-formed audio frame gives back its exact bytes, rate and isFinal."""
    data = json.dumps(
        {"audio": base64.b64encode(pcm).decode(), "sampleRate": rate, "isFinal": final}
    )
    assert parse_frame(data) == AudioFrame(pcm, rate, final)


@given(
    st.one_of(st.none(), st.integers(), st.text(max_size=8), st.booleans(), st.floats()),
    st.one_of(st.none(), st.text(max_size=30), st.integers()),
    st.sampled_from(["errorMessage", "message"]),
)
def test_property_error_frames(code: Any, message: Any, field: str) -> None:
    """Error frames of any shape map to a FaseehError subclass carrying a message."""
    frame = parse_frame(json.dumps({"type": "error", "errorCode": code, field: message}))
    assert isinstance(frame, ErrorFrame)
    assert frame.error.message
    if isinstance(message, str) and message.strip():
        assert frame.error.message == message.strip()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            '{"audio": "AQI=", "sampleRate": 16000, "isFinal": false}',
            AudioFrame(b"\1\2", 16000, False),
        ),
        ('{"audio": "", "sampleRate": 24000, "isFinal": true}', AudioFrame(b"", 24000, True)),
        ('{"audio": "AQI="}', AudioFrame(b"\1\2", None, False)),
        ('{"type": "audio", "audio": null, "isFinal": null}', AudioFrame(b"", None, False)),
        ('{"type": "connectionInitialized"}', Initialized()),
        ('{"type": "sessionStats", "n": 3}', Ignored("sessionStats")),
        ('{"type": 5}', Ignored("int")),
        ("{}", Ignored("NoneType")),
    ],
)
def test_frames(data: str, expected: Frame) -> None:
    """Documented frames and lenient variants."""
    assert parse_frame(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        "not json",
        '{"audio": "AAAA", "sampleRate": 24000, "isFinal": fal',
        "[1, 2]",
        '"audio"',
        "null",
        '{"audio": "%%not*base64%%"}',
        '{"audio": "AAA"}',
        '{"audio": 5}',
        '{"audio": "AAAA", "sampleRate": "24000"}',
        '{"audio": "AAAA", "sampleRate": -1}',
        '{"audio": "AAAA", "sampleRate": true}',
        '{"audio": "AAAA", "isFinal": "yes"}',
        "[" * 5000 + "]" * 5000,
    ],
)
def test_garbage_is_a_protocol_error(data: str) -> None:
    """Non-JSON, non-objects and malformed audio frames are ProtocolError."""
    with pytest.raises(ProtocolError):
        parse_frame(data)


@pytest.mark.parametrize(
    ("payload", "error_class", "code"),
    [
        ({"errorCode": 40101, "errorMessage": "bad key"}, AuthenticationError, "40101"),
        ({"errorCode": "40201", "errorMessage": "no money"}, InsufficientBalanceError, "40201"),
        ({"errorCode": 42901, "errorMessage": "slow down"}, RateLimitError, "42901"),
        ({"errorCode": 40402, "errorMessage": "Voice not found: x"}, VoiceNotFoundError, "40402"),
        ({"errorCode": 40401, "errorMessage": "Model not found: x"}, ModelNotFoundError, "40401"),
        ({"message": "Invalid API key"}, AuthenticationError, None),
        ({"message": "Insufficient wallet balance"}, InsufficientBalanceError, None),
        ({"message": "Model not found: m"}, ModelNotFoundError, None),
        ({"message": "something odd"}, FaseehError, None),
    ],
)
def test_error_frames_in_both_shapes(
    payload: dict[str, Any], error_class: type[FaseehError], code: str | None
) -> None:
    """Both error shapes map to the right class and keep the service's message."""
    frame = parse_frame(json.dumps({"type": "error", **payload}))
    assert isinstance(frame, ErrorFrame)
    assert type(frame.error) is error_class
    assert frame.error.error_code == code
    assert frame.error.message == payload.get("errorMessage", payload.get("message"))
