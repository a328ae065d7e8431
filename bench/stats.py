"""Small, dependency-free statistics for the report: percentiles, medians and summaries."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) with linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float | None:
    return percentile(values, 50.0)


def summary(values: Sequence[float]) -> dict[str, float | None]:
    """n, min, p50, p95, p99, max and mean of ``values`` (None where undefined)."""
    return {
        "n": float(len(values)),
        "min": min(values) if values else None,
        "p50": percentile(values, 50.0),
        "p95": percentile(values, 95.0),
        "p99": percentile(values, 99.0),
        "max": max(values) if values else None,
        "mean": sum(values) / len(values) if values else None,
    }


def spread(values: Sequence[float]) -> dict[str, float | None]:
    """Median with min and max: how a metric over several runs is reported."""
    return {"median": median(values), "min": min(values) if values else None, "max": max(values) if values else None}
