"""Every simulator fault gives the right exception (or correct audio), closes the socket and
leaves no task behind."""

import pytest

from custom_components.faseeh.client import (
    AudioChunk,
    FaseehClient,
    FaseehError,
)
from scripts.bench_lib.speech_path import FAILURES, expected_error as expected_error_class
from simulator import FINAL_STYLES, TTS_FAULTS, Effect, FaseehSimulator, Fault, deterministic_pcm
from simulator.server import ErrorShape, FinalStyle

from .conftest import client_tasks, collect, pcm_of

TEXT = "مرحبا بك في فصيح. كيف حالك؟ أنا بخير"

HARMLESS = [fault for fault in TTS_FAULTS if fault.effect is Effect.HARMLESS]


def expected_error(fault: Fault) -> tuple[type[FaseehError], str | None, int | None]:
    """The exception, errorCode (of the "code" shape) and HTTP status a failure must give."""
    error_class = expected_error_class(fault)
    if fault.error_code is None:
        return error_class, None, None
    if fault.handshake:
        return error_class, None, fault.error_code // 100
    return error_class, str(fault.error_code), None


@pytest.mark.parametrize("error_shape", ["code", "message"])
@pytest.mark.parametrize("fault", FAILURES)
async def test_fault_raises_the_right_error(
    faseeh_sim: FaseehSimulator, client: FaseehClient, fault: Fault, error_shape: ErrorShape
) -> None:
    """Each error fault maps to its exception in both error-frame shapes."""
    faseeh_sim.config.fault = fault
    faseeh_sim.config.error_shape = error_shape
    error_class, code, status = expected_error(fault)
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
    assert bool(received) == fault.midstream
    assert not faseeh_sim.http_requests
    assert not client_tasks()
    assert await faseeh_sim.all_sessions_closed()


@pytest.mark.parametrize("fault", [fault for fault in TTS_FAULTS if fault.midstream])
async def test_midstream_audio_is_an_exact_prefix(
    faseeh_sim: FaseehSimulator, client: FaseehClient, fault: Fault
) -> None:
    """Audio yielded before a mid-stream fault is an exact prefix of the full audio."""
    faseeh_sim.config.fault = fault
    faseeh_sim.config.fault_after_chunks = 3
    received: list[AudioChunk] = []
    with pytest.raises(FaseehError):
        await collect(client, TEXT, received)
    assert len(pcm_of(received)) == 3 * 4800
    assert deterministic_pcm(TEXT, 24000).startswith(pcm_of(received))


@pytest.mark.parametrize("fault", HARMLESS)
@pytest.mark.parametrize("final_style", FINAL_STYLES)
async def test_benign_faults_give_exact_audio(
    faseeh_sim: FaseehSimulator, client: FaseehClient, fault: Fault, final_style: FinalStyle
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
