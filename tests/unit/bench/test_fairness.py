"""The fairness run's pure logic (bench/fairness.py): the hostile requests, the extra
events, percentiles, the per-phase verdict, the table and the options.  Nothing here
starts a server or times anything."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import pytest
from lxml import etree

from bench.fairness import (
    KINDS,
    TARGET_RATIO,
    Phase,
    fairness_table,
    heavy_events,
    hostile_request,
    kinds,
    percentile,
)
from bench.run import parse_args
from bench.server import BenchError


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) == 0.0
    assert percentile([3.0, 1.0, 2.0], 1.0) == 3.0


def test_each_hostile_kind_but_slowloris_is_a_well_formed_request() -> None:
    for kind in ("wide_expand", "freebusy_100y", "huge_propfind"):
        method, path, headers, body = hostile_request(kind, "/cal/")
        assert path == "/cal/" and headers["Depth"] == "1"
        root = etree.fromstring(body.encode())
        assert method in ("REPORT", "PROPFIND")
        assert root.tag.endswith(("calendar-query", "free-busy-query", "propfind"))
    _, _, _, propfind = hostile_request("huge_propfind", "/cal/")
    prop = etree.fromstring(propfind.encode()).find("{DAV:}prop")
    assert prop is not None and len(prop) == 1000
    with pytest.raises(BenchError):
        hostile_request("slowloris", "/cal/")


def test_heavy_events_are_100_endless_dailies_and_100_three_hourlies_for_a_year() -> None:
    events = list(heavy_events(datetime(2026, 6, 1, tzinfo=UTC)))
    assert len(events) == 200 and len({e.name for e in events}) == 200
    assert sum("RRULE:FREQ=DAILY\r\n" in e.ics for e in events) == 100
    assert sum("RRULE:FREQ=HOURLY;INTERVAL=3;COUNT=2920" in e.ics for e in events) == 100


def test_a_phase_is_judged_against_the_quiet_p99() -> None:
    phase = Phase("wide_expand", latencies_ms=[1.0] * 98 + [5.0, 9.0])
    phase.hostile["403"] += 3
    judged = phase.as_json(quiet_p99=2.0)
    assert judged["p99_ms"] == 5.0 and judged["p50_ms"] == 1.0
    assert judged["p99_ratio"] == 2.5 and judged["met"] is (TARGET_RATIO >= 2.5)
    assert judged["hostile"] == {"403": 3}
    assert Phase("quiet", [1.0]).as_json(None)["met"] is None
    assert Phase("slow", [10.0]).as_json(quiet_p99=2.0)["met"] is False


def test_the_table_has_a_row_per_phase() -> None:
    report = {"phases": {"quiet": Phase("quiet", [1.0, 2.0]).as_json(None),
                         "slowloris": Phase("slowloris", [9.0]).as_json(2.0)}}
    lines = fairness_table(report).splitlines()
    assert len(lines) == 4
    assert lines[2].startswith("| quiet | 2 | 0 |") and "| - | - |" in lines[2]
    assert "| 4.50x | NO |" in lines[3]


def test_kinds_and_options() -> None:
    assert kinds("") == list(KINDS)
    assert kinds("slowloris, wide_expand") == ["slowloris", "wide_expand"]
    with pytest.raises(argparse.ArgumentTypeError):
        kinds("wide_expand,nonsense")
    args = parse_args(["--fairness", "--fairness-kinds", "slowloris", "--fairness-duration",
                       "5"])
    assert args.fairness and args.fairness_kinds == ["slowloris"]
    assert args.fairness_duration == 5.0
    with pytest.raises(SystemExit):
        parse_args(["--fairness", "--cluster"])
