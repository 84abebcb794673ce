"""Operating a host: the access log's fields, /stats and /metrics across workers,
caldavd-stats, and access-log rotation by size.  Real caldavd processes, real sockets."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from caldavd.ops.accesslog import UNCOUNTED
from caldavd.ops.logparse import AccessRecord, parse_line
from tests.conftest import PgDatabase, free_port
from tests.tools.helpers import external_db_plist, run_tool, start_tool
from tests.tools.processes import wait_until

HOME = "/calendars/users/user01/"
CAL = HOME + "calendar/"


def basic(user: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{user}".encode()).decode()


@dataclass
class Host:
    base: str
    logs: Path
    proc: subprocess.Popen[bytes]
    out: Path

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: Mapping[str, str] | None = None,
                user: str | None = "user01") -> tuple[int, bytes]:
        req = urllib.request.Request(self.base + path, data=body, method=method)
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        if user:
            req.add_header("Authorization", basic(user))
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def stats(self) -> dict[str, Any]:
        status, body = self.request("GET", "/stats", user=None)
        assert status == 200, body
        data: dict[str, Any] = json.loads(body)
        return data

    def access_lines(self) -> list[str]:
        path = self.logs / "access.log"
        return path.read_text().splitlines() if path.exists() else []


def published_since(host: Host, moment: float) -> list[int]:
    """The workers whose statistics file (statsview.py) was written after ``moment``."""
    found = []
    for path in sorted((host.logs.parent / "run" / "stats").glob("worker-*.json")):
        with contextlib.suppress(OSError, ValueError):
            snap = json.loads(path.read_text())
            if snap["updated"] > moment:
                found.append(snap["index"])
    return found




@contextlib.contextmanager
def running_host(db: PgDatabase, tmp: Path, **settings: Any) -> Iterator[Host]:
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    plist = external_db_plist(tmp, db.url, HTTPPort=port, BindAddresses=["127.0.0.1"],
                              LogRoot=str(tmp / "logs"), RunRoot=str(tmp / "run"),
                              **settings)
    assert run_tool("caldavd-bootstrap-db", "-f", str(plist)).returncode == 0
    out = tmp / "caldavd.out"
    proc = start_tool("caldavd", ["-f", str(plist)], out)
    host = Host(f"http://127.0.0.1:{port}", tmp / "logs", proc, out)
    try:
        def healthy() -> bool:
            assert proc.poll() is None, out.read_text()
            try:
                return host.request("GET", "/health", user=None)[0] == 200
            except OSError:
                return False

        wait_until(healthy, what="caldavd healthy", seconds=90)
        yield host
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise


def event(uid: str) -> bytes:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:20261202T100000Z\r\n"
            "DTEND:20261202T110000Z\r\nSUMMARY:ops\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").encode()


PROPFIND = (b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:" '
            b'xmlns:cs="http://calendarserver.org/ns/"><d:prop><cs:getctag/><d:sync-token/>'
            b'</d:prop></d:propfind>')
MULTIGET = (f'<?xml version="1.0"?><c:calendar-multiget xmlns:d="DAV:" '
            f'xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/>'
            f'</d:prop><d:href>{CAL}a.ics</d:href><d:href>{CAL}b.ics</d:href>'
            f'</c:calendar-multiget>').encode()
SYNC = (b'<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token/>'
        b'<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>')
XML = {"Content-Type": "application/xml; charset=utf-8"}


def request_mix(host: Host) -> Counter[str]:
    """A known mix of requests; what /stats must count (op key: count)."""
    ops: Counter[str] = Counter()

    def do(op: str, expected: int, *args: Any, **kwargs: Any) -> None:
        status, body = host.request(*args, **kwargs)
        assert status == expected, (op, status, body[:300])
        ops[op] += 1

    for name in ("a", "b"):
        do("PUT", 201, "PUT", CAL + f"{name}.ics", event(name),
           {"Content-Type": "text/calendar", "If-None-Match": "*"})
    for _ in range(3):
        do("PROPFIND depth=1", 207, "PROPFIND", HOME, PROPFIND, {**XML, "Depth": "1"})
    do("PROPFIND depth=0", 207, "PROPFIND", CAL, PROPFIND, {**XML, "Depth": "0"})
    do("REPORT calendar-multiget", 207, "REPORT", CAL, MULTIGET, {**XML, "Depth": "1"})
    do("REPORT sync-collection", 207, "REPORT", CAL, SYNC, XML)
    for _ in range(4):
        do("GET", 200, "GET", CAL + "a.ics")
    for _ in range(2):
        do("GET", 404, "GET", CAL + "missing.ics")
    do("OPTIONS", 401, "OPTIONS", "/principals/", user=None)
    # Refused before a handler ran: the depth asked for still shows.
    do("PROPFIND depth=1", 401, "PROPFIND", HOME, PROPFIND, {**XML, "Depth": "1"}, user=None)
    for _ in range(5):  # monitors' requests are not counted
        assert host.request("GET", "/health", user=None)[0] == 200
    return ops


def test_stats_and_access_log_match_a_known_request_mix(pg_database: PgDatabase,
                                                        tmp_path: Path) -> None:
    with running_host(pg_database, tmp_path, MultiProcessCount=2, NodeName="node-a") as host:
        expected = request_mix(host)
        total = sum(expected.values())

        done = time.time()
        # Each worker answers with its siblings' last published numbers: once both have
        # published after the last request, every answer counts everything.
        wait_until(lambda: published_since(host, done) == [1, 2], what="both workers published")
        snap = host.stats()
        assert snap["totals"]["ops"] == dict(expected), snap["totals"]
        assert snap["gauges"]["workers"] == 2, snap
        assert snap["node"] == "node-a"
        assert snap["totals"]["requests"] == total
        assert snap["totals"]["methods"] == {"GET": 6, "OPTIONS": 1, "PROPFIND": 5, "PUT": 2,
                                             "REPORT": 2}
        assert snap["totals"]["statuses"] == {"200": 4, "201": 2, "207": 6, "401": 2,
                                              "404": 2}
        assert snap["totals"]["errors_5xx"] == 0
        assert sorted(w["index"] for w in snap["workers"]) == [1, 2]
        for name in ("1m", "5m", "60m"):
            window = snap["windows"][name]
            assert window["requests"] == total, name
            assert 0 < window["seconds"] <= {"1m": 70, "5m": 310, "60m": 3610}[name]
            assert window["rate"] > 0
        put = snap["windows"]["1m"]["ops"]["PUT"]
        assert put["count"] == 2 and put["p95_ms"] > 0 and put["db_ms"] > 0
        assert snap["gauges"]["db_pool_max"] == 2 * 10  # MaxDBConnectionsPerPool per worker

        check_access_log(host, expected, snap)
        check_metrics(host, expected)
        check_stats_tool(host, total)


def check_access_log(host: Host, expected: Counter[str], snap: dict[str, Any]) -> None:
    """Every request once, with its fields (the access log's format, accesslog.py)."""
    def records() -> list[AccessRecord]:
        return [r for r in map(parse_line, host.access_lines()) if r.target not in UNCOUNTED]

    wait_until(lambda: len(records()) == sum(expected.values()), what="every request in the log")
    found = records()
    assert len(found) == sum(expected.values())
    assert {r.node for r in found} == {"node-a"}
    assert {r.worker for r in found} <= {1, 2}
    puts = [r for r in found if r.method == "PUT"]
    assert [r.body_bytes for r in puts] == [len(event("a")), len(event("b"))]
    assert all(r.user == "user01" and r.status == 201 and (r.db_ms or 0) > 0 for r in puts)
    listings = [r for r in found if r.method == "PROPFIND" and r.depth == "1"
                and r.status == 207]
    assert len(listings) == 3 and {r.type for r in listings} == {"prop"}
    refused = next(r for r in found if r.method == "PROPFIND" and r.status == 401)
    assert (refused.depth, refused.type, refused.user) == ("1", None, None)
    assert listings[0].cache == "miss"  # the first one in any worker cannot be a hit
    hits = sum(r.cache == "hit" for r in found)
    assert hits == snap["windows"]["1m"]["cache_hits"]
    assert hits + sum(r.cache == "miss" for r in found) == 3
    reports = {r.type: r for r in found if r.method == "REPORT"}
    assert set(reports) == {"calendar-multiget", "sync-collection"}
    assert reports["calendar-multiget"].depth == "1"
    assert reports["sync-collection"].depth == "0"  # RFC 3253 §3.6: REPORT's default
    anonymous = next(r for r in found if r.method == "OPTIONS")
    assert anonymous.user is None and anonymous.status == 401 and anonymous.cache is None
    gets = [r for r in found if r.method == "GET"]
    assert all(r.type is None and r.depth is None and r.body_bytes == 0 for r in gets)
    assert all(r.ms is not None and r.ms > 0 for r in found), [r for r in found if not r.ms]


def check_metrics(host: Host, expected: Counter[str]) -> None:
    status, body = host.request("GET", "/metrics", user=None)
    assert status == 200
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    requests = {s.labels["op"]: s.value for s in families["caldavd_requests"].samples}
    assert requests == dict(expected)
    counts = {s.labels["op"]: s.value for s in families["caldavd_request_duration_seconds"]
              .samples if s.name.endswith("_count")}
    assert counts == dict(expected)
    workers = families["caldavd_workers"].samples[0]
    assert workers.value == 2 and workers.labels["node"] == "node-a"


def check_stats_tool(host: Host, total: int) -> None:
    result = run_tool("caldavd-stats", "--once", "--json", host.base)
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    assert [h["node"] for h in view["hosts"]] == ["node-a"]
    assert view["cluster"]["requests"] == total
    assert view["cluster"]["ops"]["PUT"]["count"] == 2
    text = run_tool("caldavd-stats", "--once", "--window", "5m", host.base)
    assert text.returncode == 0, text.stderr
    assert "node-a" in text.stdout and "REPORT calendar-multiget" in text.stdout
    down = run_tool("caldavd-stats", "--once", host.base, f"http://127.0.0.1:{free_port()}")
    assert down.returncode == 1
    assert "DOWN" in down.stdout and "node-a" in down.stdout


def test_access_log_rotates_by_size_across_workers_without_losing_lines(
        pg_database: PgDatabase, tmp_path: Path) -> None:
    with running_host(pg_database, tmp_path, MultiProcessCount=2, AccessLogMaxBytes=2000,
                      AccessLogBackups=50) as host:
        def logged() -> list[str]:
            files = sorted(host.logs.glob("access.log*"))
            return [ln for f in files if not f.name.endswith(".lock")
                    for ln in f.read_text().splitlines() if "/principals/n" in ln]

        rounds, per_round = 6, 20  # each round's lines (~4 KB) are written before the next
        count = rounds * per_round
        for r in range(rounds):
            for i in range(r * per_round, (r + 1) * per_round):
                assert host.request("OPTIONS", f"/principals/n{i}/", user=None)[0] == 401

            def written(goal: int = (r + 1) * per_round) -> bool:
                return len(logged()) >= goal
            wait_until(written, what=f"round {r} written")
        lines = logged()
        assert sorted(lines) == sorted(set(lines)) and len(lines) == count
        paths = {ln.split('"')[1].split()[1] for ln in lines}
        assert paths == {f"/principals/n{i}/" for i in range(count)}
        rotated = sorted(host.logs.glob("access.log.[0-9]*"))
        assert len(rotated) >= 2  # a round (~2.6 KB) fills more than a file
        for path in rotated:
            assert path.stat().st_size < 2000 + 64 * 1024  # rotated once full, batch-sized


def test_stats_are_for_loopback_allowed_networks_and_administrators(
        pg_database: PgDatabase, tmp_path: Path) -> None:
    admin = "/principals/users/user02/"
    forwarded = {"X-Forwarded-For": "192.0.2.7"}
    with running_host(pg_database, tmp_path, MultiProcessCount=1,
                      AdminPrincipals=[admin]) as host:
        assert host.request("GET", "/stats", user=None)[0] == 200
        assert host.request("GET", "/metrics", user=None)[0] == 200
        # Through a proxy on this host the client is not local.
        assert host.request("GET", "/stats", headers=forwarded, user=None)[0] == 401
        assert host.request("GET", "/metrics", headers=forwarded, user="user01")[0] == 403
        status, body = host.request("GET", "/stats", headers=forwarded, user="user02")
        assert status == 200 and json.loads(body)["totals"]["requests"] >= 0
    with running_host(pg_database, tmp_path / "b", MultiProcessCount=1,
                      Stats={"AllowedAddresses": ["127.0.0.0/8"]}) as host:
        assert host.request("GET", "/stats", headers=forwarded, user=None)[0] == 200
    with running_host(pg_database, tmp_path / "c", MultiProcessCount=1,
                      Stats={"Enabled": False}) as host:
        assert host.request("GET", "/stats", user=None)[0] == 404
        assert host.request("GET", "/metrics", user="user01")[0] == 404


def test_caldavd_stats_names_a_bad_argument() -> None:
    for args, named in ((["ftp://host/"], "argument URL"), ([], "at least one URL"),
                        (["--interval", "0", "http://127.0.0.1:1/"], "--interval"),
                        (["--cluster", "/nonexistent", "--once"], "--cluster")):
        result = run_tool("caldavd-stats", *args)
        assert result.returncode == 2, (args, result.stderr)
        assert named in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_a_request_cannot_forge_or_break_access_log_lines(pg_database: PgDatabase,
                                                          tmp_path: Path) -> None:
    """A C1 control in a header (aiohttp lets U+0085, NEXT LINE, through) and a
    percent-encoded newline in the path stay inside their own line, escaped so
    that logparse gives back what the client sent."""
    with running_host(pg_database, tmp_path, MultiProcessCount=1) as host:
        port = int(host.base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /forged%0A1.2.3.4%20-%20- HTTP/1.1\r\nHost: x\r\n"
                         b"User-Agent: evil\xc2\x85\"agent\\\r\nConnection: close\r\n\r\n")
            # The path reaches caldavd (no route refuses a newline): 401 before anything.
            assert sock.recv(100).startswith(b"HTTP/1.1 401")

        def forged() -> list[AccessRecord]:
            return [r for r in map(parse_line, host.access_lines())
                    if r.target.startswith("/forged")]

        wait_until(lambda: len(forged()) == 1, what="the request's line")
        (record,) = forged()
        assert record.target == "/forged%0A1.2.3.4%20-%20-"
        assert record.agent == 'evil\x85"agent\\'
        assert "\x85" not in host.logs.joinpath("access.log").read_text()
