"""Measuring one operation: wrk runs, and where the CPU went while they ran.

Both modes use this: the single-host benchmark (one caldavd pinned to its core,
``bench.run``) and the cluster mode (haproxy in front of caldavd hosts,
``bench.cluster``).  A ``Target`` says where the requests go and which process
groups to account for (caldavd, PostgreSQL, and in cluster mode haproxy and
memcached); the harness and wrk are counted as "load", everything else on the
machine as "other".
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.data import Event, base_events, query_week
from bench.load import Client, LoadStats
from bench.ops import LABELS, TARGETS, Prepared, prepare
from bench.server import BenchError, tree
from bench.wrk import WrkResult, run_wrk

# Other work on the machine above this percentage of a core makes a number suspect.
FOREIGN_WARNING = 10.0

_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


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
    parts: dict[str, float]
    own: float
    busy: float
    stolen: float


@dataclass
class CpuUse:
    """Percent of one core during a run: caldavd (every process of every host),
    PostgreSQL, other accounted groups (``parts``: haproxy, memcached), the harness
    with wrk (``load``), and everything else on the machine (other work)."""

    server: float
    db: float
    foreign: float
    stolen: float = 0.0
    load: float = 0.0
    parts: dict[str, float] = field(default_factory=dict)


class CpuMeter:
    """CPU time of named groups of processes, each given by root pids (with children)."""

    def __init__(self, groups: Mapping[str, Sequence[int | None]]) -> None:
        self.groups = {name: [p for p in pids if p] for name, pids in groups.items()}

    def sample(self) -> CpuSample:
        parts = {name: sum(_cpu_seconds(p) for root in roots for p in tree(root))
                 for name, roots in self.groups.items()}
        return CpuSample(time.monotonic(), parts, _own_seconds(), *_machine_seconds())


def cpu_use(before: CpuSample, after: CpuSample) -> CpuUse:
    wall = after.wall - before.wall
    if wall <= 0:
        return CpuUse(0.0, 0.0, 0.0)
    parts = {name: 100 * (after.parts[name] - before.parts.get(name, 0.0)) / wall
             for name in after.parts}
    own = 100 * (after.own - before.own) / wall
    busy = 100 * (after.busy - before.busy) / wall
    foreign = max(0.0, busy - sum(parts.values()) - own)
    return CpuUse(parts.get("caldavd", 0.0), parts.get("postgres", 0.0), foreign,
                  100 * (after.stolen - before.stolen) / wall, own,
                  {k: v for k, v in parts.items() if k not in ("caldavd", "postgres")})


@dataclass
class Target:
    """Where an operation's requests go, what to account for, where wrk runs."""

    url: str
    meter: CpuMeter
    load_cpu: int | None = None
    profile_pid: int | None = None


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
        report = {
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
            "load_cpu_percent": round(self.cpu.load, 1),
            **{f"{k}_cpu_percent": round(v, 1) for k, v in self.cpu.parts.items()},
            "attempts": self.attempts,
            # CPU time per request: robust against other load, and 1e6 / this is what
            # one fully busy core could serve.
            "caldavd_cpu_us_per_request": round(self.per_request(self.cpu.server), 1),
            "postgres_cpu_us_per_request": round(self.per_request(self.cpu.db), 1),
            "check": {k: v for k, v in self.facts.items() if k != "token"},
        }
        return report


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


def start_profiler(target: Target, args: argparse.Namespace, name: str,
                   label: str) -> subprocess.Popen[bytes] | None:
    """py-spy on caldavd and its workers for the measured run (folded stacks)."""
    if not args.profile or target.profile_pid is None:
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise BenchError("--profile needs py-spy (.venv/bin/pip install py-spy)")
    out = Path(args.profile) / f"{name}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    prefix = ["taskset", "-c", str(target.load_cpu)] if target.load_cpu is not None else []
    print(f"bench: profiling {label} into {out}", file=sys.stderr)
    return subprocess.Popen([*prefix, spy, "record", "-p", str(target.profile_pid),
                             "--subprocesses", "-r", "100",
                             "-d", str(max(1, round(args.duration))), "-f", "raw",
                             "-o", str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def measure(target: Target, prepared: Prepared, args: argparse.Namespace,
            label: str) -> OpResult:
    """One operation: a warm-up, then measured runs until one has at most
    ``--max-stolen`` of a core stolen (at most ``--attempts``); the least
    disturbed run counts."""
    if args.warmup > 0:
        warm = run_wrk(target.url, prepared.script, duration=args.warmup,
                       connections=args.connections, cpu=target.load_cpu)
        if warm.failed:
            raise BenchError(f"{label} (warm-up): {warm.failure()}")
    best: OpResult | None = None
    for attempt in range(1, args.attempts + 1):
        result = _measured_run(target, prepared, args, label)
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


def _measured_run(target: Target, prepared: Prepared, args: argparse.Namespace,
                  label: str) -> OpResult:
    wait_for_quiet(args.wait_quiet)
    profiler = start_profiler(target, args, prepared.name, label)
    before = target.meter.sample()
    result = run_wrk(target.url, prepared.script, duration=args.duration,
                     connections=args.connections, cpu=target.load_cpu)
    cpu = cpu_use(before, target.meter.sample())
    if profiler is not None:
        profiler.wait()
    if result.failed:
        raise BenchError(f"{label}: {result.failure()}\n--- wrk output ---\n{result.raw}")
    if result.requests == 0:
        raise BenchError(f"{label}: wrk completed no request\n{result.raw}")
    parts = "".join(f", {k} {v:.0f}%" for k, v in cpu.parts.items())
    print(f"bench: {label}: {result.rps:.1f} req/s, p99 {result.p99_ms:.2f} ms, "
          f"CPU: caldavd {cpu.server:.0f}%, PostgreSQL {cpu.db:.0f}%{parts}, harness and "
          f"wrk {cpu.load:.0f}%, other work on the machine {cpu.foreign:.0f}%, stolen by "
          f"the hypervisor {cpu.stolen:.0f}%", file=sys.stderr)
    if cpu.stolen > FOREIGN_WARNING:
        print(f"bench: WARNING: the hypervisor withheld {cpu.stolen:.0f}% of a core during "
              f"{label} (other guests on the host); this number is depressed by that",
              file=sys.stderr)
    if cpu.foreign > FOREIGN_WARNING:
        print(f"bench: WARNING: other processes used {cpu.foreign:.0f}% of a core during "
              f"{label}; this number is depressed by them", file=sys.stderr)
    return OpResult(prepared.name, result, cpu, prepared.facts)


# -- setting up through HTTP ----------------------------------------------------------


def load_line(what: str, stats: LoadStats) -> str:
    return f"{what}: {stats.count} PUTs in {stats.seconds:.1f}s ({stats.rate:.0f}/s)"


async def setup_user(url: str, user: str, count: int, label: str,
                     ) -> tuple[str, list[Event], LoadStats]:
    """``user``'s default calendar loaded with ``count`` base events by PUT."""
    events = list(base_events(count))
    async with Client(url, user) as client:
        calendar = await client.calendar_path()
        stats = await client.put_events(calendar, events, label=label)
    return calendar, events, stats


async def prepare_at(url: str, user: str, name: str, calendar: str, events: list[Event],
                     run_id: str) -> Prepared:
    async with Client(url, user) as client:
        return await prepare(name, client, calendar, events, query_week(), run_id)
