"""The speech path as a user meets it: errors never misreported, a silent socket, empty text."""

import asyncio

import aiohttp
import pytest

from custom_components.faseeh.client import (
    EmptyTextError,
    FaseehClient,
    RateLimitError,
    SpeechRequest,
    Transport,
)
from custom_components.faseeh.client.client import RATE_LIMIT_RETRIES
from custom_components.faseeh.client.transport import TransportMemory
from scripts.bench_lib.speech_path import FAILURES, misclassified_errors
from simulator import DEFAULT_API_KEY, FaseehSimulator, Fault, deterministic_pcm

from .conftest import FAST, MODEL, VOICE, client_tasks, collect, deltas_of, pcm_of

REQUEST = SpeechRequest(VOICE, MODEL)
INVISIBLE = " \t\n\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u2066\u2069\ufeff "


async def test_no_failure_is_ever_reported_as_another(socket_enabled: None) -> None:
    """Every failure fault, 50 multi-sentence texts and 50 delta streams: the right error."""
    wrong = await misclassified_errors(repetitions=50)
    assert set(wrong) == set(FAILURES)
    assert {fault: count for fault, count in wrong.items() if count} == {}


async def test_a_silent_socket_hands_over_at_once_and_later_requests_skip_it(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """The first request falls back to HTTP; the next one opens no socket at all."""
    faseeh_sim.config.fault = Fault.SILENT
    first = await collect(client, deltas_of(["مرحبا بك. ", "كيف حالك؟"]))
    assert first
    assert len(faseeh_sim.ws_sessions) == 1
    assert str(client.transport.transport) == Transport.HTTP
    assert client.transport.as_dict()["reason"] == "no audio 0.5 s after the first text"
    second = await collect(client, "مرحبا بك في فصيح")
    assert second
    assert len(faseeh_sim.ws_sessions) == 1
    assert not client_tasks()


@pytest.mark.parametrize("streamed", [False, True], ids=["str", "deltas"])
@pytest.mark.parametrize("text", ["", "   ", INVISIBLE, "،.؟!"])
async def test_empty_or_invisible_text_is_refused_before_any_connection(
    faseeh_sim: FaseehSimulator, client: FaseehClient, text: str, streamed: bool
) -> None:
    """Nothing to speak: EmptyTextError, no socket, no HTTP request, nothing billed."""
    source = deltas_of(list(text)) if streamed else text
    with pytest.raises(EmptyTextError):
        await collect(client, source)
    assert not faseeh_sim.ws_sessions
    assert not faseeh_sim.http_requests
    assert not client_tasks()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        """Start at zero."""
        self.now = 0.0

    def __call__(self) -> float:
        """The current time."""
        return self.now


def test_the_socket_is_probed_again_at_most_every_thirty_minutes() -> None:
    """After a silent socket: HTTP, and a probe only once 30 minutes passed since the last."""
    clock = Clock()
    memory = TransportMemory(clock=clock)
    assert memory.transport is Transport.WEBSOCKET
    assert not memory.probe_due()
    memory.socket_failed("silent")
    assert memory.as_dict()["transport"] == "http"
    clock.now = 1799.0
    assert not memory.probe_due()
    clock.now = 1800.0
    assert memory.probe_due()
    memory.probe_started()
    assert not memory.probe_due()
    clock.now = 1900.0
    memory.socket_delivered()
    assert memory.transport is Transport.WEBSOCKET
    assert memory.as_dict() == {"transport": "websocket", "reason": "delivers"}


async def test_a_consumer_that_stops_reading_closes_socket_and_tasks(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """Closing the generator after the first chunk closes the socket and ends every task."""
    faseeh_sim.config.realtime_factor = 1.0
    speech = client.speak(deltas_of(["مرحبا بك في فصيح. ", "كيف حالك؟"]), REQUEST)
    assert (await anext(speech)).pcm
    await speech.aclose()
    assert not client_tasks()
    assert await faseeh_sim.all_sessions_closed()
    await asyncio.sleep(0)


SEGMENTS = ["مرحبا بك في فصيح. ", "كيف حالك اليوم؟ ", "أنا بخير شكرا لك!"]


def spoken_over_http(sim: FaseehSimulator) -> bytes:
    """The audio the simulator's HTTP requests spoke, in the order they arrived."""
    return b"".join(deterministic_pcm(request.json["text"], 24000) for request in sim.http_requests)


async def test_http_speaks_each_segment_in_order_while_the_next_is_prepared(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """After a silent socket: one POST per segment, audio in order, whole samples only."""
    faseeh_sim.config.fault = Fault.SILENT
    faseeh_sim.config.first_audio_delay = 0.2
    faseeh_sim.config.chunk_bytes = 4801
    chunks = await collect(client, deltas_of(SEGMENTS))
    assert [request.json["text"] for request in faseeh_sim.http_requests] == SEGMENTS
    assert pcm_of(chunks) == spoken_over_http(faseeh_sim)
    assert all(len(chunk.pcm) % 2 == 0 for chunk in chunks)
    assert not client_tasks()


async def test_http_waits_for_its_own_request_under_a_concurrency_limit(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """With one synthesis allowed per key, the request opened ahead waits its turn."""
    faseeh_sim.config.fault = Fault.SILENT
    faseeh_sim.config.max_sessions = 1
    faseeh_sim.config.realtime_factor = 20.0
    await collect(client, "مرحبا")  # learn that the socket is silent
    faseeh_sim.reset_records()
    chunks = await collect(client, deltas_of(SEGMENTS))
    # Refused requests are recorded too: each segment was asked for, some more than once.
    assert {request.json["text"] for request in faseeh_sim.http_requests} == set(SEGMENTS)
    assert len(faseeh_sim.http_requests) > len(SEGMENTS)
    assert pcm_of(chunks) == b"".join(deterministic_pcm(segment, 24000) for segment in SEGMENTS)
    assert not faseeh_sim.ws_sessions


async def test_a_rate_limit_that_does_not_lift_is_the_error_after_bounded_retries(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """429 before any audio is asked again a few times, then reported as the rate limit."""
    faseeh_sim.config.fault = Fault.SILENT
    await collect(client, "مرحبا")  # learn that the socket is silent
    faseeh_sim.config.fault = Fault.RATE_LIMIT
    faseeh_sim.reset_records()
    with pytest.raises(RateLimitError):
        await collect(client, "مرحبا بك في فصيح")
    assert len(faseeh_sim.http_requests) == 1 + RATE_LIMIT_RETRIES
    assert not faseeh_sim.ws_sessions


@pytest.mark.parametrize("busy", [Fault.RATE_LIMIT, Fault.RATE_LIMIT_HANDSHAKE])
async def test_a_socket_refused_as_busy_before_any_audio_is_asked_again_and_speaks(
    faseeh_sim: FaseehSimulator, client: FaseehClient, busy: Fault
) -> None:
    """42901 or a 429 before any audio (a slot not yet free): the user still hears it all."""
    faseeh_sim.connection_faults.extend([busy.value, busy.value, None])
    chunks = await collect(client, "مرحبا بك في فصيح")
    assert pcm_of(chunks) == deterministic_pcm("مرحبا بك في فصيح", 24000)
    assert not faseeh_sim.connection_faults
    assert len(faseeh_sim.syntheses) == (3 if busy is Fault.RATE_LIMIT else 1)
    assert not faseeh_sim.http_requests
    assert client.transport.transport is Transport.WEBSOCKET
    assert not client_tasks()


async def test_a_busy_socket_that_does_not_lift_is_the_rate_limit_after_bounded_retries(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """42901 on every socket: asked again a few times, then the rate limit, never HTTP."""
    faseeh_sim.config.fault = Fault.RATE_LIMIT
    with pytest.raises(RateLimitError):
        await collect(client, "مرحبا بك في فصيح")
    assert len(faseeh_sim.ws_sessions) == 1 + RATE_LIMIT_RETRIES
    assert not faseeh_sim.http_requests
    assert not client_tasks()


async def test_the_socket_is_tried_again_in_the_background_never_in_a_request(
    faseeh_sim: FaseehSimulator, session: aiohttp.ClientSession
) -> None:
    """Thirty minutes after a silent socket a request still uses HTTP; a probe runs beside it."""
    clock = Clock()
    client = FaseehClient(
        session,
        DEFAULT_API_KEY,
        faseeh_sim.url,
        timeouts=FAST,
        transport=TransportMemory(clock=clock),
    )
    faseeh_sim.config.fault = Fault.SILENT
    await collect(client, "مرحبا بك")
    assert client.transport.transport is Transport.HTTP
    faseeh_sim.config.fault = None
    clock.now = 1800.0
    sockets_before = len(faseeh_sim.ws_sessions)
    http_before = len(faseeh_sim.http_requests)
    await collect(client, "كيف حالك؟")
    assert len(faseeh_sim.http_requests) == http_before + 1  # the user's request: HTTP
    async with asyncio.timeout(5):
        while str(client.transport.transport) != Transport.WEBSOCKET:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    assert len(faseeh_sim.ws_sessions) == sockets_before + 1  # the probe
    await collect(client, "أنا بخير")
    assert len(faseeh_sim.ws_sessions) == sockets_before + 2
    assert len(faseeh_sim.http_requests) == http_before + 1
    await client.close()
    assert not client_tasks()
