"""caldavd-sim: profile checks, latency buckets, verdict, find-max, and a real run.

The real run starts caldavd (one worker, so one access-log buffer) on the test
database, runs ``caldavd-sim`` as a process for a few seconds, and checks that
what the simulator says it sent is what the server's access log says it
answered, method by method, and what its /stats counters say, operation by
operation.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from caldavd.cli.errors import ToolError
from caldavd.tools.sim.client import SimEvent, Target, parse_event, parse_multistatus
from caldavd.tools.sim.profile import KEYS, ProfileError, build, load, parse_assignment
from caldavd.tools.sim.report import (
    OPERATIONS,
    Histogram,
    Limits,
    Recorder,
    find_max_table,
    verdict,
)
from caldavd.tools.sim.run import Search, find_max, target_for
from tests.conftest import PgDatabase, free_port
from tests.tools.helpers import REPO, TOOLS, external_db_plist, run_tool, start_tool
from tests.tools.test_serve import _request, _terminate, _wait_for_health

SHIPPED_PROFILE = REPO / "conf" / "sim-profile.toml"


def _profile_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profile.toml"
    path.write_text(text)
    return path


def _sim(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", TOOLS["caldavd-sim"], *args],
                          capture_output=True, text=True, timeout=timeout, check=False)


# -- the profile ---------------------------------------------------------------------------


def test_shipped_profile_is_the_built_in_defaults() -> None:
    shipped = load(SHIPPED_PROFILE)
    assert (shipped.run, shipped.client, shipped.thresholds) == (
        load(None).run, load(None).client, load(None).thresholds)
    text = SHIPPED_PROFILE.read_text()
    for key in KEYS:
        assert f"\n{key.split('.', 1)[1]} = " in text, f"{key} is not documented"


@pytest.mark.parametrize(("toml", "names"), [
    ("[client]\npoll_interval = -1\n", "client.poll_interval must be a number > 0"),
    ("[client]\npol_interval = 60\n", "client.pol_interval: unknown key"),
    ("[run]\nusers = \"ten\"\n", "run.users must be an integer"),
    ("[run]\nusers = 2.5\n", "run.users must be an integer"),
    ("[client]\nwell_known = 1\n", "client.well_known must be true or false"),
    ("[client]\ninvite_fraction = 1.5\n", "client.invite_fraction must be a number <= 1"),
    ("[run]\nduration = 10.0\nramp_up = 10.0\n", "run.ramp_up (10 s) must be shorter"),
    ("[run]\nuser_pattern = \"alice\"\n", "run.user_pattern 'alice' must contain"),
    ("[run]\nuser_pattern = \"user{:02d}{}\"\n", "run.user_pattern"),
    ("[thresholds.p95_ms_by_op]\nlunch = 5.0\n",
     "thresholds.p95_ms_by_op.lunch: unknown operation"),
    ("[thresholds.p95_ms_by_op]\nsync = 0\n", "thresholds.p95_ms_by_op.sync must be"),
    ("users = 4\n", "users: unknown key; sections are"),
    ("[client\n", "is not valid TOML"),
])
def test_profile_errors_name_the_key(tmp_path: Path, toml: str, names: str) -> None:
    with pytest.raises(ProfileError) as caught:
        load(_profile_file(tmp_path, toml))
    assert names in str(caught.value)


def test_profile_values_and_overrides(tmp_path: Path) -> None:
    path = _profile_file(tmp_path, "[client]\npoll_interval = 60\n"
                                   "[thresholds.p95_ms_by_op]\ndiscovery = 2500\n")
    profile = load(path, {"run.users": 3, "client.events_per_hour": 12})
    assert profile.client.poll_interval == 60.0 and isinstance(profile.client.poll_interval,
                                                               float)
    assert profile.run.users == 3 and profile.client.events_per_hour == 12.0
    assert profile.thresholds.limits().p95_for("discovery") == 2500.0
    assert profile.thresholds.limits().p95_for("poll") == 1000.0
    assert profile.run.user_name(0) == "user01" and profile.run.password(9) == "user10"
    other = build({"run.user_pattern": "u{}", "run.password_pattern": "pw-{:03d}",
                   "run.first_user": 7})
    assert (other.run.user_name(1), other.run.password(1)) == ("u8", "pw-008")


def test_set_assignments_are_typed_and_checked() -> None:
    assert parse_assignment("client.well_known=false") == ("client.well_known", False)
    assert parse_assignment("run.users = 40") == ("run.users", 40)
    assert parse_assignment("client.poll_interval=2.5") == ("client.poll_interval", 2.5)
    for bad, named in [("client.well_known=maybe", "client.well_known"),
                       ("run.users=many", "run.users"), ("nokey", "KEY=VALUE"),
                       ("client.nope=1", "client.nope")]:
        with pytest.raises(ProfileError, match=named):
            parse_assignment(bad)


def test_command_line_errors_exit_2(tmp_path: Path) -> None:
    bad = _profile_file(tmp_path, "[client]\nmultiget_batch = 0\n")
    result = _sim("--profile", str(bad))
    assert result.returncode == 2
    assert "client.multiget_batch must be an integer >= 1" in result.stderr
    result = _sim("--poll-interval", "0")
    assert result.returncode == 2 and "client.poll_interval" in result.stderr
    result = _sim("--url", "http://192.0.2.1:8008/", "--duration", "1", "--ramp-up", "0")
    assert result.returncode == 2 and "--allow-remote" in result.stderr
    assert _sim("--find-max", "--users", "3").returncode == 2


# -- the URL given and nothing else --------------------------------------------------------


def test_only_the_url_given() -> None:
    assert target_for("http://127.0.0.1:8008", False).url == "http://127.0.0.1:8008/"
    assert target_for("http://localhost:8008/", False)
    assert target_for("http://[::1]:8008/", False)
    for url in ("http://example.com/", "http://10.0.0.1/", "ftp://127.0.0.1/",
                "http://u:p@127.0.0.1/"):
        with pytest.raises(ToolError):
            target_for(url, False)
    assert target_for("http://example.com/", True).url == "http://example.com/"
    target = Target("http://127.0.0.1:8008/")
    assert target.resolve("/principals/") == "http://127.0.0.1:8008/principals/"
    assert target.resolve("http://127.0.0.1:8008/x") == "http://127.0.0.1:8008/x"
    assert target.resolve("http://127.0.0.1:9999/x") is None
    assert target.resolve("https://127.0.0.1:8008/x") is None
    assert target.resolve("//evil.example/x") is None


# -- latency buckets and verdict -----------------------------------------------------------


def test_percentiles_from_buckets_never_understate() -> None:
    hist = Histogram()
    samples = [random.Random(3).lognormvariate(2, 1) for _ in range(5000)]
    for ms in samples:
        hist.record(ms)
    ordered = sorted(samples)
    for pct in (50, 95, 99):
        exact = ordered[int(len(ordered) * pct / 100) - 1]
        found = hist.percentile(pct)
        assert exact <= found <= exact * 1.051, (pct, exact, found)
    assert hist.percentile(100) == hist.max_ms == max(samples)
    assert hist.count == 5000 and sum(hist.coarse_json().values()) == 5000
    assert Histogram().percentile(95) == 0.0
    single = Histogram()
    single.record(7.0)
    assert single.percentile(50) == 7.0  # capped at the largest seen
    assert single.coarse_json()["<=10"] == 1


def _recorder(latencies: dict[str, list[float]], failures: dict[str, int] | None = None,
              conflicts: dict[str, int] | None = None) -> Recorder:
    rec = Recorder()
    for op, values in latencies.items():
        for ms in values:
            rec.answered(op, "PROPFIND", "PROPFIND", 207, ms, "ok")
    for op, n in (failures or {}).items():
        for _ in range(n):
            rec.answered(op, "PUT", "PUT", 500, 3.0, "PUT status 500")
    for op, n in (conflicts or {}).items():
        for _ in range(n):
            rec.answered(op, "PUT", "PUT", 412, 3.0, "conflict")
    return rec


def test_verdict() -> None:
    limits = Limits(p95_ms=100, max_failure_percent=1.0)
    fast = {"poll": [5.0] * 200, "create": [20.0] * 100}
    good = verdict(_recorder(fast), limits)
    assert good.passed and good.by_op["poll"] == "PASS" and good.by_op["edit"] == "n/a"

    slow = verdict(_recorder({**fast, "sync": [10.0] * 90 + [500.0] * 10}), limits)
    assert not slow.passed and slow.by_op["sync"] == "FAIL" and slow.by_op["poll"] == "PASS"
    assert any(r.startswith("sync: p95") for r in slow.reasons)
    relaxed = Limits(p95_ms=100, max_failure_percent=1.0, p95_ms_by_op={"sync": 600})
    assert verdict(_recorder({**fast, "sync": [10.0] * 90 + [500.0] * 10}), relaxed).passed

    failing = verdict(_recorder(fast, failures={"create": 2}), limits)
    assert failing.by_op["create"] == "FAIL"  # 2 of 102 > 1%
    assert any("create: 1.96% of 102 requests failed" in r for r in failing.reasons)
    # 412 races are the client's, not failures.
    assert verdict(_recorder(fast, conflicts={"edit": 50}), limits).passed
    nothing = verdict(Recorder(), limits)
    assert not nothing.passed and nothing.reasons == ["no request was answered"]


def test_unanswered_requests_fail_but_are_not_in_by_method() -> None:
    rec = _recorder({"poll": [5.0] * 10})
    rec.unanswered_request("poll", "PROPFIND", 30000.0, "timeout")
    assert rec.by_method == {"PROPFIND": 10} and rec.unanswered == {"timeout": 1}
    assert rec.ops["poll"].failures == 1 and rec.ops["poll"].count == 11
    assert not verdict(rec, Limits(1000, 1.0)).passed


# -- find-max ------------------------------------------------------------------------------


async def _search(capacity: int, *, start: int, limit: int = 100_000, budget: int = 100,
                  resolution: float = 0.0) -> tuple[Search, list[int]]:
    tried: list[int] = []

    async def step(users: int) -> bool:
        tried.append(users)
        return users <= capacity

    found = await find_max(step, start=start, limit=limit, resolution_percent=resolution,
                           can_start=lambda: len(tried) < budget)
    return found, tried


async def test_find_max_doubles_then_bisects() -> None:
    found, tried = await _search(37, start=10)
    assert tried[:3] == [10, 20, 40]
    assert (found.max_users, found.first_failing, found.complete) == (37, 38, True)
    assert found.steps == [(n, n <= 37) for n in tried]
    coarse, fewer = await _search(370, start=10, resolution=10)
    assert coarse.complete and coarse.max_users is not None and coarse.first_failing
    assert coarse.max_users <= 370 < coarse.first_failing
    assert coarse.first_failing - coarse.max_users <= coarse.max_users * 0.1
    assert len(fewer) < len((await _search(370, start=10))[1])


async def test_find_max_edges() -> None:
    down, tried = await _search(3, start=40)
    assert tried[:4] == [40, 20, 10, 5] and down.max_users == 3
    nobody, _ = await _search(0, start=8)
    assert nobody.max_users is None and nobody.stopped == "even 1 user failed"
    capped, tried = await _search(10_000, start=10, limit=50)
    assert tried == [10, 20, 40, 50] and capped.max_users == 50 and capped.complete
    short, tried = await _search(1000, start=10, budget=3)
    assert tried == [10, 20, 40] and not short.complete
    assert short.stopped == "time budget spent" and short.max_users == 40


def test_find_max_table() -> None:
    run = {"verdict": "PASS", "reasons": [], "requests": {"total": 10},
           "totals": {"failure_percent": 0.0, "p95_ms": 3.0},
           "simulator": {"loop_lag_p95_ms": 1.0},
           "operations": {op: {"count": 1, "p95_ms": 2.0} for op in OPERATIONS}}
    text = find_max_table({"url": "http://127.0.0.1:1/", "max_users": 20,
                           "first_failing_users": 40, "stopped": "bisected",
                           "steps": [{"users": 20, "result": run}]})
    assert "largest passing: 20 users; smallest failing: 40" in text


# -- what a client writes and reads --------------------------------------------------------


def test_events_round_trip() -> None:
    event = SimEvent("u-1", datetime(2026, 12, 2, 9, 30, tzinfo=UTC), 45, "Planning",
                     organizer="mailto:user01@example.com",
                     attendees={"mailto:user01@example.com": "ACCEPTED",
                                "mailto:user02@example.com": "NEEDS-ACTION"})
    text = event.ics()
    assert text.endswith("END:VCALENDAR\r\n") and "ORGANIZER:mailto:user01" in text
    assert parse_event(text) == event
    accepted = event.with_partstat("mailto:user02@example.com", "ACCEPTED")
    assert parse_event(accepted.ics()) == accepted
    edited = event.edited(random.Random(1))
    assert edited.sequence == 1 and edited.uid == event.uid
    assert parse_event("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n") is None


def test_multistatus_parsing() -> None:
    body = (b'<?xml version="1.0"?><D:multistatus xmlns:D="DAV:">'
            b"<D:response><D:href>/c/a.ics</D:href><D:propstat><D:prop>"
            b'<D:getetag>"1"</D:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status>'
            b"</D:propstat><D:propstat><D:prop><D:displayname/></D:prop>"
            b"<D:status>HTTP/1.1 404 Not Found</D:status></D:propstat></D:response>"
            b"<D:response><D:href>/c/gone.ics</D:href>"
            b"<D:status>HTTP/1.1 404 Not Found</D:status></D:response>"
            b"<D:sync-token>tok-2</D:sync-token></D:multistatus>")
    entries, token = parse_multistatus(body)
    assert token == "tok-2"
    assert [(e.href, e.status, sorted(e.props)) for e in entries] == [
        ("/c/a.ics", None, ["{DAV:}getetag"]), ("/c/gone.ics", 404, [])]
    for bad in (b"", b"<D:prop xmlns:D='DAV:'/>", b"<!DOCTYPE x><x/>"):
        with pytest.raises(ValueError):
            parse_multistatus(bad)


# -- a real run ----------------------------------------------------------------------------

FAST_PROFILE = """\
[client]
events_per_hour = 1800.0
edits_per_hour = 1800.0
invite_fraction = 0.5
attendees_per_invite = 2
accept_delay = 1.0
other_device_fraction = 0.3

[thresholds]
p95_ms = 5000.0   # a busy test machine must not make this test fail
"""


def _access_counts(path: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    if not path.exists():
        return counts
    for line in path.read_text().splitlines():
        request = line.split('"')[1].split()
        if request[1] != "/health":
            counts[request[0]] += 1
    return counts


def test_simulation_matches_the_access_log(pg_database: PgDatabase, tmp_path: Path) -> None:
    port = free_port()
    logs = tmp_path / "logs"
    plist = external_db_plist(tmp_path, pg_database.url, HTTPPort=port, MultiProcessCount=1,
                              BindAddresses=["127.0.0.1"], LogRoot=str(logs))
    assert run_tool("caldavd-bootstrap-db", "-f", str(plist)).returncode == 0
    log = tmp_path / "caldavd.out"
    proc = start_tool("caldavd", ["-f", str(plist)], log)
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_for_health(proc, url, log)
        began = time.monotonic()
        result = _sim("--url", url, "--users", "4", "--duration", "8", "--ramp-up", "1",
                      "--poll-interval", "1", "--profile",
                      str(_profile_file(tmp_path, FAST_PROFILE)), "--json")
        took = time.monotonic() - began
        assert result.returncode == 0, result.stderr + result.stdout
        report = json.loads(result.stdout)
        sent = report["requests"]["by_method"]
        access = logs / "access.log"
        deadline = time.monotonic() + 10  # the access log is written at least once a second
        while _access_counts(access) != sent and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _access_counts(access) == sent
        status, _, body = _request(url + "stats")  # loopback may read the statistics
        assert status == 200, body
        totals = json.loads(body)["totals"]
    finally:
        assert _terminate(proc, log) == 0
    assert took < 8 + 30  # bounded: the duration plus at most a request timeout
    assert report["passed"] and report["verdict"] == "PASS"
    assert report["users"] == report["users_discovered"] == 4
    assert report["requests"]["unanswered"] == {}
    assert report["requests"]["total"] == sum(sent.values()) == report["totals"]["count"]
    for op in OPERATIONS:  # every behaviour ran, and nothing failed
        assert report["operations"][op]["count"] > 0, op
        assert report["operations"][op]["failures"] == 0, (op, report["operations"][op])
    assert report["operations"]["discovery"]["count"] == 4 * 4  # well-known, /, principal, home
    assert set(sent) <= {"PROPFIND", "REPORT", "PUT", "GET"}
    # The server's own counters since the worker started (/health and /stats excluded).
    assert totals["requests"] == report["requests"]["total"]
    assert totals["methods"] == sent
    assert totals["ops"] == report["requests"]["by_stats_key"]
    expected = {"PROPFIND depth=0", "PROPFIND depth=1", "PUT", "REPORT sync-collection",
                "REPORT calendar-multiget"}
    assert expected <= set(totals["ops"]) <= expected | {"GET"}  # GET: refetch after a 412
    invitations = report["invitations"]
    assert invitations["sent"] >= invitations["accepted"] > 0
    assert report["simulator"]["overloaded"] is False
