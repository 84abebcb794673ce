"""caldavd-sim's numbers: latency buckets per operation, the verdict, the table and JSON.

Latencies go into buckets, not lists: a run of thousands of users for ten
minutes makes millions of requests, and a percentile read from buckets that
are 5% apart is as good as the exact one for a pass/fail against a threshold.
A percentile is reported as its bucket's upper edge (capped at the largest
latency seen), so it never understates.  The coarse buckets in the JSON
(``<=5``, ``<=10`` ... ms) are counted exactly, for histograms.

Everything that prints works from plain values, so the verdict and the
tables are tested without a server.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# The operations a simulated user performs; the order of the table.
OPERATIONS = ("discovery", "poll", "sync", "multiget", "create", "invite", "accept", "edit")

# Fine buckets: from 0.05 ms, each edge 5% above the last, to 10 minutes.
_RATIO = 1.05
_FIRST_EDGE_MS = 0.05
_LAST_EDGE_MS = 600_000.0
FINE_EDGES_MS: tuple[float, ...] = tuple(
    _FIRST_EDGE_MS * _RATIO ** i
    for i in range(int(math.log(_LAST_EDGE_MS / _FIRST_EDGE_MS, _RATIO)) + 2))
# Coarse buckets for the JSON report (upper edges, ms; the last is "more").
REPORT_EDGES_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000)
PERCENTILES = (50, 95, 99)
JSON_VERSION = 1


class Histogram:
    """Latencies in ms: counts per fine bucket, exact coarse buckets, count, sum, max."""

    def __init__(self) -> None:
        self.fine = [0] * (len(FINE_EDGES_MS) + 1)
        self.coarse = [0] * (len(REPORT_EDGES_MS) + 1)
        self.count = 0
        self.total_ms = 0.0
        self.max_ms = 0.0

    def record(self, ms: float) -> None:
        ms = max(ms, 0.0)
        self.fine[bisect.bisect_left(FINE_EDGES_MS, ms)] += 1
        self.coarse[bisect.bisect_left(REPORT_EDGES_MS, ms)] += 1
        self.count += 1
        self.total_ms += ms
        self.max_ms = max(self.max_ms, ms)

    def merge(self, other: Histogram) -> None:
        self.fine = [a + b for a, b in zip(self.fine, other.fine, strict=True)]
        self.coarse = [a + b for a, b in zip(self.coarse, other.coarse, strict=True)]
        self.count += other.count
        self.total_ms += other.total_ms
        self.max_ms = max(self.max_ms, other.max_ms)

    def percentile(self, pct: float) -> float:
        """The smallest bucket edge at or above ``pct`` percent of the latencies (capped
        at the largest one seen); 0 when empty."""
        if not self.count:
            return 0.0
        rank = max(1, math.ceil(pct / 100 * self.count))
        seen = 0
        for index, n in enumerate(self.fine):
            seen += n
            if seen >= rank:
                edge = FINE_EDGES_MS[index] if index < len(FINE_EDGES_MS) else self.max_ms
                return min(edge, self.max_ms)
        return self.max_ms

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.count if self.count else 0.0

    def coarse_json(self) -> dict[str, int]:
        labels = [f"<={edge}" for edge in REPORT_EDGES_MS] + [f">{REPORT_EDGES_MS[-1]}"]
        return dict(zip(labels, self.coarse, strict=True))


@dataclass
class OpStats:
    """One operation: every HTTP request made for it, how each ended, and its latency."""

    latency: Histogram = field(default_factory=Histogram)
    failures: int = 0
    # 412 on If-Match: another device changed the event first; a real client refetches
    # and retries, so it is the client's race, not the server's failure.
    conflicts: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def count(self) -> int:
        return self.latency.count

    @property
    def failure_percent(self) -> float:
        return 100 * self.failures / self.count if self.count else 0.0


class Recorder:
    """Everything a run counts.  ``by_method`` counts the requests that got an HTTP
    answer, which is what the server's access log lists; requests that got none
    (refused connections, timeouts) are in ``unanswered``."""

    def __init__(self) -> None:
        self.ops: dict[str, OpStats] = {op: OpStats() for op in OPERATIONS}
        self.by_method: Counter[str] = Counter()
        self.by_stats_key: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.unanswered: Counter[str] = Counter()
        # Requests sent and not yet answered, and the most at once: at the size of the
        # simulator's connection pool, requests queued in the simulator itself.
        self.sending = 0
        self.most_in_flight = 0

    def in_flight(self, change: int) -> None:
        self.sending += change
        self.most_in_flight = max(self.most_in_flight, self.sending)

    def answered(self, op: str, method: str, stats_key: str, status: int, ms: float,
                 outcome: str) -> None:
        """``outcome``: "ok", "conflict" or a failure's description."""
        self.by_method[method] += 1
        self.by_stats_key[stats_key] += 1
        self.statuses[str(status)] += 1
        self._count(op, ms, outcome)

    def unanswered_request(self, op: str, method: str, ms: float, reason: str) -> None:
        self.unanswered[reason] += 1
        self._count(op, ms, f"{method} {reason}")

    def bad_body(self, op: str, what: str) -> None:
        """An answer counted as ok turned out unusable (e.g. a malformed multistatus)."""
        stats = self.ops[op]
        stats.failures += 1
        stats.errors[what] += 1

    def _count(self, op: str, ms: float, outcome: str) -> None:
        stats = self.ops[op]
        stats.latency.record(ms)
        if outcome == "conflict":
            stats.conflicts += 1
        elif outcome != "ok":
            stats.failures += 1
            stats.errors[outcome] += 1

    def total(self) -> OpStats:
        whole = OpStats()
        for stats in self.ops.values():
            whole.latency.merge(stats.latency)
            whole.failures += stats.failures
            whole.conflicts += stats.conflicts
            whole.errors.update(stats.errors)
        return whole


# -- thresholds and verdict ---------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """What a run must meet: p95 per operation (with per-operation exceptions) and the
    share of failed requests, per operation and overall."""

    p95_ms: float
    max_failure_percent: float
    p95_ms_by_op: Mapping[str, float] = field(default_factory=dict)

    def p95_for(self, op: str) -> float:
        return self.p95_ms_by_op.get(op, self.p95_ms)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    by_op: Mapping[str, str]          # op -> "PASS", "FAIL" or "n/a" (no request made)
    reasons: Sequence[str]


def verdict(recorder: Recorder, limits: Limits) -> Verdict:
    """PASS when every operation that ran meets its p95 and failure limits, the run as a
    whole meets the failure limit, and at least one request was answered."""
    by_op: dict[str, str] = {}
    reasons: list[str] = []
    for op, stats in recorder.ops.items():
        if not stats.count:
            by_op[op] = "n/a"
            continue
        failed = []
        p95, limit = stats.latency.percentile(95), limits.p95_for(op)
        if p95 > limit:
            failed.append(f"{op}: p95 {p95:.0f} ms > {limit:.0f} ms")
        if stats.failure_percent > limits.max_failure_percent:
            failed.append(f"{op}: {stats.failure_percent:.2f}% of {stats.count} requests "
                          f"failed > {limits.max_failure_percent:g}%")
        by_op[op] = "FAIL" if failed else "PASS"
        reasons.extend(failed)
    whole = recorder.total()
    if not recorder.by_method:
        reasons.append("no request was answered")
    elif whole.failure_percent > limits.max_failure_percent:
        reasons.append(f"all: {whole.failure_percent:.2f}% of {whole.count} requests failed "
                       f"> {limits.max_failure_percent:g}%")
    return Verdict(not reasons, by_op, reasons)


# -- results ------------------------------------------------------------------------------


@dataclass
class Simulator:
    """The simulator's own health: when it is starved, latencies are its own, not the
    server's, and the verdict says nothing about the server."""

    cpu_percent: float = 0.0
    loop_lag: Histogram = field(default_factory=Histogram)

    # An event loop late by this much at the 95th percentile adds that to every latency.
    OVERLOADED_LAG_MS = 50.0

    @property
    def overloaded(self) -> bool:
        return self.loop_lag.percentile(95) > self.OVERLOADED_LAG_MS


@dataclass
class RunResult:
    url: str
    users: int
    duration_s: float
    ramp_up_s: float
    elapsed_s: float
    recorder: Recorder
    verdict: Verdict
    limits: Limits
    invitations: Mapping[str, int]
    simulator: Simulator
    profile: Mapping[str, Any]
    started_at: str
    users_discovered: int = 0
    connections: int = 0


def _ms(value: float) -> float:
    return round(value, 2)


def op_json(stats: OpStats, limit_ms: float, op_verdict: str) -> dict[str, Any]:
    hist = stats.latency
    return {
        "count": stats.count, "failures": stats.failures, "conflicts": stats.conflicts,
        "failure_percent": round(stats.failure_percent, 3),
        "p50_ms": _ms(hist.percentile(50)), "p95_ms": _ms(hist.percentile(95)),
        "p99_ms": _ms(hist.percentile(99)), "max_ms": _ms(hist.max_ms),
        "mean_ms": _ms(hist.mean_ms), "p95_limit_ms": limit_ms, "verdict": op_verdict,
        "buckets_ms": hist.coarse_json(), "errors": dict(sorted(stats.errors.items())),
    }


def run_json(result: RunResult) -> dict[str, Any]:
    """The report of one run; keys are stable (README, "Simulated clients")."""
    rec, limits = result.recorder, result.limits
    whole = rec.total()
    sim = result.simulator
    return {
        "tool": "caldavd-sim", "version": JSON_VERSION, "mode": "run",
        "url": result.url, "started_at": result.started_at,
        "users": result.users, "users_discovered": result.users_discovered,
        "duration_s": result.duration_s, "ramp_up_s": result.ramp_up_s,
        "elapsed_s": round(result.elapsed_s, 3),
        "verdict": "PASS" if result.verdict.passed else "FAIL",
        "passed": result.verdict.passed, "reasons": list(result.verdict.reasons),
        "operations": {op: op_json(stats, limits.p95_for(op), result.verdict.by_op[op])
                       for op, stats in rec.ops.items()},
        "totals": {"count": whole.count, "failures": whole.failures,
                   "conflicts": whole.conflicts,
                   "failure_percent": round(whole.failure_percent, 3),
                   "p95_ms": _ms(whole.latency.percentile(95))},
        "requests": {"total": sum(rec.by_method.values()),
                     "by_method": dict(sorted(rec.by_method.items())),
                     "by_stats_key": dict(sorted(rec.by_stats_key.items())),
                     "statuses": dict(sorted(rec.statuses.items())),
                     "unanswered": dict(sorted(rec.unanswered.items()))},
        "invitations": dict(result.invitations),
        "simulator": {"cpu_percent": round(sim.cpu_percent, 1),
                      "loop_lag_p95_ms": _ms(sim.loop_lag.percentile(95)),
                      "loop_lag_max_ms": _ms(sim.loop_lag.max_ms),
                      "most_in_flight": rec.most_in_flight, "connections": result.connections,
                      "overloaded": sim.overloaded},
        "profile": dict(result.profile),
    }


def render(rows: Sequence[Sequence[str]]) -> str:
    """Text columns: the first left-aligned, the rest right-aligned, a rule under the
    header."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(
            row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _op_row(name: str, op: Mapping[str, Any]) -> tuple[str, ...]:
    return (name, str(op["count"]), str(op["failures"]), str(op["conflicts"]),
            f"{op['failure_percent']:.2f}", f"{op['p50_ms']:.1f}", f"{op['p95_ms']:.1f}",
            f"{op['p99_ms']:.1f}", f"{op['max_ms']:.1f}",
            f"{op['p95_limit_ms']:.0f}" if "p95_limit_ms" in op else "", op.get("verdict", ""))


def run_table(report: Mapping[str, Any]) -> str:
    """The table of one run's JSON report."""
    rows: list[tuple[str, ...]] = [("op", "count", "fail", "412", "fail%", "p50 ms", "p95 ms",
                                    "p99 ms", "max ms", "p95 limit", "verdict")]
    for name, op in report["operations"].items():
        rows.append(_op_row(name, op))
    totals = report["totals"]
    rows.append(("all", str(totals["count"]), str(totals["failures"]),
                 str(totals["conflicts"]), f"{totals['failure_percent']:.2f}", "",
                 f"{totals['p95_ms']:.1f}", "", "", "", ""))
    requests = report["requests"]
    methods = ", ".join(f"{m} {n}" for m, n in requests["by_method"].items()) or "none"
    unanswered = sum(requests["unanswered"].values())
    errors: Counter[str] = Counter()
    for op in report["operations"].values():
        errors.update(op["errors"])
    inv = report["invitations"]
    sim = report["simulator"]
    lines = [
        f"caldavd-sim: {report['users']} users for {report['duration_s']:g} s (ramp-up "
        f"{report['ramp_up_s']:g} s) against {report['url']}; {report['users_discovered']} "
        "completed discovery",
        render(rows),
        f"requests answered: {methods} (total {requests['total']}); "
        f"not answered: {unanswered}",
        "failures: " + (", ".join(f"{what} x{n}" for what, n in errors.most_common(6))
                        or "none"),
        f"invitations: {inv['sent']} sent, {inv['accepted']} accepted, "
        f"{inv['replies_applied']} replies applied, {inv['pending']} pending at the end",
        f"simulator: {sim['cpu_percent']:.0f}% of a core, event-loop lag p95 "
        f"{sim['loop_lag_p95_ms']:.1f} ms (max {sim['loop_lag_max_ms']:.1f} ms), "
        f"at most {sim['most_in_flight']} requests in flight (pool of {sim['connections']})",
    ]
    if sim["overloaded"]:
        lines.append("simulator: OVERLOADED: its own event loop was late; the latencies are "
                     "partly the simulator's, not the server's")
    lines.append(f"verdict: {report['verdict']}" + (
        "" if report["passed"] else ": " + "; ".join(report["reasons"])))
    return "\n".join(lines)


def find_max_table(report: Mapping[str, Any]) -> str:
    """The steps of a ``--find-max`` search and its answer."""
    rows: list[tuple[str, ...]] = [("step", "users", "verdict", "requests", "fail%", "p95 ms",
                                    "worst op p95", "sim lag p95", "why")]
    for number, step in enumerate(report["steps"], 1):
        run = step["result"]
        ops = [(op["p95_ms"], name) for name, op in run["operations"].items() if op["count"]]
        worst = max(ops) if ops else (0.0, "-")
        rows.append((str(number), str(step["users"]), run["verdict"],
                     str(run["requests"]["total"]), f"{run['totals']['failure_percent']:.2f}",
                     f"{run['totals']['p95_ms']:.1f}", f"{worst[1]} {worst[0]:.0f}",
                     f"{run['simulator']['loop_lag_p95_ms']:.0f}",
                     "; ".join(run["reasons"])[:70]))
    found = report["max_users"]
    answer = (f"largest passing: {found} users" if found is not None
              else "no step passed")
    if report["first_failing_users"] is not None:
        answer += f"; smallest failing: {report['first_failing_users']}"
    answer += f" ({report['stopped']})"
    return "\n".join([f"caldavd-sim --find-max against {report['url']}", render(rows),
                      answer])
