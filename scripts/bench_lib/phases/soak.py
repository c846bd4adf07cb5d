"""soak: overlapping requests, 20 % of them with a random failure fault, cache on.

The spare socket is off here: each request's fault is planned for the connection it opens,
and a spare opened on one request's hint may serve another. tests/client/test_spare.py covers
faults on a spare.

Keys: soak_500_hangs, soak_500_unexpected_errors, soak_500_truncated_cached.
"""

from __future__ import annotations

import asyncio
from collections import Counter
import contextlib
import hashlib
from pathlib import Path

from custom_components.faseeh.const import (
    CONF_MODEL,
    CONF_SPARE_SOCKET,
    CONF_VOICE,
    DEFAULT_MODEL,
    DEFAULT_VOICE,
)
from harness.api import FlowKind
from simulator import TTS_FAULTS, Effect, Fault

from ..context import FIRST_AUDIO_DELAY, Bench
from ..verdicts import wav_verdict

# Faults the soak injects: every failure. Not the harmless faults, and not a silent socket:
# after one, the account's client sends everything over HTTP for 30 minutes
# (client/transport.py), so no later request would meet its fault. The speech phase measures
# the silent socket. Not "too many at once" either: the client asks again on a fresh socket
# (docs/protocol.md §10), and that socket would take the fault planned for the next request;
# tests/client/test_speech_path.py covers the retry.
SOAK_FAULTS = tuple(
    fault
    for fault in TTS_FAULTS
    if fault.effect not in (Effect.HARMLESS, Effect.SILENT_SOCKET)
    and fault not in (Fault.RATE_LIMIT, Fault.RATE_LIMIT_HANDSHAKE)
)
SOAK_FAULT_RATE = 0.2
SOAK_TIMEOUTS = {"connect": 2.0, "first_audio": 2.0, "idle": 2.0, "final_grace": 1.0}


async def measure(bench: Bench) -> None:
    """Overlapping requests, 20 % of them with a random failure fault; cache on."""
    bench.config.first_audio_delay = 0.0
    await bench.probe({"type": "bench_probe/timeouts", "entry_id": bench.entry_id, **SOAK_TIMEOUTS})
    outcomes: Counter[str] = Counter()
    unexpected: list[str] = []
    without_effect: list[str] = []
    texts: dict[str, str] = {}
    start_lock = asyncio.Lock()
    limit = asyncio.Semaphore(bench.sizes.soak_concurrency)

    async def one(number: int) -> None:
        fault: str | None = (
            bench.random.choice(SOAK_FAULTS) if bench.random.random() < SOAK_FAULT_RATE else None
        )
        text = bench.texts.next()
        texts[hashlib.sha1(text.encode()).hexdigest()] = text
        async with limit:
            # One request at a time reaches its handshake, so the plan's order is exact.
            async with start_lock:
                seen = len(bench.sim.ws_sessions)
                bench.sim.connection_faults.append(fault)
                request = asyncio.create_task(bench.ha_once(bench.entity, text, cache=True))
                if not await bench.sim.sessions_started(seen + 1, 5.0):
                    with contextlib.suppress(ValueError):
                        bench.sim.connection_faults.remove(fault)
                    fault = "no-handshake"
            fetch = await request
        verdict = fetch.verdict
        outcomes[f"{fault or 'none'}: {verdict}"] += 1
        # Faults that HA reports as errors: HTTP 500 before audio, a cut body after it.
        # A request without a fault, or one whose fault the client recovers from over HTTP
        # (silent), must be exact; nothing may ever be wrong audio or hang.
        if (fault in (None, "silent") and verdict != "exact") or verdict in ("wrong", "hang"):
            unexpected.append(f"request {number} ({fault or 'no fault'}): {verdict}")
        elif fault not in (None, "silent") and verdict == "exact":
            # Not an error, but a fault that changed nothing means it was not applied.
            without_effect.append(f"request {number} ({fault})")

    await _keep_spare_socket(bench, on=False)
    try:
        await asyncio.gather(*(one(number) for number in range(bench.sizes.soak_runs)))
    finally:
        bench.config.first_audio_delay = FIRST_AUDIO_DELAY
        await _keep_spare_socket(bench, on=True)
    cached = await _cached_files(bench, texts)
    bench.results["soak_500_hangs"] = sum(n for k, n in outcomes.items() if k.endswith("hang"))
    bench.results["soak_500_unexpected_errors"] = sum(
        not item.endswith(": hang") for item in unexpected
    )
    bench.results["soak_500_truncated_cached"] = sum(v != "exact" for v in cached.values())
    await bench.sim.all_sessions_closed(within=5.0)
    bench.details["soak"] = {
        "requests": bench.sizes.soak_runs,
        "concurrency": bench.sizes.soak_concurrency,
        "fault_rate": SOAK_FAULT_RATE,
        "faults_drawn_from": list(SOAK_FAULTS),
        "client_timeouts_set_by_probe": SOAK_TIMEOUTS,
        "outcomes": dict(sorted(outcomes.items())),
        "unexpected": unexpected[:20],
        "faults_without_effect": without_effect[:20],
        "cached_files": dict(Counter(cached.values())),
        "simulator_open_sessions": bench.sim.open_sessions(),
    }


async def _keep_spare_socket(bench: Bench, *, on: bool) -> None:
    """Switch the spare socket through the options flow (the bench's entry has the defaults)."""
    options = {CONF_VOICE: DEFAULT_VOICE, CONF_MODEL: DEFAULT_MODEL, CONF_SPARE_SOCKET: on}
    await bench.api.run_flow(
        FlowKind.OPTIONS, {"handler": bench.entry_id}, {"init": options}, announce=False
    )


async def _cached_files(bench: Bench, texts: dict[str, str]) -> dict[str, str]:
    """Each cached WAV of a soak text, checked against the text's audio."""
    cache_dir = bench.hass.config_dir / "tts"
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
            verdicts[path.name] = wav_verdict(path.read_bytes(), text)
    return verdicts
