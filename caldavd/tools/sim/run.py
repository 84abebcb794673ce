"""caldavd-sim: simulated desktop calendar clients against one caldavd URL (issue #8).

    caldavd-sim --url http://127.0.0.1:8008/ --users 50 --duration 120
    caldavd-sim --profile conf/sim-profile.toml --poll-interval 60 --json report.json
    caldavd-sim --find-max --step-duration 60 --max-time 600

N users (user01..userNN by default, password = user name) each behave like a
desktop client (``caldavd.tools.sim.client``: discovery, polls of the
calendar home with sync-collection and multiget, creating, inviting,
accepting, editing) at the rates of a profile (``caldavd.tools.sim.profile``,
``conf/sim-profile.toml``), started evenly over the ramp-up.  Each HTTP request
is timed under its operation; the run ends with a table (or ``--json``) and a
verdict against the profile's thresholds (``caldavd.tools.sim.report``).
Exit status: 0 PASS, 1 FAIL, 2 usage or profile error.

``--find-max`` runs steps of ``--step-duration`` with more and more users
(doubling until a step fails, then bisecting between the last pass and the
first failure) and reports the largest number that passed; the whole search
stops within ``--max-time``.

The simulator talks only to the URL given: a loopback one unless
``--allow-remote``, no redirect or href followed to another origin, and
every run bounded (``run.duration`` at most a day, each request by
``run.request_timeout``; requests in flight at the end are waited for that
long at most).  Capacity measured from the same machine as the server is the
machine's, simulator included: the report gives the simulator's own CPU and
event-loop lag, and flags a run where the simulator itself fell behind.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import random
import resource
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from caldavd.cli.common import run_tool
from caldavd.cli.errors import ToolError
from caldavd.tools.sim.client import Http, Population, SimUser, Target
from caldavd.tools.sim.profile import Profile, ProfileError, load, parse_assignment
from caldavd.tools.sim.report import (
    JSON_VERSION,
    Histogram,
    Recorder,
    RunResult,
    Simulator,
    find_max_table,
    run_json,
    run_table,
    verdict,
)

DEFAULT_URL = "http://127.0.0.1:8008/"
# After a find-max step, before the next: the server's queues empty.
SETTLE_S = 2.0
LAG_TICK_S = 0.1

# --option -> profile key; the options are shorthands for --set.
OPTION_KEYS = {
    "users": "run.users", "duration": "run.duration", "ramp_up": "run.ramp_up",
    "first_user": "run.first_user", "user_pattern": "run.user_pattern",
    "password_pattern": "run.password_pattern", "request_timeout": "run.request_timeout",
    "connections": "run.connections", "seed": "run.seed",
    "poll_interval": "client.poll_interval", "p95_ms": "thresholds.p95_ms",
    "max_failure_percent": "thresholds.max_failure_percent",
}


# -- the target ---------------------------------------------------------------------------


def target_for(url: str, allow_remote: bool) -> Target:
    """The URL, checked: http(s), a host, and loopback unless ``allow_remote``.  Names
    other than ``localhost`` are not resolved to decide: what a name resolves to can
    change between the check and the requests."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ToolError(f"--url {url!r}: expected http://host[:port]/", 2)
    if parts.username or parts.password:
        raise ToolError("--url must not carry credentials; the simulated users log in "
                        "with --user-pattern/--password-pattern", 2)
    if not allow_remote and not _loopback(parts.hostname):
        raise ToolError(f"--url {url}: {parts.hostname} is not a loopback address; "
                        "caldavd-sim loads only a server on this machine unless "
                        "--allow-remote is given", 2)
    return Target(url if url.endswith("/") else url + "/")


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- one run ------------------------------------------------------------------------------


@dataclass
class Outcome:
    result: RunResult
    crashes: list[str] = field(default_factory=list)   # simulator bugs, as tracebacks


async def _watch_loop(lag: Histogram, stop_at: float) -> None:
    """How late the event loop wakes up: the simulator's own backlog."""
    while time.monotonic() < stop_at:
        before = time.monotonic()
        await asyncio.sleep(LAG_TICK_S)
        lag.record(max(0.0, time.monotonic() - before - LAG_TICK_S) * 1000)


async def _start_later(user: SimUser, delay: float) -> None:
    await asyncio.sleep(delay)
    if not user.http.stopping():
        await user.run()


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def simulate(profile: Profile, target: Target) -> Outcome:
    """One bounded run of ``profile.run.users`` users; the counts and the verdict."""
    run = profile.run
    recorder, population, simulator = Recorder(), Population(), Simulator()
    rng = random.Random(run.seed)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    start, cpu_before = time.monotonic(), _cpu_seconds()
    stop_at = start + run.duration
    connector = aiohttp.TCPConnector(limit=run.connections, limit_per_host=run.connections)
    async with aiohttp.ClientSession(connector=connector,
                                     cookie_jar=aiohttp.DummyCookieJar()) as session:
        http = Http(session, target, recorder, run.request_timeout, stop_at)
        users = [SimUser(run.user_name(i), run.password(i), http, population, profile.client,
                         random.Random(rng.getrandbits(64))) for i in range(run.users)]
        for user in users:
            population.add(user)
        step = run.ramp_up / run.users
        tasks = [asyncio.create_task(_start_later(user, i * step + rng.uniform(0, step)))
                 for i, user in enumerate(users)]
        watcher = asyncio.create_task(_watch_loop(simulator.loop_lag, stop_at))
        done, pending = await asyncio.wait(tasks, timeout=stop_at - time.monotonic()
                                           + run.request_timeout + 1)
        for task in (*pending, watcher):
            task.cancel()
        await asyncio.gather(*pending, watcher, return_exceptions=True)
    if pending:
        recorder.unanswered["cancelled at the end"] += len(pending)
    elapsed = time.monotonic() - start
    simulator.cpu_percent = 100 * (_cpu_seconds() - cpu_before) / elapsed if elapsed else 0.0
    crashes = ["".join(traceback.format_exception(t.exception())) for t in done
               if not t.cancelled() and t.exception() is not None]
    found = verdict(recorder, profile.thresholds.limits())
    if crashes:
        found = replace(found, passed=False, reasons=[
            *found.reasons, f"simulator error in {len(crashes)} user(s) (see stderr)"])
    population.counts["pending"] = population.pending()
    result = RunResult(
        url=target.url, users=run.users, duration_s=run.duration, ramp_up_s=run.ramp_up,
        elapsed_s=elapsed, recorder=recorder, verdict=found,
        limits=profile.thresholds.limits(), invitations=dict(population.counts),
        simulator=simulator, profile=profile.as_json(), started_at=started_at,
        users_discovered=len(population.discovered), connections=run.connections)
    return Outcome(result, crashes)


# -- find-max -----------------------------------------------------------------------------


@dataclass
class Search:
    max_users: int | None = None          # the largest number that passed
    first_failing: int | None = None      # the smallest number that failed
    steps: list[tuple[int, bool]] = field(default_factory=list)
    complete: bool = False
    stopped: str = ""


async def find_max(step: Callable[[int], Awaitable[bool]], *, start: int, limit: int,
                   resolution_percent: float, can_start: Callable[[], bool]) -> Search:
    """The largest user count ``step`` passes: double from ``start`` until a failure
    (or ``limit``), halve when ``start`` itself fails, then bisect until the gap between
    pass and fail is within ``resolution_percent`` of the pass (at least one user).
    ``can_start()`` says whether another step still fits the time budget."""
    search = Search()
    users = max(1, min(start, limit))
    while True:
        if not can_start():
            search.stopped = "time budget spent"
            return search
        passed = await step(users)
        search.steps.append((users, passed))
        if passed:
            search.max_users = max(users, search.max_users or 0)
        else:
            search.first_failing = min(users, search.first_failing or users)
        low, high = search.max_users, search.first_failing
        if high is None:
            if users >= limit:
                search.complete, search.stopped = True, f"passed at the limit, {limit} users"
                return search
            users = min(users * 2, limit)
        elif low is None:
            if users <= 1:
                search.complete, search.stopped = True, "even 1 user failed"
                return search
            users = max(1, users // 2)
        elif high - low <= max(1.0, low * resolution_percent / 100):
            search.complete, search.stopped = True, "bisected to the resolution"
            return search
        else:
            users = (low + high) // 2


# -- command line -------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="caldavd-sim",
        description="Simulated desktop calendar clients against one caldavd URL: latency "
                    "per operation and a pass/fail verdict, or --find-max users.")
    parser.add_argument("--url", default=DEFAULT_URL,
                        help=f"the server (default {DEFAULT_URL}); only this origin is "
                             "ever requested")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a URL that is not a loopback address")
    parser.add_argument("--profile", type=Path, metavar="PATH",
                        help="TOML profile (see conf/sim-profile.toml); default: built-in "
                             "defaults, the same values as that file")
    parser.add_argument("--set", dest="assignments", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="set any profile key over the file, e.g. "
                             "client.events_per_hour=6 (repeatable)")
    run = parser.add_argument_group("shorthands for --set")
    run.add_argument("--users", type=int, help="simulated users (run.users)")
    run.add_argument("--first-user", type=int, help="number of the first user (run.first_user)")
    run.add_argument("--user-pattern", help="login name format (run.user_pattern, "
                                            "default user{:02d})")
    run.add_argument("--password-pattern",
                     help="password format (run.password_pattern; default: the user name)")
    run.add_argument("--duration", type=float, help="seconds, ramp-up included (run.duration)")
    run.add_argument("--ramp-up", type=float,
                     help="seconds over which users start (run.ramp_up)")
    run.add_argument("--poll-interval", type=float,
                     help="seconds between polls of a home (client.poll_interval)")
    run.add_argument("--request-timeout", type=float, help="seconds (run.request_timeout)")
    run.add_argument("--connections", type=int,
                     help="simulator's connection pool size (run.connections)")
    run.add_argument("--seed", type=int, help="random seed (run.seed)")
    run.add_argument("--p95-ms", type=float, help="p95 limit per operation (thresholds.p95_ms)")
    run.add_argument("--max-failure-percent", type=float,
                     help="failed requests allowed (thresholds.max_failure_percent)")
    parser.add_argument("--json", nargs="?", const="-", metavar="PATH",
                        help="the report as JSON: on standard output instead of the table, "
                             "or into PATH as well as the table")
    search = parser.add_argument_group("--find-max")
    search.add_argument("--find-max", action="store_true",
                        help="search for the largest number of users that passes")
    search.add_argument("--start-users", type=int, default=10,
                        help="users of the first step (default 10)")
    search.add_argument("--max-users", type=int, default=100_000,
                        help="never try more (default 100000; the directory must have them)")
    search.add_argument("--step-duration", type=float, default=60.0,
                        help="seconds per step, ramp-up included (default 60)")
    search.add_argument("--max-time", type=float, default=900.0,
                        help="seconds for the whole search (default 900)")
    search.add_argument("--resolution", type=float, default=10.0, metavar="PCT",
                        help="stop bisecting within PCT%% of the passing count (default 10)")
    args = parser.parse_args(argv)
    if args.start_users < 1 or args.max_users < args.start_users:
        parser.error("--start-users must be at least 1 and at most --max-users")
    if args.step_duration <= 0 or args.max_time <= 0 or args.resolution < 0:
        parser.error("--step-duration and --max-time must be > 0, --resolution >= 0")
    if args.find_max and args.users is not None:
        parser.error("--find-max chooses the users; use --start-users and --max-users")
    return args


def profile_from(args: argparse.Namespace) -> Profile:
    """The profile file, then --set, then the shorthand options; for --find-max each step
    replaces run.users and run.duration."""
    overrides: dict[str, Any] = {}
    for text in args.assignments:
        key, value = parse_assignment(text)
        overrides[key] = value
    for option, key in OPTION_KEYS.items():
        value = getattr(args, option)
        if value is not None:
            overrides[key] = value
    if args.find_max:
        overrides["run.users"] = args.start_users
        overrides["run.duration"] = args.step_duration
    return load(args.profile, overrides)


def _report_crashes(outcome: Outcome) -> None:
    if outcome.crashes:
        print(f"caldavd-sim: simulator error in {len(outcome.crashes)} user(s); the first:\n"
              + outcome.crashes[0], file=sys.stderr)


def _emit(report: dict[str, Any], table: str, where: str | None) -> None:
    if where == "-":
        print(json.dumps(report, indent=2))
        return
    print(table)
    if where:
        Path(where).write_text(json.dumps(report, indent=2) + "\n")


async def _run(args: argparse.Namespace, profile: Profile, target: Target) -> int:
    outcome = await simulate(profile, target)
    _report_crashes(outcome)
    report = run_json(outcome.result)
    _emit(report, run_table(report), args.json)
    return 0 if outcome.result.verdict.passed else 1


async def _search(args: argparse.Namespace, profile: Profile, target: Target) -> int:
    began = time.monotonic()
    steps: list[dict[str, Any]] = []
    margin = args.step_duration + profile.run.request_timeout + SETTLE_S + 1

    async def step(users: int) -> bool:
        if steps:
            await asyncio.sleep(SETTLE_S)
        one = replace(profile, run=replace(profile.run, users=users))
        outcome = await simulate(one, target)
        _report_crashes(outcome)
        report = run_json(outcome.result)
        del report["profile"]
        steps.append({"users": users, "passed": outcome.result.verdict.passed,
                      "result": report})
        print(f"caldavd-sim: step {len(steps)}: {users} users: {report['verdict']}"
              + ("" if report["passed"] else " (" + "; ".join(report["reasons"]) + ")"),
              file=sys.stderr, flush=True)
        return outcome.result.verdict.passed

    found = await find_max(step, start=args.start_users, limit=args.max_users,
                           resolution_percent=args.resolution,
                           can_start=lambda: time.monotonic() - began + margin
                           <= args.max_time)
    report = {
        "tool": "caldavd-sim", "version": JSON_VERSION, "mode": "find-max",
        "url": target.url, "max_users": found.max_users,
        "first_failing_users": found.first_failing, "complete": found.complete,
        "stopped": found.stopped, "elapsed_s": round(time.monotonic() - began, 1),
        "step_duration_s": args.step_duration, "max_time_s": args.max_time,
        "resolution_percent": args.resolution, "steps": steps,
        "profile": profile.as_json(),
    }
    _emit(report, find_max_table(report), args.json)
    return 0 if found.max_users is not None else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        profile = profile_from(args)
    except ProfileError as exc:
        print(f"caldavd-sim: error: {exc}", file=sys.stderr)
        return 2
    try:
        target = target_for(args.url, args.allow_remote)
    except ToolError as exc:
        print(f"caldavd-sim: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return run_tool(_search(args, profile, target) if args.find_max
                    else _run(args, profile, target))


if __name__ == "__main__":
    sys.exit(main())
