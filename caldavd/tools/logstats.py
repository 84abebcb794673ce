"""caldavd-logstats: what the access logs say, per time bucket, per host and overall.

    caldavd-logstats /var/log/caldavd/access.log
    caldavd-logstats --bucket 15m --since 2026-12-01T08:00 host1-access.log host2-access.log.gz
    caldavd-logstats --html report.html --top 20 logs/*.log*
    ssh host3 cat /var/log/caldavd/access.log | caldavd-logstats --json -

Reads access logs (see ``caldavd.tools.logparse`` for the line format; ``.gz``
files are recognised by their first bytes, ``-`` is standard input) and reports
requests by method, by operation (``REPORT calendar-query``, ``PROPFIND
depth=1``, else the method) and by status; latency percentiles overall, per
operation, per host and per bucket; the slowest requests; the busiest users;
the clients by user-agent product (the text before the first ``/``); the cache
hit rate (hits / (hits + misses), over lines that say ``cache=hit|miss``) and
the database's share of the time (sum of ``db`` / sum of milliseconds, over
lines that have both).  The host of a line is its ``node=``; a line without one
belongs to the host its file is named after: the file name less ``.gz``,
rotation numbers (``.1``, ``-20261201``), ``.log`` and a ``-access`` /
``_access`` / ``.access`` suffix, so ``host1-access.log.2.gz`` is ``host1``
(and standard input is ``-``).  Buckets start at multiples of their length
since the epoch, in UTC.  ``--since`` is inclusive, ``--until`` exclusive; an
ISO time without a zone is UTC.  Blank lines are skipped; a line that does not
parse is counted and the first few are named on standard error.

Output: aligned text tables on standard output; ``--json`` prints the
aggregate instead; ``--html PATH`` writes a self-contained page (inline CSS and
SVG, nothing fetched) with charts and the same tables, and then prints only
what ``--json`` asks for.  Memory stays bounded whatever the log size:
latencies go into fixed log-spaced histograms (1.1x apart from 0.1 ms to
10 min, so a percentile is good to about 10 %), the slowest requests into a
heap, and only the distinct users, user-agents, hosts, operations and buckets
are kept.

Measured on the development machine (2 cores, Python 3.11, full lines with
every extra): ``logparse.parse_line`` alone 150,000-160,000 lines/s; the whole
tool (reading, gunzipping, parsing, aggregating) on a 500,000-line log about
83,000 lines/s when the machine is otherwise idle, plain or gzipped alike, and
60,000-70,000 under load.

JSON keys (``--json``), all always present; times are ISO 8601 in UTC,
durations in milliseconds, a rate or share is 0..1 or null with no data:

- ``bucket`` (``"1h"``), ``bucket_seconds``, ``since``, ``until`` (or null),
  ``first``, ``last`` (the earliest and latest request counted, or null);
- ``lines`` (non-blank lines read), ``requests`` (counted), ``unparsed``,
  ``filtered`` (outside ``--since``/``--until``), ``monitoring`` (requests of
  load balancers and monitors, ``/health``, ``/stats`` and ``/metrics``, left
  out unless ``--monitoring``: haproxy alone checks each host twice a second);
- ``overall``, each of ``hosts`` (by host name) and each of ``buckets`` (a
  list in time order of the buckets with requests, each also with ``start``)
  is a *tally*: ``requests``, ``methods`` and ``ops`` (largest count first),
  ``statuses`` (by code, as strings) and ``status_classes`` (``"2xx"``...),
  ``latency_ms`` {``count`` (requests with a time), ``p50``, ``p95``, ``p99``,
  ``max``, ``mean``}, ``cache`` {``hits``, ``misses``, ``hit_rate``}, ``db``
  {``db_ms``, ``timed_ms`` (the time of the lines with ``db``), ``share``},
  ``bytes_out``;
- each bucket's ``by_host``: {host: {``requests``, ``status_classes``,
  ``latency_ms``}};
- ``latency_by_op``: {op: ``latency_ms`` object};
- ``slowest``: [{``time``, ``host``, ``user``, ``request``, ``status``,
  ``ms``}], slowest first;
- ``users``: [{``user``, ``requests``, ``total_ms``}], busiest first
  (authenticated requests only);
- ``user_agents``: [{``product``, ``requests``, ``total_ms``, ``examples``:
  [{``agent``, ``requests``}] (up to three)}], most requests first;
- ``slowest``, ``users`` and ``user_agents`` hold at most ``--top`` entries.
"""

from __future__ import annotations

import argparse
import gzip
import heapq
import io
import json
import math
import os
import re
import stat
import sys
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn, TextIO, TypeVar

from caldavd.tools.common import fail
from caldavd.tools.logparse import MONITORING, AccessRecord, UnparsableLine, parse_line

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


# -- reading -------------------------------------------------------------------

class _CountingReader(io.RawIOBase):
    """The bytes read from the file so far: for a gzipped log, the compressed
    offset, which is what progress can compare with the file's size."""

    def __init__(self, raw: io.FileIO) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        got = self._raw.readinto(buffer)
        if got:
            self.count += got
        return got

    def close(self) -> None:
        self._raw.close()
        super().close()


@dataclass(frozen=True, slots=True)
class Source:
    path: str
    host: str
    size: int | None


def check_sources(paths: Sequence[str]) -> list[Source]:
    """Every log readable before any is read: a typo should not cost an hour."""
    sources = []
    for path in paths:
        try:
            size = _size(sys.stdin.fileno()) if path == "-" else _size_of(path)
        except OSError as exc:
            error(f"{path}: {exc.strerror or exc}")
        sources.append(Source(path, host_of_path(path), size))
    return sources


def _size_of(path: str) -> int | None:
    with open(path, "rb") as probe:
        return _size(probe.fileno())


def _size(fd: int) -> int | None:
    info = os.fstat(fd)
    return info.st_size if stat.S_ISREG(info.st_mode) else None


@contextmanager
def open_log(source: Source) -> Iterator[tuple[TextIO, _CountingReader]]:
    """The log's lines (gunzipped if it starts like gzip) and its byte counter."""
    raw = (io.FileIO(sys.stdin.fileno(), closefd=False) if source.path == "-"
           else io.FileIO(source.path))
    counter = _CountingReader(raw)
    buffered = io.BufferedReader(counter, buffer_size=1 << 16)
    binary: io.BufferedReader[_CountingReader] | gzip.GzipFile = buffered
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        binary = gzip.GzipFile(fileobj=buffered, mode="rb")
    text = io.TextIOWrapper(binary, encoding="utf-8", errors="replace", newline="\n")
    try:
        yield text, counter
    finally:
        text.close()


class Progress:
    """One line on standard error, rewritten at most four times a second."""

    def __init__(self, stream: TextIO, total: int | None, enabled: bool) -> None:
        self.stream = stream
        self.total = total
        self.enabled = enabled
        self.started = time.monotonic()
        self._shown = self.started - PROGRESS_SECONDS
        self._width = 0

    def update(self, done: int, lines: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._shown < PROGRESS_SECONDS:
            return
        self._shown = now
        rate = lines / max(now - self.started, 1e-6)
        text = f"{_bytes_text(done)}"
        if self.total:
            text += f" / {_bytes_text(self.total)}  {min(done / self.total, 1.0):6.1%}"
        text += f"  {lines:,} lines  {rate:,.0f} lines/s"
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
        self._width = len(text)

    def finish(self, done: int, lines: int) -> None:
        if self.enabled:
            self.update(done, lines, force=True)
            self.stream.write("\n")
            self.stream.flush()


def _bytes_text(count: int) -> str:
    """Bytes in the unit that keeps a progress line short and still moving."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            return f"{count / size:,.1f} {unit}"
    return f"{count} B"


def read_all(sources: Sequence[Source], stats: Stats, progress: Progress) -> None:
    done = 0
    for source in sources:
        try:
            done += read_one(source, stats, progress, done)
        except (OSError, EOFError, zlib.error) as exc:
            progress.finish(done, stats.lines)
            error(f"{source.path}: {getattr(exc, 'strerror', None) or exc}")
    progress.finish(done, stats.lines)
    stats.finish()


def read_one(source: Source, stats: Stats, progress: Progress, before: int) -> int:
    """Feed one log to ``stats``; the bytes it took."""
    with open_log(source) as (lines, counter):
        for number, line in enumerate(lines, 1):
            if not number & 0x3FF:
                progress.update(before + counter.count, stats.lines)
            try:
                record = parse_line(line)
            except UnparsableLine:
                if line.strip():
                    stats.add_unparsed(source.path, number, line)
                continue
            stats.add(record, record.node or source.host)
        return counter.count


# -- text report ---------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Table:
    """A titled table both reports show; ``numeric`` columns are right-aligned."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    numeric: frozenset[int] = frozenset()


def counted(number: int, thing: str) -> str:
    return f"{number:,} {thing}" + ("" if number == 1 else "s")


def ms_text(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def rate_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def time_text(moment: datetime, seconds: int = 1) -> str:
    utc = moment.astimezone(UTC)
    if seconds >= 86400:
        return utc.strftime("%Y-%m-%d")
    return utc.strftime("%Y-%m-%d %H:%M" if seconds >= 60 else "%Y-%m-%d %H:%M:%S")


def bucket_time(start: int) -> datetime:
    return datetime.fromtimestamp(start, UTC)


def summary_lines(stats: Stats) -> list[str]:
    """The report's head: what was read, the time span, the headline figures."""
    overall = stats.overall
    lines = [f"{counted(stats.lines, 'line')}, {counted(overall.requests, 'request')}, "
             f"{counted(len(stats.hosts), 'host')}, {counted(stats.unparsed, 'unparsed line')}"
             + (f", {stats.filtered:,} outside --since/--until" if stats.filtered else "")
             + (f", {stats.monitoring:,} monitoring requests left out (--monitoring counts "
                f"them)" if stats.monitoring else "")]
    if stats.first is not None and stats.last is not None:
        lines.append(f"from {time_text(stats.first)} to {time_text(stats.last)} UTC, "
                     f"buckets of {stats.bucket}")
    latency = overall.latency
    lines.append(f"latency: p50 {ms_text(latency.percentile(0.5))} ms, "
                 f"p95 {ms_text(latency.percentile(0.95))} ms, "
                 f"p99 {ms_text(latency.percentile(0.99))} ms, "
                 f"max {ms_text(latency.high if latency.count else None)} ms "
                 f"({counted(latency.count, 'timed request')})")
    lines.append(f"cache hit rate: {rate_text(overall.cache_hit_rate())} "
                 f"({overall.cache_hits:,} hits, {overall.cache_misses:,} misses); "
                 f"db time share: {rate_text(overall.db_share())}")
    return lines


def _latency_cells(latency: Histogram) -> list[str]:
    return [ms_text(latency.percentile(0.5)), ms_text(latency.percentile(0.95)),
            ms_text(latency.percentile(0.99)), ms_text(latency.high if latency.count else None)]


LATENCY_COLUMNS = ["p50 ms", "p95 ms", "p99 ms", "max ms"]


def hosts_table(stats: Stats) -> Table:
    scopes = [(host, stats.hosts[host]) for host in stats.host_names()]
    scopes.append(("(all)", stats.overall))
    rows = [[name, f"{tally.requests:,}",
             *(f"{tally.status_classes().get(c, 0):,}" for c in STATUS_CLASSES[1:]),
             *_latency_cells(tally.latency), rate_text(tally.cache_hit_rate()),
             rate_text(tally.db_share())] for name, tally in scopes]
    columns = ["host", "requests", *STATUS_CLASSES[1:], *LATENCY_COLUMNS, "cache hits",
               "db share"]
    return Table("Hosts", columns, rows, frozenset(range(1, len(columns))))


def _per_host_counts(stats: Stats, title: str, label: str,
                     counts: Callable[[Tally], dict[str, int]]) -> Table:
    hosts = stats.host_names()
    rows = [[key, f"{count:,}", *(f"{counts(stats.hosts[h]).get(key, 0):,}" for h in hosts)]
            for key, count in by_count(counts(stats.overall))]
    return Table(title, [label, "requests", *hosts], rows, frozenset(range(1, len(hosts) + 2)))


def methods_table(stats: Stats) -> Table:
    return _per_host_counts(stats, "Requests by method", "method", lambda t: t.methods)


def statuses_table(stats: Stats) -> Table:
    def statuses(tally: Tally) -> dict[str, int]:
        return {str(code): count for code, count in tally.statuses.items()}
    return _per_host_counts(stats, "Requests by status", "status", statuses)


def ops_table(stats: Stats) -> Table:
    rows = [[op, f"{count:,}", *_latency_cells(stats.op_latency.get(op, Histogram()))]
            for op, count in by_count(stats.overall.ops)]
    return Table("Requests by operation", ["op", "requests", *LATENCY_COLUMNS], rows,
                 frozenset(range(1, 6)))


def bucket_methods(stats: Stats, limit: int = 8) -> list[str]:
    """The methods that get a column of their own in per-bucket views."""
    return [method for method, _ in by_count(stats.overall.methods)[:limit]]


def buckets_table(stats: Stats) -> Table:
    methods = bucket_methods(stats)
    rows = []
    for start, tally in sorted(stats.buckets.items()):
        classes = tally.status_classes()
        rows.append([time_text(bucket_time(start), stats.bucket_seconds), f"{tally.requests:,}",
                     *(f"{tally.methods.get(m, 0):,}" for m in methods),
                     *(f"{classes.get(c, 0):,}" for c in STATUS_CLASSES[1:]),
                     *_latency_cells(tally.latency)])
    columns = ["bucket", "requests", *methods, *STATUS_CLASSES[1:], *LATENCY_COLUMNS]
    return Table(f"Requests per {stats.bucket} bucket", columns, rows,
                 frozenset(range(1, len(columns))))


def bucket_hosts_table(stats: Stats) -> Table:
    hosts = stats.host_names()
    rows = []
    for start in sorted(stats.buckets):
        cells = [time_text(bucket_time(start), stats.bucket_seconds)]
        for host in hosts:
            tally = stats.bucket_hosts.get((start, host), Tally())
            cells += [f"{tally.requests:,}", ms_text(tally.latency.percentile(0.95))]
        rows.append(cells)
    columns = ["bucket"] + [f"{host} {what}" for host in hosts for what in ("requests", "p95 ms")]
    return Table(f"Requests and p95 per {stats.bucket} bucket and host", columns, rows,
                 frozenset(range(1, len(columns))))


def slowest_table(stats: Stats) -> Table:
    rows = [[time_text(slow.time), slow.host, slow.user or "-", str(slow.status),
             ms_text(slow.ms), slow.request] for slow in stats.slowest()]
    return Table("Slowest requests", ["time", "host", "user", "status", "ms", "request"], rows,
                 frozenset({3, 4}))


def users_table(stats: Stats) -> Table:
    rows = [[name, f"{user.requests:,}", ms_text(user.ms), ms_text(user.ms / user.requests)]
            for name, user in stats.busiest_users()]
    return Table("Busiest users", ["user", "requests", "total ms", "mean ms"], rows,
                 frozenset({1, 2, 3}))


def agents_table(stats: Stats, examples: int = 3) -> Table:
    rows = []
    for product, agent in stats.top_agents():
        shown = "; ".join(f"{text} ({count:,})"
                          for text, count in by_count(agent.examples)[:examples])
        rows.append([product, f"{agent.requests:,}", ms_text(agent.ms), shown])
    return Table("Clients (user-agent products)", ["product", "requests", "total ms",
                                                   "examples"], rows, frozenset({1, 2}))


def tables(stats: Stats) -> list[Table]:
    """The report's tables, in order, for text and HTML alike."""
    return [hosts_table(stats), methods_table(stats), ops_table(stats), statuses_table(stats),
            buckets_table(stats), bucket_hosts_table(stats), slowest_table(stats),
            users_table(stats), agents_table(stats)]


def render_table(table: Table) -> list[str]:
    """Columns two spaces apart (so a cell may hold single spaces)."""
    if not table.rows:
        return [table.title, "  (none)"]
    cells = [table.columns, *table.rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(table.columns))]
    lines = [table.title]
    for row in cells:
        parts = [cell.rjust(widths[i]) if i in table.numeric else cell.ljust(widths[i])
                 for i, cell in enumerate(row)]
        lines.append(("  " + "  ".join(parts)).rstrip())
    return lines


def render_text(stats: Stats) -> str:
    blocks = ["\n".join(summary_lines(stats))]
    blocks += ["\n".join(render_table(table)) for table in tables(stats)]
    return "\n\n".join(blocks) + "\n"


# -- JSON ----------------------------------------------------------------------

def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def latency_json(latency: Histogram) -> dict[str, Any]:
    return {"count": latency.count, "p50": _round(latency.percentile(0.5)),
            "p95": _round(latency.percentile(0.95)), "p99": _round(latency.percentile(0.99)),
            "max": _round(latency.high) if latency.count else None,
            "mean": _round(latency.mean())}


def tally_json(tally: Tally) -> dict[str, Any]:
    return {
        "requests": tally.requests,
        "methods": dict(by_count(tally.methods)),
        "ops": dict(by_count(tally.ops)),
        "statuses": {str(code): count for code, count in sorted(tally.statuses.items())},
        "status_classes": tally.status_classes(),
        "latency_ms": latency_json(tally.latency),
        "cache": {"hits": tally.cache_hits, "misses": tally.cache_misses,
                  "hit_rate": _round(tally.cache_hit_rate(), 4)},
        "db": {"db_ms": _round(tally.db_ms), "timed_ms": _round(tally.timed_db_ms),
               "share": _round(tally.db_share(), 4)},
        "bytes_out": tally.bytes_out,
    }


def _bucket_json(stats: Stats, start: int, tally: Tally) -> dict[str, Any]:
    by_host = {}
    for host in stats.host_names():
        scope = stats.bucket_hosts.get((start, host))
        if scope is not None:
            by_host[host] = {"requests": scope.requests,
                             "status_classes": scope.status_classes(),
                             "latency_ms": latency_json(scope.latency)}
    return {"start": _iso(bucket_time(start)), **tally_json(tally), "by_host": by_host}


def to_json(stats: Stats) -> dict[str, Any]:
    """The aggregate, with the keys the module docstring lists."""
    return {
        "bucket": stats.bucket, "bucket_seconds": stats.bucket_seconds,
        "since": _iso(stats.since), "until": _iso(stats.until),
        "first": _iso(stats.first), "last": _iso(stats.last),
        "lines": stats.lines, "requests": stats.overall.requests,
        "unparsed": stats.unparsed, "filtered": stats.filtered,
        "monitoring": stats.monitoring,
        "overall": tally_json(stats.overall),
        "hosts": {host: tally_json(stats.hosts[host]) for host in stats.host_names()},
        "buckets": [_bucket_json(stats, start, tally)
                    for start, tally in sorted(stats.buckets.items())],
        "latency_by_op": {op: latency_json(stats.op_latency.get(op, Histogram()))
                          for op, _ in by_count(stats.overall.ops)},
        "slowest": [{"time": _iso(slow.time), "host": slow.host, "user": slow.user,
                     "request": slow.request, "status": slow.status, "ms": slow.ms}
                    for slow in stats.slowest()],
        "users": [{"user": name, "requests": user.requests, "total_ms": _round(user.ms)}
                  for name, user in stats.busiest_users()],
        "user_agents": [{"product": product, "requests": agent.requests,
                         "total_ms": _round(agent.ms),
                         "examples": [{"agent": text, "requests": count}
                                      for text, count in by_count(agent.examples)[:3]]}
                        for product, agent in stats.top_agents()],
    }


# -- command line --------------------------------------------------------------

def error(message: str) -> NoReturn:
    """One line and exit 1."""
    fail(message)


def iso_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return int(text)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Requests, latency and clients from caldavd's access logs.")
    parser.add_argument("logs", nargs="+", metavar="LOG",
                        help="an access log (gzipped or not), or - for standard input")
    parser.add_argument("--bucket", choices=BUCKETS, default="1h",
                        help="length of the time buckets (default: 1h)")
    parser.add_argument("--since", type=iso_time, metavar="TIME",
                        help="only requests at or after this ISO time (UTC if no zone)")
    parser.add_argument("--until", type=iso_time, metavar="TIME",
                        help="only requests before this ISO time (UTC if no zone)")
    parser.add_argument("--top", type=positive, default=10, metavar="N",
                        help="how many slowest requests, users and clients (default: 10)")
    parser.add_argument("--json", action="store_true",
                        help="print the aggregate as JSON instead of text")
    parser.add_argument("--html", metavar="PATH",
                        help="write a self-contained HTML report to PATH (no text then)")
    parser.add_argument("--monitoring", action="store_true",
                        help="also count /health, /stats and /metrics (left out by default)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show progress on standard error (default: when it is a terminal)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    stats = Stats(args.bucket, args.since, args.until, args.top, args.monitoring)
    sources = check_sources(args.logs)
    total = None if any(s.size is None for s in sources) else sum(s.size or 0 for s in sources)
    enabled = sys.stderr.isatty() if args.progress is None else args.progress
    read_all(sources, stats, Progress(sys.stderr, total, enabled))
    _warn_unparsed(stats)
    if args.html:
        _write_html(args.html, stats)
    try:
        if args.json:
            json.dump(to_json(stats), sys.stdout, indent=2)
            sys.stdout.write("\n")
        elif not args.html:
            sys.stdout.write(render_text(stats))
        sys.stdout.flush()
    except BrokenPipeError:  # | head: quietly, as the Python docs do it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


def _warn_unparsed(stats: Stats) -> None:
    for sample in stats.unparsed_samples:
        print(f"{PROG}: warning: {sample.source}:{sample.number}: unparsed line: "
              f"{sample.text[:200]}", file=sys.stderr)
    if stats.unparsed:
        print(f"{PROG}: warning: {counted(stats.unparsed, 'unparsed line')}", file=sys.stderr)


def _write_html(path: str, stats: Stats) -> None:
    from caldavd.tools.logstats_html import render_html
    try:
        with open(path, "w", encoding="utf-8") as out:
            out.write(render_html(stats))
    except OSError as exc:
        error(f"{path}: {exc.strerror or exc}")


if __name__ == "__main__":
    sys.exit(main())
