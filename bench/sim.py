"""Simulated-client capacity (issue 8): the most caldavd-sim users a deployment passes.

    bin/bench --sim                          1 host x 1 worker, then 2 hosts x 1 worker
    bin/bench --sim --sim-max-time 120 --json sim.json

For each deployment, a fresh one as ``bin/caldavd-cluster start`` brings it
up (``caldavd.harness.cluster.Cluster``: PostgreSQL with durable settings,
memcached, the hosts on 127.0.0.2..., haproxy) with a directory of
``--sim-accounts`` users, then ``caldavd-sim --find-max`` as a separate
process: against the host itself for one host, through haproxy for two.  The
simulator runs ``conf/sim-profile.toml`` with the rates of ``SPEED_UP`` (a
desktop client polling every 15 minutes would need hundreds of thousands
of simulated users to load one worker, far more than one simulator process
can drive; the faster rates reach the limit with thousands).  Nothing is
pinned: the simulator, caldavd, PostgreSQL, memcached and haproxy share the
machine's cores, so the capacity is this machine's with its load generator
on board, and the report says how busy the simulator itself was.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import aiohttp

from bench.cluster import TOPOLOGIES, Topology, cluster_meter
from bench.cluster import deployment as cluster_deployment
from bench.load import basic_auth
from bench.measure import CpuUse, cpu_use
from bench.report import render
from bench.server import REPO, BenchError
from caldavd.harness.cluster import Cluster

PROFILE = REPO / "conf" / "sim-profile.toml"
SIM_TOPOLOGIES = ("1x1", "2x1")
# Over conf/sim-profile.toml: a poll every 10 s (90 times a desktop's 15 minutes, three
# times Apple's load simulator's 30 s) and ten times a desktop user's writes, so that
# a few thousand simulated users load a worker; a ramp-up shorter than half a step; a
# request timeout well inside a step.
SPEED_UP = (
    "client.poll_interval=10", "client.events_per_hour=10", "client.edits_per_hour=5",
    "client.accept_delay=20", "run.ramp_up=15", "run.request_timeout=10",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("--sim (simulated clients, bench/sim.py)")
    group.add_argument("--sim", action="store_true",
                       help="instead: caldavd-sim --find-max against 1 host x 1 worker and "
                            "2 hosts x 1 worker")
    group.add_argument("--sim-max-time", type=float, default=230.0, metavar="S",
                       help="seconds of search per deployment (default 230)")
    group.add_argument("--sim-step-duration", type=float, default=40.0, metavar="S",
                       help="seconds per find-max step, ramp-up included (default 40)")
    group.add_argument("--sim-start-users", type=int, default=1000,
                       help="users of the first step (default 1000)")
    group.add_argument("--sim-accounts", type=int, default=6000,
                       help="users in the directory, the most a step may try (default 6000)")


def write_accounts(path: Path, count: int) -> None:
    """An accounts.xml of ``count`` users user01, user02, ... (password = user name),
    the names caldavd-sim uses by default."""
    records = []
    for n in range(1, count + 1):
        name = f"user{n:02d}"
        records.append(
            f"  <record type=\"user\">\n    <uid>20000000-0000-0000-0000-{n:012d}</uid>\n"
            f"    <short-name>{escape(name)}</short-name>\n"
            f"    <password>{escape(name)}</password>\n"
            f"    <full-name>User {n:02d}</full-name>\n"
            f"    <email>{escape(name)}@example.com</email>\n  </record>\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<directory realm="caldavd">\n'
                    + "".join(records) + "</directory>\n")


async def _provision(url: str, count: int, concurrency: int = 16) -> None:
    users = iter(range(1, count + 1))
    failures: list[str] = []
    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            for n in users:
                name = f"user{n:02d}"
                async with session.request(
                        "PROPFIND", f"{url}calendars/users/{name}/",
                        headers={"Depth": "0", "Authorization": basic_auth(name, name)},
                        allow_redirects=False) as resp:
                    await resp.read()
                    if resp.status != 207:
                        failures.append(f"PROPFIND of {name}'s home answered {resp.status}")
                        return

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    if failures:
        raise BenchError(failures[0])


def provision(url: str, count: int) -> float:
    """Every account's calendar home, made by its first PROPFIND as a first login makes
    it, before the search: its steps then meet users whose homes exist, as on a server
    in use, instead of first logins of every user beyond the last step's.  Seconds."""
    began = time.monotonic()
    asyncio.run(_provision(url, count))
    return time.monotonic() - began


@contextlib.contextmanager
def deployment(topology: Topology, accounts: int, keep: bool) -> Iterator[tuple[Cluster, str]]:
    """A started cluster of ``topology`` with ``accounts`` users, and the URL to load:
    the host itself for one host, haproxy for more."""
    # Cluster.start copies the sample accounts only when this file is missing.
    with cluster_deployment(topology, "memcached", keep, purpose="sim",
                            prepare=lambda c: write_accounts(c.layout.accounts, accounts)
                            ) as cluster:
        url = cluster.host_url(1) if topology.hosts == 1 else cluster.haproxy_url
        yield cluster, url + "/"


def search(url: str, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """caldavd-sim --find-max as its own process (its progress lines go to stderr)."""
    argv = [sys.executable, "-m", "caldavd.tools.sim", "--url", url, "--find-max",
            "--profile", str(PROFILE), *(f"--set={item}" for item in SPEED_UP),
            "--start-users", str(min(args.sim_start_users, args.sim_accounts)),
            "--max-users", str(args.sim_accounts),
            "--step-duration", str(args.sim_step_duration),
            "--max-time", str(args.sim_max_time), "--resolution", "15", "--json", str(out)]
    try:
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, timeout=args.sim_max_time + 120,
                              check=False)
    except subprocess.TimeoutExpired:
        raise BenchError(f"caldavd-sim did not finish within {args.sim_max_time + 120:.0f} s"
                         ) from None
    if done.returncode not in (0, 1) or not out.exists():
        raise BenchError(f"caldavd-sim failed with exit status {done.returncode}")
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def cpu_json(use: CpuUse) -> dict[str, float]:
    """Percent of one core during the search, by who used it."""
    return {"caldavd": round(use.server, 1), "postgres": round(use.db, 1),
            **{name: round(value, 1) for name, value in use.parts.items()},
            "simulator": round(use.load, 1), "other": round(use.foreign, 1),
            "stolen": round(use.stolen, 1)}


def run_topology(topology: Topology, args: argparse.Namespace) -> dict[str, Any]:
    print(f"bench: sim {topology.key} ({topology.label}): starting", file=sys.stderr)
    load_before = os.getloadavg()
    with deployment(topology, args.sim_accounts, args.keep) as (cluster, url), \
            tempfile.TemporaryDirectory() as scratch:
        made = provision(url, args.sim_accounts)
        print(f"bench: sim {topology.key}: {args.sim_accounts} calendar homes made in "
              f"{made:.0f} s", file=sys.stderr)
        meter = cluster_meter(cluster)
        began, cpu_before = time.monotonic(), meter.sample()
        found = search(url, args, Path(scratch) / "sim.json")
        use = cpu_use(cpu_before, meter.sample())
        load_after = os.getloadavg()
    return {"label": topology.label, "hosts": topology.hosts, "workers": topology.workers,
            "url": url, "seconds": round(time.monotonic() - began, 1),
            "provisioning_s": round(made, 1), "cpu_percent": cpu_json(use),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in load_after],
            "max_users": found["max_users"], "first_failing_users":
                found["first_failing_users"], "stopped": found["stopped"],
            "steps": [{"users": s["users"], "passed": s["passed"],
                       "reasons": s["result"]["reasons"],
                       "requests": s["result"]["requests"]["total"],
                       "requests_per_s": round(s["result"]["requests"]["total"]
                                               / s["result"]["elapsed_s"], 1),
                       "p95_ms": s["result"]["totals"]["p95_ms"],
                       "sim_cpu_percent": s["result"]["simulator"]["cpu_percent"],
                       "sim_loop_lag_p95_ms": s["result"]["simulator"]["loop_lag_p95_ms"],
                       "sim_overloaded": s["result"]["simulator"]["overloaded"],
                       "failures_by_kind": _failures(s["result"])}
                      for s in found["steps"]]}


def _failures(run: Mapping[str, Any]) -> dict[str, int]:
    """A step's failed requests by kind (``PROPFIND status 503``, ``timeout``, ...)."""
    kinds: dict[str, int] = {}
    for op in run["operations"].values():
        for kind, count in op["errors"].items():
            kinds[kind] = kinds.get(kind, 0) + count
    return dict(sorted(kinds.items(), key=lambda item: -item[1]))


def run_sim(args: argparse.Namespace) -> dict[str, Any]:
    """Every deployment in turn: the largest passing user count of each."""
    chosen = [t for t in TOPOLOGIES if t.key in SIM_TOPOLOGIES]
    return {"profile": str(PROFILE.relative_to(REPO)), "speed_up": list(SPEED_UP),
            "step_duration_s": args.sim_step_duration, "max_time_s": args.sim_max_time,
            "accounts": args.sim_accounts, "pinned": False,
            "topologies": {t.key: run_topology(t, args) for t in chosen}}


def sim_table(report: Mapping[str, Any]) -> str:
    """Per deployment: the answer, then each step."""
    rows: list[tuple[str, ...]] = [("deployment", "max users", "first failing", "load avg",
                                    "step users", "verdict", "req/s", "p95 ms", "sim CPU",
                                    "sim lag p95", "why")]
    for key, one in report["topologies"].items():
        first = True
        load = "/".join(f"{x:.2f}" for x in one["loadavg_before"])
        for step in one["steps"]:
            rows.append((
                f"{key} {one['label']}" if first else "",
                str(one["max_users"]) if first else "",
                str(one["first_failing_users"] or "-") if first else "",
                load if first else "",
                str(step["users"]), "PASS" if step["passed"] else "FAIL",
                f"{step['requests_per_s']:.0f}", f"{step['p95_ms']:.0f}",
                f"{step['sim_cpu_percent']:.0f}%", f"{step['sim_loop_lag_p95_ms']:.0f}",
                "; ".join(step["reasons"])[:60]))
            first = False
    answers = []
    for key, one in report["topologies"].items():
        cpu = ", ".join(f"{name} {value:.0f}%" for name, value in one["cpu_percent"].items())
        answers.append(f"{key}: at most {one['max_users']} users passed"
                       + (f", {one['first_failing_users']} failed" if one["first_failing_users"]
                          else "") + f" (search: {one['stopped']}); CPU during the search, "
                       f"percent of one core: {cpu}")
    return "\n".join([render(rows), *answers,
                      "load avg: 1/5/15-minute load average before the deployment started; "
                      "sim CPU: the simulator's share of one core; sim lag: how late its "
                      "event loop woke (ms); other: processes that are not the deployment's, "
                      "the simulator's or the harness's"])
