"""leaks: sequential syntheses with the cache off: RSS, asyncio tasks and sockets of hass.

Keys: rss_growth_mb_1000, leaked_sockets, leaked_tasks.
"""

from __future__ import annotations

import asyncio
from collections import Counter
import contextlib
import os
from pathlib import Path

from ..context import FIRST_AUDIO_DELAY, Bench

MEMORY_EXPIRY_EVERY = 50


async def measure(bench: Bench) -> None:
    """1,000 sequential syntheses with the cache off: RSS, tasks and sockets of hass."""
    bench.config.first_audio_delay = 0.0
    pid = bench.hass.pid
    try:
        for _ in range(max(bench.sizes.warmup, 20)):
            await bench.ha_once(bench.entity, bench.texts.next())
        await asyncio.sleep(0.5)
        before = await bench.probe({"type": "bench_probe/stats", "expire_tts_memory": True})
        rss_before = rss_mib(pid)
        sockets_before = tcp_connections_to(pid, bench.sim.port)
        failures: Counter[str] = Counter()
        for run in range(bench.sizes.leak_runs):
            text = bench.texts.next()
            fetch = await bench.ha_once(bench.entity, text)
            if (verdict := fetch.verdict) != "exact":
                failures[verdict] += 1
            if (run + 1) % MEMORY_EXPIRY_EVERY == 0:
                await bench.probe({"type": "bench_probe/stats", "expire_tts_memory": True})
        await asyncio.sleep(1.0)
        after = await bench.probe({"type": "bench_probe/stats", "expire_tts_memory": True})
    finally:
        bench.config.first_audio_delay = FIRST_AUDIO_DELAY
    rss_after = rss_mib(pid)
    sockets_after = tcp_connections_to(pid, bench.sim.port)
    bench.results["rss_growth_mb_1000"] = round(rss_after - rss_before, 2)
    bench.results["leaked_sockets"] = len(sockets_after) + bench.sim.open_sessions()
    bench.results["leaked_tasks"] = max(0, after["tasks"] - before["tasks"])
    added = Counter(after["task_names"])
    added.subtract(Counter(before["task_names"]))
    bench.details["leaks"] = {
        "runs": bench.sizes.leak_runs,
        "failed_runs": dict(failures),
        "rss_mib_before": round(rss_before, 1),
        "rss_mib_after": round(rss_after, 1),
        "tasks_before": before["tasks"],
        "tasks_after": after["tasks"],
        "task_names_added": {name: n for name, n in added.items() if n > 0},
        "hass_sockets_to_simulator_before": sockets_before,
        "hass_sockets_to_simulator_after": sockets_after,
        "simulator_open_sessions": bench.sim.open_sessions(),
        "memory_note": "HA keeps every result in memory for time_memory (300 s); the probe "
        f"expires that memory every {MEMORY_EXPIRY_EVERY} requests and before each "
        "measurement, then collects garbage and trims malloc, so RSS shows what is still "
        "referenced",
    }


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
