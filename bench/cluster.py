"""Cluster mode (issue 5): the operations through haproxy against one and two hosts.

    bin/bench --cluster --duration 5 --warmup 1

For each topology, a fresh deployment as ``bin/caldavd-cluster start`` brings
it up (``caldavd.harness.cluster.Cluster``: one PostgreSQL, one memcached, the
caldavd hosts on 127.0.0.2... reading one plist, haproxy round-robin in
front), user01's calendar loaded through haproxy, then every operation
measured through haproxy:

* ``1x1``: one host with one worker (the baseline);
* ``2x1``: two hosts with one worker each;
* ``1x2``: one host with MultiProcessCount 2.

Nothing is pinned: caldavd, PostgreSQL, haproxy, memcached and wrk share the
machine's cores as the scheduler sees fit, and the CPU each used is reported
next to the rates.  The response cache is on (memcached-backed, the
multi-host configuration) unless ``--cluster-cache off``, which starts every
host with ``EnableResponseCache false``.  PostgreSQL runs with the settings
``caldavd-cluster`` gives it (reported as ``postgres``; fsync was off in its
first version, which makes PUTs cheaper than in the single-host benchmark).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.measure import CpuMeter, OpResult, Target, load_line, measure, prepare_at, setup_user
from bench.ops import LABELS, NAMES, as_variant
from bench.report import ceilings, scaling
from bench.server import MACHINE_CPUS, BenchError, free_port, postmaster_pid, vacuum_analyze
from caldavd.harness.cluster import Cluster
from caldavd.harness.processes import port_free
from caldavd.harness.topology import HAPROXY_BACKEND_NAME, ClusterFailed, Host, Settings
from caldavd.store.postgres.cluster import ClusterError


@dataclass(frozen=True)
class Topology:
    key: str
    label: str
    hosts: int
    workers: int


TOPOLOGIES = (
    Topology("1x1", "1 host x 1 worker", 1, 1),
    Topology("2x1", "2 hosts x 1 worker", 2, 1),
    Topology("1x2", "1 host, MultiProcessCount 2", 1, 2),
)
BASELINE = "1x1"
TOPOLOGY_KEYS = tuple(t.key for t in TOPOLOGIES)
# --cluster-cache: the response cache's store in every host.
CACHE_MODES = ("memcached", "off")


def cluster_ops(wanted: Sequence[str], cache: str) -> list[str]:
    """The operations to measure (canonical order, PUT last): ``wanted`` or every
    request once, each PROPFIND as the variant the hosts run."""
    variant = "memcached" if cache == "memcached" else "uncached"
    chosen = {as_variant(name, variant) for name in (wanted or NAMES)}
    return [name for name in NAMES if name in chosen]


def topologies(text: str) -> list[Topology]:
    """``--topologies`` (comma-separated keys) in canonical order, the baseline first."""
    keys = [k.strip() for k in text.split(",") if k.strip()] or list(TOPOLOGY_KEYS)
    unknown = [k for k in keys if k not in TOPOLOGY_KEYS]
    if unknown:
        raise ValueError(f"unknown topology {', '.join(unknown)}; known: "
                         f"{', '.join(TOPOLOGY_KEYS)}")
    if BASELINE not in keys:
        keys.append(BASELINE)  # every ratio is against it
    return [t for t in TOPOLOGIES if t.key in keys]


# -- the deployment ---------------------------------------------------------------------


def _host_port(hosts: int) -> int:
    """A port free on every host address (each host listens on its own), by the check
    ``Cluster.start`` makes."""
    for _ in range(50):
        port = free_port()
        if all(port_free(f"127.0.0.{n + 1}", port) for n in range(1, hosts + 1)):
            return port
    raise BenchError("no port free on every host address")


@contextlib.contextmanager
def deployment(topology: Topology, cache: str, keep: bool, *, purpose: str = "cluster",
               prepare: Callable[[Cluster], None] | None = None) -> Iterator[Cluster]:
    """A started cluster of ``topology`` in a fresh directory, stopped afterwards (kept,
    and said where, when it failed or ``keep``); ``prepare`` runs before it starts."""
    root = Path(tempfile.mkdtemp(prefix=f"cdb-{purpose}-{topology.key}-", dir="/tmp"))
    settings = Settings(hosts=topology.hosts, workers=topology.workers, port=free_port(),
                        host_port=_host_port(topology.hosts), pg_port=free_port(),
                        memcached_port=free_port())
    cluster = Cluster(root, settings)
    if cache == "off":
        cluster.hosts = [Host(h.number, h.address, {"EnableResponseCache": False})
                         for h in cluster.hosts]
    if prepare is not None:
        prepare(cluster)
    try:
        try:
            cluster.start()
        except (ClusterFailed, ClusterError) as exc:
            raise BenchError(f"cluster {topology.key}: {exc}") from None
        yield cluster
    except BenchError:
        keep = True  # the hosts' logs say what went wrong
        raise
    finally:
        with contextlib.suppress(ClusterFailed, ClusterError):
            cluster.stop()
        if keep:
            print(f"bench: kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


def cluster_meter(cluster: Cluster) -> CpuMeter:
    return CpuMeter({
        "caldavd": [cluster.pid(h.name, "caldavd") for h in cluster.hosts],
        "postgres": [postmaster_pid(cluster.database.pg)],
        "haproxy": [cluster.pid("haproxy", "haproxy")],
        "memcached": [cluster.pid("memcached", "memcached")],
    })


def served_by_host(cluster: Cluster) -> dict[str, int]:
    """Requests haproxy has sent to each host so far (its ``stot`` counters)."""
    text = cluster.haproxy_command("show stat").lstrip("# ")
    return {row["svname"]: int(row["stot"] or 0)
            for row in csv.DictReader(io.StringIO(text))
            if row.get("pxname") == HAPROXY_BACKEND_NAME
            and row["svname"] not in ("FRONTEND", "BACKEND")}


def host_shares(before: dict[str, int], after: dict[str, int]) -> str:
    """``caldavd1 50%, caldavd2 50%``: each host's part of the requests in between."""
    served = {name: after[name] - before.get(name, 0) for name in after}
    total = sum(served.values())
    if not total:
        return ""
    return ", ".join(f"{name} {100 * count / total:.0f}%" for name, count in sorted(
        served.items()))


# -- running ------------------------------------------------------------------------------


def run_topology(topology: Topology, args: argparse.Namespace, run_id: str) -> dict[str, Any]:
    print(f"bench: cluster {topology.key} ({topology.label}): starting", file=sys.stderr)
    with deployment(topology, args.cluster_cache, args.keep) as cluster:
        url = cluster.haproxy_url
        calendar, events, stats = asyncio.run(
            setup_user(url, "user01", args.events, f"{topology.key}: loading {args.events} events"))
        print("bench: " + load_line(f"{topology.key} user01", stats), file=sys.stderr)
        if not args.no_analyze:
            vacuum_analyze(cluster.database.pg)
        target = Target(url, cluster_meter(cluster))
        operations: dict[str, Any] = {}
        for name in args.ops:
            prepared = asyncio.run(prepare_at(url, "user01", name, calendar, events, run_id))
            before = served_by_host(cluster)
            result: OpResult = measure(target, prepared, args,
                                       f"{topology.key} {LABELS[name]}")
            result.facts["host_shares"] = host_shares(before, served_by_host(cluster))
            operations[name] = result.as_json()
        postgres = " ".join(cluster.database.pg.options) or "durable defaults (fsync on)"
    return {"label": topology.label, "hosts": topology.hosts, "workers": topology.workers,
            "postgres": postgres,
            "load": {"events": stats.count, "seconds": round(stats.seconds, 2),
                     "puts_per_s": round(stats.rate, 1)},
            "operations": operations}


def run_cluster(args: argparse.Namespace) -> dict[str, Any]:
    """Every topology of ``--topologies`` in turn; the rates and ratios against 1x1."""
    run_id = uuid.uuid4().hex[:8]
    measured = {t.key: run_topology(t, args, run_id) for t in args.topologies}
    return {"baseline": BASELINE, "cache": args.cluster_cache, "pinned": False,
            "topologies": measured, "scaling": scaling(measured, BASELINE),
            "ceilings": ceilings(measured, len(MACHINE_CPUS))}
