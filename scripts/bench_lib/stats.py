"""Percentiles and milliseconds for the report."""

from __future__ import annotations


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


def ratio(ours: float, theirs: float) -> float | None:
    """ours / theirs, rounded; None when theirs is not above zero (no meaningful ratio)."""
    if not theirs > 0:
        return None
    return round(ours / theirs, 2)
