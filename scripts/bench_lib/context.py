"""What every bench phase shares: the services, a real hass with both entries, the probe.

The simulator and the Wyoming server run in the bench's process (phases change their config
between requests); the raw clients run in a worker process of their own; hass is a
``harness.hass.HassProcess`` with the bench-only probe integration linked in.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import dataclass
import gc
from pathlib import Path
import random
import tempfile
from typing import Any, TextIO

import aiohttp

from harness.api import FlowKind, HassApi
from harness.console import Console
from harness.errors import HarnessError
from harness.hass import INTEGRATION, HassProcess, HassSettings
from harness.voice_loop import COMPONENTS as VOICE_LOOP_COMPONENTS
from simulator import DEFAULT_API_KEY, FaseehSimulator, SimulatorConfig

from .services import HaTarget, RawClients, ha_once, start_wyoming
from .texts import Texts
from .verdicts import Result, wav_verdict

LOG_DIR = Path(tempfile.gettempdir()) / "faseeh-bench-logs"
PROBE = Path(__file__).resolve().parent / "bench_probe"

FIRST_AUDIO_DELAY = 0.100
CHUNK_BYTES = 4800
SECONDS_PER_CHARACTER = 0.05  # The simulator's deterministic audio: 50 ms per character.

type Batch = Callable[[list[str]], Awaitable[list[Result]]]


class BenchError(HarnessError):
    """The bench could not measure something; the message says what."""


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much of everything one run does."""

    overhead_runs: int
    concurrent: int
    concurrent_rounds: int
    throughput_chars: int
    throughput_runs: int
    llm_runs: int
    leak_runs: int
    soak_runs: int
    soak_concurrency: int
    warmup: int
    # Requests per failure fault and input kind in the speech phase's misreported-error count.
    speech_repetitions: int
    wan_runs: int
    wan_rtt: float  # Seconds; ``--wan RTT_MS`` chooses another.


FULL = Sizes(60, 50, 6, 6000, 15, 5, 1000, 500, 8, 5, 50, 12, 0.100)
QUICK = Sizes(3, 5, 1, 200, 1, 1, 20, 20, 4, 1, 2, 1, 0.020)


class Bench:
    """One benchmark run's shared state; ``start`` brings everything up, ``stop`` ends it."""

    def __init__(
        self, sizes: Sizes, seed: int, console: Console, wan_rtt: float | None = None
    ) -> None:
        """Prepare; nothing runs until ``start``. wan_rtt overrides the sizes' round trip."""
        self.sizes = sizes
        self.wan_rtt = sizes.wan_rtt if wan_rtt is None else wan_rtt
        self.console = console
        self.random = random.Random(seed)
        self.texts = Texts()
        self.config = SimulatorConfig(first_audio_delay=FIRST_AUDIO_DELAY, chunk_bytes=CHUNK_BYTES)
        self.sim = FaseehSimulator(self.config)
        self.hass = HassProcess(
            HassSettings(
                components=("bench_probe", *VOICE_LOOP_COMPONENTS),
                custom_components={"faseeh": INTEGRATION, "bench_probe": PROBE},
            )
        )
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self._worker_log: TextIO = (LOG_DIR / "raw-worker.log").open("w", encoding="utf-8")
        self.raw_clients = RawClients(self._worker_log)
        self.results: dict[str, Any] = {}
        self.details: dict[str, Any] = {}
        self._wyoming: asyncio.Server | None = None
        self.wyoming_port = 0
        self._session: aiohttp.ClientSession | None = None
        self._api: HassApi | None = None
        self.entity = ""
        self.wyoming_entity = ""
        self.entry_id = ""

    @property
    def api(self) -> HassApi:
        """HA's HTTP API with the owner's token."""
        assert self._api is not None
        return self._api

    def say(self, message: str) -> None:
        """A progress line."""
        self.console.say(message)

    async def start(self) -> None:
        """Simulator, Wyoming server, raw clients, hass; onboard; both entries; the entities."""
        await self.sim.start()
        self._wyoming, self.wyoming_port = await start_wyoming(self.config)
        await self.raw_clients.start()
        self.say(
            f"simulator at {self.sim.url}, Wyoming server at tcp://127.0.0.1:{self.wyoming_port}"
            ", raw clients in their own process"
        )
        base = await self.hass.start()
        self.say(f"Home Assistant answering at {base} (config dir {self.hass.config_dir})")
        self._session = aiohttp.ClientSession()
        self._api = api = HassApi(self._session, base, self.console)
        owner = await api.onboard(self.hass.settings.language)
        version = (await api.get_json("/api/config")).get("version")
        self.say(f"onboarded Home Assistant {version} and logged in as {owner.username!r}")
        answers = {
            "user": {"api_key": DEFAULT_API_KEY, "region": "custom"},
            "custom_url": {"url": self.sim.url},
        }
        entry = (await api.run_flow(FlowKind.CONFIG, {"handler": "faseeh"}, answers))["result"]
        self.say(f"config entry {entry.get('title')!r} created ({entry.get('state')})")
        self.entry_id = str(entry["entry_id"])
        self.entity, state = await api.wait_for_entity(self.entry_id, "tts", "faseeh")
        self.say(f"TTS entity {self.entity} is ready (state {state!r})")
        wyoming = await api.run_flow(
            FlowKind.CONFIG,
            {"handler": "wyoming"},
            {"user": {"host": "127.0.0.1", "port": self.wyoming_port}},
            announce=False,
        )
        self.wyoming_entity, _ = await api.wait_for_entity(wyoming["result"]["entry_id"], "tts")
        self.say(f"Wyoming TTS entity {self.wyoming_entity} is ready")

    async def stop(self, outcome: int) -> None:
        """Stop everything this run started; keep hass's logs in LOG_DIR if it failed."""
        if self._session is not None:
            await self._session.close()
        await self.hass.stop()
        self.hass.settle_logs(self.console, outcome, LOG_DIR)
        self.hass.remove()
        await self.raw_clients.stop()
        self._worker_log.close()
        if self._wyoming is not None:
            self._wyoming.close()
            self._wyoming.close_clients()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wyoming.wait_closed(), 5)
        await self.sim.stop()

    async def ha_once(self, engine: str, text: str, *, cache: bool = False) -> Result:
        """The text through HA from this process (WAV), judged; times from the POST."""
        fetch = await ha_once(self.api, engine, text, cache=cache)
        return Result.of(fetch, wav_verdict(fetch.body, text))

    async def collect_garbage(self) -> dict[str, Any]:
        """Collect in hass and here (the client worker collects before each batch itself).

        Returns the probe's stats. A phase calls it before each measured batch, so that no
        batch pays for a full collection the ones before it made due.
        """
        stats: dict[str, Any] = await self.probe(
            {"type": "bench_probe/stats", "collect_garbage": True}
        )
        gc.collect()  # this process runs the simulator and the Wyoming server
        return stats

    def paths(self) -> dict[str, Batch]:
        """The four ways to the same audio: a raw client, and HA in front of each service.

        All four are fetched by the client worker, so no consumer shares this process's
        loop with the simulator and the Wyoming server it reads from.
        """
        clients = self.raw_clients
        api = self.api
        return {
            "raw": lambda texts: clients.run("ws", self.sim.ws_url, texts),
            "faseeh": lambda texts: clients.run("ha", HaTarget.of(api, self.entity), texts),
            "raw_wyoming": lambda texts: clients.run("wyoming", self.wyoming_port, texts),
            "wyoming": lambda texts: clients.run(
                "ha", HaTarget.of(api, self.wyoming_entity), texts
            ),
        }

    async def probe(self, command: dict[str, Any]) -> Any:
        """One bench_probe websocket command."""
        return await self.api.websocket_command(command)

    @contextlib.asynccontextmanager
    async def profiled(self, phase: str, profile: str | None) -> AsyncIterator[None]:
        """Run pyinstrument inside hass around a phase when --profile names it."""
        if profile != phase:
            yield
            return
        path = LOG_DIR / f"profile-{phase}.txt"
        await self.probe({"type": "bench_probe/profile", "action": "start"})
        try:
            yield
        finally:
            await self.probe({"type": "bench_probe/profile", "action": "stop", "path": str(path)})
            self.say(f"profile of {phase!r} written to {path} (and .html)")
