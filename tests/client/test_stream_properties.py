"""Property test of the whole stream on a socket stub: whatever frames the server sends,
stream_speech yields whole samples and ends or raises a FaseehError; it never hangs."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
import json
from typing import Any

import aiohttp
from hypothesis import HealthCheck, given, settings, strategies as st

from custom_components.faseeh.client import FaseehClient, FaseehError, Timeouts

from .test_frames import frame_like, json_values

QUICK = Timeouts(connect=0.2, first_audio=0.05, idle=0.05, final_grace=0.01)


class StubWebSocket:
    """Replays scripted messages after connectionInitialized, then blocks until closed."""

    def __init__(self, messages: list[aiohttp.WSMessage]) -> None:
        """Queue connectionInitialized and the scripted messages."""
        self.sent: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self._queue: asyncio.Queue[aiohttp.WSMessage] = asyncio.Queue()
        init = aiohttp.WSMessage(aiohttp.WSMsgType.TEXT, '{"type":"connectionInitialized"}', None)
        for message in [init, *messages]:
            self._queue.put_nowait(message)

    async def send_json(self, data: dict[str, Any], *, dumps: Any = json.dumps) -> None:
        """Record a sent message."""
        self.sent.append(data)

    async def receive(self) -> aiohttp.WSMessage:
        """Return the next scripted message (blocks when none is left)."""
        return await self._queue.get()

    async def close(self) -> bool:
        """Close the stub."""
        self.close_code = 1000
        return True


class StubSession:
    """ws_connect returns the stub; HTTP requests fail as if the service were unreachable."""

    def __init__(self, ws: StubWebSocket) -> None:
        """Serve `ws`."""
        self.ws = ws

    async def ws_connect(self, url: str, **kwargs: Any) -> StubWebSocket:
        """Return the stub socket."""
        assert "?" not in url
        return self.ws

    async def request(self, *args: Any, **kwargs: Any) -> None:
        """Every REST request fails."""
        raise aiohttp.ClientConnectionError("unreachable")


text_frame = st.one_of(
    frame_like.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=50),
    st.builds(
        lambda pcm, final: json.dumps(
            {
                "audio": __import__("base64").b64encode(pcm).decode(),
                "sampleRate": 16000,
                "isFinal": final,
            }
        ),
        st.binary(max_size=50),
        st.booleans(),
    ),
).map(lambda data: aiohttp.WSMessage(aiohttp.WSMsgType.TEXT, data, None))
other_message = st.sampled_from(
    [
        aiohttp.WSMessage(aiohttp.WSMsgType.BINARY, b"\x00\x01", None),
        aiohttp.WSMessage(aiohttp.WSMsgType.CLOSE, 1000, ""),
        aiohttp.WSMessage(aiohttp.WSMsgType.CLOSE, 1011, "boom"),
        aiohttp.WSMessage(aiohttp.WSMsgType.CLOSED, None, None),
        aiohttp.WSMessage(aiohttp.WSMsgType.ERROR, ValueError("x"), None),
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(text_frame | other_message, max_size=8),
    st.sampled_from(["مرحبا. كيف حالك؟", ["مرحبا. ", "كيف حالك؟"]]),
)
async def test_property_any_server_frames(
    messages: list[aiohttp.WSMessage], text: str | list[str]
) -> None:
    """Any sequence of server messages: whole samples, then the end or a FaseehError."""
    ws = StubWebSocket(messages)
    # The stub has only what the client calls; it is not an aiohttp.ClientSession.
    session: Any = StubSession(ws)
    client = FaseehClient(session, "key", "http://stub", timeouts=QUICK)

    async def deltas() -> AsyncIterator[str]:
        for part in text:
            yield part

    source = text if isinstance(text, str) else deltas()
    try:
        async with (
            asyncio.timeout(2),
            aclosing(client.stream_speech(source, voice_id="v", model_id="m")) as stream,
        ):
            async for chunk in stream:
                assert chunk.pcm
                assert len(chunk.pcm) % 2 == 0
                assert chunk.sample_rate > 0
    except FaseehError:
        pass
    assert ws.close_code == 1000
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("faseeh-ws-")]
