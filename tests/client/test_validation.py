"""Validation happens before any network I/O."""

from contextlib import aclosing
import math
from typing import Any

import aiohttp
import pytest

from custom_components.faseeh.client import (
    OUTPUT_FORMATS,
    SIMILARITY_RANGE,
    SPEED_RANGE,
    STABILITY_RANGE,
    FaseehClient,
    InvalidSettingsError,
    Timeouts,
    VoiceSettings,
)
from custom_components.faseeh.client.models import validate_settings

from .conftest import MODEL, VOICE


def test_contract_constants() -> None:
    """Ranges, formats and defaults of the contract."""
    assert STABILITY_RANGE == (0.0, 1.0)
    assert SIMILARITY_RANGE == (0.0, 1.0)
    assert SPEED_RANGE == (0.7, 1.2)
    assert OUTPUT_FORMATS == {
        "pcm_8000": 8000,
        "pcm_16000": 16000,
        "pcm_22050": 22050,
        "pcm_24000": 24000,
    }
    assert VoiceSettings() == VoiceSettings(stability=0.5, similarity_boost=0.75, speed=1.0)
    assert Timeouts() == Timeouts(
        connect=10.0, first_audio=10.0, idle=10.0, final_grace=1.0, busy_retry=0.25
    )


@pytest.mark.parametrize(
    "field", ["connect", "first_audio", "idle", "final_grace", "socket_silence", "busy_retry"]
)
def test_timeouts_must_be_positive(field: str) -> None:
    """A zero or negative timeout is a programming error."""
    with pytest.raises(ValueError, match=field):
        Timeouts(**{field: 0.0})


@pytest.mark.parametrize(
    "settings",
    [
        VoiceSettings(stability=0.0, similarity_boost=0.0, speed=0.7),
        VoiceSettings(stability=1.0, similarity_boost=1.0, speed=1.2),
        VoiceSettings(stability=1, similarity_boost=0, speed=1),
    ],
)
def test_boundaries_are_valid(settings: VoiceSettings) -> None:
    """The range ends are accepted."""
    validate_settings(settings)


async def _first_chunk(client: FaseehClient, text: Any, **kwargs: Any) -> None:
    kwargs = {"voice_id": VOICE, "model_id": MODEL, **kwargs}
    async with aclosing(client.stream_speech(text, **kwargs)) as stream:
        async for _ in stream:
            break


@pytest.fixture
async def offline_client() -> FaseehClient:
    """A client whose session is closed: any network I/O would raise RuntimeError."""
    session = aiohttp.ClientSession()
    await session.close()
    return FaseehClient(session, "key", "http://127.0.0.1:9")


@pytest.mark.parametrize(
    ("text", "kwargs", "match"),
    [
        ("", {}, "text"),
        ("  \n ", {}, "text"),
        ("نص", {"settings": VoiceSettings(stability=-0.01)}, "stability"),
        ("نص", {"settings": VoiceSettings(stability=1.01)}, "stability"),
        ("نص", {"settings": VoiceSettings(stability=math.nan)}, "stability"),
        ("نص", {"settings": VoiceSettings(similarity_boost=-1)}, "similarity_boost"),
        ("نص", {"settings": VoiceSettings(similarity_boost=1.5)}, "similarity_boost"),
        ("نص", {"settings": VoiceSettings(speed=0.69)}, "speed"),
        ("نص", {"settings": VoiceSettings(speed=1.21)}, "speed"),
        ("نص", {"settings": VoiceSettings(speed=math.inf)}, "speed"),
        ("نص", {"settings": VoiceSettings(speed=True)}, "speed"),
        ("نص", {"output_format": "mp3_44100"}, "output format"),
        ("نص", {"output_format": "pcm_48000"}, "output format"),
        ("نص", {"voice_id": ""}, "voice_id"),
        ("نص", {"model_id": " "}, "model_id"),
    ],
)
async def test_invalid_requests_fail_before_io(
    offline_client: FaseehClient, text: str, kwargs: dict[str, Any], match: str
) -> None:
    """Invalid settings, formats, ids or text raise InvalidSettingsError without any I/O."""
    with pytest.raises(InvalidSettingsError, match=match):
        await _first_chunk(offline_client, text, **kwargs)


async def test_a_valid_request_does_reach_the_network(offline_client: FaseehClient) -> None:
    """The offline client does catch I/O: a valid request fails on the closed session."""
    with pytest.raises(Exception) as caught:  # noqa: PT011
        await _first_chunk(offline_client, "نص")
    assert not isinstance(caught.value, InvalidSettingsError)
