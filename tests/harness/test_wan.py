"""The delay proxy passes every byte unchanged, late, and lets closes through."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import time

import aiohttp
import pytest
import pytest_asyncio

from custom_components.faseeh.client import FaseehClient
from custom_components.faseeh.const import DEFAULT_MODEL, DEFAULT_VOICE
from harness.processes import free_port
from harness.wan import DelayProxy
from simulator import DEFAULT_API_KEY, FaseehSimulator, deterministic_pcm

RTT = 0.05
pytestmark = pytest.mark.usefixtures("socket_enabled")


class EchoServer:
    """A TCP server that sends back what it reads, upper-cased, and closes on EOF."""

    def __init__(self) -> None:
        """Not listening until ``start``."""
        self.server: asyncio.Server | None = None
        self.port = 0
        self.accepted = 0
        self.got_eof = asyncio.Event()

    async def start(self) -> None:
        """Listen on 127.0.0.1."""
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(4096):
                writer.write(data.upper())
                await writer.drain()
            self.got_eof.set()
        writer.close()

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        assert self.server is not None
        self.server.close()
        self.server.close_clients()
        await self.server.wait_closed()


@pytest_asyncio.fixture
async def echo() -> AsyncIterator[EchoServer]:
    """A running EchoServer."""
    server = EchoServer()
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture
async def proxy(echo: EchoServer) -> AsyncIterator[DelayProxy]:
    """A DelayProxy with RTT in front of the echo server."""
    async with DelayProxy(echo.port, RTT) as running:
        yield running


async def _exchange(port: int, payload: bytes) -> tuple[bytes, float, float]:
    """Send payload, half-close, read to EOF: (answer, time to first byte, total)."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    writer.write_eof()
    first = await reader.read(1)
    first_at = time.perf_counter() - started
    rest = await reader.read()
    writer.close()
    await writer.wait_closed()
    return first + rest, first_at, time.perf_counter() - started


async def test_every_byte_arrives_unchanged_in_both_directions(
    echo: EchoServer, proxy: DelayProxy
) -> None:
    """A megabyte of every byte value goes through and comes back exactly, then EOF."""
    payload = bytes(range(256)) * 4096
    answer, _, _ = await _exchange(proxy.port, payload)
    assert answer == payload.upper()
    assert echo.got_eof.is_set()


async def test_a_new_connection_pays_a_handshake_and_a_round_trip(proxy: DelayProxy) -> None:
    """The first answer byte takes at least two round trips: the handshake, then the request."""
    _, first_byte, _ = await _exchange(proxy.port, b"ping")
    assert first_byte >= 2 * RTT


async def test_a_request_on_an_open_connection_pays_one_round_trip(proxy: DelayProxy) -> None:
    """Once the connection is up, a request and its answer cost at least one round trip."""
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"first")
    assert await reader.readexactly(5) == b"FIRST"
    started = time.perf_counter()
    writer.write(b"second")
    assert await reader.readexactly(6) == b"SECOND"
    assert time.perf_counter() - started >= RTT
    writer.close()
    await writer.wait_closed()


async def test_connections_are_counted_and_each_reaches_the_target(
    echo: EchoServer, proxy: DelayProxy
) -> None:
    """Three clients at once are three connections on each side; none stays open after."""
    answers = await asyncio.gather(*(_exchange(proxy.port, b"x%d" % n) for n in range(3)))
    assert sorted(answer for answer, _, _ in answers) == [b"X0", b"X1", b"X2"]
    assert proxy.connections == 3
    assert echo.accepted == 3
    assert {read.connection for read in proxy.client_reads} == {1, 2, 3}
    for _ in range(100):
        if proxy.open_connections == 0:
            break
        await asyncio.sleep(RTT / 5)
    assert proxy.open_connections == 0


async def test_a_close_by_the_server_reaches_the_client(echo: EchoServer) -> None:
    """When the target closes a connection, the client reads EOF instead of waiting."""
    async with DelayProxy(echo.port, RTT) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"hello")
        assert await reader.readexactly(5) == b"HELLO"
        await echo.stop()  # Closes the server side of every connection.
        assert await asyncio.wait_for(reader.read(), 10 * RTT + 5) == b""
        writer.close()


async def test_an_unreachable_target_closes_the_client_connection() -> None:
    """With nothing listening behind it, a client is closed, not left hanging."""
    async with DelayProxy(free_port(), RTT) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()


async def test_the_proxy_stops_by_itself_after_its_lifetime(echo: EchoServer) -> None:
    """A proxy left running refuses connections once its lifetime is over."""
    proxy = DelayProxy(echo.port, RTT, lifetime=0.2)
    port = await proxy.start()
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.close()
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return
        writer.close()
        await asyncio.sleep(0.05)
    pytest.fail("the proxy still accepts connections 5 s after its lifetime")


async def test_the_integrations_client_speaks_byte_exact_through_the_proxy(
    faseeh_sim: FaseehSimulator,
) -> None:
    """The Faseeh client, pointed at the proxy, gets the simulator's exact audio."""
    text = "مرحبا بكم في البيت."
    async with DelayProxy(faseeh_sim.port, RTT) as proxy, aiohttp.ClientSession() as session:
        client = FaseehClient(session, DEFAULT_API_KEY, proxy.url)
        speech = client.stream_speech(text, voice_id=DEFAULT_VOICE, model_id=DEFAULT_MODEL)
        async with contextlib.aclosing(speech) as chunks:
            pcm = b"".join([chunk.pcm async for chunk in chunks])
    assert pcm == deterministic_pcm(text, 24_000)
    assert proxy.connections == 1
    assert len(faseeh_sim.ws_sessions) == 1
