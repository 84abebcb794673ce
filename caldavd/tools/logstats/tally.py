"""caldavd-logstats' counting: the latency histogram and the tallies per scope."""

from __future__ import annotations

import heapq
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from caldavd.ops.logparse import MONITORING, AccessRecord

PROG = "caldavd-logstats"
BUCKETS = {"5m": 300, "15m": 900, "1h": 3600, "1d": 86400}
STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
UNPARSED_SHOWN = 5
PROGRESS_SECONDS = 0.25
GZIP_MAGIC = b"\x1f\x8b"
K = TypeVar("K")
_HOST_FROM_NAME = re.compile(r"(.*?)(?:[-_.]access)?(?:\.log)?(?:[.-]\d+)*(?:\.gz)?")


# -- latency histogram ---------------------------------------------------------

HISTOGRAM_LOW_MS = 0.1
HISTOGRAM_RATIO = 1.1
HISTOGRAM_HIGH_MS = 600_000.0
_LOG_RATIO = math.log(HISTOGRAM_RATIO)
_EDGES = math.ceil(math.log(HISTOGRAM_HIGH_MS / HISTOGRAM_LOW_MS) / _LOG_RATIO)


def bin_of(ms: float) -> int:
    """The histogram bin of a duration: 0 below 0.1 ms, ``_EDGES + 1`` from 10 min on."""
    if ms < HISTOGRAM_LOW_MS:
        return 0
    return min(int(math.log(ms / HISTOGRAM_LOW_MS) / _LOG_RATIO) + 1, _EDGES + 1)


def bin_bounds(index: int) -> tuple[float, float]:
    if index == 0:
        return 0.0, HISTOGRAM_LOW_MS
    upper = math.inf if index > _EDGES else HISTOGRAM_LOW_MS * HISTOGRAM_RATIO ** index
    return HISTOGRAM_LOW_MS * HISTOGRAM_RATIO ** (index - 1), upper


class Histogram:
    """Durations in log-spaced bins (sparse: most requests share a few dozen);
    exact count, sum, minimum and maximum."""

    __slots__ = ("count", "counts", "high", "low", "total")

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.count = 0
        self.total = 0.0
        self.low = math.inf
        self.high = 0.0

    def add(self, ms: float, index: int) -> None:
        counts = self.counts
        counts[index] = counts.get(index, 0) + 1
        self.count += 1
        self.total += ms
        if ms < self.low:
            self.low = ms
        if ms > self.high:
            self.high = ms

    def merge(self, other: Histogram) -> None:
        counts = self.counts
        for index, here in other.counts.items():
            counts[index] = counts.get(index, 0) + here
        self.count += other.count
        self.total += other.total
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)

    def percentile(self, fraction: float) -> float | None:
        """Interpolated linearly inside the bin that holds the rank, and never
        outside the observed minimum and maximum."""
        if not self.count:
            return None
        rank = fraction * self.count
        seen = 0
        for index in sorted(self.counts):
            here = self.counts[index]
            if seen + here >= rank:
                lower, upper = bin_bounds(index)
                lower, upper = max(lower, self.low), min(upper, self.high)
                return lower + (upper - lower) * max(rank - seen, 0) / here
            seen += here
        return self.high

    def mean(self) -> float | None:
        return self.total / self.count if self.count else None


# -- aggregation ---------------------------------------------------------------

def op_of(record: AccessRecord) -> str:
    """What a request did: the REPORT's report, the PROPFIND's depth, else the method."""
    if record.method == "REPORT" and record.type:
        return f"REPORT {record.type}"
    if record.method == "PROPFIND" and record.depth:
        return f"PROPFIND depth={record.depth}"
    return record.method


def product_of(agent: str | None) -> str:
    """A client's product token: the user-agent up to its first ``/``."""
    if not agent:
        return "-"
    return agent.split("/", 1)[0].strip()[:60] or agent[:60]


def host_of_path(path: str) -> str:
    """The host a log file is named after (see the module docstring)."""
    if path == "-":
        return "-"
    name = os.path.basename(path)
    match = _HOST_FROM_NAME.fullmatch(name)
    return match.group(1) if match and match.group(1) else name


def status_class(status: int) -> str:
    return f"{status // 100}xx"


class Cell:
    """The requests of one bucket, host, op and status.  A line touches one cell
    (and the histogram of its bucket, host and op); every scope's tally is summed
    from them once at the end.  Updating the four scopes on every line instead
    took a quarter of the whole run."""

    __slots__ = ("bytes_out", "cache_hits", "cache_misses", "db_ms", "requests", "timed_db_ms")

    def __init__(self) -> None:
        self.requests = 0
        self.bytes_out = 0
        self.cache_hits = 0
        self.cache_misses = 0
        self.db_ms = 0.0
        self.timed_db_ms = 0.0


class Tally:
    """Counts and latencies of one scope: everything, a host, a bucket, a
    bucket's host."""

    __slots__ = ("bytes_out", "cache_hits", "cache_misses", "db_ms", "latency", "methods",
                 "ops", "requests", "statuses", "timed_db_ms")

    def __init__(self) -> None:
        self.requests = 0
        self.methods: dict[str, int] = {}
        self.ops: dict[str, int] = {}
        self.statuses: dict[int, int] = {}
        self.latency = Histogram()
        self.bytes_out = 0
        self.cache_hits = 0
        self.cache_misses = 0
        self.db_ms = 0.0
        self.timed_db_ms = 0.0

    def add_cell(self, op: str, status: int, cell: Cell) -> None:
        self.requests += cell.requests
        method = op.partition(" ")[0]
        self.methods[method] = self.methods.get(method, 0) + cell.requests
        self.ops[op] = self.ops.get(op, 0) + cell.requests
        self.statuses[status] = self.statuses.get(status, 0) + cell.requests
        self.bytes_out += cell.bytes_out
        self.cache_hits += cell.cache_hits
        self.cache_misses += cell.cache_misses
        self.db_ms += cell.db_ms
        self.timed_db_ms += cell.timed_db_ms

    def status_classes(self) -> dict[str, int]:
        classes: dict[str, int] = {}
        for status, count in sorted(self.statuses.items()):
            name = status_class(status)
            classes[name] = classes.get(name, 0) + count
        return classes

    def cache_hit_rate(self) -> float | None:
        looked = self.cache_hits + self.cache_misses
        return self.cache_hits / looked if looked else None

    def db_share(self) -> float | None:
        return self.db_ms / self.timed_db_ms if self.timed_db_ms else None


@dataclass(slots=True)
class UserTally:
    requests: int = 0
    ms: float = 0.0


@dataclass(slots=True)
class AgentTally:
    requests: int = 0
    ms: float = 0.0
    examples: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Slow:
    """One of the slowest requests, as the report shows it."""

    ms: float
    time: datetime
    host: str
    user: str | None
    status: int
    request: str


@dataclass(frozen=True, slots=True)
class Unparsed:
    source: str
    number: int
    text: str


class Stats:
    """Everything the report needs: fed one record at a time, then ``finish()``
    sums the cells into the tallies the reports read."""

    def __init__(self, bucket: str, since: datetime | None, until: datetime | None,
                 top: int, monitoring: bool = False) -> None:
        self.bucket = bucket
        self.count_monitoring = monitoring
        self.monitoring = 0  # monitors' requests left out (MONITORING paths)
        self.bucket_seconds = BUCKETS[bucket]
        self.since = since
        self.until = until
        self.top = top
        self.lines = 0
        self.unparsed = 0
        self.unparsed_samples: list[Unparsed] = []
        self.filtered = 0
        self.first: datetime | None = None
        self.last: datetime | None = None
        self.users: dict[str, UserTally] = {}
        self.agents: dict[str, AgentTally] = {}
        self._cells: dict[tuple[int, str, str, int], Cell] = {}
        self._latencies: dict[tuple[int, str, str], Histogram] = {}
        self._slowest: list[tuple[float, int, str, AccessRecord]] = []
        self.overall = Tally()
        self.hosts: dict[str, Tally] = {}
        self.buckets: dict[int, Tally] = {}
        self.bucket_hosts: dict[tuple[int, str], Tally] = {}
        self.op_latency: dict[str, Histogram] = {}

    def add_unparsed(self, source: str, number: int, line: str) -> None:
        self.lines += 1
        self.unparsed += 1
        if len(self.unparsed_samples) < UNPARSED_SHOWN:
            self.unparsed_samples.append(Unparsed(source, number, line.rstrip("\r\n")))

    def add(self, record: AccessRecord, host: str) -> None:
        self.lines += 1
        moment = record.time
        if (self.since is not None and moment < self.since) or (
                self.until is not None and moment >= self.until):
            self.filtered += 1
            return
        if not self.count_monitoring and record.target.split("?", 1)[0] in MONITORING:
            self.monitoring += 1
            return
        if self.first is None or moment < self.first:
            self.first = moment
        if self.last is None or moment > self.last:
            self.last = moment
        op = op_of(record)
        start = int(moment.timestamp()) // self.bucket_seconds * self.bucket_seconds
        cell = _cell(self._cells, (start, host, op, record.status))
        cell.requests += 1
        if record.size:
            cell.bytes_out += record.size
        if record.cache == "hit":
            cell.cache_hits += 1
        elif record.cache == "miss":
            cell.cache_misses += 1
        ms = record.ms
        if ms is not None:
            if record.db_ms is not None:
                cell.db_ms += record.db_ms
                cell.timed_db_ms += ms
            self._add_timed(record, (start, host, op), ms)
        self._add_client(record, ms or 0.0)

    def _add_timed(self, record: AccessRecord, key: tuple[int, str, str], ms: float) -> None:
        latency = self._latencies.get(key)
        if latency is None:
            latency = self._latencies[key] = Histogram()
        latency.add(ms, bin_of(ms))
        slowest = self._slowest
        if len(slowest) < self.top:
            heapq.heappush(slowest, (ms, self.lines, key[1], record))
        elif ms > slowest[0][0]:
            heapq.heapreplace(slowest, (ms, self.lines, key[1], record))

    def finish(self) -> None:
        """Sum the cells and histograms into every scope's tally."""
        for (start, host, op, status), cell in self._cells.items():
            for tally in self._scopes(start, host):
                tally.add_cell(op, status, cell)
        for (start, host, op), latency in self._latencies.items():
            for tally in self._scopes(start, host):
                tally.latency.merge(latency)
            _histogram(self.op_latency, op).merge(latency)
        self._cells.clear()
        self._latencies.clear()

    def _scopes(self, start: int, host: str) -> tuple[Tally, ...]:
        return (self.overall, _tally(self.hosts, host), _tally(self.buckets, start),
                _tally(self.bucket_hosts, (start, host)))

    def _add_client(self, record: AccessRecord, ms: float) -> None:
        if record.user is not None:
            user = self.users.get(record.user)
            if user is None:
                user = self.users[record.user] = UserTally()
            user.requests += 1
            user.ms += ms
        product = product_of(record.agent)
        agent = self.agents.get(product)
        if agent is None:
            agent = self.agents[product] = AgentTally()
        agent.requests += 1
        agent.ms += ms
        example = record.agent or "-"
        agent.examples[example] = agent.examples.get(example, 0) + 1

    def slowest(self) -> list[Slow]:
        return [Slow(ms, record.time, host, record.user, record.status, record.request)
                for ms, _, host, record in sorted(self._slowest, reverse=True)]

    def busiest_users(self) -> list[tuple[str, UserTally]]:
        ranked = sorted(self.users.items(), key=lambda item: (-item[1].requests, -item[1].ms,
                                                              item[0]))
        return ranked[:self.top]

    def top_agents(self) -> list[tuple[str, AgentTally]]:
        ranked = sorted(self.agents.items(), key=lambda item: (-item[1].requests, item[0]))
        return ranked[:self.top]

    def host_names(self) -> list[str]:
        return sorted(self.hosts)


def _tally(scopes: dict[K, Tally], key: K) -> Tally:
    tally = scopes.get(key)
    if tally is None:
        tally = scopes[key] = Tally()
    return tally


def _histogram(scopes: dict[K, Histogram], key: K) -> Histogram:
    histogram = scopes.get(key)
    if histogram is None:
        histogram = scopes[key] = Histogram()
    return histogram


def _cell(cells: dict[K, Cell], key: K) -> Cell:
    cell = cells.get(key)
    if cell is None:
        cell = cells[key] = Cell()
    return cell


def by_count(counts: dict[K, int]) -> list[tuple[K, int]]:
    """Largest first; ties in key order, so the output is stable."""
    return sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
