"""Warm-up: the first requests pay for imports and connection set-up; not measured."""

from __future__ import annotations

from ..context import Bench, BenchError


async def measure(bench: Bench) -> None:
    """First requests pay for imports and connection set-up; they are not measured."""
    for _ in range(bench.sizes.warmup):
        text = bench.texts.next()
        for name, path in bench.paths().items():
            (fetch,) = await path([text])
            if (verdict := fetch.verdict) != "exact":
                raise BenchError(f"warm-up via {name}: {verdict} audio ({fetch.error})")
