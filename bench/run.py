"""caldavd benchmark: one worker on one core, wrk on the other (issue 3, "Performance").

    bin/bench                          every operation, 2,000 events, 10 s each
    bin/bench --duration 5 --only get,put
    bin/bench --scale --json out.json  also the week query at 50,000 events vs 2,000

Starts a throwaway PostgreSQL cluster (durable settings), bootstraps the schema,
starts ``caldavd -f plist`` pinned to the first core, loads user01's calendar by
HTTP PUT, then runs ``wrk -t1 -c16`` pinned to the second core for each
operation and prints requests/s and latency percentiles next to the targets.
Exit status: 0 when every run produced valid responses (targets missed or not),
1 when a run produced errors or the set-up failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.data import base_events, history_events, query_week
from bench.load import Client, LoadStats
from bench.ops import LABELS, NAMES, SCALE_TARGET, TARGETS, Prepared, prepare
from bench.server import BenchError, Server, running_server, vacuum_analyze
from bench.wrk import WrkResult, run_wrk


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
    args = parser.parse_args(argv)
    if args.attempts < 1:
        parser.error("--attempts must be at least 1")
    wanted = [o.strip() for o in args.only.split(",") if o.strip()]
    unknown = [o for o in wanted if o not in NAMES]
    if unknown:
        parser.error(f"unknown operation(s) {', '.join(unknown)}; known: {', '.join(NAMES)}")
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


# -- CPU accounting (how busy the server and the database were during a run) ----------

_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def _tree(pid: int) -> list[int]:
    pids = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids.extend(int(c) for c in (task / "children").read_text().split())
    except OSError:
        pass
    return pids


def _postmaster(server: Server) -> int | None:
    try:
        return int((server.cluster.data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _machine_seconds() -> tuple[float, float]:
    """CPU time used on the machine (all cores, neither idle nor stolen) and
    stolen by the hypervisor (a vCPU that wanted to run but did not)."""
    used = stolen = 0
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("cpu") and not line.startswith("cpu "):
            values = [int(v) for v in line.split()[1:]]
            steal = values[7] if len(values) > 7 else 0
            used += sum(values[:8]) - values[3] - values[4] - steal
            stolen += steal
    return used / _TICKS, stolen / _TICKS


def _busy_seconds() -> float:
    return _machine_seconds()[0]


def _own_seconds() -> float:
    """CPU time of the harness and the children it has waited for (wrk)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass
class CpuSample:
    wall: float
    server: float
    db: float
    own: float
    busy: float
    stolen: float


@dataclass
class CpuUse:
    """Percent of one core during a run: caldavd, PostgreSQL, and everything else
    on the machine that is neither those nor the harness and wrk (other work)."""

    server: float
    db: float
    foreign: float
    stolen: float = 0.0


class CpuMeter:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.postmaster = _postmaster(server)

    def sample(self) -> CpuSample:
        db = sum(_cpu_seconds(p) for p in _tree(self.postmaster)) if self.postmaster else 0.0
        return CpuSample(time.monotonic(), _cpu_seconds(self.server.pid), db, _own_seconds(),
                         *_machine_seconds())


def cpu_use(before: CpuSample, after: CpuSample) -> CpuUse:
    wall = after.wall - before.wall
    if wall <= 0:
        return CpuUse(0.0, 0.0, 0.0)
    server, db = after.server - before.server, after.db - before.db
    own = after.own - before.own
    foreign = max(0.0, (after.busy - before.busy) - server - db - own)
    return CpuUse(100 * server / wall, 100 * db / wall, 100 * foreign / wall,
                  100 * (after.stolen - before.stolen) / wall)


# Other work on the machine above this percentage of a core makes a number suspect.
FOREIGN_WARNING = 10.0


# -- running ------------------------------------------------------------------------


@dataclass
class OpResult:
    name: str
    wrk: WrkResult
    cpu: CpuUse
    facts: dict[str, int | str]
    attempts: int = 1

    @property
    def target(self) -> float:
        return TARGETS[self.name]

    @property
    def met(self) -> bool:
        return self.wrk.rps >= self.target

    def per_request(self, percent: float) -> float:
        """Microseconds of CPU per request from a percent-of-a-core figure."""
        return percent / 100 * 1e6 / self.wrk.rps if self.wrk.rps else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "label": LABELS[self.name], "requests_per_s": self.wrk.rps,
            "target_per_s": self.target, "met": self.met, "requests": self.wrk.requests,
            "seconds": self.wrk.seconds,
            "latency_ms": {f"p{k}": v for k, v in self.wrk.latency_ms.items()},
            "mean_ms": round(self.wrk.mean_ms, 3), "max_ms": self.wrk.max_ms,
            "server_cpu_percent": round(self.cpu.server, 1),
            "db_cpu_percent": round(self.cpu.db, 1),
            "other_cpu_percent": round(self.cpu.foreign, 1),
            # Time the hypervisor gave neither vCPU although it was runnable (other
            # guests on the host): every number of the run is depressed by it.
            "stolen_cpu_percent": round(self.cpu.stolen, 1),
            "attempts": self.attempts,
            # CPU time per request: robust against other load, and 1e6 / this is what
            # one fully busy core could serve.
            "caldavd_cpu_us_per_request": round(self.per_request(self.cpu.server), 1),
            "postgres_cpu_us_per_request": round(self.per_request(self.cpu.db), 1),
            "check": {k: v for k, v in self.facts.items() if k != "token"},
        }


def wait_for_quiet(limit: float) -> None:
    """Wait (at most ``limit`` s) until other processes use under FOREIGN_WARNING % CPU."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        busy, own, start = _busy_seconds(), _own_seconds(), time.monotonic()
        time.sleep(1.0)
        foreign = (_busy_seconds() - busy) - (_own_seconds() - own)
        if 100 * foreign / (time.monotonic() - start) < FOREIGN_WARNING:
            return
    if limit > 0:
        print(f"bench: the machine did not become quiet within {limit:.0f}s; measuring anyway",
              file=sys.stderr)


def start_profiler(server: Server, cores: Cores, args: argparse.Namespace, name: str,
                   label: str) -> subprocess.Popen[bytes] | None:
    """py-spy on caldavd for the measured run (folded stacks, one file per operation)."""
    if not args.profile:
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise BenchError("--profile needs py-spy (.venv/bin/pip install py-spy)")
    out = Path(args.profile) / f"{name}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    prefix = ["taskset", "-c", str(cores.load)] if cores.load is not None else []
    print(f"bench: profiling {label} into {out}", file=sys.stderr)
    return subprocess.Popen([*prefix, spy, "record", "-p", str(server.pid), "-r", "100",
                             "-d", str(max(1, round(args.duration))), "-f", "raw",
                             "-o", str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def measure(server: Server, cores: Cores, prepared: Prepared, args: argparse.Namespace,
            label: str) -> OpResult:
    """One operation: a warm-up, then measured runs until one has at most
    ``--max-stolen`` of a core stolen (at most ``--attempts``); the least
    disturbed run counts."""
    if args.warmup > 0:
        warm = run_wrk(server.url, prepared.script, duration=args.warmup,
                       connections=args.connections, cpu=cores.load)
        if warm.failed:
            raise BenchError(f"{label} (warm-up): {warm.failure()}")
    best: OpResult | None = None
    for attempt in range(1, args.attempts + 1):
        result = _measured_run(server, cores, prepared, args, label)
        if best is None or result.cpu.stolen < best.cpu.stolen:
            best = result
        if result.cpu.stolen <= args.max_stolen:
            break
        if attempt < args.attempts:
            print(f"bench: {label}: {result.cpu.stolen:.0f}% of a core stolen, over "
                  f"{args.max_stolen:.0f}%: running it again ({attempt + 1} of "
                  f"{args.attempts})", file=sys.stderr)
    assert best is not None
    best.attempts = attempt
    return best


def _measured_run(server: Server, cores: Cores, prepared: Prepared,
                  args: argparse.Namespace, label: str) -> OpResult:
    wait_for_quiet(args.wait_quiet)
    profiler = start_profiler(server, cores, args, prepared.name, label)
    meter = CpuMeter(server)
    before = meter.sample()
    result = run_wrk(server.url, prepared.script, duration=args.duration,
                     connections=args.connections, cpu=cores.load)
    cpu = cpu_use(before, meter.sample())
    if profiler is not None:
        profiler.wait()
    if result.failed:
        raise BenchError(f"{label}: {result.failure()}\n--- wrk output ---\n{result.raw}")
    if result.requests == 0:
        raise BenchError(f"{label}: wrk completed no request\n{result.raw}")
    print(f"bench: {label}: {result.rps:.1f} req/s, p99 {result.p99_ms:.2f} ms, "
          f"CPU: caldavd {cpu.server:.0f}%, PostgreSQL {cpu.db:.0f}%, other work on the "
          f"machine {cpu.foreign:.0f}%, stolen by the hypervisor {cpu.stolen:.0f}%",
          file=sys.stderr)
    if cpu.stolen > FOREIGN_WARNING:
        print(f"bench: WARNING: the hypervisor withheld {cpu.stolen:.0f}% of a core during "
              f"{label} (other guests on the host); this number is depressed by that",
              file=sys.stderr)
    if cpu.foreign > FOREIGN_WARNING:
        print(f"bench: WARNING: other processes used {cpu.foreign:.0f}% of a core during "
              f"{label}; this number is depressed by them", file=sys.stderr)
    return OpResult(prepared.name, result, cpu, prepared.facts)


def _load_line(what: str, stats: LoadStats) -> str:
    return f"{what}: {stats.count} PUTs in {stats.seconds:.1f}s ({stats.rate:.0f}/s)"


async def _setup_user(server: Server, user: str, count: int, label: str,
                      ) -> tuple[str, list[Any], LoadStats]:
    events = list(base_events(count))
    async with Client(server.url, user) as client:
        calendar = await client.calendar_path()
        stats = await client.put_events(calendar, events, label=label)
    return calendar, events, stats


async def _prepare(server: Server, user: str, name: str, calendar: str, events: list[Any],
                   run_id: str) -> Prepared:
    async with Client(server.url, user) as client:
        return await prepare(name, client, calendar, events, query_week(), run_id)


async def _load_more(server: Server, user: str, calendar: str, first: int, count: int,
                     ) -> LoadStats:
    async with Client(server.url, user) as client:
        return await client.put_events(calendar, history_events(first, count),
                                       label=f"loading {count} history events")


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
    with running_server(server_cpu=cores.server, db_cpus=db_cpus, log_level=args.log_level,
                        keep=args.keep) as server:
        print(f"bench: caldavd at {server.url} (pid {server.pid}); root {server.root}",
              file=sys.stderr)
        calendar, events, stats = asyncio.run(
            _setup_user(server, "user01", args.events, f"loading {args.events} events"))
        print("bench: " + _load_line("user01", stats), file=sys.stderr)
        report["load"]["user01"] = {"events": stats.count, "seconds": round(stats.seconds, 2),
                                    "puts_per_s": round(stats.rate, 1)}
        if not args.no_analyze:
            vacuum_analyze(server)
        results = []
        for name in args.ops:
            prepared = asyncio.run(_prepare(server, "user01", name, calendar, events, run_id))
            result = measure(server, cores, prepared, args, LABELS[name])
            results.append(result)
            report["operations"][name] = result.as_json()
        if args.scale:
            report["scale"] = run_scale(server, cores, args, run_id)
    return report


def run_scale(server: Server, cores: Cores, args: argparse.Namespace,
              run_id: str) -> dict[str, Any]:
    small, big = args.events, args.scale_events
    calendar, events, stats = asyncio.run(
        _setup_user(server, "user02", small, f"scale: loading {small} events"))
    print("bench: " + _load_line("user02", stats), file=sys.stderr)
    if not args.no_analyze:
        vacuum_analyze(server)
    prepared = asyncio.run(_prepare(server, "user02", "query_week", calendar, events, run_id))
    at_small = measure(server, cores, prepared, args, f"week query at {small}")
    more = asyncio.run(_load_more(server, "user02", calendar, small, big - small))
    print("bench: " + _load_line(f"user02 +{big - small}", more), file=sys.stderr)
    if not args.no_analyze:
        vacuum_analyze(server)
    again = asyncio.run(_prepare(server, "user02", "query_week", calendar, events, run_id))
    if again.facts.get("responses") != prepared.facts.get("responses"):
        raise BenchError(f"scale: the week query answered {again.facts.get('responses')} "
                         f"objects at {big} events but {prepared.facts.get('responses')} at "
                         f"{small}; the history events should not reach the queried week")
    at_big = measure(server, cores, again, args, f"week query at {big}")
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


# -- output -------------------------------------------------------------------------


def _row(label: str, op: dict[str, Any], target: str, verdict: str) -> tuple[str, ...]:
    latency = op["latency_ms"]
    return (label, f"{op['requests_per_s']:.0f}", target, f"{latency.get('p50', 0):.2f}",
            f"{latency.get('p99', 0):.2f}", f"{op['server_cpu_percent']:.0f}%",
            f"{op['caldavd_cpu_us_per_request']:.0f}", f"{op['db_cpu_percent']:.0f}%",
            f"{op['postgres_cpu_us_per_request']:.0f}", f"{op['other_cpu_percent']:.0f}%",
            f"{op.get('stolen_cpu_percent', 0):.0f}%", verdict)


def table(report: dict[str, Any]) -> str:
    rows: list[tuple[str, ...]] = [
        ("operation", "req/s", "target", "p50 ms", "p99 ms", "caldavd", "us/req",
         "postgres", "us/req", "other", "stolen", "")]
    for name, op in report["operations"].items():
        rows.append(_row(LABELS[name], op, f">= {op['target_per_s']:.0f}",
                         "ok" if op["met"] else "MISS"))
    scale = report.get("scale")
    if scale:
        rows.append(_row(f"week query at {scale['small_events']} events", scale["at_small"],
                         "", ""))
        rows.append(_row(f"week query at {scale['big_events']} events", scale["at_big"],
                         "", ""))
        rows.append((f"slowdown {scale['big_events']} vs {scale['small_events']}",
                     f"{scale['slowdown']:.2f}x", f"<= {scale['target_slowdown']}x",
                     "", "", "", "", "", "", "", "", "ok" if scale["met"] else "MISS"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:],
                                                                          strict=True)]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("caldavd/postgres/other: percent of one core used during the run by the "
                 "caldavd worker, by PostgreSQL, and by unrelated processes on the machine; "
                 "stolen: percent of a core the hypervisor withheld from this VM's runnable "
                 "vCPUs; us/req: CPU microseconds per request.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report = run(args)
    except BenchError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return 1
    print(table(report))
    for who, load in report["load"].items():
        print(f"\nloaded {load['events']} events for {who} by PUT at {load['puts_per_s']:.0f}/s")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
