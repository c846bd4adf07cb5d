"""concurrent: rounds of N simultaneous requests on each path, every body byte-exact.

Keys: concurrent_50_byte_exact, concurrent_50_overhead_ms_p95, concurrent_p95_vs_wyoming (our
p95 overhead / Wyoming's, same rounds).

A round's overhead is its p95 minus the p95 of its raw client's round just beside it; the
figure is the median over rounds. Pooling every round's times instead let one round that the
machine stalled (~100 ms, on any of the four paths, seen on two cores) decide the p95 alone.
"""

from __future__ import annotations

from collections import Counter

from ..context import FIRST_AUDIO_DELAY, Bench
from ..stats import ms, percentile, ratio, spread


async def measure(bench: Bench) -> None:
    """Rounds of N simultaneous requests per path, order rotating; every body byte-exact.

    hass, the bench process and the client worker collect their garbage before each round:
    otherwise a full collection that the earlier phases made due (~160 ms on hass's heap, a
    ~100 ms stall seen from the simulator's process) lands in whichever round crosses the
    threshold first, and decides the p95 of that path alone.
    """
    bench.config.first_audio_delay = FIRST_AUDIO_DELAY
    count = bench.sizes.concurrent
    paths = bench.paths()
    order = list(paths)
    times: dict[str, list[float]] = {name: [] for name in paths}
    round_p95: dict[str, list[float]] = {name: [] for name in paths}
    verdicts: dict[str, Counter[str]] = {name: Counter() for name in paths}
    full_collection: list[float] = []
    for number in range(bench.sizes.concurrent_rounds):
        shift = number % len(order)
        for name in order[shift:] + order[:shift]:
            stats = await bench.collect_garbage()
            full_collection.append(stats["last_full_collection_s"])
            texts = [bench.texts.next() for _ in range(count)]
            fetches = await paths[name](texts)
            for fetch in fetches:
                verdicts[name][fetch.verdict] += 1
            firsts = [fetch.first_byte for fetch in fetches if fetch.first_byte is not None]
            times[name] += firsts
            round_p95[name].append(ms(percentile(firsts, 0.95)))
    bench.results["concurrent_50_byte_exact"] = set(verdicts["faseeh"]) == {"exact"}
    bench.results["concurrent_50_overhead_ms_p95"] = _median_overhead(round_p95, "faseeh", "raw")
    wyoming_p95 = _median_overhead(round_p95, "wyoming", "raw_wyoming")
    bench.results["concurrent_p95_vs_wyoming"] = ratio(
        bench.results["concurrent_50_overhead_ms_p95"], wyoming_p95
    )
    bench.details["concurrent"] = {
        "clients": count,
        "rounds": bench.sizes.concurrent_rounds,
        "order": "each round: N at once on each path in turn, the order rotating per round",
        "overhead_is": "per round, p95 of the HA first bytes minus p95 of the raw client's "
        "first audio frames; the median over rounds",
        "gc": "hass collects garbage before each batch; a full collection of its heap "
        f"takes {ms(percentile(full_collection, 0.5))} ms (median), the pause any request "
        "in flight would see when HA's own collector runs one",
        "verdicts": {name: dict(counts) for name, counts in verdicts.items()},
        "wyoming_overhead_ms_p95": wyoming_p95,
        "p95_ms_of_each_round": round_p95,
        **spread(times),
    }


def _median_overhead(round_p95: dict[str, list[float]], ha: str, raw: str) -> float:
    """The median over rounds of a round's HA p95 minus its raw client's p95 (all in ms)."""
    overheads = [h - r for h, r in zip(round_p95[ha], round_p95[raw], strict=True)]
    return round(percentile(overheads, 0.5), 2)
