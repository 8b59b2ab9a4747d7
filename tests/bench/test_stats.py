import pytest

from tests.bench.stats import percentile, ratio, summary


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]  # 1 … 100
    assert percentile(values, 0.50) == 50
    assert percentile(values, 0.95) == 95
    assert percentile(values, 0.99) == 99
    assert percentile(values, 1.0) == 100
    assert percentile(values, 0.0) == 1


def test_percentile_of_few_samples_is_an_observed_value():
    assert percentile([30.0, 10.0, 20.0], 0.5) == 20
    assert percentile([30.0, 10.0, 20.0], 0.95) == 30
    assert percentile([7.0], 0.99) == 7


def test_percentile_refuses_nothing_and_bad_shares():
    with pytest.raises(ValueError):
        percentile([], 0.5)
    with pytest.raises(ValueError):
        percentile([1.0], 95)


def test_summary():
    s = summary([10.0, 20.0, 30.0, 40.0])
    assert s == {"n": 4, "p50": 20.0, "p95": 40.0, "p99": 40.0, "mean": 25.0, "max": 40.0}
    assert summary([])["p50"] is None


def test_ratio():
    assert ratio(50.0, 20.0) == 2.5
    assert ratio(None, 20.0) is None
    assert ratio(50.0, 0.0) is None
