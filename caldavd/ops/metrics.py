"""The host's statistics as Prometheus text (exposition format 0.0.4).

Counters and the latency histogram are totals since each worker started (a
restarted worker starts again from zero, which Prometheus' ``rate()`` expects);
the 1/5/60-minute windows are exported as gauges for dashboards without a
Prometheus server's own arithmetic.  Histogram buckets are every fifth of the
collector's (``stats.BOUNDS_MS``): 0.1 ms, 0.32 ms, 1 ms, ... 1000 s.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from caldavd.ops.stats import BOUNDS_MS, OpCounts

_LE_EVERY = 5


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float | None) -> str:
    if value is None:
        return "NaN"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def _family(name: str, kind: str, help_text: str) -> Iterator[str]:
    yield f"# HELP {name} {help_text}"
    yield f"# TYPE {name} {kind}"


def _histogram(name: str, labels: str, counts: OpCounts) -> Iterator[str]:
    running = 0
    for i, n in enumerate(counts.histogram[:len(BOUNDS_MS)]):
        running += n
        if i % _LE_EVERY == 0:
            yield f'{name}_bucket{{{labels},le="{BOUNDS_MS[i] / 1000:.6g}"}} {running}'
    yield f'{name}_bucket{{{labels},le="+Inf"}} {counts.count}'
    yield f"{name}_sum{{{labels}}} {_number(round(counts.ms / 1000, 6))}"
    yield f"{name}_count{{{labels}}} {counts.count}"


def prometheus_text(data: Mapping[str, Any]) -> str:
    return "\n".join(_lines(data)) + "\n"


def _lines(data: Mapping[str, Any]) -> Iterator[str]:
    node = f'node="{_label(data["node"])}"'
    totals: dict[str, OpCounts] = data["_tables"]["total_table"]
    ops = sorted(totals.items())
    yield from _family("caldavd_requests_total", "counter",
                       "Requests answered since the workers started, by operation.")
    for op, c in ops:
        yield f'caldavd_requests_total{{{node},op="{_label(op)}"}} {c.count}'
    yield from _family("caldavd_request_errors_total", "counter",
                       "Requests answered with a 5xx status, by operation.")
    for op, c in ops:
        yield f'caldavd_request_errors_total{{{node},op="{_label(op)}"}} {c.errors}'
    yield from _family("caldavd_request_duration_seconds", "histogram",
                       "Time from request to response written, by operation.")
    for op, c in ops:
        yield from _histogram("caldavd_request_duration_seconds",
                              f'{node},op="{_label(op)}"', c)
    yield from _family("caldavd_db_seconds_total", "counter",
                       "Time requests held or waited for database connections.")
    for op, c in ops:
        yield f'caldavd_db_seconds_total{{{node},op="{_label(op)}"}} ' \
              f'{_number(round(c.db_ms / 1000, 6))}'
    yield from _family("caldavd_response_cache_total", "counter",
                       "PROPFIND response cache lookups, by result.")
    yield f'caldavd_response_cache_total{{{node},result="hit"}} ' \
          f'{sum(c.hits for _, c in ops)}'
    yield f'caldavd_response_cache_total{{{node},result="miss"}} ' \
          f'{sum(c.misses for _, c in ops)}'
    yield from _family("caldavd_responses_total", "counter", "Responses by status code.")
    for code, n in data["totals"]["statuses"].items():
        yield f'caldavd_responses_total{{{node},code="{_label(code)}"}} {n}'
    yield from _gauges(node, data)
    yield from _scheduling(node, data.get("scheduling", {}))
    yield from _windows(node, data["windows"])


def _gauges(node: str, data: Mapping[str, Any]) -> Iterator[str]:
    gauges = data["gauges"]
    yield from _family("caldavd_workers", "gauge", "Worker processes reporting.")
    yield f"caldavd_workers{{{node}}} {gauges['workers']}"
    yield from _family("caldavd_in_flight_requests", "gauge",
                       "Requests running or waiting for a slot (MaxRequests).")
    yield f"caldavd_in_flight_requests{{{node}}} {gauges['in_flight']}"
    yield from _family("caldavd_db_pool_connections", "gauge",
                       "Database connections of the workers' pools, by state.")
    for state, key in (("in_use", "db_pool_in_use"), ("open", "db_pool_open"),
                       ("max", "db_pool_max")):
        yield f'caldavd_db_pool_connections{{{node},state="{state}"}} {gauges[key]}'


_SCHEDULE_COUNTERS = (
    ("fan_outs", "caldavd_schedule_fan_outs_total",
     "Scheduling work rows fanned out into deliveries since the workers started."),
    ("deliveries", "caldavd_schedule_deliveries_total",
     "iTIP messages delivered to local recipients since the workers started."),
    ("retries", "caldavd_schedule_retries_total",
     "Failed fan-outs and deliveries postponed for another try."),
    ("gave_up", "caldavd_schedule_gave_up_total",
     "Fan-outs and deliveries dropped after Scheduling.MaxAttempts tries."),
)


def _scheduling(node: str, numbers: Mapping[str, Any]) -> Iterator[str]:
    for key, name, help_text in _SCHEDULE_COUNTERS:
        yield from _family(name, "counter", help_text)
        yield f"{name}{{{node}}} {_number(numbers.get(key, 0))}"
    tables = (("work", "work", "work_oldest"), ("delivery", "deliveries_waiting",
                                                "deliveries_oldest"))
    yield from _family("caldavd_schedule_queue_depth", "gauge",
                       "Rows waiting in the scheduling queue, by table.")
    for table, depth, _ in tables:
        yield (f'caldavd_schedule_queue_depth{{{node},table="{table}"}} '
               f'{_number(numbers.get(depth, 0))}')
    yield from _family("caldavd_schedule_queue_oldest_seconds", "gauge",
                       "Age of the oldest row waiting in the scheduling queue, by table.")
    for table, _, oldest in tables:
        yield (f'caldavd_schedule_queue_oldest_seconds{{{node},table="{table}"}} '
               f'{_number(numbers.get(oldest, 0))}')


def _windows(node: str, windows: Mapping[str, Any]) -> Iterator[str]:
    yield from _family("caldavd_window_requests_per_second", "gauge",
                       "Request rate over the last 1, 5 or 60 minutes.")
    for name, w in windows.items():
        yield f'caldavd_window_requests_per_second{{{node},window="{name}"}} ' \
              f'{_number(w["rate"])}'
    yield from _family("caldavd_window_latency_seconds", "gauge",
                       "Latency percentiles over the window, by operation.")
    for name, w in windows.items():
        for op, s in w["ops"].items():
            for q in ("p50", "p95", "p99"):
                value = s[f"{q}_ms"]
                yield (f'caldavd_window_latency_seconds{{{node},window="{name}",'
                       f'op="{_label(op)}",quantile="0.{q[1:]}"}} '
                       f'{_number(None if value is None else value / 1000)}')
    yield from _family("caldavd_window_cache_hit_ratio", "gauge",
                       "Response cache hits / lookups over the window.")
    for name, w in windows.items():
        yield f'caldavd_window_cache_hit_ratio{{{node},window="{name}"}} ' \
              f'{_number(w["cache_hit_rate"])}'
