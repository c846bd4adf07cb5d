"""overhead: the same text through a raw client and through HA, for Faseeh and Wyoming.

Keys: first_audio_overhead_ms_p50/p95, wyoming_first_audio_overhead_ms_p50/p95, and
overhead_vs_wyoming (our p50 overhead / Wyoming's, from the same runs).
"""

from __future__ import annotations

from ..context import FIRST_AUDIO_DELAY, Bench, BenchError
from ..stats import ms, percentile, ratio, spread


async def measure(bench: Bench) -> None:
    """The four paths for the same text, one after another, in a rotating order."""
    bench.config.first_audio_delay = FIRST_AUDIO_DELAY
    paths = bench.paths()
    times: dict[str, list[float]] = {name: [] for name in paths}
    order = list(paths)
    for run in range(bench.sizes.overhead_runs):
        text = bench.texts.next()
        shift = run % len(order)
        for name in order[shift:] + order[:shift]:
            (fetch,) = await paths[name]([text])
            verdict = fetch.verdict
            if verdict != "exact" or fetch.first_byte is None:
                raise BenchError(f"overhead run {run} via {name}: {verdict} ({fetch.error})")
            times[name].append(fetch.first_byte)
    _overheads(bench, "first_audio_overhead", times["faseeh"], times["raw"])
    _overheads(bench, "wyoming_first_audio_overhead", times["wyoming"], times["raw_wyoming"])
    bench.results["overhead_vs_wyoming"] = ratio(
        bench.results["first_audio_overhead_ms_p50"],
        bench.results["wyoming_first_audio_overhead_ms_p50"],
    )
    bench.details["overhead"] = {
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


def _overheads(bench: Bench, key: str, ha: list[float], raw: list[float]) -> None:
    bench.results[f"{key}_ms_p50"] = ms(percentile(ha, 0.5) - percentile(raw, 0.5))
    bench.results[f"{key}_ms_p95"] = ms(percentile(ha, 0.95) - percentile(raw, 0.95))
