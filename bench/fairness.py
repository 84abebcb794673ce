"""The fairness run (issue 16, "Performance"): one user's hostile requests must not
hurt another's cheap ones.

One caldavd worker (pinned to its core as in the main benchmark).  user01's calendar
holds ``--fairness-events`` events of the benchmark's usual shape plus 100 daily
events that never end and 100 that recur every 3 hours for a year (the calendar of
issue 16's item 1 had hourly ones; 8,760 instances exceed MaxAllowedInstances).
A probe speaking as user02 sends cheap requests one after another
(alternately PROPFIND Depth 0 of its calendar and GET of one of its events) for
``--fairness-duration`` seconds: first alone (its quiet latency), then while each
kind of hostile request runs from user01 in ``--fairness-hostile`` loops:

- ``wide_expand``: calendar-query with ``C:expand`` over 1900-2100;
- ``freebusy_100y``: free-busy-query over 2000-2100;
- ``huge_propfind``: PROPFIND Depth 1 of the whole calendar naming 1,000 properties;
- ``slowloris``: ``--fairness-slowloris`` connections sending a request head a byte
  a second.

Reported per phase: the probe's p50 and p99, p99 against its quiet p99 (target: at
most 3x), the probe's errors, and what the hostile requests got.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import time
from collections import Counter
from collections.abc import Awaitable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from bench.data import Event, vevent, week_start
from bench.load import Client
from bench.measure import setup_user
from bench.server import BenchError, running_server

TARGET_RATIO = 3.0
KINDS = ("wide_expand", "freebusy_100y", "huge_propfind", "slowloris")
NS = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"'
EXPAND = (f'<C:calendar-query {NS}><D:prop><D:getetag/><C:calendar-data><C:expand '
          'start="19000101T000000Z" end="21000101T000000Z"/></C:calendar-data></D:prop>'
          '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
          '<C:time-range start="19000101T000000Z" end="21000101T000000Z"/></C:comp-filter>'
          "</C:comp-filter></C:filter></C:calendar-query>")
FREEBUSY = (f'<C:free-busy-query {NS}><C:time-range start="20000101T000000Z" '
            'end="21000101T000000Z"/></C:free-busy-query>')
PROBE_PROPFIND = ('<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">'
                  "<D:prop><CS:getctag/><D:sync-token/></D:prop></D:propfind>")
PROBE_EVENTS = 10


def huge_propfind(count: int = 1000) -> str:
    names = "".join(f"<X:p{n}/>" for n in range(count - 2))
    return (f'<D:propfind xmlns:D="DAV:" xmlns:X="urn:bench"><D:prop><D:getetag/>'
            f"<D:displayname/>{names}</D:prop></D:propfind>")


def hostile_request(kind: str, calendar: str) -> tuple[str, str, dict[str, str], str]:
    """Method, path, headers and body of one hostile request of ``kind``."""
    xml = {"Content-Type": "application/xml"}
    if kind == "wide_expand":
        return "REPORT", calendar, {**xml, "Depth": "1"}, EXPAND
    if kind == "freebusy_100y":
        return "REPORT", calendar, {**xml, "Depth": "1"}, FREEBUSY
    if kind == "huge_propfind":
        return "PROPFIND", calendar, {**xml, "Depth": "1"}, huge_propfind()
    raise BenchError(f"no request for {kind}")


def heavy_events(now: datetime | None = None) -> Iterator[Event]:
    """100 daily events that never end and 100 every 3 hours for a year."""
    start = week_start(now) - timedelta(weeks=26)
    for n in range(100):
        uid = f"daily-{n:03d}"
        yield Event(f"{uid}.ics", uid, start, vevent(uid, start + timedelta(minutes=n),
                                                     30, "Daily", rrule="FREQ=DAILY"))
    for n in range(100):
        uid = f"hourly-{n:03d}"
        yield Event(f"{uid}.ics", uid, start, vevent(
            uid, start + timedelta(minutes=n), 20, "Every 3 hours",
            rrule="FREQ=HOURLY;INTERVAL=3;COUNT=2920"))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0-1) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q * len(ordered))))
    return ordered[rank - 1]


@dataclass
class Phase:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    probe_errors: int = 0
    hostile: Counter[str] = field(default_factory=Counter)

    def as_json(self, quiet_p99: float | None) -> dict[str, Any]:
        p99 = percentile(self.latencies_ms, 0.99)
        ratio = p99 / quiet_p99 if quiet_p99 else None
        return {"probes": len(self.latencies_ms), "probe_errors": self.probe_errors,
                "p50_ms": round(percentile(self.latencies_ms, 0.5), 2),
                "p99_ms": round(p99, 2),
                "p99_ratio": None if ratio is None else round(ratio, 2),
                "met": None if ratio is None else ratio <= TARGET_RATIO,
                "hostile": dict(sorted(self.hostile.items()))}


async def probe(client: Client, calendar: str, event: str, seconds: float, phase: Phase,
                ) -> None:
    """Cheap requests one after another for ``seconds``; each one's latency."""
    deadline = time.monotonic() + seconds
    turn = 0
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            if turn % 2:
                status = (await client.request("GET", event)).status
            else:
                status = (await client.request("PROPFIND", calendar, PROBE_PROPFIND,
                                               {"Depth": "0"})).status
        except (TimeoutError, OSError, aiohttp.ClientError):
            status = 0
        phase.latencies_ms.append((time.perf_counter() - started) * 1000)
        if status not in (200, 207):
            phase.probe_errors += 1
        turn += 1


async def hostile_loop(client: Client, kind: str, calendar: str, phase: Phase,
                       stop: asyncio.Event) -> None:
    method, path, headers, body = hostile_request(kind, calendar)
    while not stop.is_set():
        try:
            reply = await client.request(method, path, body, headers)
            phase.hostile[str(reply.status)] += 1
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            phase.hostile[type(exc).__name__] += 1


async def slowloris(host: str, port: int, count: int, phase: Phase,
                    stop: asyncio.Event) -> None:
    """``count`` connections that send a request head a byte a second."""
    async def one() -> None:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            phase.hostile["refused"] += 1
            return
        head = b"PROPFIND / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10_000
        try:
            for byte in head:
                if stop.is_set():
                    break
                writer.write(bytes([byte]))
                await writer.drain()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(reader.read(1024), 1)  # the server's answer, if any
                if reader.at_eof():
                    raise ConnectionResetError
            phase.hostile["held to the end"] += 1
        except OSError:
            phase.hostile["closed by the server"] += 1
        finally:
            writer.close()

    await asyncio.gather(*(one() for _ in range(count)))


async def run_phase(url: str, kind: str | None, target: Mapping[str, str],
                    args: argparse.Namespace) -> Phase:
    phase = Phase(kind or "quiet")
    stop = asyncio.Event()
    async with Client(url, "user02", concurrency=2) as quiet, \
            Client(url, "user01", concurrency=args.fairness_hostile) as loud:
        attackers: list[Awaitable[None]] = []
        if kind == "slowloris":
            host, port = url.split("//")[1].split(":")
            attackers.append(slowloris(host, int(port), args.fairness_slowloris, phase, stop))
        elif kind is not None:
            attackers += [hostile_loop(loud, kind, target["hostile"], phase, stop)
                          for _ in range(args.fairness_hostile)]
        tasks = [asyncio.create_task(_quietly(a)) for a in attackers]
        await asyncio.sleep(1 if attackers else 0)  # the attack is under way
        await probe(quiet, target["calendar"], target["event"], args.fairness_duration, phase)
        stop.set()
        await _finish(tasks)
    return phase


async def _quietly(work: Awaitable[None]) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        await work


async def _finish(tasks: list[asyncio.Task[None]], grace: float = 30.0) -> None:
    """Hostile requests in flight may take long: wait a little, then cancel."""
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


async def prepare(url: str, events: int) -> dict[str, str]:
    hostile, _, _ = await setup_user(url, "user01", events, f"loading {events} events")
    async with Client(url, "user01") as client:
        await client.put_events(hostile, heavy_events(), label="loading 200 recurring events")
    async with Client(url, "user02") as client:
        calendar = await client.calendar_path()
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        small = [Event(f"probe-{n}.ics", f"probe-{n}", now, vevent(
            f"probe-{n}", now + timedelta(days=n), 60, "Probe")) for n in range(PROBE_EVENTS)]
        await client.put_events(calendar, small, label="loading the probe's events")
    return {"hostile": hostile, "calendar": calendar, "event": calendar + "probe-0.ics"}


def run_fairness(args: argparse.Namespace) -> dict[str, Any]:
    cores = sorted(os.sched_getaffinity(0))
    server_cpu, load_cpu = (cores[0], cores[1]) if len(cores) > 1 else (None, None)
    if load_cpu is not None:
        os.sched_setaffinity(0, {load_cpu})
    report: dict[str, Any] = {"settings": {
        "events": args.fairness_events, "duration_s": args.fairness_duration,
        "hostile_loops": args.fairness_hostile, "slowloris": args.fairness_slowloris,
        "server_core": server_cpu, "target_ratio": TARGET_RATIO}, "phases": {}}
    db_cpus = {load_cpu} if load_cpu is not None else None
    with running_server(server_cpu=server_cpu, db_cpus=db_cpus, log_level=args.log_level,
                        keep=args.keep) as server:
        target = asyncio.run(prepare(server.url, args.fairness_events))
        quiet = asyncio.run(run_phase(server.url, None, target, args))
        quiet_p99 = percentile(quiet.latencies_ms, 0.99)
        report["phases"]["quiet"] = quiet.as_json(None)
        for kind in args.fairness_kinds:
            phase = asyncio.run(run_phase(server.url, kind, target, args))
            report["phases"][kind] = phase.as_json(quiet_p99)
    return report


def fairness_table(report: Mapping[str, Any]) -> str:
    rows = ["| phase | probes | errors | p50 ms | p99 ms | p99 / quiet | met (<= 3x) | "
            "hostile answers |", "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for name, phase in report["phases"].items():
        ratio = "-" if phase["p99_ratio"] is None else f"{phase['p99_ratio']:.2f}x"
        met = "-" if phase["met"] is None else ("yes" if phase["met"] else "NO")
        hostile = ", ".join(f"{k}: {v}" for k, v in phase["hostile"].items()) or "-"
        rows.append(f"| {name} | {phase['probes']} | {phase['probe_errors']} | "
                    f"{phase['p50_ms']:.1f} | {phase['p99_ms']:.1f} | {ratio} | {met} | "
                    f"{hostile} |")
    return "\n".join(rows)


def kinds(value: str) -> list[str]:
    chosen = [k.strip() for k in value.split(",") if k.strip()] if value else list(KINDS)
    unknown = sorted(set(chosen) - set(KINDS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown kinds {', '.join(unknown)}; "
                                         f"choose from {', '.join(KINDS)}")
    return chosen


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("--fairness (hostile requests vs a probe, "
                                      "bench/fairness.py)")
    group.add_argument("--fairness", action="store_true",
                       help="instead: the probe's latency while each hostile kind runs")
    group.add_argument("--fairness-kinds", type=kinds, default=list(KINDS), metavar="LIST",
                       help=f"hostile kinds, comma-separated (default {','.join(KINDS)})")
    group.add_argument("--fairness-duration", type=float, default=15.0, metavar="S",
                       help="seconds of probing per phase (default 15)")
    group.add_argument("--fairness-events", type=int, default=1000,
                       help="user01's events besides the 200 recurring ones (default 1000)")
    group.add_argument("--fairness-hostile", type=int, default=4, metavar="N",
                       help="concurrent loops of a hostile request (default 4)")
    group.add_argument("--fairness-slowloris", type=int, default=500, metavar="N",
                       help="slow connections of the slowloris phase (default 500)")
