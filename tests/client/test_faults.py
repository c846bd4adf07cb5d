"""Every simulator fault gives the right exception (or correct audio), closes the socket and
leaves no task behind."""

import pytest

from custom_components.faseeh.client import (
    AudioChunk,
    AuthenticationError,
    ConnectionLostError,
    FaseehClient,
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
from simulator import FAULTS, STT_FAULTS, FaseehSimulator, deterministic_pcm
from simulator.server import ErrorShape, FinalStyle

from .conftest import client_tasks, collect, pcm_of

TEXT = "مرحبا بك في فصيح. كيف حالك؟ أنا بخير"

# fault -> (exception, errorCode of the "code" shape, HTTP status)
ERROR_FAULTS: dict[str, tuple[type[FaseehError], str | None, int | None]] = {
    "invalid_key_handshake": (AuthenticationError, None, 401),
    "invalid_key_frame": (AuthenticationError, "40101", None),
    "wallet_empty": (InsufficientBalanceError, "40201", None),
    "wallet_empty_midstream": (InsufficientBalanceError, "40201", None),
    "rate_limit": (RateLimitError, "42901", None),
    "rate_limit_handshake": (RateLimitError, None, 429),
    "unknown_voice": (VoiceNotFoundError, "40402", None),
    "unknown_model": (ModelNotFoundError, "40401", None),
    "invalid_setting": (InvalidSettingsError, "40001", None),
    "internal_error": (ServiceUnavailableError, "50001", None),
    "drop_mid_audio": (ConnectionLostError, None, None),
    "stall": (ServiceTimeoutError, None, None),
    "malformed_json": (ProtocolError, None, None),
    "audio_not_base64": (ProtocolError, None, None),
    "binary_frame": (ProtocolError, None, None),
    "slow_handshake": (ServiceTimeoutError, None, None),
}
AUDIO_FAULTS = {"odd_byte_chunks", "unknown_message_type", "silent"}
MIDSTREAM = {"wallet_empty_midstream", "drop_mid_audio", "stall"}


def test_every_fault_is_covered() -> None:
    """The tables here name every simulator fault exactly once."""
    assert set(ERROR_FAULTS) | AUDIO_FAULTS == set(FAULTS) - STT_FAULTS
    assert not set(ERROR_FAULTS) & AUDIO_FAULTS


@pytest.mark.parametrize("error_shape", ["code", "message"])
@pytest.mark.parametrize("fault", sorted(ERROR_FAULTS))
async def test_fault_raises_the_right_error(
    faseeh_sim: FaseehSimulator, client: FaseehClient, fault: str, error_shape: ErrorShape
) -> None:
    """Each error fault maps to its exception in both error-frame shapes."""
    faseeh_sim.config.fault = fault
    faseeh_sim.config.error_shape = error_shape
    error_class, code, status = ERROR_FAULTS[fault]
    received: list[AudioChunk] = []
    with pytest.raises(FaseehError) as caught:
        await collect(client, TEXT, received)
    error = caught.value
    assert type(error) is error_class
    assert error.message
    assert str(error) == error.message
    if error_shape == "code":
        assert error.error_code == code
    assert error.status == status
    # Audio came only for mid-stream faults, and is never retried over HTTP.
    assert bool(received) == (fault in MIDSTREAM)
    assert not faseeh_sim.http_requests
    assert not client_tasks()
    assert await faseeh_sim.all_sessions_closed()


@pytest.mark.parametrize("fault", sorted(MIDSTREAM))
async def test_midstream_audio_is_an_exact_prefix(
    faseeh_sim: FaseehSimulator, client: FaseehClient, fault: str
) -> None:
    """Audio yielded before a mid-stream fault is an exact prefix of the full audio."""
    faseeh_sim.config.fault = fault
    faseeh_sim.config.fault_after_chunks = 3
    received: list[AudioChunk] = []
    with pytest.raises(FaseehError):
        await collect(client, TEXT, received)
    assert len(pcm_of(received)) == 3 * 4800
    assert deterministic_pcm(TEXT, 24000).startswith(pcm_of(received))


@pytest.mark.parametrize("fault", ["odd_byte_chunks", "unknown_message_type"])
@pytest.mark.parametrize("final_style", ["end", "batch", "never"])
async def test_benign_faults_give_exact_audio(
    faseeh_sim: FaseehSimulator, client: FaseehClient, fault: str, final_style: FinalStyle
) -> None:
    """Odd-sized frames and unknown message types still give complete, exact audio."""
    faseeh_sim.config.fault = fault
    faseeh_sim.config.final_style = final_style
    faseeh_sim.config.chunk_bytes = 4801
    chunks = await collect(client, TEXT)
    assert pcm_of(chunks) == deterministic_pcm(TEXT, 24000)
    assert all(len(chunk.pcm) % 2 == 0 for chunk in chunks)
    assert not faseeh_sim.http_requests
    assert not client_tasks()
    assert await faseeh_sim.all_sessions_closed()
