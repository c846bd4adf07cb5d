"""A scripted Faseeh-like server for protocol edge cases the simulator does not produce."""

import asyncio
import base64
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

from aiohttp import WSMsgType, web

from simulator import WS_PATH

type Script = Callable[["FakeConnection"], Awaitable[None]]
type InitReply = Callable[[web.WebSocketResponse], Awaitable[None]]


class FakeConnection:
    """One accepted socket: the script drives it after connectionInitialized."""

    def __init__(self, ws: web.WebSocketResponse, init: dict[str, Any]) -> None:
        """Wrap the socket and the received initConnection."""
        self.ws = ws
        self.init = init
        self.texts: list[dict[str, Any]] = []

    async def read_until_flush(self) -> str:
        """Read text messages until the flush; return the whole text."""
        async for message in self.ws:
            if message.type is not WSMsgType.TEXT:
                break
            payload = message.json()
            if payload.get("type") == "text":
                self.texts.append(payload)
                if payload.get("flush"):
                    break
        return "".join(str(payload["text"]) for payload in self.texts)

    async def send_audio(
        self, pcm: bytes, *, rate: int | None = 24000, final: bool = False
    ) -> None:
        """Send one audio frame (sampleRate omitted when rate is None)."""
        frame: dict[str, Any] = {"audio": base64.b64encode(pcm).decode(), "isFinal": final}
        if rate is not None:
            frame["sampleRate"] = rate
        await self.ws.send_json(frame)

    async def send_final(self) -> None:
        """Send the documented final frame."""
        await self.send_audio(b"", final=True)

    async def wait_for_client_close(self) -> None:
        """Keep the socket open, answering nothing, until the client closes it."""
        async for _ in self.ws:
            pass


class FakeFaseeh:
    """A WebSocket + POST /text-to-speech server on 127.0.0.1 driven by a script."""

    def __init__(
        self,
        script: Script,
        http_audio: bytes = b"",
        http_status: int = 200,
        *,
        init_reply: InitReply | None = None,
        http_stall_after: int | None = None,
    ) -> None:
        """Serve `script` on every socket; POST answers `http_audio` (or an error status).

        `init_reply` replaces the connectionInitialized answer (the script then does not run);
        `http_stall_after` stops the POST body after that many bytes, keeping it open.
        """
        self.script = script
        self.http_audio = http_audio
        self.http_status = http_status
        self.init_reply = init_reply
        self.http_stall_after = http_stall_after
        self.http_bodies: list[Any] = []
        self.connections: list[FakeConnection] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._handlers: set[asyncio.Task[Any]] = set()

    async def __aenter__(self) -> Self:
        """Start listening."""
        app = web.Application()
        app.router.add_get(WS_PATH, self._handle_ws)
        app.router.add_post("/api/v1/text-to-speech/{model_id}", self._handle_post)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop every handler and the server."""
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.wait(list(self._handlers))
        assert self._runner is not None
        await self._runner.cleanup()

    async def _handle_ws(self, request: web.Request) -> web.StreamResponse:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            init = await ws.receive_json()
            connection = FakeConnection(ws, init)
            self.connections.append(connection)
            if self.init_reply is not None:
                await self.init_reply(ws)
                return ws
            await ws.send_json({"type": "connectionInitialized"})
            await self.script(connection)
            return ws
        finally:
            self._handlers.discard(task)

    async def _handle_post(self, request: web.Request) -> web.StreamResponse:
        self.http_bodies.append(await request.json())
        if self.http_status != 200:
            return web.json_response(
                {"errorCode": str(self.http_status * 100 + 1), "errorMessage": "HTTP says no"},
                status=self.http_status,
            )
        response = web.StreamResponse(
            headers={"Content-Type": "audio/raw;codec=pcm16;rate=16000;channels=1"}
        )
        await response.prepare(request)
        audio = self.http_audio
        if self.http_stall_after is not None:
            audio = audio[: self.http_stall_after]
        # Odd-sized pieces: the client must carry the odd byte.
        for start in range(0, len(audio), 333):
            await response.write(audio[start : start + 333])
        if self.http_stall_after is not None:
            await asyncio.Event().wait()  # until the client goes away
        await response.write_eof()
        return response
