"""Raw WebSocket and HTTP helpers for the simulator tests (no integration code)."""

import array
import asyncio
import base64
import binascii
from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field
import json
import sys
from typing import Any

import aiohttp

from simulator import DEFAULT_API_KEY, WS_PATH, FaseehSimulator

KEY = DEFAULT_API_KEY
GREETING = "مرحبا بك في فصيح"
VOICE = "ar-najdi-male-2"
MODEL = "faseeh-v1-preview"


def samples(pcm: bytes) -> array.array[int]:
    """PCM16 LE bytes as integers (a trailing odd byte is ignored)."""
    values = array.array("h", pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        values.byteswap()
    return values


def ws_url(sim: FaseehSimulator, key: str | None = KEY) -> str:
    """WebSocket URL of the simulator, with the key in the query when given."""
    url = sim.url.replace("http://", "ws://") + WS_PATH
    return url if key is None else f"{url}?x-api-key={key}"


def init_message(**overrides: Any) -> dict[str, Any]:
    """A valid initConnection message with overrides (None removes a field)."""
    message: dict[str, Any] = {
        "type": "initConnection",
        "model_id": MODEL,
        "voice_id": VOICE,
        "voice_settings": {"stability": 0.5, "similarity_boost": 0.75, "speed": 1.0},
        "output_format": "pcm_24000",
    }
    message.update(overrides)
    return {name: value for name, value in message.items() if value is not None}


def text(value: str, *, trigger: bool = False, flush: bool = False) -> dict[str, Any]:
    """A text message."""
    return {"type": "text", "text": value, "try_trigger_generation": trigger, "flush": flush}


def is_final(frame: dict[str, Any]) -> bool:
    """Whether a frame is the documented end-of-generation frame."""
    return frame.get("isFinal") is True


@dataclass
class Received:
    """Everything a client read from the socket, in order."""

    frames: list[dict[str, Any]] = field(default_factory=list)
    binary: list[bytes] = field(default_factory=list)
    not_json: list[str] = field(default_factory=list)
    audio: bytes = b""
    closed: bool = False
    close_code: int | None = None
    timed_out: bool = False

    @property
    def audio_frames(self) -> list[dict[str, Any]]:
        """Frames carrying audio that are not final frames."""
        return [f for f in self.frames if "audio" in f and not is_final(f)]

    @property
    def finals(self) -> list[dict[str, Any]]:
        """The final frames."""
        return [f for f in self.frames if is_final(f)]

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The error frames."""
        return [f for f in self.frames if f.get("type") == "error"]

    def kinds(self) -> list[str]:
        """A compact picture of the frame order: audio, final, error or the type."""
        result = []
        for frame in self.frames:
            if is_final(frame):
                result.append("final")
            elif "audio" in frame:
                result.append("audio")
            else:
                result.append(str(frame.get("type")))
        return result


async def collect(
    ws: aiohttp.ClientWebSocketResponse, *, finals: int | None = 1, idle: float = 2.0
) -> Received:
    """Read until `finals` final frames, the socket closes, or `idle` seconds of silence."""
    received = Received()
    while finals is None or len(received.finals) < finals:
        try:
            message = await ws.receive(timeout=idle)
        except TimeoutError:
            received.timed_out = True
            break
        if message.type is aiohttp.WSMsgType.TEXT:
            try:
                frame = json.loads(message.data)
            except ValueError:
                received.not_json.append(message.data)
                continue
            received.frames.append(frame)
            if frame.get("audio"):
                # audio_not_base64 frames are kept in `frames` but add no audio.
                with contextlib.suppress(binascii.Error):
                    received.audio += base64.b64decode(frame["audio"], validate=True)
        elif message.type is aiohttp.WSMsgType.BINARY:
            received.binary.append(message.data)
        else:
            received.closed = True
            # The code the server sent; ws.close_code may be 1006 if our reply could not go out.
            is_close = message.type is aiohttp.WSMsgType.CLOSE
            received.close_code = message.data if is_close else ws.close_code
            break
    return received


async def initialize(ws: aiohttp.ClientWebSocketResponse, **overrides: Any) -> None:
    """Send initConnection and expect connectionInitialized."""
    await ws.send_json(init_message(**overrides))
    reply = await ws.receive_json(timeout=2)
    assert reply == {"type": "connectionInitialized"}


async def wait_for(condition: Callable[[], bool], within: float = 2.0) -> None:
    """Poll server-side state (which has no event to wait on) until condition() is true."""
    for _ in range(int(within / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"condition still false after {within} s")


def generation_tasks() -> list[asyncio.Task[Any]]:
    """Simulator generation tasks still alive."""
    return [t for t in asyncio.all_tasks() if t.get_name() == "faseeh-sim-generation"]


async def post_tts(
    http: aiohttp.ClientSession,
    sim: FaseehSimulator,
    body: dict[str, Any],
    *,
    model: str = MODEL,
    key: str | None = KEY,
) -> tuple[int, dict[str, str], bytes]:
    """POST a synthesis request; returns status, headers and body."""
    headers = {} if key is None else {"x-api-key": key}
    async with http.post(
        f"{sim.url}/api/v1/text-to-speech/{model}", json=body, headers=headers
    ) as response:
        return response.status, dict(response.headers), await response.read()


def tts_body(**overrides: Any) -> dict[str, Any]:
    """A valid synthesis body with overrides (None removes a field)."""
    body: dict[str, Any] = {
        "voice_id": VOICE,
        "text": GREETING,
        "stability": 0.5,
        "speed": 1.0,
        "streaming": True,
    }
    body.update(overrides)
    return {name: value for name, value in body.items() if value is not None}
