"""throughput: a long text with the simulator unthrottled.

Keys: throughput_x_realtime, throughput_vs_raw (HA's rate / the raw client's, run back to back,
the median over pairs: on two cores the machine has slow and fast spells that a pair shares).
"""

from __future__ import annotations

from ..context import FIRST_AUDIO_DELAY, SECONDS_PER_CHARACTER, Bench, BenchError
from ..stats import percentile
from ..texts import arabic_number, long_text


async def measure(bench: Bench) -> None:
    """A long text, simulator unthrottled and no delay: audio seconds per wall second."""
    bench.config.first_audio_delay = 0.0
    bench.config.realtime_factor = None
    rates: dict[str, list[float]] = {"raw": [], "faseeh": []}
    paths = bench.paths()
    try:
        for run in range(bench.sizes.throughput_runs):
            # Each pair in turn order, so neither path always runs on the other's heels.
            for name in ("raw", "faseeh") if run % 2 else ("faseeh", "raw"):
                values = rates[name]
                await bench.collect_garbage()  # no path pays for another's garbage
                # A new text each time: HA's memory cache would answer a repeat at once.
                text = long_text(bench.sizes.throughput_chars, f"{name} {arabic_number(run)}.")
                (fetch,) = await paths[name]([text])
                if (verdict := fetch.verdict) != "exact":
                    raise BenchError(f"throughput via {name}: {verdict} ({fetch.error})")
                values.append(len(text) * SECONDS_PER_CHARACTER / fetch.total)
    finally:
        bench.config.first_audio_delay = FIRST_AUDIO_DELAY
    bench.results["throughput_x_realtime"] = round(percentile(rates["faseeh"], 0.5), 1)
    pairs = [ours / raw for ours, raw in zip(rates["faseeh"], rates["raw"], strict=True)]
    bench.results["throughput_vs_raw"] = round(percentile(pairs, 0.5), 2)
    bench.details["throughput"] = {
        "characters": bench.sizes.throughput_chars,
        "audio_seconds": bench.sizes.throughput_chars * SECONDS_PER_CHARACTER,
        "measured": "audio seconds / (POST /api/tts_get_url to the last body byte); median",
        "vs_raw_is": "the median over back-to-back pairs of HA's rate / the raw client's",
        "vs_raw_each_pair": [round(pair, 2) for pair in pairs],
        "faseeh_x_realtime_each": [round(rate, 1) for rate in rates["faseeh"]],
        "raw_x_realtime_each": [round(rate, 1) for rate in rates["raw"]],
    }
