"""caldavd-logstats --json: the report as JSON (the keys are described in ``run``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from caldavd.tools.logstats.tally import Histogram, Stats, Tally, by_count
from caldavd.tools.logstats.text import bucket_time

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
