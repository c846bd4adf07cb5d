"""The speech path's measurements: misreported errors, a silent socket, every final style.

``await measure()`` returns the four bench keys of the speech phase (phases/speech.py); the
suite uses the same functions. The simulator runs on an event
loop of its own in a thread, so the client meets it as it meets a real server: a send into a
socket the server has closed can reset the connection before its error frame is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
import threading
import time
from typing import Any, Final

import aiohttp

from custom_components.faseeh.client import (
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
    SpeechRequest,
    Timeouts,
    VoiceNotFoundError,
)
from simulator import (
    DEFAULT_API_KEY,
    FINAL_STYLES,
    TTS_FAULTS,
    Effect,
    FaseehSimulator,
    Fault,
    SimulatorConfig,
    deterministic_pcm,
)

REQUEST: Final = SpeechRequest("ar-hijazi-female-1", "faseeh-v1-preview")
MESSAGE: Final = "مرحبا بك في فصيح. كيف حالك اليوم؟ أنا بخير، شكرا لك! إلى اللقاء."
# Waits long enough for a loaded machine, short enough that the faults that wait (a stall,
# a slow handshake) cost seconds: their requests all run at once, the others ten at a time.
FAULT_TIMEOUTS: Final = Timeouts(
    connect=5.0, first_audio=5.0, idle=2.0, final_grace=0.2, socket_silence=3.0, busy_retry=0.02
)
STYLE_TIMEOUTS: Final = Timeouts(connect=2.0, first_audio=2.0, idle=2.0, final_grace=0.2)

# The client's exception for each errorCode the simulator's faults report.
SERVICE_ERRORS: Final[dict[int, type[FaseehError]]] = {
    40001: InvalidSettingsError,
    40101: AuthenticationError,
    40201: InsufficientBalanceError,
    40401: ModelNotFoundError,
    40402: VoiceNotFoundError,
    42901: RateLimitError,
    50001: ServiceUnavailableError,
}
# The client's exception for the faults that are not the service's own error.
EFFECT_ERRORS: Final[dict[Effect, type[FaseehError]]] = {
    Effect.CONNECTION_LOST: ConnectionLostError,
    Effect.TIMEOUT: ServiceTimeoutError,
    Effect.PROTOCOL_VIOLATION: ProtocolError,
}
FAILURES: Final = [
    fault
    for fault in TTS_FAULTS
    if fault.effect is Effect.SERVICE_ERROR or fault.effect in EFFECT_ERRORS
]


def expected_error(fault: Fault) -> type[FaseehError]:
    """The exception a failure fault must give the caller."""
    if fault.error_code is None:
        return EFFECT_ERRORS[fault.effect]
    return SERVICE_ERRORS[fault.error_code]


async def llm_deltas(text: str, size: int = 4) -> AsyncIterator[str]:
    """Yield ``text`` a few characters at a time, with a loop turn between them."""
    for index in range(0, len(text), size):
        await asyncio.sleep(0)
        yield text[index : index + size]


@contextmanager
def simulator_in_thread(config: SimulatorConfig) -> Iterator[FaseehSimulator]:
    """Run a simulator on its own event loop in a thread; stop it at exit."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="faseeh-sim", daemon=True)
    thread.start()
    sim = FaseehSimulator(config)
    try:
        asyncio.run_coroutine_threadsafe(sim.start(), loop).result(10)
        try:
            yield sim
        finally:
            asyncio.run_coroutine_threadsafe(sim.stop(), loop).result(10)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@asynccontextmanager
async def client_of(sim: FaseehSimulator, timeouts: Timeouts) -> AsyncIterator[FaseehClient]:
    """A client of ``sim`` on a session of its own."""
    async with aiohttp.ClientSession() as session:
        client = FaseehClient(session, DEFAULT_API_KEY, sim.url, timeouts=timeouts)
        try:
            yield client
        finally:
            await client.close()


async def speak(client: FaseehClient, text: str | AsyncIterator[str]) -> bytes:
    """The whole audio of one request."""
    async with asyncio.timeout(30):
        return b"".join([chunk.pcm async for chunk in client.speak(text, REQUEST)])


async def misclassified_errors(repetitions: int = 50) -> dict[str, int]:
    """For every failure fault, ``repetitions`` multi-sentence texts and as many delta streams.

    Returns the number of requests per fault that raised another error class than the
    fault's. Complete audio is not a misreported error: a socket lost before any audio hands
    the text to HTTP, which may speak it (REST is not faulted for every socket fault).
    """
    wrong: dict[str, int] = {}
    with simulator_in_thread(SimulatorConfig()) as sim:
        for fault in FAILURES:
            sim.config.fault = fault
            limit = asyncio.Semaphore(2 * repetitions if fault.effect is Effect.TIMEOUT else 10)

            async def one(
                streamed: bool, fault: Fault = fault, limit: asyncio.Semaphore = limit
            ) -> bool:
                async with limit, client_of(sim, FAULT_TIMEOUTS) as client:
                    try:
                        await speak(client, llm_deltas(MESSAGE) if streamed else MESSAGE)
                    except FaseehError as err:
                        return type(err) is expected_error(fault)
                    return True

            results = await asyncio.gather(
                *(one(streamed) for streamed in (False, True) for _ in range(repetitions))
            )
            wrong[fault] = results.count(False)
    return wrong


async def silent_socket_first_audio() -> tuple[float, float]:
    """Seconds to the first audio on a silent socket: the first request, then the next."""
    with simulator_in_thread(SimulatorConfig(fault=Fault.SILENT)) as sim:
        async with client_of(sim, Timeouts()) as client:
            return await _first_audio(client), await _first_audio(client)


async def _first_audio(client: FaseehClient) -> float:
    start = time.perf_counter()
    async with asyncio.timeout(30):
        chunks = client.speak(llm_deltas(MESSAGE), REQUEST)
        try:
            await anext(chunks)
            return time.perf_counter() - start
        finally:
            await chunks.aclose()


async def final_styles_byte_exact() -> dict[str, bool]:
    """Every final style, with and without a close after the final, str and deltas."""
    exact: dict[str, bool] = {}
    expected = deterministic_pcm(MESSAGE, REQUEST.sample_rate)
    with simulator_in_thread(SimulatorConfig()) as sim:
        async with client_of(sim, STYLE_TIMEOUTS) as client:
            for style in FINAL_STYLES:
                for close in (False, True):
                    sim.config.final_style = style
                    sim.config.close_after_final = close
                    for name, source in _sources():
                        key = f"{style}{'+close' if close else ''}/{name}"
                        try:
                            exact[key] = await speak(client, source()) == expected
                        except FaseehError:
                            exact[key] = False
    return exact


def _sources() -> list[tuple[str, Callable[[], Any]]]:
    return [("str", lambda: MESSAGE), ("deltas", lambda: llm_deltas(MESSAGE))]


async def measure(repetitions: int = 50) -> dict[str, Any]:
    """The four bench keys (and the details behind them)."""
    wrong = await misclassified_errors(repetitions)
    first, following = await silent_socket_first_audio()
    styles = await final_styles_byte_exact()
    return {
        "misclassified_errors": sum(wrong.values()),
        "misclassified_errors_by_fault": {fault: count for fault, count in wrong.items() if count},
        "silent_ws_first_audio_s_first": round(first, 3),
        "silent_ws_first_audio_s_next": round(following, 3),
        "final_styles_byte_exact": all(styles.values()),
        "final_styles_not_exact": [key for key, exact in styles.items() if not exact],
    }
