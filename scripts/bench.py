"""Benchmark: what Home Assistant and the Faseeh integration add on top of the service.

One run on this machine against the Faseeh simulator (in this process; fixed first-audio delay)
and a real `hass` process, started, onboarded and configured over HTTP with scripts/demo.py's
own steps. The raw clients run in a worker process of their own, so they reach the services
across a process boundary exactly as `hass` does.

- overhead: the same text through a minimal raw WebSocket client, through HA (POST
  /api/tts_get_url, then the GET of its /api/tts_proxy URL, WAV so no ffmpeg is in the path),
  through a minimal raw Wyoming client and through HA's core `wyoming` TTS integration against
  a local Wyoming server answering with the same PCM after the same delay; runs interleaved;
- concurrent: rounds of 50 simultaneous requests on each path, every body checked byte for byte;
- throughput: a long text with the simulator unthrottled;
- llm: an LLM-like delta stream (~40 characters a second) into the entity, timed inside HA by a
  bench-only probe integration (scripts/bench_lib/bench_probe, linked into the config dir);
- leaks: 1,000 sequential syntheses, cache off: RSS, asyncio tasks and sockets of `hass`;
- soak: 500 overlapping requests, 20 % of them with a random failure fault, cache on.

Prints a table and writes bench-results.json at the repository root.
Usage: ./scripts/bench [--quick] [--only PHASE ...] [--profile PHASE] [--seed N] [--output PATH]
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import dataclass
import hashlib
import json
import os
from pathlib import Path
import random
import re
import signal
import sys
import tempfile
import time
import traceback
from typing import Any, TextIO, override

import aiohttp

SCRIPTS = Path(__file__).resolve().parent
ROOT = SCRIPTS.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench_lib.services import (  # noqa: E402  (scripts/ is first on sys.path)
    SAMPLE_RATE,
    WAV_HEADER_BYTES,
    Fetch,
    RawClients,
    check_wav,
    expected_pcm,
    start_wyoming,
    wav_header_ok,
    worker_main,
)
import demo  # noqa: E402

from simulator import DEFAULT_API_KEY, FAULTS, FaseehSimulator, SimulatorConfig  # noqa: E402

RESULTS_PATH = ROOT / "bench-results.json"
LOG_DIR = Path(tempfile.gettempdir()) / "faseeh-bench-logs"
PROBE = SCRIPTS / "bench_lib" / "bench_probe"

FIRST_AUDIO_DELAY = 0.100
CHUNK_BYTES = 4800
SECONDS_PER_CHARACTER = 0.05  # The simulator's deterministic audio: 50 ms per character.
WAV_OPTIONS = {"preferred_format": "wav"}
LLM_CHARS_PER_SECOND = 40.0
SENTENCE_MARKS = "؟،؛.!?\n"
# Faults the soak injects: every failure, not the two that clients must simply tolerate.
SOAK_FAULTS = tuple(f for f in FAULTS if f not in {"odd_byte_chunks", "unknown_message_type"})
SOAK_FAULT_RATE = 0.2
SOAK_TIMEOUTS = {"connect": 2.0, "first_audio": 2.0, "idle": 2.0, "final_grace": 1.0}
REQUEST_BOUND = 30.0  # A request that has not finished by then is a hang.
MEMORY_EXPIRY_EVERY = 50
PHASES = ("warmup", "overhead", "concurrent", "throughput", "llm", "leaks", "soak")

SENTENCES = (
    "تم تشغيل الأضواء في غرفة المعيشة",
    "درجة الحرارة في الخارج ثلاثون درجة",
    "الباب الأمامي مقفل والإنذار يعمل",
    "سأذكرك بموعد الطبيب غدا صباحا",
    "المكيف مضبوط على اثنتين وعشرين درجة",
)
LLM_TEXT = (
    "قمت بتشغيل أضواء غرفة المعيشة وضبطت المكيف على اثنتين وعشرين درجة. "
    "هل تريد أن أطفئ أضواء المطبخ أيضا؟ يمكنني كذلك تذكيرك بموعدك غدا صباحا."
)
LLM_TEXT_QUICK = "قمت بتشغيل أضواء غرفة المعيشة. هل تريد شيئا آخر؟"

type Batch = Callable[[list[str]], Awaitable[list[Fetch]]]


class BenchError(Exception):
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


FULL = Sizes(60, 50, 4, 2000, 3, 5, 1000, 500, 8, 5)
QUICK = Sizes(3, 5, 1, 200, 1, 1, 20, 20, 4, 1)


# ---- text ---------------------------------------------------------------------------------------


def arabic_number(number: int) -> str:
    """Arabic-Indic digits, so every request's text (and HA's cache key) is unique."""
    return str(number).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))


class Texts:
    """A fresh, unique one-sentence text per call."""

    def __init__(self) -> None:
        """Start counting at one."""
        self._count = 0

    def next(self) -> str:
        """Return the next unique text (about 40 characters, 2 s of audio)."""
        self._count += 1
        return f"{SENTENCES[self._count % len(SENTENCES)]} {arabic_number(self._count)}."


def long_text(characters: int, suffix: str) -> str:
    """Sentences with marks (the entity splits them as it would) up to ``characters``."""
    parts: list[str] = []
    size = 0
    while size < characters:
        sentence = f"{SENTENCES[len(parts) % len(SENTENCES)]} {arabic_number(len(parts))}. "
        parts.append(sentence)
        size += len(sentence)
    return "".join(parts) + suffix


def llm_deltas(text: str) -> tuple[list[str], int]:
    """Split text like an LLM's tokens: a word with its leading space; marks on their own.

    Returns the deltas and the index of the first delta holding a sentence mark.
    """
    deltas = re.findall(r"\s*[^\s؟،؛.!?]+|[؟،؛.!?]+", text)
    if "".join(deltas) != text:
        raise BenchError("the LLM text does not split back into itself")
    mark_index = next(i for i, delta in enumerate(deltas) if set(delta) & set(SENTENCE_MARKS))
    return deltas, mark_index


# ---- statistics ---------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ms(seconds: float) -> float:
    """Seconds to milliseconds, rounded for the report."""
    return round(seconds * 1000, 2)


def spread(times: dict[str, list[float]]) -> dict[str, float]:
    """p50, p95 and max in ms of each named series."""
    return {
        f"{name}_ms_{label}": ms(percentile(values, fraction))
        for name, values in times.items()
        for label, fraction in (("p50", 0.5), ("p95", 0.95), ("max", 1.0))
    }


# ---- Home Assistant ----------------------------------------------------------------------------


class BenchHass(demo.Demo):
    """The demo's hass, onboarding and config flow, plus the bench's probe integration."""

    @override
    def write_config(self, port: int) -> None:
        super().write_config(port)
        config = self.config_dir / "configuration.yaml"
        with config.open("a", encoding="utf-8") as handle:
            handle.write("bench_probe:\n")
        probe = self.config_dir / "custom_components" / "bench_probe"
        probe.symlink_to(PROBE, target_is_directory=True)

    def hass_pid(self) -> int:
        """The pid of the hass process the demo started."""
        for name, process in self.children:
            if name == "hass":
                return process.pid
        raise BenchError("hass is not running")

    async def add_wyoming(self, http: demo.Http, port: int) -> str:
        """Add HA's wyoming integration for the local server; return its TTS entity."""
        result = await http.post_json(
            "/api/config/config_entries/flow",
            {"handler": "wyoming", "show_advanced_options": False},
        )
        if result.get("type") == "form":
            result = await http.post_json(
                f"/api/config/config_entries/flow/{result['flow_id']}",
                {"host": "127.0.0.1", "port": port},
            )
        if result.get("type") != "create_entry":
            raise BenchError(f"the wyoming config flow ended with {result}")
        entry_id = str(result["result"]["entry_id"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            registry = await http.websocket_command({"type": "config/entity_registry/list"})
            for item in registry:
                entity_id = str(item.get("entity_id", ""))
                if (
                    item.get("config_entry_id") == entry_id
                    and entity_id.startswith("tts.")
                    and await http.get_state(entity_id) not in ("", "unavailable")
                ):
                    self.say(f"Wyoming TTS entity {entity_id} is ready")
                    return entity_id
            await asyncio.sleep(0.25)
        raise BenchError("the wyoming entry has no usable TTS entity after 30 s")


def tcp_connections_to(pid: int, port: int) -> list[str]:
    """States of ``pid``'s own TCP sockets whose remote port is ``port`` (from /proc)."""
    inodes: set[str] = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    states = {"01": "ESTABLISHED", "02": "SYN_SENT", "06": "TIME_WAIT", "08": "CLOSE_WAIT"}
    found: list[str] = []
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text(encoding="ascii").splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port and fields[9] in inodes:
                found.append(states.get(fields[3], fields[3]))
    return found


def rss_mib(pid: int) -> float:
    """Resident set size of a process in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# ---- the bench ---------------------------------------------------------------------------------


class Bench:
    """One benchmark run: start everything, measure each phase, report."""

    def __init__(self, sizes: Sizes, seed: int, profile: str | None, only: frozenset[str]) -> None:
        """Prepare; nothing runs until ``run``."""
        self.sizes = sizes
        self.only = only
        self.random = random.Random(seed)
        self.profile = profile
        self.texts = Texts()
        self.config = SimulatorConfig(first_audio_delay=FIRST_AUDIO_DELAY, chunk_bytes=CHUNK_BYTES)
        self.sim = FaseehSimulator(self.config)
        self.hass = BenchHass("", LOG_DIR)
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self._worker_log: TextIO = (LOG_DIR / "raw-worker.log").open("w", encoding="utf-8")
        self.raw_clients = RawClients(Path(__file__).resolve(), self._worker_log)
        self.results: dict[str, Any] = {}
        self.details: dict[str, Any] = {}
        self._wyoming: asyncio.Server | None = None
        self.wyoming_port = 0
        self._session: aiohttp.ClientSession | None = None
        self._http: demo.Http | None = None
        self.entity = ""
        self.wyoming_entity = ""
        self.entry_id = ""

    @property
    def http(self) -> demo.Http:
        """HA's HTTP API with the owner's token."""
        assert self._http is not None
        return self._http

    def say(self, message: str) -> None:
        """A progress line."""
        self.hass.say(message)

    # ---- setup ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Simulator, Wyoming server, raw clients, hass; onboard; both entries; the entities."""
        await self.sim.start()
        self._wyoming, self.wyoming_port = await start_wyoming(self.config)
        await self.raw_clients.start()
        self.say(
            f"simulator at {self.sim.url}, Wyoming server at tcp://127.0.0.1:{self.wyoming_port}"
            ", raw clients in their own process"
        )
        base = await self.hass.start_hass()
        self._session = aiohttp.ClientSession()
        self._http = demo.Http(self._session, base)
        await self.hass.onboard(self.http)
        service = demo.Service("the bench simulator", DEFAULT_API_KEY, "custom", self.sim.url)
        entry = await self.hass.add_entry(self.http, service)
        self.entry_id = str(entry["entry_id"])
        self.entity = await self.hass.find_entity(self.http, self.entry_id)
        self.wyoming_entity = await self.hass.add_wyoming(self.http, self.wyoming_port)

    async def stop(self, outcome: int) -> None:
        """Stop everything this run started."""
        if self._session is not None:
            await self._session.close()
        await self.hass.stop_everything(outcome)
        await self.raw_clients.stop()
        self._worker_log.close()
        if self._wyoming is not None:
            self._wyoming.close()
            self._wyoming.close_clients()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wyoming.wait_closed(), 5)
        await self.sim.stop()

    # ---- requests -------------------------------------------------------------------------------

    async def ha_once(self, engine: str, text: str, *, cache: bool = False) -> Fetch:
        """POST /api/tts_get_url, then GET its URL as a media player would; times from the POST."""
        fetch = Fetch()
        headers = {"Authorization": f"Bearer {self.http.token}"}
        session = self.http.session
        body = {"engine_id": engine, "message": text, "cache": cache, "options": WAV_OPTIONS}
        started = fetch.started = time.perf_counter()
        try:
            async with asyncio.timeout(REQUEST_BOUND):
                async with session.post(
                    f"{self.http.base}/api/tts_get_url", json=body, headers=headers
                ) as response:
                    answer = await response.json()
                fetch.answered = time.perf_counter() - started
                if response.status != 200:
                    fetch.status = response.status
                    fetch.error = f"tts_get_url answered {response.status}: {answer}"
                    return fetch
                async with session.get(f"{self.http.base}{answer['path']}") as response:
                    fetch.status = response.status
                    parts: list[bytes] = []
                    async for data in response.content.iter_any():
                        if fetch.first_byte is None:
                            fetch.first_byte = time.perf_counter() - started
                        parts.append(data)
                    fetch.body = b"".join(parts)
        except TimeoutError:
            fetch.error = "hang"
        except aiohttp.ClientError as err:
            fetch.error = f"{type(err).__name__}: {err}"
        fetch.total = time.perf_counter() - started
        return fetch

    async def ha_many(self, engine: str, texts: list[str]) -> list[Fetch]:
        """One HA request per text, all at once."""
        return list(await asyncio.gather(*(self.ha_once(engine, text) for text in texts)))

    def paths(self) -> dict[str, Batch]:
        """The four ways to the same audio: a raw client, and HA in front of each service."""
        return {
            "raw": lambda texts: self.raw_clients.run("ws", self.sim.ws_url, texts),
            "faseeh": lambda texts: self.ha_many(self.entity, texts),
            "raw_wyoming": lambda texts: self.raw_clients.run("wyoming", self.wyoming_port, texts),
            "wyoming": lambda texts: self.ha_many(self.wyoming_entity, texts),
        }

    async def probe(self, command: dict[str, Any]) -> Any:
        """One bench_probe websocket command."""
        return await self.http.websocket_command(command)

    @contextlib.asynccontextmanager
    async def profiled(self, phase: str) -> AsyncIterator[None]:
        """Run pyinstrument inside hass around a phase when --profile names it."""
        if self.profile != phase:
            yield
            return
        path = LOG_DIR / f"profile-{phase}.txt"
        await self.probe({"type": "bench_probe/profile", "action": "start"})
        try:
            yield
        finally:
            await self.probe({"type": "bench_probe/profile", "action": "stop", "path": str(path)})
            self.say(f"profile of {phase!r} written to {path} (and .html)")

    # ---- phases ---------------------------------------------------------------------------------

    async def warm_up(self) -> None:
        """First requests pay for imports and connection set-up; they are not measured."""
        for _ in range(self.sizes.warmup):
            text = self.texts.next()
            for name, path in self.paths().items():
                (fetch,) = await path([text])
                if (verdict := fetch.check(text)) != "exact":
                    raise BenchError(f"warm-up via {name}: {verdict} audio ({fetch.error})")

    async def overhead(self) -> None:
        """The four paths for the same text, one after another, in a rotating order."""
        self.config.first_audio_delay = FIRST_AUDIO_DELAY
        paths = self.paths()
        times: dict[str, list[float]] = {name: [] for name in paths}
        order = list(paths)
        for run in range(self.sizes.overhead_runs):
            text = self.texts.next()
            shift = run % len(order)
            for name in order[shift:] + order[:shift]:
                (fetch,) = await paths[name]([text])
                verdict = fetch.check(text)
                if verdict != "exact" or fetch.first_byte is None:
                    raise BenchError(f"overhead run {run} via {name}: {verdict} ({fetch.error})")
                times[name].append(fetch.first_byte)
        self._overheads("first_audio_overhead", times["faseeh"], times["raw"])
        self._overheads("wyoming_first_audio_overhead", times["wyoming"], times["raw_wyoming"])
        self.details["overhead"] = {
            "runs_each": len(times["raw"]),
            "measured_from": {
                "faseeh, wyoming": "POST /api/tts_get_url to the first body byte of the GET of "
                "its /api/tts_proxy URL (preferred_format wav: no ffmpeg), cache off",
                "raw": "ws_connect to the first audio frame (initConnection, its reply, the text "
                "with flush, closeConnection)",
                "raw_wyoming": "TCP connect to the first AudioChunk (one Synthesize event)",
            },
            "overhead_is": "a percentile of HA's times minus the same percentile of the raw "
            "client of the same service",
            **spread(times),
        }

    def _overheads(self, key: str, ha: list[float], raw: list[float]) -> None:
        self.results[f"{key}_ms_p50"] = ms(percentile(ha, 0.5) - percentile(raw, 0.5))
        self.results[f"{key}_ms_p95"] = ms(percentile(ha, 0.95) - percentile(raw, 0.95))

    async def concurrent(self) -> None:
        """Rounds of N simultaneous requests per path, order rotating; every body byte-exact.

        hass collects its garbage before each round (the probe): otherwise the full collection
        that the earlier phases made due (~160 ms on this heap) lands in whichever round
        crosses the threshold first, and decides the p95 of that path alone.
        """
        self.config.first_audio_delay = FIRST_AUDIO_DELAY
        count = self.sizes.concurrent
        paths = self.paths()
        order = list(paths)
        times: dict[str, list[float]] = {name: [] for name in paths}
        round_p95: dict[str, list[float]] = {name: [] for name in paths}
        verdicts: dict[str, Counter[str]] = {name: Counter() for name in paths}
        full_collection: list[float] = []
        for number in range(self.sizes.concurrent_rounds):
            shift = number % len(order)
            for name in order[shift:] + order[:shift]:
                stats = await self.probe({"type": "bench_probe/stats", "collect_garbage": True})
                full_collection.append(stats["last_full_collection_s"])
                texts = [self.texts.next() for _ in range(count)]
                fetches = await paths[name](texts)
                for fetch, text in zip(fetches, texts, strict=True):
                    verdicts[name][fetch.check(text)] += 1
                firsts = [fetch.first_byte for fetch in fetches if fetch.first_byte is not None]
                times[name] += firsts
                round_p95[name].append(ms(percentile(firsts, 0.95)))
        self.results["concurrent_50_byte_exact"] = set(verdicts["faseeh"]) == {"exact"}
        self.results["concurrent_50_overhead_ms_p95"] = ms(
            percentile(times["faseeh"], 0.95) - percentile(times["raw"], 0.95)
        )
        self.details["concurrent"] = {
            "clients": count,
            "rounds": self.sizes.concurrent_rounds,
            "order": "each round: N at once on each path in turn, the order rotating per round",
            "overhead_is": "p95 of all HA first bytes minus p95 of all raw first audio frames",
            "gc": "hass collects garbage before each batch; a full collection of its heap "
            f"takes {ms(percentile(full_collection, 0.5))} ms (median), the pause any request "
            "in flight would see when HA's own collector runs one",
            "verdicts": {name: dict(counts) for name, counts in verdicts.items()},
            "wyoming_overhead_ms_p95": ms(
                percentile(times["wyoming"], 0.95) - percentile(times["raw_wyoming"], 0.95)
            ),
            "p95_ms_of_each_round": round_p95,
            **spread(times),
        }

    async def throughput(self) -> None:
        """A long text, simulator unthrottled and no delay: audio seconds per wall second."""
        self.config.first_audio_delay = 0.0
        self.config.realtime_factor = None
        rates: dict[str, list[float]] = {"raw": [], "faseeh": []}
        paths = self.paths()
        try:
            for run in range(self.sizes.throughput_runs):
                for name, values in rates.items():
                    # A new text each time: HA's memory cache would answer a repeat at once.
                    text = long_text(self.sizes.throughput_chars, f"{name} {arabic_number(run)}.")
                    (fetch,) = await paths[name]([text])
                    if (verdict := fetch.check(text)) != "exact":
                        raise BenchError(f"throughput via {name}: {verdict} ({fetch.error})")
                    values.append(len(text) * SECONDS_PER_CHARACTER / fetch.total)
        finally:
            self.config.first_audio_delay = FIRST_AUDIO_DELAY
        self.results["throughput_x_realtime"] = round(percentile(rates["faseeh"], 0.5), 1)
        self.details["throughput"] = {
            "characters": self.sizes.throughput_chars,
            "audio_seconds": self.sizes.throughput_chars * SECONDS_PER_CHARACTER,
            "measured": "audio seconds / (POST /api/tts_get_url to the last body byte); median",
            "faseeh_x_realtime_each": [round(rate, 1) for rate in rates["faseeh"]],
            "raw_x_realtime_each": [round(rate, 1) for rate in rates["raw"]],
        }

    async def llm(self) -> None:
        """Deltas at ~40 characters a second; first sentence mark to first audio, minus delay."""
        self.config.first_audio_delay = FIRST_AUDIO_DELAY
        text = LLM_TEXT if self.sizes.llm_runs > 1 else LLM_TEXT_QUICK
        deltas, mark_index = llm_deltas(text)
        pcm = expected_pcm(text)
        values: list[float] = []
        for run in range(self.sizes.llm_runs):
            result = await self.probe(
                {
                    "type": "bench_probe/llm",
                    "entity_id": self.entity,
                    "deltas": deltas,
                    "mark_index": mark_index,
                    "chars_per_second": LLM_CHARS_PER_SECOND,
                }
            )
            if result["error"]:
                raise BenchError(f"LLM run {run}: {result['error']}")
            if (
                not wav_header_ok(bytes.fromhex(result["header"]))
                or result["bytes"] != WAV_HEADER_BYTES + len(pcm)
                or result["pcm_sha256"] != hashlib.sha256(pcm).hexdigest()
            ):
                raise BenchError(f"LLM run {run}: not the text's audio ({result['bytes']} bytes)")
            values.append(result["mark_to_first_audio"] - FIRST_AUDIO_DELAY)
        self.results["llm_first_audio_after_first_sentence_ms"] = ms(percentile(values, 0.5))
        self.details["llm"] = {
            "runs": len(values),
            "deltas": len(deltas),
            "first_mark_delta": deltas[mark_index],
            "next_delta": deltas[mark_index + 1] if mark_index + 1 < len(deltas) else None,
            "chars_per_second": LLM_CHARS_PER_SECOND,
            "ms_each": [ms(value) for value in values],
            "measured": "inside HA (bench_probe): the yield of the delta holding the first "
            "sentence mark to the first audio byte of the stream's result, minus the "
            "simulator's first-audio delay; median; the whole audio is checked byte for byte",
        }

    async def leaks(self) -> None:
        """1,000 sequential syntheses with the cache off: RSS, tasks and sockets of hass."""
        self.config.first_audio_delay = 0.0
        pid = self.hass.hass_pid()
        try:
            for _ in range(max(self.sizes.warmup, 20)):
                await self.ha_once(self.entity, self.texts.next())
            await asyncio.sleep(0.5)
            before = await self.probe({"type": "bench_probe/stats", "expire_tts_memory": True})
            rss_before = rss_mib(pid)
            sockets_before = tcp_connections_to(pid, self.sim.port)
            failures: Counter[str] = Counter()
            for run in range(self.sizes.leak_runs):
                text = self.texts.next()
                fetch = await self.ha_once(self.entity, text)
                if (verdict := fetch.check(text)) != "exact":
                    failures[verdict] += 1
                if (run + 1) % MEMORY_EXPIRY_EVERY == 0:
                    await self.probe({"type": "bench_probe/stats", "expire_tts_memory": True})
            await asyncio.sleep(1.0)
            after = await self.probe({"type": "bench_probe/stats", "expire_tts_memory": True})
        finally:
            self.config.first_audio_delay = FIRST_AUDIO_DELAY
        rss_after = rss_mib(pid)
        sockets_after = tcp_connections_to(pid, self.sim.port)
        self.results["rss_growth_mb_1000"] = round(rss_after - rss_before, 2)
        self.results["leaked_sockets"] = len(sockets_after) + self.sim.open_sessions()
        self.results["leaked_tasks"] = max(0, after["tasks"] - before["tasks"])
        added = Counter(after["task_names"])
        added.subtract(Counter(before["task_names"]))
        self.details["leaks"] = {
            "runs": self.sizes.leak_runs,
            "failed_runs": dict(failures),
            "rss_mib_before": round(rss_before, 1),
            "rss_mib_after": round(rss_after, 1),
            "tasks_before": before["tasks"],
            "tasks_after": after["tasks"],
            "task_names_added": {name: n for name, n in added.items() if n > 0},
            "hass_sockets_to_simulator_before": sockets_before,
            "hass_sockets_to_simulator_after": sockets_after,
            "simulator_open_sessions": self.sim.open_sessions(),
            "memory_note": "HA keeps every result in memory for time_memory (300 s); the probe "
            f"expires that memory every {MEMORY_EXPIRY_EVERY} requests and before each "
            "measurement, then collects garbage and trims malloc, so RSS shows what is still "
            "referenced",
        }

    async def soak(self) -> None:
        """Overlapping requests, 20 % of them with a random failure fault; cache on."""
        self.config.first_audio_delay = 0.0
        await self.probe(
            {"type": "bench_probe/timeouts", "entry_id": self.entry_id, **SOAK_TIMEOUTS}
        )
        outcomes: Counter[str] = Counter()
        unexpected: list[str] = []
        without_effect: list[str] = []
        texts: dict[str, str] = {}
        start_lock = asyncio.Lock()
        limit = asyncio.Semaphore(self.sizes.soak_concurrency)

        async def one(number: int) -> None:
            fault = (
                self.random.choice(SOAK_FAULTS) if self.random.random() < SOAK_FAULT_RATE else None
            )
            text = self.texts.next()
            texts[hashlib.sha1(text.encode()).hexdigest()] = text
            async with limit:
                # One request at a time reaches its handshake, so the plan's order is exact.
                async with start_lock:
                    seen = len(self.sim.ws_sessions)
                    self.sim.connection_faults.append(fault)
                    request = asyncio.create_task(self.ha_once(self.entity, text, cache=True))
                    if not await self.sim.sessions_started(seen + 1, 5.0):
                        with contextlib.suppress(ValueError):
                            self.sim.connection_faults.remove(fault)
                        fault = "no-handshake"
                fetch = await request
            verdict = fetch.check(text)
            outcomes[f"{fault or 'none'}: {verdict}"] += 1
            # Faults that HA reports as errors: HTTP 500 before audio, a cut body after it.
            # A request without a fault, or one whose fault the client recovers from over HTTP
            # (silent), must be exact; nothing may ever be wrong audio or hang.
            if (fault in (None, "silent") and verdict != "exact") or verdict in ("wrong", "hang"):
                unexpected.append(f"request {number} ({fault or 'no fault'}): {verdict}")
            elif fault not in (None, "silent") and verdict == "exact":
                # Not an error, but a fault that changed nothing means it was not applied.
                without_effect.append(f"request {number} ({fault})")

        try:
            await asyncio.gather(*(one(number) for number in range(self.sizes.soak_runs)))
        finally:
            self.config.first_audio_delay = FIRST_AUDIO_DELAY
        cached = await self._cached_files(texts)
        self.results["soak_500_hangs"] = sum(n for k, n in outcomes.items() if k.endswith("hang"))
        self.results["soak_500_unexpected_errors"] = sum(
            not item.endswith(": hang") for item in unexpected
        )
        self.results["soak_500_truncated_cached"] = sum(v != "exact" for v in cached.values())
        await self.sim.all_sessions_closed(within=5.0)
        self.details["soak"] = {
            "requests": self.sizes.soak_runs,
            "concurrency": self.sizes.soak_concurrency,
            "fault_rate": SOAK_FAULT_RATE,
            "faults_drawn_from": list(SOAK_FAULTS),
            "client_timeouts_set_by_probe": SOAK_TIMEOUTS,
            "outcomes": dict(sorted(outcomes.items())),
            "unexpected": unexpected[:20],
            "faults_without_effect": without_effect[:20],
            "cached_files": dict(Counter(cached.values())),
            "simulator_open_sessions": self.sim.open_sessions(),
        }

    async def _cached_files(self, texts: dict[str, str]) -> dict[str, str]:
        """Each cached WAV of a soak text, checked against the text's audio."""
        cache_dir = self.hass.config_dir / "tts"
        files: list[Path] = []
        previous = -1
        for _ in range(50):  # HA writes the files in the background; wait until they settle.
            files = sorted(cache_dir.glob("*.wav")) if cache_dir.exists() else []
            if len(files) == previous:
                break
            previous = len(files)
            await asyncio.sleep(0.2)
        verdicts: dict[str, str] = {}
        for path in files:
            text = texts.get(path.name.split("_", 1)[0])
            if text is not None:
                verdicts[path.name] = check_wav(path.read_bytes(), text)
        return verdicts

    # ---- the whole run -------------------------------------------------------------------------

    async def run(self) -> None:
        """Every phase in order (or those --only names, after the warm-up)."""
        await self.start()
        phases: dict[str, Callable[[], Awaitable[None]]] = {
            "warmup": self.warm_up,
            "overhead": self.overhead,
            "concurrent": self.concurrent,
            "throughput": self.throughput,
            "llm": self.llm,
            "leaks": self.leaks,
            "soak": self.soak,
        }
        for name, phase in phases.items():
            if self.only and name not in self.only and name != "warmup":
                continue
            started = time.monotonic()
            await self.probe({"type": "bench_probe/stats", "reset_gc_pauses": True})
            async with self.profiled(name):
                await phase()
            stats = await self.probe({"type": "bench_probe/stats", "reset_gc_pauses": True})
            elapsed = time.monotonic() - started
            self.details.setdefault("phase_seconds", {})[name] = round(elapsed, 1)
            self.details.setdefault("hass_gc_pauses_ms", {})[name] = [
                f"gen{generation}: {pause * 1000:.0f}" for generation, pause in stats["gc_pauses"]
            ]
            self.say(f"{name} done in {elapsed:.1f} s")


# ---- report -------------------------------------------------------------------------------------


type Check = Callable[[dict[str, Any], str], bool]


def _at_most(limit: float) -> Check:
    return lambda results, key: results[key] <= limit


def _not_above(other: str) -> Check:
    return lambda results, key: results[key] <= results.get(other, results[key])


# Per metric: its goal, as (label, check) pairs; a metric meets its goal when every check holds.
GOALS: dict[str, list[tuple[str, Check]]] = {
    "first_audio_overhead_ms_p50": [
        ("<= 5", _at_most(5)),
        ("<= Wyoming's", _not_above("wyoming_first_audio_overhead_ms_p50")),
    ],
    "first_audio_overhead_ms_p95": [
        ("<= 15", _at_most(15)),
        ("<= Wyoming's", _not_above("wyoming_first_audio_overhead_ms_p95")),
    ],
    "wyoming_first_audio_overhead_ms_p50": [],
    "wyoming_first_audio_overhead_ms_p95": [],
    "llm_first_audio_after_first_sentence_ms": [("<= 10", _at_most(10))],
    "throughput_x_realtime": [(">= 1000", lambda results, key: results[key] >= 1000)],
    "concurrent_50_byte_exact": [("true", lambda results, key: results[key] is True)],
    "concurrent_50_overhead_ms_p95": [("<= 25", _at_most(25))],
    "rss_growth_mb_1000": [("<= 5", _at_most(5))],
    "leaked_sockets": [("0", _at_most(0))],
    "leaked_tasks": [("0", _at_most(0))],
    "soak_500_hangs": [("0", _at_most(0))],
    "soak_500_unexpected_errors": [("0", _at_most(0))],
    "soak_500_truncated_cached": [("0", _at_most(0))],
}


def goals(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(metric, goal, verdict) for every measured key the issue asks about."""
    rows: list[tuple[str, str, str]] = []
    for key, checks in GOALS.items():
        if key not in results:
            continue
        missed = [label for label, check in checks if not check(results, key)]
        goal = ", ".join(label for label, _ in checks) or "(reference)"
        rows.append((key, goal, f"MISSED {', '.join(missed)}" if missed else "ok"))
    return rows


NOTES = (
    "overhead: HA = POST /api/tts_get_url -> first body byte of its /api/tts_proxy GET (wav);\n"
    "          raw = connect -> first audio frame of a minimal client of the same service, in\n"
    "          its own process; same text, runs interleaved; percentile(HA) - percentile(raw).\n"
    "concurrent: hass collects its garbage before each batch of 50 (HA's own full collection of\n"
    "          its heap pauses every request in flight for ~160 ms wherever it lands).\n"
    "llm: timed inside hass (bench_probe), token-like deltas at 40 characters a second.\n"
    f"simulator: first-audio delay {FIRST_AUDIO_DELAY * 1000:.0f} ms, {CHUNK_BYTES}-byte frames, "
    f"{SAMPLE_RATE} Hz, unthrottled; details in the JSON."
)


def table(results: dict[str, Any]) -> str:
    """The results as a fixed-width table."""
    header = ("metric", "value", "goal", "")
    rows = [header] + [
        (metric, str(results[metric]), goal, verdict) for metric, goal, verdict in goals(results)
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


async def _main(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    bench = Bench(
        QUICK if args.quick else FULL, args.seed, args.profile, frozenset(args.only or ())
    )
    outcome = 1
    started = time.monotonic()
    try:
        await bench.run()
        outcome = 0
    except (BenchError, demo.DemoError) as err:
        print(f"\nBENCH FAILED: {err}", file=sys.stderr, flush=True)
    except asyncio.CancelledError:
        task.uncancel()
        print("\nBENCH INTERRUPTED; stopping what it started", file=sys.stderr, flush=True)
        outcome = 130
    except Exception:
        trace = traceback.format_exc()
        print(f"\nBENCH FAILED unexpectedly:\n{trace}", file=sys.stderr, flush=True)
    finally:
        await bench.stop(outcome)
    if outcome != 0:
        return outcome
    elapsed = time.monotonic() - started
    document = {
        **bench.results,
        "details": {
            "mode": "quick" if args.quick else "full",
            "seconds": round(elapsed, 1),
            "simulator": {
                "first_audio_delay_s": FIRST_AUDIO_DELAY,
                "chunk_bytes": CHUNK_BYTES,
                "sample_rate": SAMPLE_RATE,
                "realtime_factor": None,
            },
            **bench.details,
        },
    }
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    args.output.write_text(text, encoding="utf-8")
    print(f"\n{table(bench.results)}\n\n{NOTES}")
    mode = "(quick) " if args.quick else ""
    print(f"\nBench {mode}finished in {elapsed:.1f} s; results in {demo.shown_path(args.output)}")
    return 0


def main() -> int:
    """Parse the command line and run the bench (or, internally, its raw-client worker)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny run, for the smoke test")
    parser.add_argument("--seed", type=int, default=20261004, help="the soak's fault plan seed")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="where the JSON goes")
    parser.add_argument(
        "--profile", choices=PHASES, help="profile this phase inside hass with pyinstrument"
    )
    parser.add_argument(
        "--only", nargs="+", choices=PHASES, help="run only these phases (after the warm-up)"
    )
    parser.add_argument("--raw-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_worker:
        asyncio.run(worker_main())
        return 0
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main())
