"""Live statistics of one worker: rolling counters for the last 1, 5 and 60 minutes.

Every finished request is one ``record()``: its operation (``op_key``), status,
latency, database time and response-cache outcome, added to the current
10-second slot.  A window is the sum of its completed slots plus the current
one; the sums are kept as running totals, updated when a slot completes (add
it to each window, subtract the slot that falls out of each), so a request
costs one slot update and a read costs a merge of four tables, never a walk
over 360 slots.  The "last minute" is therefore 60 to 70 seconds; rates divide
by the seconds a window really covers (never more than the worker has run).

Latency is kept as a histogram of fixed, log-spaced buckets (ten per decade
from 0.1 ms to 10 min, about 26% apart), so windows and workers merge by
adding counts and percentiles come from the merged histogram, interpolated
inside a bucket: within a bucket's width of the true value.

A snapshot (``snapshot()``) is plain JSON-able data; the host's view merges the
snapshots of all its workers (``merge``), so every worker answers for the host.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from caldavd.store.model import QueueStats

SLOT_SECONDS = 10
WINDOWS = {"1m": 6, "5m": 30, "60m": 360}  # window name: completed slots it spans
_HISTORY = max(WINDOWS.values())

# Bucket i holds latencies up to BOUNDS_MS[i]; the last one everything longer.
_PER_DECADE = 10
_LOWEST_MS = 0.1
BOUNDS_MS: tuple[float, ...] = tuple(_LOWEST_MS * 10 ** (i / _PER_DECADE)
                                     for i in range(_PER_DECADE * 7 + 1))  # to 1e6 ms
BUCKETS = len(BOUNDS_MS) + 1


def bucket_of(ms: float) -> int:
    if ms <= _LOWEST_MS:
        return 0
    return min(math.ceil(round(_PER_DECADE * math.log10(ms / _LOWEST_MS), 9)), BUCKETS - 1)


def op_key(method: str, kind: str, depth: str) -> str:
    """What latency is reported per: the method; for REPORT the report's name; for
    PROPFIND its depth (a Depth 1 listing costs ten to a hundred times a Depth 0)."""
    if method == "REPORT" and kind != "-":
        return f"REPORT {kind}"
    if method == "PROPFIND" and depth != "-":
        return f"PROPFIND depth={depth}"
    return method


@dataclass
class OpCounts:
    """Requests of one operation: counts, sums and the latency histogram."""

    count: int = 0
    errors: int = 0  # 5xx
    ms: float = 0.0
    db_ms: float = 0.0
    hits: int = 0  # response cache
    misses: int = 0
    histogram: list[int] = field(default_factory=lambda: [0] * BUCKETS)

    def add(self, other: OpCounts, sign: int = 1) -> None:
        self.count += sign * other.count
        self.errors += sign * other.errors
        self.ms += sign * other.ms
        self.db_ms += sign * other.db_ms
        self.hits += sign * other.hits
        self.misses += sign * other.misses
        mine = self.histogram
        for i, n in enumerate(other.histogram):
            if n:
                mine[i] += sign * n

    def percentile(self, fraction: float) -> float | None:
        return percentile(self.histogram, self.count, fraction)

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "errors_5xx": self.errors, "ms": round(self.ms, 3),
                "db_ms": round(self.db_ms, 3), "cache_hits": self.hits,
                "cache_misses": self.misses,
                "histogram": {str(i): n for i, n in enumerate(self.histogram) if n}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OpCounts:
        counts = cls(count=int(data["count"]), errors=int(data["errors_5xx"]),
                     ms=float(data["ms"]), db_ms=float(data["db_ms"]),
                     hits=int(data["cache_hits"]), misses=int(data["cache_misses"]))
        for index, n in data["histogram"].items():
            counts.histogram[int(index)] = int(n)
        return counts


Table = dict[str, OpCounts]


def percentile(histogram: list[int], count: int, fraction: float) -> float | None:
    """The latency (ms) below which ``fraction`` of the requests fall; None: no requests."""
    if count <= 0:
        return None
    rank = fraction * count
    seen = 0
    for i, n in enumerate(histogram):
        if n and seen + n >= rank:
            low = BOUNDS_MS[i - 1] if i > 0 else 0.0
            high = BOUNDS_MS[i] if i < len(BOUNDS_MS) else BOUNDS_MS[-1]
            return low + (high - low) * max(rank - seen, 0) / n
        seen += n
    return BOUNDS_MS[-1]


def add_tables(target: Table, source: Table, sign: int = 1) -> None:
    for op, counts in source.items():
        mine = target.get(op)
        if mine is None:
            mine = target[op] = OpCounts()
        mine.add(counts, sign)
        if mine.count == 0 and sign < 0:
            del target[op]


# What a worker's scheduling processor did since it started (counters, added across
# workers), and the queue as it last read it (gauges: every worker reads the same
# database, so the host shows the largest).
SCHEDULE_COUNTERS = ("fan_outs", "deliveries", "retries", "gave_up")
SCHEDULE_GAUGES = ("work", "work_oldest", "work_retrying", "deliveries_waiting",
                   "deliveries_oldest", "deliveries_retrying")


@dataclass
class ScheduleCounts:
    """The scheduling processor's counters (``caldavd.scheduling.processor.Counters``)."""

    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SCHEDULE_COUNTERS, 0))
    gauges: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SCHEDULE_GAUGES, 0))

    def count(self, event: str, n: int = 1) -> None:
        self.counters[event] = self.counters.get(event, 0) + n

    def queue(self, stats: QueueStats) -> None:
        self.gauges = dict(zip(SCHEDULE_GAUGES, (
            stats.work, round(stats.work_oldest, 3), stats.work_retrying, stats.deliveries,
            round(stats.deliveries_oldest, 3), stats.deliveries_retrying), strict=True))

    def to_json(self) -> dict[str, Any]:
        return {**self.counters, **self.gauges}


def merge_schedule(snapshots: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The host's scheduling numbers: counters added, gauges the largest."""
    merged: dict[str, Any] = {**dict.fromkeys(SCHEDULE_COUNTERS, 0),
                              **dict.fromkeys(SCHEDULE_GAUGES, 0)}
    for snap in snapshots:
        for key, value in snap.get("scheduling", {}).items():
            if key in SCHEDULE_COUNTERS:
                merged[key] += value
            elif key in SCHEDULE_GAUGES:
                merged[key] = max(merged[key], value)
    return merged


class WorkerStats:
    """The rolling counters of one worker process (single-threaded: the event loop's)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.started = clock()
        self.started_wall = time.time()
        self._slot_id = self._now_slot()
        self._current: Table = {}
        self._slots: list[Table] = [{} for _ in range(_HISTORY)]  # ring of completed slots
        self._windows: dict[str, Table] = {name: {} for name in WINDOWS}
        self.totals: Table = {}  # since start, completed slots only
        self.statuses: dict[int, int] = {}  # since start, by status code
        self.schedule = ScheduleCounts()

    def _now_slot(self) -> int:
        return int(self._clock() // SLOT_SECONDS)

    def record(self, op: str, status: int, ms: float, db_ms: float, cache: str) -> None:
        slot = self._now_slot()
        if slot != self._slot_id:
            self._advance(slot)
        counts = self._current.get(op)
        if counts is None:
            counts = self._current[op] = OpCounts()
        counts.count += 1
        counts.ms += ms
        counts.db_ms += db_ms
        counts.histogram[bucket_of(ms)] += 1
        if status >= 500:
            counts.errors += 1
        if cache == "hit":
            counts.hits += 1
        elif cache == "miss":
            counts.misses += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def _advance(self, slot: int) -> None:
        """Complete the current slot and every empty one up to ``slot``."""
        steps = slot - self._slot_id
        if steps > _HISTORY:  # idle for longer than the longest window
            self._complete(self._current)
            self._slots = [{} for _ in range(_HISTORY)]
            self._windows = {name: {} for name in WINDOWS}
        else:
            self._complete(self._current)
            for _ in range(steps - 1):
                self._complete({})
        self._current = {}
        self._slot_id = slot

    def _complete(self, table: Table) -> None:
        """``table`` becomes the newest completed slot; the oldest of each window leaves."""
        self._slots.append(table)  # _HISTORY + 1 long until the pop below
        add_tables(self.totals, table)
        for name, span in WINDOWS.items():
            window = self._windows[name]
            add_tables(window, table)
            add_tables(window, self._slots[-span - 1], -1)
        self._slots.pop(0)

    def snapshot(self) -> dict[str, Any]:
        """The windows and totals now, as JSON-able data (``merge`` adds several)."""
        slot = self._now_slot()
        if slot != self._slot_id:
            self._advance(slot)
        now = self._clock()
        into_slot = now - self._slot_id * SLOT_SECONDS
        uptime = now - self.started
        windows = {}
        for name, span in WINDOWS.items():
            table: Table = {}
            add_tables(table, self._windows[name])
            add_tables(table, self._current)
            windows[name] = {"seconds": round(min(span * SLOT_SECONDS + into_slot, uptime), 3),
                             "ops": {op: c.to_json() for op, c in table.items()}}
        totals: Table = {}
        add_tables(totals, self.totals)
        add_tables(totals, self._current)
        return {"uptime": round(uptime, 3), "started": self.started_wall,
                "windows": windows, "totals": {op: c.to_json() for op, c in totals.items()},
                "statuses": {str(code): n for code, n in sorted(self.statuses.items())},
                "scheduling": self.schedule.to_json()}


def merge(snapshots: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One host's numbers from its workers' snapshots: counts added, seconds the longest."""
    windows: dict[str, Table] = {name: {} for name in WINDOWS}
    seconds = dict.fromkeys(WINDOWS, 0.0)
    totals: Table = {}
    statuses: dict[str, int] = {}
    for snap in snapshots:
        for name in WINDOWS:
            window = snap["windows"][name]
            seconds[name] = max(seconds[name], float(window["seconds"]))
            add_tables(windows[name], _table(window["ops"]))
        add_tables(totals, _table(snap["totals"]))
        for code, n in snap["statuses"].items():
            statuses[code] = statuses.get(code, 0) + int(n)
    return {"windows": {name: summary(windows[name], seconds[name]) for name in WINDOWS},
            "totals": totals_summary(totals, statuses), "tables": windows,
            "total_table": totals}


def _table(ops: Mapping[str, Any]) -> Table:
    return {op: OpCounts.from_json(data) for op, data in ops.items()}


def _rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def op_summary(counts: OpCounts, seconds: float) -> dict[str, Any]:
    return {"count": counts.count,
            "rate": round(counts.count / seconds, 3) if seconds > 0 else 0.0,
            "mean_ms": _rounded(counts.ms / counts.count if counts.count else None),
            "p50_ms": _rounded(counts.percentile(0.50)),
            "p95_ms": _rounded(counts.percentile(0.95)),
            "p99_ms": _rounded(counts.percentile(0.99)),
            "errors_5xx": counts.errors,
            "db_ms": round(counts.db_ms, 2)}


def summary(table: Table, seconds: float) -> dict[str, Any]:
    """A window as operators read it: rates, latency percentiles, errors, cache hit rate."""
    everything = OpCounts()
    for counts in table.values():
        everything.add(counts)
    looked_up = everything.hits + everything.misses
    return {**op_summary(everything, seconds), "seconds": round(seconds, 3),
            "requests": everything.count,
            "cache_hits": everything.hits, "cache_misses": everything.misses,
            "cache_hit_rate": round(everything.hits / looked_up, 4) if looked_up else None,
            "ops": {op: op_summary(counts, seconds) for op, counts in sorted(table.items())}}


def totals_summary(table: Table, statuses: Mapping[str, int]) -> dict[str, Any]:
    methods: dict[str, int] = {}
    for op, counts in table.items():
        method = op.split(" ", 1)[0]
        methods[method] = methods.get(method, 0) + counts.count
    return {"requests": sum(c.count for c in table.values()),
            "errors_5xx": sum(c.errors for c in table.values()),
            "ops": {op: c.count for op, c in sorted(table.items())},
            "methods": dict(sorted(methods.items())),
            "statuses": dict(sorted(statuses.items()))}
