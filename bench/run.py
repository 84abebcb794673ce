"""caldavd benchmark: one worker on one core, wrk on the other (issue 3, "Performance").

    bin/bench                          every operation, 2,000 events, 10 s each
    bin/bench --duration 5 --only get,put
    bin/bench --scale --json out.json  also the week query at 50,000 events vs 2,000
    bin/bench --cluster                through haproxy: 1 host, 2 hosts, MultiProcessCount 2
    bin/bench --sim                    most caldavd-sim users passing: 1 host, 2 hosts
    bin/bench --fairness               a probe's latency while hostile requests run

Starts a throwaway PostgreSQL cluster (durable settings), bootstraps the schema,
starts ``caldavd -f plist`` pinned to the first core, loads user01's calendar by
HTTP PUT, then runs ``wrk -t1 -c16`` pinned to the second core for each
operation and prints requests/s and latency percentiles next to the targets.
Exit status: 0 when every run produced valid responses (targets missed or not),
1 when a run produced errors or the set-up failed.  The PROPFIND operations run
with the response cache off and, as *_cached and *_memcached, against caldavd
processes with it on; the table ends with cached / uncached.  ``--cluster``
is issue 5's scaling run (``bench.cluster``); ``--sim`` is issue 8's simulated-client
capacity (``bench.sim``); ``--fairness`` is issue 16's probe under hostile requests
(``bench.fairness``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import cluster as cluster_mode
from bench import fairness as fairness_mode
from bench import sim as sim_mode
from bench.data import history_events
from bench.load import Client, LoadStats
from bench.measure import (
    FOREIGN_WARNING,
    CpuMeter,
    OpResult,
    Target,
    load_line,
    measure,
    prepare_at,
    setup_user,
)
from bench.ops import LABELS, NAMES, SCALE_TARGET, Prepared, variant_of
from bench.report import cache_ratios, cluster_table, table
from bench.server import (
    BenchError,
    Server,
    postmaster_pid,
    process_state,
    running_server,
    vacuum_analyze,
    variant_servers,
)
from caldavd.harness.processes import memcached_stats


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bin/bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000,
                        help="events in user01's calendar (default 2000; 10%% recur weekly)")
    parser.add_argument("--duration", type=float, default=10.0,
                        help="seconds of wrk per operation (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds of unmeasured wrk before each operation (default 2; 0: none)")
    parser.add_argument("--only", default="",
                        help=f"comma-separated operations to run: {','.join(NAMES)}")
    parser.add_argument("--scale", action="store_true",
                        help="also: week query with --scale-events events vs --events (user02)")
    parser.add_argument("--scale-events", type=int, default=50_000,
                        help="calendar size for --scale (default 50000)")
    parser.add_argument("--connections", type=int, default=16,
                        help="wrk connections (default 16)")
    parser.add_argument("--db-cpus", choices=("load", "all"), default="load",
                        help="cores PostgreSQL may use: 'load' = the load generator's core "
                             "(default; the server's core stays its own), 'all' = any")
    parser.add_argument("--log-level", default="INFO",
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                        help="caldavd's --log-level (default INFO, as operators run it)")
    parser.add_argument("--no-analyze", action="store_true",
                        help="measure right after loading, before PostgreSQL has planner "
                             "statistics (default: VACUUM ANALYZE after each load, the state "
                             "autovacuum reaches about a minute later)")
    parser.add_argument("--wait-quiet", type=float, default=30.0, metavar="S",
                        help="before each run wait up to S seconds for other processes on the "
                             "machine to go quiet (default 30; 0: do not wait)")
    parser.add_argument("--attempts", type=int, default=3, metavar="N",
                        help="run an operation up to N times while the hypervisor withholds "
                             "more than --max-stolen of a core; the run with the least stolen "
                             "time is reported (default 3; 1: never repeat)")
    parser.add_argument("--max-stolen", type=float, default=FOREIGN_WARNING, metavar="PCT",
                        help="stolen share (%% of a core) above which a run is repeated "
                             f"(default {FOREIGN_WARNING:.0f})")
    parser.add_argument("--profile", metavar="DIR",
                        help="record caldavd with py-spy during each run: DIR/<operation>.txt "
                             "(folded stacks; lowers the numbers a little)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    parser.add_argument("--keep", action="store_true",
                        help="keep the server root (plist, logs) in /tmp afterwards")
    parser.add_argument("--cluster", action="store_true",
                        help="instead: the operations through haproxy for each of "
                             "--topologies (caldavd-cluster's deployment, nothing pinned)")
    parser.add_argument("--topologies", default=",".join(cluster_mode.TOPOLOGY_KEYS),
                        help="with --cluster: which of 1x1 (1 host, 1 worker), 2x1 (2 hosts, "
                             "1 worker each), 1x2 (1 host, MultiProcessCount 2); default all")
    parser.add_argument("--cluster-cache", choices=cluster_mode.CACHE_MODES,
                        default="memcached",
                        help="with --cluster: the hosts' response cache, on memcached (default, "
                             "the PROPFINDs are then the *_memcached operations) or off")
    sim_mode.add_arguments(parser)
    fairness_mode.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.sim and (args.cluster or args.scale or args.profile):
        parser.error("--sim does not combine with --cluster, --scale or --profile")
    if args.fairness and (args.sim or args.cluster or args.scale or args.profile):
        parser.error("--fairness does not combine with --sim, --cluster, --scale or --profile")
    if args.attempts < 1:
        parser.error("--attempts must be at least 1")
    wanted = [o.strip() for o in args.only.split(",") if o.strip()]
    unknown = [o for o in wanted if o not in NAMES]
    if unknown:
        parser.error(f"unknown operation(s) {', '.join(unknown)}; known: {', '.join(NAMES)}")
    if args.cluster:
        if args.scale or args.profile:
            parser.error("--cluster does not combine with --scale or --profile")
        try:
            args.topologies = cluster_mode.topologies(args.topologies)
        except ValueError as exc:
            parser.error(str(exc))
        args.ops = cluster_mode.cluster_ops(wanted, args.cluster_cache)
    else:
        # Canonical order whatever the order given: PUT must run last.
        args.ops = [n for n in NAMES if n in wanted] if wanted else list(NAMES)
    if args.events < 20:
        parser.error("--events must be at least 20 (multiget asks for 20)")
    if args.scale and args.scale_events <= args.events:
        parser.error("--scale-events must be larger than --events")
    return args


@dataclass
class Cores:
    server: int | None
    load: int | None
    all: set[int] = field(default_factory=set)

    @property
    def pinned(self) -> bool:
        return self.server is not None


def choose_cores() -> Cores:
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        print("bench: WARNING: fewer than 2 cores; server, database and wrk share one core "
              "and the numbers are not comparable with the targets", file=sys.stderr)
        return Cores(None, None, set(available))
    return Cores(available[0], available[1], set(available))


async def _load_more(url: str, user: str, calendar: str, first: int, count: int,
                     ) -> LoadStats:
    async with Client(url, user) as client:
        return await client.put_events(calendar, history_events(first, count),
                                       label=f"loading {count} history events")


def server_target(server: Server, cores: Cores) -> Target:
    """caldavd's master and workers, PostgreSQL, and memcached when it has one."""
    groups: dict[str, list[int | None]] = {"caldavd": [server.pid],
                                           "postgres": [postmaster_pid(server.cluster)]}
    if server.memcached_pid is not None:
        groups["memcached"] = [server.memcached_pid]
    return Target(server.url, CpuMeter(groups), cores.load, server.pid)


def needed_variants(ops: Sequence[str]) -> list[str]:
    """The caldavd variants ``ops`` need, the plain (uncached) one always first."""
    found = ["uncached"]
    for name in ops:
        variant = variant_of(name)
        if variant is not None and variant not in found:
            found.append(variant)
    return found


def _measure_at(server: Server, cores: Cores, prepared: Prepared,
                    args: argparse.Namespace) -> OpResult:
    """One operation; for a memcached-backed caldavd also memcached's hits and misses."""
    before = memcached_stats(server.memcached_port) if server.memcached_port else {}
    try:
        result = measure(server_target(server, cores), prepared, args, LABELS[prepared.name])
    except BenchError as exc:
        raise BenchError(f"{exc}\ncaldavd ({server.variant}): "
                         f"{process_state(server.pid, server.log)}") from None
    if server.memcached_port:
        after = memcached_stats(server.memcached_port)
        for counter in ("get_hits", "get_misses"):
            result.facts[f"memcached_{counter}"] = after.get(counter, 0) - before.get(counter, 0)
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    cores = choose_cores()
    if cores.load is not None:
        # The harness (and the database it starts) live on the load core.
        os.sched_setaffinity(0, {cores.load})
    db_cpus = {cores.load} if (args.db_cpus == "load" and cores.load is not None) \
        else cores.all
    run_id = uuid.uuid4().hex[:8]
    report: dict[str, Any] = {
        "machine": machine_info(), "settings": {
            "events": args.events, "duration_s": args.duration, "warmup_s": args.warmup,
            "connections": args.connections, "wrk_threads": 1,
            "server_core": cores.server, "load_core": cores.load,
            "db_cores": sorted(db_cpus), "caldavd_log_level": args.log_level,
            "postgres": "fsync=on synchronous_commit=on shared_buffers=256MB",
            "vacuum_analyze_after_load": not args.no_analyze,
        },
        "load": {}, "operations": {},
    }
    variants = needed_variants(args.ops)
    report["settings"]["caldavd_variants"] = variants
    with (running_server(server_cpu=cores.server, db_cpus=db_cpus, log_level=args.log_level,
                         keep=args.keep) as server,
          variant_servers(server, variants, server_cpu=cores.server, load_cpu=cores.load,
                          log_level=args.log_level) as servers):
        for variant, one in servers.items():
            print(f"bench: caldavd ({variant}) at {one.url} (pid {one.pid}); root {one.root}",
                  file=sys.stderr)
        calendar, events, stats = asyncio.run(
            setup_user(server.url, "user01", args.events, f"loading {args.events} events"))
        print("bench: " + load_line("user01", stats), file=sys.stderr)
        report["load"]["user01"] = {"events": stats.count, "seconds": round(stats.seconds, 2),
                                    "puts_per_s": round(stats.rate, 1)}
        if not args.no_analyze:
            vacuum_analyze(server.cluster)
        for name in args.ops:
            target = servers[variant_of(name) or "uncached"]
            prepared = asyncio.run(prepare_at(target.url, "user01", name, calendar, events,
                                              run_id))
            report["operations"][name] = _measure_at(target, cores, prepared,
                                                         args).as_json()
        report["response_cache"] = cache_ratios(report["operations"])
        if args.scale:
            report["scale"] = run_scale(server, cores, args, run_id)
    return report


def run_scale(server: Server, cores: Cores, args: argparse.Namespace,
              run_id: str) -> dict[str, Any]:
    small, big = args.events, args.scale_events
    target = server_target(server, cores)
    calendar, events, stats = asyncio.run(
        setup_user(server.url, "user02", small, f"scale: loading {small} events"))
    print("bench: " + load_line("user02", stats), file=sys.stderr)
    if not args.no_analyze:
        vacuum_analyze(server.cluster)
    prepared = asyncio.run(prepare_at(server.url, "user02", "query_week", calendar, events,
                                      run_id))
    at_small = measure(target, prepared, args, f"week query at {small}")
    more = asyncio.run(_load_more(server.url, "user02", calendar, small, big - small))
    print("bench: " + load_line(f"user02 +{big - small}", more), file=sys.stderr)
    if not args.no_analyze:
        vacuum_analyze(server.cluster)
    again = asyncio.run(prepare_at(server.url, "user02", "query_week", calendar, events,
                                   run_id))
    if again.facts.get("responses") != prepared.facts.get("responses"):
        raise BenchError(f"scale: the week query answered {again.facts.get('responses')} "
                         f"objects at {big} events but {prepared.facts.get('responses')} at "
                         f"{small}; the history events should not reach the queried week")
    at_big = measure(target, again, args, f"week query at {big}")
    ratio = at_small.wrk.rps / at_big.wrk.rps if at_big.wrk.rps else float("inf")
    return {
        "small_events": small, "big_events": big,
        "history_load": {"events": more.count, "seconds": round(more.seconds, 2),
                         "puts_per_s": round(more.rate, 1)},
        "at_small": at_small.as_json(), "at_big": at_big.as_json(),
        "slowdown": round(ratio, 3),
        "p99_ratio": round(at_big.wrk.p99_ms / at_small.wrk.p99_ms, 3)
        if at_small.wrk.p99_ms else None,
        "target_slowdown": SCALE_TARGET, "met": ratio <= SCALE_TARGET,
    }


def run_cluster(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "machine": machine_info(), "settings": {
            "mode": "cluster", "events": args.events, "duration_s": args.duration,
            "warmup_s": args.warmup, "connections": args.connections, "wrk_threads": 1,
            "pinned": False, "caldavd_log_level": "INFO",
            "vacuum_analyze_after_load": not args.no_analyze,
        },
    }
    report["cluster"] = cluster_mode.run_cluster(args)
    return report


def machine_info() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "postgres": _version(["postgres", "--version"]),
            "wrk": _version(["wrk", "-v"]).split(" [")[0],
            "kernel": platform.release()}


def _version(argv: list[str]) -> str:
    from caldavd.store.postgres.cluster import find_pg_bin

    if argv[0] == "postgres":
        try:
            argv = [str(find_pg_bin() / "postgres"), *argv[1:]]
        except Exception:
            return ""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return ""
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) \
        else ""


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.fairness:
            report = {"machine": machine_info(), "fairness": fairness_mode.run_fairness(args)}
        elif args.sim:
            report = {"machine": machine_info(), "sim": sim_mode.run_sim(args)}
        else:
            report = run_cluster(args) if args.cluster else run(args)
    except BenchError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return 1
    if args.fairness:
        print(fairness_mode.fairness_table(report["fairness"]))
    elif args.sim:
        print(sim_mode.sim_table(report["sim"]))
    elif args.cluster:
        print(cluster_table(report["cluster"], report["machine"]["cores"]))
        for key, topology in report["cluster"]["topologies"].items():
            load = topology["load"]
            print(f"{key}: loaded {load['events']} events through haproxy at "
                  f"{load['puts_per_s']:.0f}/s")
    else:
        print(table(report))
        for who, load in report["load"].items():
            print(f"\nloaded {load['events']} events for {who} by PUT at "
                  f"{load['puts_per_s']:.0f}/s")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
