"""Benchmark: what Home Assistant and the Faseeh integration add on top of the service.

One run on this machine against the Faseeh simulator (in this process; fixed first-audio delay)
and a real `hass` process, started, onboarded and configured over HTTP by harness/. The raw
clients, and the HA fetches the overhead, concurrent and throughput phases compare them with,
run in a worker process of their own: they reach the services across a process boundary
exactly as `hass` does, and no consumer shares a loop with the simulator it reads from.

- overhead: the same text through a minimal raw WebSocket client, through HA (POST
  /api/tts_get_url, then the GET of its /api/tts_proxy URL, WAV so no ffmpeg is in the path),
  through a minimal raw Wyoming client and through HA's core `wyoming` TTS integration against
  a local Wyoming server answering with the same PCM after the same delay; runs interleaved;
- concurrent: rounds of 50 simultaneous requests on each path, every body checked byte for byte;
  a round's p95 minus its raw client's, the median over rounds;
- throughput: a long text with the simulator unthrottled;
- llm: an LLM-like delta stream (~40 characters a second) into the entity, timed inside HA by a
  bench-only probe integration (scripts/bench_lib/bench_probe, linked into the config dir);
- voice: the Arabic voice loop through an Assist pipeline (our STT, HA's built-in agent, our
  TTS): the end of the input to the transcript and to the answer's first audio;
- leaks: 1,000 sequential syntheses, cache off: RSS, asyncio tasks and sockets of `hass`;
- soak: 500 overlapping requests, 20 % of them with a random failure fault, cache on;
- wan: first audio in round trips with a delay proxy (harness.wan) between hass and each
  service, 100 ms RTT (TLS not emulated): cold, an Assist answer, the HTTP transport, Wyoming.

Each phase is a module of scripts/bench_lib/phases/. Prints a table and writes bench-results.json
at the repository root.
Usage: ./scripts/bench [--quick] [--wan RTT_MS] [--only PHASE ...] [--profile PHASE] [--seed N]
       [--output PATH]
--wan RTT_MS runs the warm-up and the wan phase at that round-trip time (add --only for more).
(or .venv/bin/python -m scripts.bench ... from the repository root)
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
import sys
import time

from harness.console import Console
from harness.processes import shown_path
from harness.runner import PASSED, run_job

from .bench_lib.context import CHUNK_BYTES, FIRST_AUDIO_DELAY, FULL, QUICK, Bench
from .bench_lib.phases import ALWAYS, PHASES
from .bench_lib.report import NOTES, table
from .bench_lib.verdicts import SAMPLE_RATE

RESULTS_PATH = Path(__file__).resolve().parent.parent / "bench-results.json"


async def run_phases(bench: Bench, only: frozenset[str], profile: str | None) -> None:
    """Start everything, then every phase in order (or those only names, after the warm-up)."""
    await bench.start()
    for name, measure in PHASES.items():
        if only and name not in only and name != ALWAYS:
            continue
        started = time.monotonic()
        await bench.probe({"type": "bench_probe/stats", "reset_gc_pauses": True})
        async with bench.profiled(name, profile):
            await measure(bench)
        stats = await bench.probe({"type": "bench_probe/stats", "reset_gc_pauses": True})
        elapsed = time.monotonic() - started
        bench.details.setdefault("phase_seconds", {})[name] = round(elapsed, 1)
        bench.details.setdefault("hass_gc_pauses_ms", {})[name] = [
            f"gen{generation}: {pause * 1000:.0f}" for generation, pause in stats["gc_pauses"]
        ]
        bench.say(f"{name} done in {elapsed:.1f} s")


async def _main(args: argparse.Namespace) -> int:
    console = Console()
    wan_rtt = None if args.wan is None else args.wan / 1000
    bench = Bench(QUICK if args.quick else FULL, args.seed, console, wan_rtt)
    only = frozenset(args.only or ()) | ({"wan"} if args.wan is not None else set())
    outcome = await run_job(
        "BENCH", console, lambda: run_phases(bench, only, args.profile), bench.stop
    )
    if outcome != PASSED:
        return outcome
    elapsed = console.elapsed()
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
    print(f"\nBench {mode}finished in {elapsed:.1f} s; results in {shown_path(args.output)}")
    return 0


def _round_trip_ms(text: str) -> float:
    value = float(text)
    if not 0 < value <= 2000:
        raise argparse.ArgumentTypeError("a round-trip time in ms, above 0 and at most 2000")
    return value


def main() -> int:
    """Parse the command line and run the bench."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny run, for the smoke test")
    parser.add_argument("--seed", type=int, default=20261004, help="the soak's fault plan seed")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="where the JSON goes")
    parser.add_argument(
        "--wan",
        type=_round_trip_ms,
        metavar="RTT_MS",
        help="only the WAN phase (after the warm-up), at this round-trip time in ms",
    )
    parser.add_argument(
        "--profile", choices=list(PHASES), help="profile this phase inside hass with pyinstrument"
    )
    parser.add_argument(
        "--only", nargs="+", choices=list(PHASES), help="run only these phases (after the warm-up)"
    )
    args = parser.parse_args()
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main())
