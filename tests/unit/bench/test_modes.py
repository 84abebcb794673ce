"""The benchmark's pure logic around the response cache and cluster mode: which
operations run against which caldavd, option parsing, the ratios and the tables.
Nothing here starts a server or times anything."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from bench.cluster import BASELINE, cluster_ops, host_shares, topologies
from bench.ops import NAMES, as_variant, cache_ratio, request_of, variant_of
from bench.report import (
    cache_ratios,
    cache_table,
    ceiling,
    ceilings,
    cluster_table,
    idle_percent,
    scaling,
    table,
)
from bench.report import main as report_main
from bench.run import needed_variants, parse_args
from bench.server import BenchError, process_state, variant_overrides


def op(rps: float, us: float = 100.0, **cpu: object) -> dict[str, Any]:
    return {"requests_per_s": rps, "caldavd_cpu_us_per_request": us, "target_per_s": 100.0,
            "met": True, "latency_ms": {"p50": 1.0, "p99": 2.0}, "server_cpu_percent": 90.0,
            "db_cpu_percent": 10.0, "postgres_cpu_us_per_request": 20.0,
            "other_cpu_percent": 1.0, "stolen_cpu_percent": 0.0, **cpu}


def test_cached_operations_repeat_the_uncached_request_against_their_variant() -> None:
    assert request_of("propfind1_memcached") == "propfind1"
    assert variant_of("propfind1_memcached") == "memcached"
    assert variant_of("propfind0_cached") == "local"
    assert variant_of("propfind0") == "uncached"
    assert variant_of("get") is None and request_of("get") == "get"
    assert as_variant("propfind1", "memcached") == "propfind1_memcached"
    assert as_variant("propfind0_cached", "uncached") == "propfind0"
    assert as_variant("put", "memcached") == "put"
    with pytest.raises(BenchError):
        as_variant("propfind1", "nonsense")


def test_every_cached_operation_runs_after_its_uncached_twin_and_put_last() -> None:
    for name in NAMES:
        assert NAMES.index(request_of(name)) <= NAMES.index(name)
    assert NAMES[-1] == "put"


def test_variants_a_run_needs() -> None:
    assert needed_variants(["get", "put"]) == ["uncached"]
    assert needed_variants(["propfind1_memcached", "propfind0_cached", "propfind1_cached"]) == [
        "uncached", "memcached", "local"]


def test_variant_overrides() -> None:
    assert variant_overrides("uncached") == []
    assert variant_overrides("local") == ["EnableResponseCache=true"]
    memcached = variant_overrides("memcached", 11999)
    assert "Memcached.Pools.Default.Port=11999" in memcached
    assert "Memcached.Pools.Default.ServerEnabled=false" in memcached
    with pytest.raises(BenchError):
        variant_overrides("memcached")


def test_cache_ratios_pair_each_cached_run_with_its_uncached_one() -> None:
    ratios = cache_ratios({"propfind1": op(200, 4000), "propfind1_cached": op(3000, 250),
                           "propfind0_memcached": op(5000), "get": op(6000)})
    assert list(ratios) == ["propfind1_cached"]  # propfind0 was not measured
    entry = ratios["propfind1_cached"]
    assert entry["ratio"] == 15.0 and entry["cpu_ratio"] == 16.0 and entry["met"]
    assert not cache_ratios({"propfind0": op(3000), "propfind0_cached": op(6000)})[
        "propfind0_cached"]["met"]
    assert cache_ratio(1.0, 0.0) == float("inf")
    assert "15.00x" in cache_table(ratios) and "ok" in cache_table(ratios)


def test_the_table_ends_with_the_cache_ratios() -> None:
    operations = {"propfind1": op(200), "propfind1_cached": op(900)}
    text = table({"operations": operations, "response_cache": cache_ratios(operations)})
    assert text.splitlines()[-2].startswith("PROPFIND Depth 1, cached in-process")
    assert "4.50x" in text


def test_cluster_options() -> None:
    args = parse_args(["--cluster", "--only", "put,propfind1,get"])
    assert args.ops == ["get", "propfind1_memcached", "put"]
    assert [t.key for t in args.topologies] == ["1x1", "2x1", "1x2"]
    args = parse_args(["--cluster", "--cluster-cache", "off", "--topologies", "1x2"])
    assert "propfind1" in args.ops and "propfind1_memcached" not in args.ops
    assert [t.key for t in args.topologies] == [BASELINE, "1x2"]  # the baseline is added
    with pytest.raises(SystemExit):
        parse_args(["--cluster", "--topologies", "3x1"])
    with pytest.raises(SystemExit):
        parse_args(["--cluster", "--scale"])
    assert parse_args([]).ops == list(NAMES)


def test_cluster_ops_measure_each_request_once() -> None:
    ops = cluster_ops([], "memcached")
    assert ops == ["get", "propfind0_memcached", "propfind1_memcached", "query_week",
                   "multiget20", "sync_nochange", "put"]
    assert cluster_ops(["propfind1_cached", "propfind1"], "off") == ["propfind1"]


def test_topologies_keep_canonical_order() -> None:
    assert [t.key for t in topologies("1x2,2x1")] == ["1x1", "2x1", "1x2"]
    with pytest.raises(ValueError, match="unknown topology"):
        topologies("1x1,4x4")


def test_scaling_is_against_the_baseline() -> None:
    measured = {"1x1": {"operations": {"get": op(1000), "put": op(0)}},
                "2x1": {"operations": {"get": op(1500), "put": op(400)}},
                "1x2": {"operations": {"get": op(1200)}}}
    assert scaling(measured, "1x1") == {"get": {"2x1": 1.5, "1x2": 1.2}, "put": {}}


def test_host_shares_and_idle() -> None:
    assert host_shares({"caldavd1": 10, "caldavd2": 5}, {"caldavd1": 40, "caldavd2": 95}) == \
        "caldavd1 25%, caldavd2 75%"
    assert host_shares({}, {"caldavd1": 0}) == ""
    assert idle_percent(op(1, server_cpu_percent=90.0, db_cpu_percent=40.0,
                           other_cpu_percent=10.0, stolen_cpu_percent=5.0,
                           haproxy_cpu_percent=20.0, load_cpu_percent=15.0), 2) == 20.0


def test_cluster_table() -> None:
    measured = {"1x1": {"label": "1 host x 1 worker", "operations": {"get": op(1000)}},
                "2x1": {"label": "2 hosts x 1 worker", "operations": {
                    "get": op(1500, check={"host_shares": "caldavd1 50%, caldavd2 50%"})}}}
    text = cluster_table({"baseline": "1x1", "topologies": measured,
                          "scaling": scaling(measured, "1x1")}, cores=2)
    first = text.splitlines()[2]
    assert first.split() == ["GET", "event", "1000", "1500", "1.50x"]
    assert "caldavd1 50%, caldavd2 50%" in text


def test_ceiling_is_bounded_by_the_workers_and_by_the_machine() -> None:
    # caldavd 50% of a core, all our processes 100%: alone, one worker could double (at
    # 100% of its core) before the machine (200%) is full.
    one = op(1000, server_cpu_percent=50.0, db_cpu_percent=30.0, haproxy_cpu_percent=10.0,
             load_cpu_percent=10.0)
    assert ceiling(one, workers=1, cores=2) == 2000.0
    # Two workers: the machine is the bound (our 100% may grow to 200%).
    assert ceiling(one, workers=2, cores=2) == 2000.0
    assert ceiling(op(0), workers=1, cores=2) is None
    measured = {"1x1": {"hosts": 1, "workers": 1, "operations": {"get": one}},
                "2x1": {"hosts": 2, "workers": 1, "operations": {"get": one}}}
    assert ceilings(measured, 2) == {"get": {"1x1": 2000.0, "2x1": 2000.0}}


def test_report_prints_a_saved_report(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      ) -> None:
    saved = tmp_path / "results.json"
    saved.write_text(json.dumps({"operations": {"propfind1": op(200)}}))
    assert report_main([str(saved)]) == 0
    assert "PROPFIND Depth 1" in capsys.readouterr().out
    assert report_main([]) == 2


def test_process_state_says_whether_caldavd_runs_and_how_its_log_ends(tmp_path: Path) -> None:
    log = tmp_path / "caldavd.out"
    log.write_text("one\ntwo\nthree\n")
    running = process_state(os.getpid(), log, lines=2)
    assert running.startswith(f"pid {os.getpid()} is running")
    assert running.endswith("\n  two\n  three")
    assert process_state(2**22 + 1, tmp_path / "missing") == f"pid {2**22 + 1} is gone"
