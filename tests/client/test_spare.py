"""A spare socket opened before speech: used when it is alive, never a cause of a failure."""

import asyncio
from collections.abc import AsyncIterator
import logging

import aiohttp
import pytest

from custom_components.faseeh.client import (
    AuthenticationError,
    FaseehClient,
    RateLimitError,
    Transport,
    VoiceNotFoundError,
)
from simulator import DEFAULT_API_KEY, FaseehSimulator, Fault

from .conftest import FAST, client_tasks, collect, deltas_of

TEXT = "مرحبا بك في فصيح"


async def spare_held(client: FaseehClient) -> None:
    """Wait until the spare the client is opening is connected and waiting."""
    async with asyncio.timeout(2):
        while not client.spare.held:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def spare_gone(client: FaseehClient) -> None:
    """Wait until the client has dropped its spare."""
    async with asyncio.timeout(2):
        while client.spare.count:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


@pytest.fixture
async def short_lived(
    faseeh_sim: FaseehSimulator, session: aiohttp.ClientSession
) -> AsyncIterator[FaseehClient]:
    """A client whose spare waits only 0.1 s unused."""
    client = FaseehClient(
        session, DEFAULT_API_KEY, faseeh_sim.url, timeouts=FAST, spare_keep_for=0.1
    )
    yield client
    await client.close()


async def test_the_next_speech_uses_the_spare_and_there_is_never_more_than_one(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """Many hints open one socket; the speech goes out on it; a used socket is not kept."""
    for _ in range(5):
        client.warm_up()
    await spare_held(client)
    for _ in range(5):
        client.warm_up()
    assert client.spare.count == 1
    chunks = await collect(client, deltas_of(["مرحبا بك. ", "كيف حالك؟"]))
    assert chunks
    assert len(faseeh_sim.ws_sessions) == 1
    assert client.transport.transport is Transport.WEBSOCKET
    assert await faseeh_sim.all_sessions_closed()
    assert client.spare.count == 0
    assert not client_tasks()


async def test_a_hint_right_before_the_speech_opens_one_socket_not_two(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """tts.speak hints and speaks in the same tick: the speech waits for the spare's connect."""
    client.warm_up()
    assert await collect(client, TEXT)
    assert len(faseeh_sim.ws_sessions) == 1
    assert client.spare.count == 0
    assert await faseeh_sim.all_sessions_closed()


async def test_a_spare_that_cannot_open_leaves_the_request_its_own_error(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """A refused upgrade fails the spare quietly; the request reports the real cause."""
    faseeh_sim.config.fault = Fault.INVALID_KEY_HANDSHAKE
    client.warm_up()
    with pytest.raises(AuthenticationError):
        await collect(client, TEXT)
    assert client.spare.paused
    assert not client_tasks()


async def test_an_init_error_on_the_spare_is_still_its_own_error(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """The init goes out on the spare with the text right behind it: a wrong voice stays one."""
    faseeh_sim.config.fault = Fault.UNKNOWN_VOICE
    client.warm_up()
    await spare_held(client)
    with pytest.raises(VoiceNotFoundError):
        await collect(client, TEXT)
    assert len(faseeh_sim.ws_sessions) == 1
    assert not client_tasks()


async def test_a_spare_the_server_closed_is_dropped_and_a_fresh_socket_speaks(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """The service idles the spare out: the user still gets audio, and spares pause."""
    faseeh_sim.config.idle_timeout = 0.05
    client.warm_up()
    assert await faseeh_sim.sessions_started(1)
    await spare_gone(client)
    assert client.spare.paused
    faseeh_sim.config.idle_timeout = None
    assert await collect(client, TEXT)
    assert len(faseeh_sim.ws_sessions) == 2
    client.warm_up()
    assert client.spare.count == 0
    assert len(faseeh_sim.ws_sessions) == 2
    assert not client_tasks()


async def test_a_service_that_idles_spares_out_later_makes_the_client_close_them_first(
    faseeh_sim: FaseehSimulator, client: FaseehClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A close after a useful wait is the service's idle limit: spares go on, a bit shorter."""
    monkeypatch.setattr("custom_components.faseeh.client.spare.QUICK_CLOSE", 0.1)
    faseeh_sim.config.idle_timeout = 0.5
    client.warm_up()
    assert await faseeh_sim.sessions_started(1)
    await spare_gone(client)
    assert not client.spare.paused
    learnt = client.spare.as_dict()["keep_for_seconds"]
    assert isinstance(learnt, float)
    assert learnt < 0.5

    client.warm_up()
    assert await faseeh_sim.sessions_started(2)
    await spare_gone(client)
    # This time the client closed it first: nothing new was learnt, nothing paused.
    assert client.spare.as_dict()["keep_for_seconds"] == learnt
    assert not client.spare.paused
    assert await faseeh_sim.all_sessions_closed()


async def test_an_unused_spare_is_closed_by_the_client_and_spares_go_on(
    faseeh_sim: FaseehSimulator, short_lived: FaseehClient
) -> None:
    """Our own expiry is not the service's refusal: the next hint opens a new spare."""
    short_lived.warm_up()
    assert await faseeh_sim.sessions_started(1)
    await spare_gone(short_lived)
    assert await faseeh_sim.all_sessions_closed()
    assert not short_lived.spare.paused
    short_lived.warm_up()
    assert await faseeh_sim.sessions_started(2)


async def test_with_one_session_allowed_a_spare_never_fails_a_request(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """A spare holds no synthesis slot: one opened while a synthesis runs takes nothing from it."""
    faseeh_sim.config.max_sessions = 1
    spare_open = asyncio.Event()

    async def text_finished_once_the_spare_is_open() -> AsyncIterator[str]:
        yield "مرحبا بك. "
        await spare_open.wait()
        yield "كيف حالك؟"

    async with asyncio.timeout(10):
        running = asyncio.create_task(collect(client, text_finished_once_the_spare_is_open()))
        assert await faseeh_sim.sessions_started(1)
        client.warm_up()
        await spare_held(client)
        spare_open.set()
        assert await running
    assert len(faseeh_sim.ws_sessions) == 2
    assert client.spare.held
    assert not client.spare.paused
    assert client.transport.transport is Transport.WEBSOCKET
    await client.close()
    assert await faseeh_sim.all_sessions_closed()


async def test_with_one_session_allowed_back_to_back_answers_on_spares_all_play(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """A run of Assist answers, each hinted first: every one speaks, none is refused."""
    faseeh_sim.config.max_sessions = 1
    for _ in range(6):
        client.warm_up()
        assert await collect(client, TEXT)
    assert not client.spare.paused
    # One socket per answer: no refusal was asked again on a fresh one.
    assert len(faseeh_sim.ws_sessions) == 6


async def test_a_refusal_on_the_spare_is_asked_again_once_on_a_fresh_socket(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """42901 to the init on the spare (a slot not yet freed): the user still gets audio."""
    faseeh_sim.connection_faults.extend([Fault.RATE_LIMIT.value, None])
    client.warm_up()
    await spare_held(client)
    assert await collect(client, TEXT)
    assert len(faseeh_sim.ws_sessions) == 2
    assert client.spare.paused
    assert not client_tasks()


async def test_a_concurrency_refusal_pauses_spares(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """42901 on the socket: the error is the rate limit, and no spare is kept for a while."""
    faseeh_sim.config.fault = Fault.RATE_LIMIT
    with pytest.raises(RateLimitError):
        await collect(client, TEXT)
    assert client.spare.paused
    sessions = len(faseeh_sim.ws_sessions)
    client.warm_up()
    assert client.spare.count == 0
    assert len(faseeh_sim.ws_sessions) == sessions


async def test_no_spare_once_the_learnt_transport_is_http(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """A silent socket sent speech over HTTP: hints open no socket."""
    faseeh_sim.config.fault = Fault.SILENT
    assert await collect(client, TEXT)
    assert client.transport.transport is Transport.HTTP
    client.warm_up()
    assert client.spare.count == 0
    assert len(faseeh_sim.ws_sessions) == 1


async def test_closing_the_client_closes_the_spare_and_opens_no_more(
    faseeh_sim: FaseehSimulator, client: FaseehClient
) -> None:
    """Unloading leaves no socket and no task, and a late hint does nothing."""
    client.warm_up()
    await spare_held(client)
    await client.close()
    assert await faseeh_sim.all_sessions_closed()
    client.warm_up()
    assert client.spare.count == 0
    assert len(faseeh_sim.ws_sessions) == 1
    assert not client_tasks()


async def test_no_spare_ever_logs_the_key(
    faseeh_sim: FaseehSimulator, short_lived: FaseehClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Opened, expired, used, closed by the service: the debug log never holds the key."""
    caplog.set_level(logging.DEBUG)
    short_lived.warm_up()
    await spare_held(short_lived)
    await spare_gone(short_lived)
    short_lived.warm_up()
    assert await collect(short_lived, TEXT)
    faseeh_sim.config.idle_timeout = 0.05
    short_lived.warm_up()
    await spare_gone(short_lived)
    assert short_lived.spare.paused
    assert "spare" in caplog.text
    assert DEFAULT_API_KEY not in caplog.text
