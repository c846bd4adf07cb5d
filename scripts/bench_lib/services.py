"""What the bench measures against, and the minimal raw clients it compares HA with.

- ``WyomingTts``: a Wyoming TTS server answering with the simulator's PCM after its delay.
- ``raw_ws_once`` / ``raw_wyoming_once``: the leanest client of each service.
- ``RawClients``: runs those clients, and the HA fetches the phases compare them with, in a
  worker process of their own: every client crosses a process boundary to reach its service
  exactly as Home Assistant does, and none shares a loop with the simulator and the Wyoming
  server (they live in the bench's process).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
import contextlib
from dataclasses import asdict, dataclass
import gc
import json
from pathlib import Path
import sys
import time
from typing import Any, Literal, TextIO, override

import aiohttp
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.info import Attribution, Describe, Info, TtsProgram, TtsVoice
from wyoming.server import AsyncEventHandler
from wyoming.tts import Synthesize, SynthesizeStop, SynthesizeStopped

from harness.api import HassApi
from harness.console import Console
from harness.speech import Fetch, fetch_speech
from simulator import DEFAULT_API_KEY, SimulatorConfig

from .verdicts import (
    REQUEST_BOUND,
    SAMPLE_RATE,
    WAV_OPTIONS,
    Result,
    check_pcm,
    expected_pcm,
    wav_verdict,
)

# What the entity sends when the entry's options are untouched (custom_components/faseeh/const.py).
VOICE_ID = "ar-hijazi-female-1"
MODEL_ID = "faseeh-v1-preview"
VOICE_SETTINGS = {"stability": 0.5, "similarity_boost": 0.75, "speed": 1.0}
WORKER_START_TIMEOUT = 30.0
ROOT = Path(__file__).resolve().parents[2]

type ClientKind = Literal["ws", "wyoming", "ha"]


@dataclass(frozen=True, slots=True)
class HaTarget:
    """Where the worker asks HA for speech: its base URL, the owner's token, the TTS entity."""

    base: str
    token: str
    engine: str

    @classmethod
    def of(cls, api: HassApi, engine: str) -> dict[str, str]:
        """The target of ``engine`` through ``api``, as the worker's JSON wants it."""
        return asdict(cls(api.base, api.token, engine))


# ---- the Wyoming server ------------------------------------------------------------------------


class WyomingTts(AsyncEventHandler):
    """A Wyoming TTS service answering with the simulator's PCM after the simulator's delay.

    It says it supports streaming input, which is what makes HA's wyoming entity stream its
    output (otherwise HA collects the whole WAV first). HA sends SynthesizeStart, a chunk per
    delta, the whole text as Synthesize, then SynthesizeStop: the audio starts on Synthesize,
    the first event with the whole text, and SynthesizeStopped answers SynthesizeStop.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        info: Info,
        config: SimulatorConfig,
    ) -> None:
        """One client connection."""
        super().__init__(reader, writer)
        self._info = info
        self._config = config

    @override
    async def handle_event(self, event: Event) -> bool:
        if Describe.is_type(event.type):
            await self.write_event(self._info.event())
        elif Synthesize.is_type(event.type):
            await self._speak(Synthesize.from_event(event).text)
        elif SynthesizeStop.is_type(event.type):
            await self.write_event(SynthesizeStopped().event())
        # SynthesizeStart and SynthesizeChunk need no answer.
        return True

    async def _speak(self, text: str) -> None:
        config = self._config
        if config.first_audio_delay > 0:
            await asyncio.sleep(config.first_audio_delay)
        pcm = expected_pcm(text)
        await self.write_event(AudioStart(rate=SAMPLE_RATE, width=2, channels=1).event())
        for offset in range(0, len(pcm), config.chunk_bytes):
            chunk = pcm[offset : offset + config.chunk_bytes]
            await self.write_event(
                AudioChunk(rate=SAMPLE_RATE, width=2, channels=1, audio=chunk).event()
            )
        await self.write_event(AudioStop().event())


def wyoming_info() -> Info:
    """One installed Arabic voice on one streaming TTS program."""
    attribution = Attribution(name="Faseeh bench", url="https://example.invalid")
    voice = TtsVoice(
        name="bench-ar",
        attribution=attribution,
        installed=True,
        description="Bench Arabic",
        version="1",
        languages=["ar"],
    )
    program = TtsProgram(
        name="bench-wyoming",
        attribution=attribution,
        installed=True,
        description="Simulator PCM over Wyoming",
        version="1",
        voices=[voice],
        supports_synthesize_streaming=True,
    )
    return Info(tts=[program])


async def start_wyoming(config: SimulatorConfig) -> tuple[asyncio.Server, int]:
    """Serve ``WyomingTts`` on 127.0.0.1; return the server and its port."""
    info = wyoming_info()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A client that goes away mid-audio (HA stopping) is no error of the server's.
        with contextlib.suppress(ConnectionError):
            await WyomingTts(reader, writer, info, config).run()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1])


# ---- the raw clients ---------------------------------------------------------------------------


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


async def raw_ws_once(session: aiohttp.ClientSession, ws_url: str, text: str) -> Fetch:
    """The minimal Faseeh client: connect, init, await the reply, text with flush, close.

    It sends what the entity sends for a one-sentence text. Times from the connect.
    """
    fetch = Fetch()
    init = {
        "type": "initConnection",
        "model_id": MODEL_ID,
        "voice_id": VOICE_ID,
        "voice_settings": VOICE_SETTINGS,
        "output_format": f"pcm_{SAMPLE_RATE}",
        "x_api_key": DEFAULT_API_KEY,
    }
    parts: list[bytes] = []
    started = fetch.started = time.perf_counter()
    async with session.ws_connect(ws_url, params={"x-api-key": DEFAULT_API_KEY}) as ws:
        await ws.send_json(init, dumps=_dumps)
        reply = await ws.receive_json()
        if reply.get("type") != "connectionInitialized":
            fetch.error = f"initConnection answered with {reply}"
            return fetch
        await ws.send_json(
            {"type": "text", "text": text, "try_trigger_generation": True, "flush": True},
            dumps=_dumps,
        )
        await ws.send_json({"type": "closeConnection"}, dumps=_dumps)
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            frame = json.loads(message.data)
            if audio := frame.get("audio"):
                if fetch.first_byte is None:
                    fetch.first_byte = time.perf_counter() - started
                parts.append(base64.b64decode(audio))
    fetch.total = time.perf_counter() - started
    fetch.status = 200
    fetch.body = b"".join(parts)
    return fetch


async def raw_wyoming_once(port: int, text: str) -> Fetch:
    """The minimal Wyoming client: connect, Synthesize, read audio until AudioStop."""
    fetch = Fetch()
    parts: list[bytes] = []
    started = fetch.started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await async_write_event(Synthesize(text=text).event(), writer)
        while (event := await async_read_event(reader)) is not None:
            if AudioChunk.is_type(event.type):
                if fetch.first_byte is None:
                    fetch.first_byte = time.perf_counter() - started
                parts.append(AudioChunk.from_event(event).audio)
            elif AudioStop.is_type(event.type):
                break
    finally:
        writer.close()
        await writer.wait_closed()
    fetch.total = time.perf_counter() - started
    fetch.status = 200
    fetch.body = b"".join(parts)
    return fetch


async def ha_once(api: HassApi, engine: str, text: str, *, cache: bool = False) -> Fetch:
    """The text through HA as a media player gets it (WAV); times from the POST."""
    return await fetch_speech(api, engine, text, WAV_OPTIONS, cache=cache, bound=REQUEST_BOUND)


def _api_of(session: aiohttp.ClientSession, target: HaTarget) -> HassApi:
    api = HassApi(session, target.base, Console())
    api.token = target.token
    return api


class RawClients:
    """The raw clients, in a worker process: ``python -m scripts.bench_lib.services``.

    One JSON line per batch each way: the texts go in, the timings and each body's verdict
    (checked in the worker, so the audio does not travel back) come out.
    """

    def __init__(self, log: TextIO) -> None:
        """Prepare; ``start`` launches the worker."""
        self._log = log
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Launch the worker and wait until it is ready."""
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "scripts.bench_lib.services",
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._log,
        )
        line = await asyncio.wait_for(self._readline(), WORKER_START_TIMEOUT)
        if line != {"ready": True}:
            raise RuntimeError(f"the raw-client worker said {line} instead of ready")

    async def run(
        self, kind: ClientKind, target: str | int | dict[str, str], texts: list[str]
    ) -> list[Result]:
        """Run one client per text at once (a batch of one is a sequential request)."""
        process = self._process
        assert process is not None
        assert process.stdin is not None
        async with self._lock:
            request = {"kind": kind, "target": target, "texts": texts}
            process.stdin.write(_dumps(request).encode() + b"\n")
            await process.stdin.drain()
            answer = await self._readline()
        return [Result(**result) for result in answer["results"]]

    async def stop(self) -> None:
        """Close the worker's stdin (it exits on EOF); kill it if it does not."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def _readline(self) -> Any:
        process = self._process
        assert process is not None
        assert process.stdout is not None
        line = await process.stdout.readline()
        if not line:
            raise RuntimeError("the raw-client worker exited; see its log")
        return json.loads(line)


async def worker_main() -> None:
    """The worker: read batches on stdin, run them, answer on stdout, until EOF."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with aiohttp.ClientSession() as session:
        print(_dumps({"ready": True}), flush=True)
        while line := await reader.readline():
            request = json.loads(line)
            # A batch never pays for the garbage of the ones before it (a full collection
            # of this process lands mid-batch otherwise, and stalls every client in it).
            gc.collect()
            texts: list[str] = request["texts"]
            target = request["target"]
            verdict: Callable[[bytes, str], str] = check_pcm
            if request["kind"] == "ws":
                fetches = await asyncio.gather(
                    *(raw_ws_once(session, str(target), text) for text in texts)
                )
            elif request["kind"] == "wyoming":
                fetches = await asyncio.gather(
                    *(raw_wyoming_once(int(target), text) for text in texts)
                )
            else:
                ha = HaTarget(**target)
                api = _api_of(session, ha)
                fetches = await asyncio.gather(*(ha_once(api, ha.engine, text) for text in texts))
                verdict = wav_verdict
            results = [
                asdict(Result.of(fetch, verdict(fetch.body, text)))
                for fetch, text in zip(fetches, texts, strict=True)
            ]
            print(_dumps({"results": results}), flush=True)


if __name__ == "__main__":
    asyncio.run(worker_main())
