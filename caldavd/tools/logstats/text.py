"""caldavd-logstats' text report: the summary and the tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from caldavd.tools.logstats.tally import STATUS_CLASSES, Histogram, Stats, Tally, by_count

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
