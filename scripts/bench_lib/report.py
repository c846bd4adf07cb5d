"""The bench's table: each measured key beside its goal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .context import CHUNK_BYTES, FIRST_AUDIO_DELAY
from .verdicts import SAMPLE_RATE

type Check = Callable[[dict[str, Any], str], bool]


def _at_most(limit: float) -> Check:
    return lambda results, key: results[key] <= limit


def _at_least(limit: float) -> Check:
    return lambda results, key: results[key] >= limit


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
    "stt_final_after_end_ms": [("<= 5", _at_most(5))],
    "voice_loop_first_audio_ms": [],
    "overhead_vs_wyoming": [("<= 1.0", _at_most(1.0))],
    "throughput_x_realtime": [(">= 1000", _at_least(1000))],
    "throughput_vs_raw": [(">= 0.9", _at_least(0.9))],
    "concurrent_50_byte_exact": [("true", lambda results, key: results[key] is True)],
    "concurrent_50_overhead_ms_p95": [("<= 25", _at_most(25))],
    "concurrent_p95_vs_wyoming": [("<= 1.0", _at_most(1.0))],
    "rss_growth_mb_1000": [("<= 5", _at_most(5))],
    "leaked_sockets": [("0", _at_most(0))],
    "leaked_tasks": [("0", _at_most(0))],
    "soak_500_hangs": [("0", _at_most(0))],
    "soak_500_unexpected_errors": [("0", _at_most(0))],
    "soak_500_truncated_cached": [("0", _at_most(0))],
    "misclassified_errors": [("0", _at_most(0))],
    "silent_ws_first_audio_s_first": [("<= 2.0", _at_most(2.0))],
    "silent_ws_first_audio_s_next": [("<= 0.3", _at_most(0.3))],
    "final_styles_byte_exact": [("true", lambda results, key: results[key] is True)],
    "wan_rtt_ms": [],
    "wan_first_audio_rtt_cold": [("<= 3.2", _at_most(3.2))],
    "wan_first_audio_rtt_warm": [("<= 1.2", _at_most(1.2))],
    "wan_first_audio_rtt_http": [("<= 1.2", _at_most(1.2))],
    "wan_first_audio_rtt_wyoming": [],
}


def goals(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(metric, goal, verdict) for every measured key the issue asks about."""
    rows: list[tuple[str, str, str]] = []
    for key, checks in GOALS.items():
        if key not in results:
            continue
        goal = ", ".join(label for label, _ in checks) or "(reference)"
        if results[key] is None:
            rows.append((key, goal, "UNMEASURED: the reference it is a ratio of was not above 0"))
            continue
        missed = [label for label, check in checks if not check(results, key)]
        rows.append((key, goal, f"MISSED {', '.join(missed)}" if missed else "ok"))
    return rows


NOTES = (
    "overhead: HA = POST /api/tts_get_url -> first body byte of its /api/tts_proxy GET (wav);\n"
    "          raw = connect -> first audio frame of a minimal client of the same service, in\n"
    "          its own process (the HA fetches run there too); same text, runs interleaved;\n"
    "          percentile(HA) - percentile(raw).\n"
    "concurrent: per round of 50, p95(HA) - p95(raw); the median over rounds. hass, the bench\n"
    "          and the client worker collect their garbage before each round (a full collection\n"
    "          pauses every request in flight for ~100-160 ms wherever it lands).\n"
    "throughput: the median of HA's rate / the raw client's, back to back; the HA path keeps\n"
    "          three processes busy (simulator, hass, client), the raw path two.\n"
    "llm: timed inside hass (bench_probe), token-like deltas at 40 characters a second.\n"
    "voice: a websocket client's end of input -> stt-end / first byte of the answer (MP3),\n"
    "          minus the simulator's delays; audio in real time, TTS cache cleared each run.\n"
    "wan: (first audio - simulator delay) / RTT through a loopback delay proxy (RTT/2 each way,\n"
    "          +1 RTT per new TCP connection); TLS is not emulated: wss:// costs ~1 RTT more.\n"
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
