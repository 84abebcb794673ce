"""The live statistics' arithmetic: windows, percentiles, merging, Prometheus text."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from caldavd.ops.metrics import prometheus_text
from caldavd.ops.stats import (
    BOUNDS_MS,
    SLOT_SECONDS,
    OpCounts,
    WorkerStats,
    bucket_of,
    merge,
    merge_schedule,
    op_key,
)
from caldavd.store.model import QueueStats


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def window(stats: WorkerStats, name: str) -> dict[str, Any]:
    found = merge([stats.snapshot()])["windows"][name]
    assert isinstance(found, dict)
    return found


def test_op_keys() -> None:
    assert op_key("REPORT", "calendar-query", "1") == "REPORT calendar-query"
    assert op_key("PROPFIND", "prop", "1") == "PROPFIND depth=1"
    assert op_key("GET", "-", "-") == "GET"
    assert op_key("REPORT", "-", "-") == "REPORT"  # body never parsed (e.g. 401)


@pytest.mark.parametrize("ms", [0.05, 0.1, 0.37, 1.0, 12.5, 999.0, 4e5])
def test_a_latency_falls_in_the_bucket_that_bounds_it(ms: float) -> None:
    i = bucket_of(ms)
    assert ms <= BOUNDS_MS[i]
    assert i == 0 or ms > BOUNDS_MS[i - 1]


def test_windows_forget_requests_as_they_age_and_totals_keep_them() -> None:
    clock = Clock()
    stats = WorkerStats(clock)
    for _ in range(10):
        stats.record("GET", 200, 2.0, 0.5, "-")
    stats.record("PUT", 503, 40.0, 1.0, "-")
    assert {n: window(stats, n)["requests"] for n in ("1m", "5m", "60m")} == \
        {"1m": 11, "5m": 11, "60m": 11}
    clock.now += 6 * SLOT_SECONDS + SLOT_SECONDS  # more than 70 s later
    assert window(stats, "1m")["requests"] == 0
    assert window(stats, "5m")["requests"] == 11
    stats.record("GET", 200, 3.0, 0.0, "hit")
    clock.now += 30 * SLOT_SECONDS
    assert window(stats, "5m")["requests"] == 1  # the first 11 are older than 5 min
    assert window(stats, "60m")["requests"] == 12
    clock.now += 400 * SLOT_SECONDS  # past every window
    snap = merge([stats.snapshot()])
    assert snap["windows"]["60m"]["requests"] == 0
    assert snap["totals"]["ops"] == {"GET": 11, "PUT": 1}
    assert snap["totals"]["errors_5xx"] == 1
    assert snap["totals"]["statuses"] == {"200": 11, "503": 1}


def test_reading_does_not_age_the_numbers() -> None:
    stats = WorkerStats(Clock())
    stats.record("GET", 200, 1.0, 0.0, "-")
    for _ in range(50):  # a monitor polling within one slot
        stats.snapshot()
    assert window(stats, "1m")["requests"] == 1


def test_rates_divide_by_the_seconds_covered() -> None:
    clock = Clock()
    stats = WorkerStats(clock)
    clock.now += 20
    for _ in range(40):
        stats.record("GET", 200, 1.0, 0.0, "-")
    w = window(stats, "1m")
    assert w["seconds"] == pytest.approx(20.0)  # the worker ran 20 s, not 60
    assert w["rate"] == pytest.approx(2.0)


def test_percentiles_are_within_a_bucket_of_the_truth() -> None:
    stats = WorkerStats(Clock())
    latencies = [float(ms) for ms in range(1, 1001)]  # 1..1000 ms, once each
    for ms in latencies:
        stats.record("REPORT calendar-query", 207, ms, 0.0, "-")
    s = window(stats, "1m")["ops"]["REPORT calendar-query"]
    for key, truth in (("p50_ms", 500.0), ("p95_ms", 950.0), ("p99_ms", 990.0)):
        assert truth / 1.26 <= s[key] <= truth * 1.26, (key, s[key])
    assert s["mean_ms"] == pytest.approx(500.5)


def test_cache_hit_rate_counts_only_lookups() -> None:
    stats = WorkerStats(Clock())
    for cache in ("hit", "hit", "hit", "miss", "-", "-"):
        stats.record("PROPFIND depth=1", 207, 1.0, 0.0, cache)
    w = window(stats, "5m")
    assert (w["cache_hits"], w["cache_misses"], w["cache_hit_rate"]) == (3, 1, 0.75)


def test_workers_merge_by_adding_counts() -> None:
    a, b = WorkerStats(Clock()), WorkerStats(Clock())
    for _ in range(3):
        a.record("GET", 200, 1.0, 0.0, "-")
    b.record("GET", 200, 100.0, 0.0, "-")
    b.record("DELETE", 204, 5.0, 1.0, "-")
    merged = merge([a.snapshot(), b.snapshot()])
    assert merged["totals"]["ops"] == {"DELETE": 1, "GET": 4}
    assert merged["windows"]["1m"]["ops"]["GET"]["count"] == 4
    assert merged["windows"]["1m"]["ops"]["GET"]["p99_ms"] > 50  # b's slow one counts


def test_json_round_trip_keeps_everything() -> None:
    counts = OpCounts(count=2, errors=1, ms=3.5, db_ms=1.25, hits=1, misses=1)
    counts.histogram[7] = 2
    again = OpCounts.from_json(counts.to_json())
    assert again == counts


def _metrics_data(stats: WorkerStats) -> dict[str, Any]:
    merged = merge([stats.snapshot()])
    gauges = {"workers": 1, "in_flight": 2, "db_pool_in_use": 1, "db_pool_open": 3,
              "db_pool_max": 10}
    return {"node": 'host "one"', "gauges": gauges, "windows": merged["windows"],
            "totals": merged["totals"], "_tables": merged}


def test_prometheus_text_parses_and_agrees_with_the_counts() -> None:
    stats = WorkerStats(Clock())
    for ms in (0.5, 2.0, 2.0, 30.0, 700.0):
        stats.record("REPORT calendar-multiget", 207, ms, 0.1, "-")
    stats.record("PROPFIND depth=1", 500, 4.0, 1.0, "miss")
    families = {f.name: f for f in text_string_to_metric_families(
        prometheus_text(_metrics_data(stats)))}
    requests = {s.labels["op"]: s.value for s in families["caldavd_requests"].samples}
    assert requests == {"REPORT calendar-multiget": 5, "PROPFIND depth=1": 1}
    errors = {s.labels["op"]: s.value for s in families["caldavd_request_errors"].samples}
    assert errors == {"REPORT calendar-multiget": 0, "PROPFIND depth=1": 1}
    buckets = [s for s in families["caldavd_request_duration_seconds"].samples
               if s.name.endswith("_bucket") and s.labels["op"] == "REPORT calendar-multiget"]
    values = [s.value for s in buckets]
    assert values == sorted(values) and values[-1] == 5  # cumulative, +Inf = count
    le_1ms = next(s.value for s in buckets if float(s.labels["le"]) == pytest.approx(0.001))
    assert le_1ms == 1  # only the 0.5 ms request
    assert all(s.labels["node"] == 'host "one"' for s in buckets)
    pool = {s.labels["state"]: s.value
            for s in families["caldavd_db_pool_connections"].samples}
    assert pool == {"in_use": 1, "open": 3, "max": 10}
    cache = {s.labels["result"]: s.value for s in families["caldavd_response_cache"].samples}
    assert cache == {"hit": 0, "miss": 1}


def test_scheduling_counters_add_and_queue_gauges_take_the_largest() -> None:
    """Issue 18 item 8: deliveries and retries per host, queue depth and oldest age."""
    a, b = WorkerStats(Clock()), WorkerStats(Clock())
    a.schedule.count("deliveries", 3)
    a.schedule.count("retries")
    b.schedule.count("deliveries")
    b.schedule.count("fan_outs", 2)
    a.schedule.queue(QueueStats(work=4, work_oldest=1.5, deliveries=7, deliveries_oldest=0.25))
    b.schedule.queue(QueueStats(work=5, work_oldest=2.0))  # read a moment later
    host = merge_schedule([a.snapshot(), b.snapshot()])
    assert {k: host[k] for k in ("deliveries", "retries", "fan_outs", "gave_up")} == {
        "deliveries": 4, "retries": 1, "fan_outs": 2, "gave_up": 0}
    assert (host["work"], host["work_oldest"], host["deliveries_waiting"]) == (5, 2.0, 7)
    data = {**_metrics_data(a), "scheduling": host}
    families = {f.name: f for f in text_string_to_metric_families(prometheus_text(data))}
    assert families["caldavd_schedule_deliveries"].samples[0].value == 4
    assert families["caldavd_schedule_retries"].samples[0].value == 1
    depth = {s.labels["table"]: s.value
             for s in families["caldavd_schedule_queue_depth"].samples}
    assert depth == {"work": 5, "delivery": 7}
    oldest = {s.labels["table"]: s.value
              for s in families["caldavd_schedule_queue_oldest_seconds"].samples}
    assert oldest == {"work": 2.0, "delivery": 0.25}
