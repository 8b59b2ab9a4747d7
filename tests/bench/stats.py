"""Percentiles and summaries of latency samples (milliseconds)."""

from __future__ import annotations

import math
import statistics


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` from 0 to 1): a value that was really observed,
    the smallest with at least `share` of the samples at or below it."""
    if not values:
        raise ValueError("no samples")
    if not 0 <= share <= 1:
        raise ValueError("share must be between 0 and 1")
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, float | int | None]:
    """n, p50, p95, p99, mean and max of the samples (None for each figure when there are none)."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "mean": None, "max": None}
    return {
        "n": len(values),
        "p50": percentile(values, 0.50),
        "p95": percentile(values, 0.95),
        "p99": percentile(values, 0.99),
        "mean": statistics.fmean(values),
        "max": max(values),
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator
