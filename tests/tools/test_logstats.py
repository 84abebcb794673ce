"""caldavd-logstats on real log files, run as an operator runs it.

The logs are made here from a list of requests whose every attribute is known
(two hosts, one log plain and one gzipped, three hourly buckets, lines of all
three formats, some garbage), so each expected figure is computed from that
list independently of the tool.
"""

from __future__ import annotations

import gzip
import itertools
import json
import math
import random
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from caldavd.ops.accesslog import UNCOUNTED
from caldavd.ops.logparse import MONITORING
from caldavd.tools.logstats.tally import Histogram, bin_of
from tests.tools.helpers import TOOLS, Result, run_tool

START = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
OPS = [("GET", None, None), ("PUT", None, None), ("REPORT", "calendar-query", "1"),
       ("REPORT", "calendar-multiget", "1"), ("PROPFIND", "prop", "1"),
       ("REPORT", "sync-collection", "1"), ("PROPFIND", "allprop", "0"), ("GET", None, None),
       ("DELETE", None, None), ("REPORT", "free-busy-query", "-"), ("OPTIONS", None, None)]
STATUSES = [200, 207, 207, 201, 204, 304, 404, 403, 500, 207, 200]
USERS = ["user01", "user02", "user03", "user03", "user04", None, "user03"]
AGENTS = ["DAVx5/4.3 (dav4jvm)", "macOS/14.0 (23A344) CalendarAgent/1000",
          "DAVx5/4.2 (dav4jvm)", "Mozilla/5.0 (X11; Linux) Thunderbird/115.0", None,
          "DAVx5/4.3 (dav4jvm)"]
CACHES = ["hit", "miss", "hit", None, "hit", "miss"]
PER_HOUR = {"host1": (40, 25, 31), "host2": (20, 35, 12)}
SLOW_MS = 4321.5
SLOW_TARGET = "/calendars/__uids__/u7/calendar/<script>x</script>"


@dataclass(frozen=True)
class Req:
    """One request as the test means it; ``fmt`` is the line's vintage."""

    host: str
    when: datetime
    method: str
    type: str | None
    depth: str | None
    status: int
    ms: float | None
    user: str | None
    agent: str | None
    cache: str | None
    db: float | None
    fmt: str  # "new": with extras, "old": ends after ms, "oldest": ends after user-agent
    target: str

    @property
    def op(self) -> str:
        if self.method == "REPORT" and self.type and self.type != "-":
            return f"REPORT {self.type}"
        if self.method == "PROPFIND" and self.depth and self.depth != "-":
            return f"PROPFIND depth={self.depth}"
        return self.method

    @property
    def hour(self) -> str:
        return self.when.strftime("%Y-%m-%d %H:00")


def make_requests() -> list[Req]:
    rng = random.Random(8)
    cycle = itertools.count()
    requests = []
    for host, counts in PER_HOUR.items():
        for hour, count in enumerate(counts):
            for i in range(count):
                n = next(cycle)
                method, kind, depth = OPS[n % len(OPS)]
                fmt = "oldest" if n % 23 == 7 else "old" if n % 9 == 4 else "new"
                new = fmt == "new"
                ms = None if fmt == "oldest" else round(rng.lognormvariate(2.5, 1.0), 2)
                requests.append(Req(
                    host, START + timedelta(hours=hour, seconds=i * 97 % 3600), method,
                    kind if new else None, depth if new else None, STATUSES[n % len(STATUSES)],
                    ms, USERS[n % len(USERS)], AGENTS[n % len(AGENTS)],
                    CACHES[n % len(CACHES)] if new else None,
                    round(ms * 0.3, 2) if new and ms is not None and n % 7 else None,
                    fmt, f"/calendars/__uids__/u{n % 5}/calendar/"))
    requests.append(Req("host2", START + timedelta(hours=1, minutes=30), "REPORT",
                        "calendar-query", "1", 207, SLOW_MS, "user07", 'Probe "X"/2.0', "miss",
                        12.5, "new", SLOW_TARGET))
    return requests


def _quoted(text: str | None) -> str:
    return "-" if text is None else text.replace("\\", "\\\\").replace('"', '\\"')


def log_line(req: Req, n: int) -> str:
    line = (f'10.0.0.{n % 250} - {req.user or "-"} [{req.when:%d/%b/%Y:%H:%M:%S +0000}] '
            f'"{_quoted(f"{req.method} {req.target} HTTP/1.1")}" {req.status} {100 + n} "-" '
            f'"{_quoted(req.agent)}"')
    if req.ms is not None:
        line += f" {req.ms:.2f}"
    if req.fmt == "new":
        extras = [f"node={req.host}", f"w={n % 2}", "in=0", f"type={req.type or '-'}",
                  f"depth={req.depth or '-'}", f"cache={req.cache or '-'}", f"trace=t{n}"]
        if req.db is not None:
            extras.append(f"db={req.db:.2f}")
        line += " " + " ".join(reversed(extras) if n % 2 else extras)
    return line + "\n"


GARBAGE_1 = ["this is not a log line\n", '127.0.0.1 - user01 [01/Dec/2026:20:1\n']
GARBAGE_2 = ["\x01\x02 binary noise\n"]


@dataclass
class Logs:
    requests: list[Req]
    plain: Path
    gzipped: Path
    garbage_lines: dict[str, list[int]]

    @property
    def paths(self) -> list[str]:
        return [str(self.plain), str(self.gzipped)]


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Logs:
    """host1's log plain, host2's gzipped (with a rotation number), garbage in both;
    a blank line too, which is no line at all."""
    directory = tmp_path_factory.mktemp("logs")
    requests = make_requests()
    lines = {host: [log_line(r, n) for n, r in enumerate(requests) if r.host == host]
             for host in PER_HOUR}
    first = lines["host1"]
    first[5:5] = [GARBAGE_1[0]]
    first[30:30] = ["\n", GARBAGE_1[1]]
    second = lines["host2"]
    second[17:17] = GARBAGE_2
    plain = directory / "host1-access.log"
    plain.write_text("".join(first))
    gzipped = directory / "host2-access.log.1.gz"
    gzipped.write_bytes(gzip.compress("".join(second).encode()))
    return Logs(requests, plain, gzipped,
                {str(plain): [6, 32], str(gzipped): [18]})


def run_json(*args: str) -> dict[str, Any]:
    result = run_tool("caldavd-logstats", "--json", *args)
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


@pytest.fixture(scope="module")
def report(logs: Logs) -> dict[str, Any]:
    return run_json(*logs.paths)


def nearest_rank(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)), 1) - 1]


def assert_close_to_percentile(estimate: float, values: list[float], fraction: float) -> None:
    """Within the histogram's resolution (bins 1.1x apart) of the true value."""
    true = nearest_rank(values, fraction)
    assert true / 1.1 - 1e-6 <= estimate <= true * 1.1 + 1e-6, (fraction, estimate, true)


# -- JSON ----------------------------------------------------------------------

def test_json_counts_by_method_op_status_host_and_bucket(logs: Logs,
                                                         report: dict[str, Any]) -> None:
    requests = logs.requests
    assert report["requests"] == len(requests) == 164
    assert report["unparsed"] == 3
    assert report["lines"] == len(requests) + 3
    assert report["filtered"] == 0
    overall = report["overall"]
    assert overall["methods"] == dict(Counter(r.method for r in requests))
    assert overall["ops"] == dict(Counter(r.op for r in requests))
    assert "REPORT calendar-query" in overall["ops"] and "PROPFIND depth=1" in overall["ops"]
    assert overall["statuses"] == {str(k): v for k, v in Counter(r.status for r in requests)
                                   .items()}
    assert overall["status_classes"] == dict(Counter(f"{r.status // 100}xx" for r in requests))
    assert list(overall["methods"].values()) == sorted(overall["methods"].values(), reverse=True)
    assert sorted(report["hosts"]) == ["host1", "host2"]
    for host, counts in PER_HOUR.items():
        mine = [r for r in requests if r.host == host]
        assert report["hosts"][host]["requests"] == len(mine) == sum(counts) + (host == "host2")
        assert report["hosts"][host]["ops"] == dict(Counter(r.op for r in mine))
    assert [b["start"] for b in report["buckets"]] == [
        "2026-12-01T20:00:00+00:00", "2026-12-01T21:00:00+00:00", "2026-12-01T22:00:00+00:00"]
    for bucket in report["buckets"]:
        hour = bucket["start"][:13].replace("T", " ") + ":00"
        mine = [r for r in requests if r.hour == hour]
        assert bucket["requests"] == len(mine)
        assert bucket["methods"] == dict(Counter(r.method for r in mine))
        assert bucket["statuses"] == {str(k): v for k, v in Counter(r.status for r in mine)
                                      .items()}
        assert {h: v["requests"] for h, v in bucket["by_host"].items()} == dict(
            Counter(r.host for r in mine))


def test_json_latency_within_histogram_resolution(logs: Logs, report: dict[str, Any]) -> None:
    timed = [r for r in logs.requests if r.ms is not None]
    values = [r.ms for r in timed if r.ms is not None]
    latency = report["overall"]["latency_ms"]
    assert latency["count"] == len(values) < len(logs.requests)
    assert latency["max"] == SLOW_MS
    assert latency["mean"] == pytest.approx(sum(values) / len(values), abs=0.01)
    for key, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        assert_close_to_percentile(latency[key], values, fraction)
    for op in ("GET", "REPORT calendar-multiget", "PUT"):
        mine = [r.ms for r in timed if r.op == op and r.ms is not None]
        by_op = report["latency_by_op"][op]
        assert by_op["count"] == len(mine)
        assert by_op["max"] == max(mine)
        assert_close_to_percentile(by_op["p50"], mine, 0.5)
        assert_close_to_percentile(by_op["p95"], mine, 0.95)
    host1 = [r.ms for r in timed if r.host == "host1" and r.ms is not None]
    assert_close_to_percentile(report["hosts"]["host1"]["latency_ms"]["p95"], host1, 0.95)


def test_json_slowest_users_agents_cache_and_db(logs: Logs, report: dict[str, Any]) -> None:
    requests = logs.requests
    slowest = report["slowest"]
    assert len(slowest) == 10
    assert slowest[0] == {"time": "2026-12-01T21:30:00+00:00", "host": "host2",
                          "user": "user07", "status": 207, "ms": SLOW_MS,
                          "request": f"REPORT {SLOW_TARGET} HTTP/1.1"}
    expected = sorted((r.ms for r in requests if r.ms is not None), reverse=True)[:10]
    assert [s["ms"] for s in slowest] == expected

    users = Counter(r.user for r in requests if r.user)
    assert report["users"][0]["user"] == "user03" == users.most_common(1)[0][0]
    assert {u["user"]: u["requests"] for u in report["users"]} == dict(users)
    user03_ms = sum(r.ms or 0 for r in requests if r.user == "user03")
    assert report["users"][0]["total_ms"] == pytest.approx(user03_ms, abs=0.01)

    agents = {a["product"]: a for a in report["user_agents"]}
    assert sorted(agents) == sorted(["DAVx5", "macOS", "Mozilla", "-", 'Probe "X"'])
    davx5 = [r.agent for r in requests if r.agent and r.agent.startswith("DAVx5/")]
    assert agents["DAVx5"]["requests"] == len(davx5)
    assert report["user_agents"][0]["product"] == "DAVx5"
    assert {e["agent"]: e["requests"] for e in agents["DAVx5"]["examples"]} == dict(
        Counter(davx5))
    assert agents["-"]["requests"] == sum(r.agent is None for r in requests)

    hits = sum(r.cache == "hit" for r in requests)
    misses = sum(r.cache == "miss" for r in requests)
    cache = report["overall"]["cache"]
    assert (cache["hits"], cache["misses"]) == (hits, misses)
    assert cache["hit_rate"] == round(hits / (hits + misses), 4)
    with_db = [r for r in requests if r.db is not None and r.ms is not None]
    share = sum(r.db or 0 for r in with_db) / sum(r.ms or 0 for r in with_db)
    assert report["overall"]["db"]["share"] == pytest.approx(share, abs=1e-4)


def test_since_until_and_daily_buckets(logs: Logs) -> None:
    report = run_json("--bucket", "1d", "--since", "2026-12-01T21:00",
                      "--until", "2026-12-01T22:00:00+00:00", *logs.paths)
    inside = [r for r in logs.requests if r.hour == "2026-12-01 21:00"]
    assert report["requests"] == len(inside)
    assert report["filtered"] == len(logs.requests) - len(inside)
    assert report["since"] == "2026-12-01T21:00:00+00:00"
    assert [(b["start"], b["requests"]) for b in report["buckets"]] == [
        ("2026-12-01T00:00:00+00:00", len(inside))]


def test_host_is_node_else_the_file_name(tmp_path: Path) -> None:
    mixed = tmp_path / "collected.log"
    base = Req("host9", START, "GET", None, None, 200, 1.0, None, None, None, None, "new", "/")
    mixed.write_text(log_line(base, 1) + log_line(base, 2)
                     + log_line(replace(base, fmt="old"), 3))
    report = run_json(str(mixed))
    assert {host: h["requests"] for host, h in report["hosts"].items()} == {
        "host9": 2, "collected": 1}


def test_monitoring_requests_are_left_out_unless_asked(tmp_path: Path) -> None:
    """haproxy's /health checks (twice a second per host) would swamp the clients' numbers."""
    log = tmp_path / "host1-access.log"
    base = Req("host1", START, "GET", None, None, 200, 1.0, None, None, None, None, "new", "/")
    lines = [log_line(replace(base, target=path), n) for n, path in enumerate(
        ["/health", "/health", "/stats?raw=1", "/metrics", "/calendars/x.ics", "/healthy"])]
    log.write_text("".join(lines))
    report = run_json(str(log))
    assert (report["requests"], report["monitoring"]) == (2, 4)
    assert report["lines"] == 6
    everything = run_json(str(log), "--monitoring")
    assert (everything["requests"], everything["monitoring"]) == (6, 0)
    text = run_tool("caldavd-logstats", str(log))
    assert "4 monitoring requests left out" in text.stdout


def test_monitoring_paths_are_the_ones_the_server_does_not_count() -> None:
    assert MONITORING == UNCOUNTED


def test_standard_input_gzipped(logs: Logs) -> None:
    proc = subprocess.run([sys.executable, "-m", TOOLS["caldavd-logstats"], "--json", "-"],
                          input=logs.gzipped.read_bytes(), capture_output=True, check=False,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    host2 = [r for r in logs.requests if r.host == "host2"]
    assert report["requests"] == len(host2)
    assert report["unparsed"] == 1
    old = sum(r.fmt != "new" for r in host2)
    assert sorted(report["hosts"]) == ["-", "host2"]
    assert report["hosts"]["-"]["requests"] == old


# -- text ----------------------------------------------------------------------

def table(text: str, title: str) -> dict[str, dict[str, str]]:
    """A text table's rows by first cell, each a dict by column heading."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    rows = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    header, *body = rows
    return {row[0]: dict(zip(header, row, strict=True)) for row in body}


def number(cell: str) -> float:
    return float(cell.replace(",", ""))


@pytest.fixture(scope="module")
def text_run(logs: Logs) -> Result:
    result = run_tool("caldavd-logstats", *logs.paths)
    assert result.returncode == 0, result.stderr
    return result


def test_text_report_tables(logs: Logs, text_run: Result) -> None:
    requests = logs.requests
    text = text_run.stdout
    assert "164 requests" in text and "3 unparsed lines" in text
    hosts = table(text, "Hosts")
    assert number(hosts["(all)"]["requests"]) == len(requests)
    assert number(hosts["host1"]["requests"]) == sum(r.host == "host1" for r in requests)
    assert number(hosts["host2"]["5xx"]) == sum(r.host == "host2" and r.status >= 500
                                                for r in requests)
    assert number(hosts["(all)"]["max ms"]) == SLOW_MS
    methods = table(text, "Requests by method")
    for method, count in Counter(r.method for r in requests).items():
        assert number(methods[method]["requests"]) == count
        assert number(methods[method]["host1"]) == sum(r.method == method and r.host == "host1"
                                                       for r in requests)
    ops = table(text, "Requests by operation")
    assert {op: number(row["requests"]) for op, row in ops.items()} == dict(
        Counter(r.op for r in requests))
    statuses = table(text, "Requests by status")
    assert number(statuses["500"]["requests"]) == sum(r.status == 500 for r in requests)
    buckets = table(text, "Requests per 1h bucket")
    assert {b: number(row["requests"]) for b, row in buckets.items()} == dict(
        Counter(r.hour for r in requests))
    assert number(buckets["2026-12-01 21:00"]["GET"]) == sum(
        r.method == "GET" and r.hour == "2026-12-01 21:00" for r in requests)
    per_host = table(text, "Requests and p95 per 1h bucket and host")
    assert number(per_host["2026-12-01 22:00"]["host2 requests"]) == PER_HOUR["host2"][2]
    slowest = table(text, "Slowest requests")
    top = next(iter(slowest.values()))
    assert (top["host"], top["user"], number(top["ms"]), top["request"]) == (
        "host2", "user07", SLOW_MS, f"REPORT {SLOW_TARGET} HTTP/1.1")
    users = table(text, "Busiest users")
    assert next(iter(users)) == "user03"
    agents = table(text, "Clients (user-agent products)")
    assert "DAVx5/4.2 (dav4jvm)" in agents["DAVx5"]["examples"]
    assert "DAVx5/4.3 (dav4jvm)" in agents["DAVx5"]["examples"]


def test_unparsed_lines_named_on_stderr(logs: Logs, text_run: Result) -> None:
    for path, numbers in logs.garbage_lines.items():
        for line_number in numbers:
            assert f"{path}:{line_number}: unparsed line" in text_run.stderr
    assert "caldavd-logstats: warning: 3 unparsed lines" in text_run.stderr
    assert "Traceback" not in text_run.stderr


# -- HTML ----------------------------------------------------------------------

def found(element: Any, path: str) -> list[Any]:
    """``xpath`` for a path that selects nodes or strings: always a list."""
    result = element.xpath(path)
    assert isinstance(result, list), path
    return result


def test_html_report_is_self_contained(logs: Logs, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    result = run_tool("caldavd-logstats", "--html", str(page), *logs.paths)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    source = page.read_text()
    document = lxml.html.fromstring(source)
    assert len(found(document, "//svg")) == 4
    assert len(found(document, "//svg//rect")) > 10 and found(document, "//svg//polyline")
    assert found(document, "//script | //link | //img | //iframe | //object | //embed") == []
    assert found(document, "//@src | //@href") == []
    assert "http://" not in source and "https://" not in source and "url(" not in source
    cells = [str(text) for text in found(document, "//td/text()")]
    assert f"REPORT {SLOW_TARGET} HTTP/1.1" in cells  # escaped text, not markup
    rows = found(document, "//h2[.='Hosts']/following-sibling::table[1]/tbody/tr")
    hosts = {row[0].text_content(): [td.text_content() for td in row] for row in rows}
    assert hosts["(all)"][1] == str(len(logs.requests))
    assert hosts["host2"][1] == str(sum(r.host == "host2" for r in logs.requests))
    titles = " ".join(str(text) for text in found(document, "//figcaption/text()"))
    assert "by method" in titles and "p95" in titles and "Status" in titles


# -- progress and errors -------------------------------------------------------

@pytest.fixture
def clean_log(tmp_path: Path, logs: Logs) -> Iterator[Path]:
    path = tmp_path / "clean.log"
    path.write_text("".join(log_line(r, n) for n, r in enumerate(logs.requests)))
    yield path


def test_progress_only_when_asked(clean_log: Path) -> None:
    quiet = run_tool("caldavd-logstats", str(clean_log))
    assert quiet.returncode == 0 and quiet.stderr == ""
    shown = subprocess.run([sys.executable, "-m", TOOLS["caldavd-logstats"], "--progress",
                            str(clean_log)], capture_output=True, check=False, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.decode() == quiet.stdout
    progress = shown.stderr.decode()
    assert progress.startswith("\r") and progress.endswith("\n") and progress.count("\n") == 1
    size = clean_log.stat().st_size
    last = progress.split("\r")[-1]
    assert f"{size / 1024:.1f} KiB / {size / 1024:.1f} KiB  100.0%" in last
    assert "164 lines" in last and "lines/s" in last
    assert run_tool("caldavd-logstats", "--no-progress", str(clean_log)).stderr == ""


def test_missing_file_is_one_line_and_exit_1(tmp_path: Path, clean_log: Path) -> None:
    missing = tmp_path / "nope.log"
    result = run_tool("caldavd-logstats", str(clean_log), str(missing))
    assert result.returncode == 1
    assert result.stderr == f"caldavd-logstats: error: {missing}: No such file or directory\n"
    assert result.stdout == ""


def test_bad_bucket_is_an_argument_error(clean_log: Path) -> None:
    result = run_tool("caldavd-logstats", "--bucket", "2h", str(clean_log))
    assert result.returncode == 2
    assert "argument --bucket" in result.stderr and "Traceback" not in result.stderr


def test_histogram_interpolates_inside_a_bin() -> None:
    """Within a bin the estimate moves with the rank, far finer than the 10 % bins."""
    histogram = Histogram()
    for i in range(1, 20001):
        ms = i / 10
        histogram.add(ms, bin_of(ms))
    for fraction in (0.5, 0.95, 0.99):
        assert histogram.percentile(fraction) == pytest.approx(2000 * fraction, rel=0.01)
    assert histogram.percentile(1.0) == 2000.0
    assert Histogram().percentile(0.5) is None
    assert bin_of(0.01) == 0 and bin_of(700_000) == bin_of(10.0 ** 9)  # beyond 10 min: one bin
