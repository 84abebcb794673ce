"""``/stats`` (JSON) and ``/metrics`` (Prometheus text): the host's live statistics.

Requests are spread over a host's workers by the kernel (SO_REUSEPORT), so
whichever worker answers must speak for all of them: each worker writes its
snapshot (``stats.WorkerStats.snapshot`` plus its gauges) to
``RunRoot/stats/worker-<n>.json`` every ``PUBLISH_SECONDS``, and the answering
worker merges its own live numbers with its siblings' files (so the siblings'
part is up to ``PUBLISH_SECONDS`` old).  A file whose
worker is gone (its pid no longer runs) or that has not been rewritten for
``STALE_SECONDS`` is left out.  The master empties the directory at start.

Who may read them: clients on loopback (no Forwarded / X-Forwarded-For header:
a proxy on this host forwards others), clients in ``Stats.AllowedAddresses``,
and principals in ``AdminPrincipals`` (HTTP Basic); anyone else 403, no
credentials 401.  ``Stats.Enabled`` false: 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from caldavd.config import Config
from caldavd.dav.errors import NeedPrivileges, NotFound
from caldavd.http.auth import authenticate
from caldavd.http.context import attach_context
from caldavd.http.keys import CONFIG, DB_POOL, STATS, WORKER
from caldavd.http.limits import REQUEST_GATE
from caldavd.ops.metrics import prometheus_text
from caldavd.ops.stats import merge, merge_schedule

log = logging.getLogger(__name__)

PUBLISH_SECONDS = 2.0
STALE_SECONDS = 15.0
_FORWARDED = ("Forwarded", "X-Forwarded-For")


def stats_dir(config: Config) -> Path:
    return config.RunRoot / "stats"


def worker_file(config: Config, index: int) -> Path:
    return stats_dir(config) / f"worker-{index}.json"


def worker_snapshot(app: web.Application) -> dict[str, Any]:
    """This worker's numbers and gauges, as published and merged."""
    snap = app[STATS].snapshot()
    gate = app.get(REQUEST_GATE)
    pool = app[DB_POOL]
    snap.update(index=app[WORKER], pid=os.getpid(), updated=time.time(),
                in_flight=gate.in_flight if gate is not None else 0,
                db_pool_in_use=pool.get_size() - pool.get_idle_size(),
                db_pool_open=pool.get_size(), db_pool_max=pool.get_max_size())
    return snap


async def publishing(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: a worker started by the master (index > 0) publishes its snapshot."""
    index = app[WORKER]
    if index <= 0:
        yield
        return
    path = worker_file(app[CONFIG], index)

    async def run() -> None:
        while True:
            try:
                data = json.dumps(worker_snapshot(app), separators=(",", ":"))
                await asyncio.to_thread(_replace, path, data)
            except OSError as exc:  # RunRoot gone or full: the next round tries again
                log.warning("cannot publish statistics to %s: %s", path, exc.strerror or exc)
            await asyncio.sleep(PUBLISH_SECONDS)

    task = asyncio.create_task(run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(OSError):
            path.unlink()


def _replace(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    temp.write_text(data, encoding="utf-8")
    os.replace(temp, path)


def _siblings(directory: Path, own_index: int) -> list[dict[str, Any]]:
    """The other workers' published snapshots that are current."""
    found = []
    now = time.time()
    for path in sorted(directory.glob("worker-*.json")):
        try:
            snap = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # being replaced, or gone
        if snap.get("index") == own_index or now - snap.get("updated", 0) > STALE_SECONDS:
            continue
        if _running(int(snap.get("pid", 0))):
            found.append(snap)
    return found


def _running(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def host_stats(app: web.Application) -> dict[str, Any]:
    """The host's statistics: this worker's, live, merged with its siblings'."""
    own = worker_snapshot(app)
    others = await asyncio.to_thread(_siblings, stats_dir(app[CONFIG]), app[WORKER])
    snaps = sorted([own, *others], key=lambda s: s["index"])
    merged = merge(snaps)
    gauges = {key: sum(s[key] for s in snaps)
              for key in ("in_flight", "db_pool_in_use", "db_pool_open", "db_pool_max")}
    gauges["workers"] = len(snaps)
    workers = [{key: s[key] for key in ("index", "pid", "uptime", "in_flight",
                                        "db_pool_in_use", "db_pool_open", "db_pool_max")}
               for s in snaps]
    return {"node": app[CONFIG].NodeName, "time": round(time.time(), 3), "workers": workers,
            "gauges": gauges, "windows": merged["windows"], "totals": merged["totals"],
            "scheduling": merge_schedule(snaps),
            "_tables": merged}


async def check_access(request: web.Request) -> None:
    config = request.app[CONFIG]
    if not config.Stats.Enabled:
        raise NotFound(request.path)
    if _trusted_peer(request, config):
        return
    principal = await authenticate(request)
    if not attach_context(request, principal).is_admin:
        raise NeedPrivileges("statistics are for administrators")


def _trusted_peer(request: web.Request, config: Config) -> bool:
    try:
        peer = ipaddress.ip_address((request.remote or "").split("%", 1)[0])
    except ValueError:
        return False
    if peer.is_loopback and not any(h in request.headers for h in _FORWARDED):
        return True
    return any(peer in ipaddress.ip_network(net, strict=False)
               for net in config.Stats.AllowedAddresses)


async def stats_json(request: web.Request) -> web.Response:
    await check_access(request)
    data = await host_stats(request.app)
    tables = data.pop("_tables")
    if request.query.get("raw") == "1":  # histograms, for merging hosts (caldavd-stats)
        data["raw"] = {name: {"seconds": data["windows"][name]["seconds"],
                              "ops": {op: c.to_json() for op, c in table.items()}}
                       for name, table in tables["tables"].items()}
    return web.json_response(data, headers={"Cache-Control": "no-store"})


async def metrics(request: web.Request) -> web.Response:
    await check_access(request)
    data = await host_stats(request.app)
    return web.Response(text=prometheus_text(data),
                        content_type="text/plain", charset="utf-8",
                        headers={"Cache-Control": "no-store",
                                 "X-Prometheus-Format": "0.0.4"})
