"""A user-space delay proxy on loopback: a wide-area link's latency without netem.

``DelayProxy`` listens on 127.0.0.1 and forwards every TCP connection to one target. Each byte
is held for half the round-trip time in each direction, and the first byte a client sends on a
new connection waits one more round trip, as a TCP handshake would cost it (loopback's connect
returns at once). Bandwidth, loss and TLS are not emulated: a TLS link pays one round trip
more. The proxy is bounded: each direction buffers at most ``MAX_QUEUED_CHUNKS`` reads, and the
whole proxy stops by itself after ``lifetime`` seconds, so a forgotten one never lingers.
"""

from __future__ import annotations

import asyncio
from collections import deque
import contextlib
from dataclasses import dataclass
import time

from .errors import HarnessError

HOST = "127.0.0.1"
READ_SIZE = 65536
MAX_QUEUED_CHUNKS = 64
DEFAULT_LIFETIME = 3600.0
LOG_LIMIT = 10_000
HEAD_BYTES = 16


@dataclass(frozen=True, slots=True)
class Sent:
    """One read from a client, as the proxy received it (before its delay)."""

    connection: int  # 1 for the proxy's first connection, and so on.
    at: float  # time.perf_counter() when the proxy read it.
    head: bytes  # Its first HEAD_BYTES bytes, enough to tell "POST /..." from "GET /...".
    size: int


class DelayProxy:
    """``await start()``, then connect to ``url``; every connection reaches the target late."""

    def __init__(self, target_port: int, rtt: float, *, lifetime: float = DEFAULT_LIFETIME) -> None:
        """Forward to 127.0.0.1:target_port with rtt seconds of round-trip time."""
        if rtt < 0:
            raise HarnessError(f"a round-trip time cannot be negative ({rtt})")
        self.target_port = target_port
        self.rtt = rtt
        self.lifetime = lifetime
        self.connections = 0  # Accepted since start.
        self.client_reads: deque[Sent] = deque(maxlen=LOG_LIMIT)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._expiry: asyncio.TimerHandle | None = None
        self._stopping: asyncio.Task[None] | None = None
        self._port = 0

    @property
    def port(self) -> int:
        """The port the proxy listens on."""
        if self._server is None:
            raise HarnessError("the delay proxy is not running")
        return self._port

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT."""
        return f"http://{HOST}:{self.port}"

    @property
    def open_connections(self) -> int:
        """Connections whose forwarding has not ended yet."""
        return len(self._tasks)

    async def start(self) -> int:
        """Listen on a free port of 127.0.0.1; return it."""
        self._server = server = await asyncio.start_server(self._serve, HOST, 0)
        self._port = int(server.sockets[0].getsockname()[1])
        self._expiry = asyncio.get_running_loop().call_later(self.lifetime, self._expire)
        return self._port

    def _expire(self) -> None:
        self._expiry = None
        self._stopping = asyncio.create_task(self.stop())

    async def stop(self) -> None:
        """Stop listening and cut every connection still open."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        server, self._server = self._server, None
        if server is not None:
            server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        if server is not None:
            server.close_clients()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 5)

    async def __aenter__(self) -> DelayProxy:
        """Start the proxy."""
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        """Stop the proxy."""
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.connections += 1
        number = self.connections
        # Data may not flow before the emulated handshake is over.
        handshake_done = time.perf_counter() + self.rtt
        self._tasks.add(task)
        target_writer: asyncio.StreamWriter | None = None
        try:
            try:
                target_reader, target_writer = await asyncio.open_connection(HOST, self.target_port)
            except OSError:
                return  # The client sees its connection closed, as with a refused one.
            async with asyncio.TaskGroup() as group:
                group.create_task(
                    self._forward(reader, target_writer, handshake_done, number),
                )
                group.create_task(self._forward(target_reader, writer, handshake_done, None))
        except* ConnectionError, OSError:
            pass  # A reset on either side ends the connection on both; nothing to report.
        finally:
            self._tasks.discard(task)
            for side in (writer, target_writer):
                if side is not None:
                    side.close()
            for side in (writer, target_writer):
                if side is not None:
                    with contextlib.suppress(ConnectionError, OSError):
                        await side.wait_closed()

    async def _forward(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        not_before: float,
        client_connection: int | None,
    ) -> None:
        """Copy source to sink, each read held RTT/2 (and not sent before not_before + RTT/2)."""
        # b"" is the end of the stream, None a reset.
        queue: asyncio.Queue[tuple[float, bytes | None]] = asyncio.Queue(MAX_QUEUED_CHUNKS)

        async def read() -> None:
            try:
                while data := await source.read(READ_SIZE):
                    now = time.perf_counter()
                    if client_connection is not None:
                        sent = Sent(client_connection, now, data[:HEAD_BYTES], len(data))
                        self.client_reads.append(sent)
                    await queue.put((max(now, not_before), data))
            except ConnectionError, OSError:
                await queue.put((time.perf_counter(), None))  # Reset: cut the other side.
                return
            await queue.put((max(time.perf_counter(), not_before), b""))  # End of stream.

        reading = asyncio.create_task(read())
        try:
            while True:
                read_at, data = await queue.get()
                if data is None:
                    raise ConnectionResetError
                delay = read_at + self.rtt / 2 - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                if not data:
                    # The peer's close reaches the other side as late as its bytes do.
                    if sink.can_write_eof():
                        sink.write_eof()
                    await reading
                    return
                sink.write(data)
                await sink.drain()
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                await reading
