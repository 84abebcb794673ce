"""Hosts and the database failing under haproxy: nothing acknowledged is lost, and
once haproxy has taken a failed host out, every request succeeds."""

from __future__ import annotations

import asyncio
import contextlib
import plistlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import aiohttp

from caldavd.dav import names
from caldavd.harness.cluster import Cluster, Database
from caldavd.harness.processes import http_status
from caldavd.harness.topology import HEALTH_PATH
from tests.cluster.conftest import Clients, needs_cluster, new_calendar, until
from tests.cluster.views import etags
from tests.conftest import free_port
from tests.functional.conftest import HOME01, Dav, event
from tests.tools.helpers import reachable_tempdir, remove_tree

pytestmark = needs_cluster

CLIENTS = 4
PUTS = 60
# Host A is killed once half the PUTs are done; each client sends its PUTs from
# this one on only after haproxy has marked host A down.
AFTER_DOWN = 40


@dataclass
class Load:
    """Every PUT's outcome, and whether it was sent after haproxy had marked the host down."""

    acknowledged: list[str] = field(default_factory=list)
    after_down: list[tuple[str, int | None]] = field(default_factory=list)
    done: int = 0
    halfway: asyncio.Event = field(default_factory=asyncio.Event)
    down: asyncio.Event = field(default_factory=asyncio.Event)


async def _client(lb: Dav, cal: str, k: int, load: Load) -> None:
    for i in range(PUTS):
        if i == AFTER_DOWN:
            await load.down.wait()
        path = f"{cal}c{k}-{i}.ics"
        sent_after_down = load.down.is_set()
        try:
            status: int | None = (await lb.put(path, event(f"load-{k}-{i}-{cal[-9:-1]}"))).status
        except (aiohttp.ClientError, TimeoutError):
            status = None
        if status in (201, 204):
            load.acknowledged.append(path)
        if sent_after_down:
            load.after_down.append((path, status))
        load.done += 1
        if load.done >= CLIENTS * PUTS // 2:
            load.halfway.set()


async def _kill_halfway(cluster: Cluster, load: Load) -> None:
    await load.halfway.wait()
    await asyncio.to_thread(cluster.kill_host, 1)
    await asyncio.to_thread(cluster.wait_haproxy, ["caldavd1"], "DOWN")
    load.down.set()


async def _readable(dav: Dav, paths: list[str]) -> list[str]:
    """The paths that do not GET 200 through ``dav``."""
    limit = asyncio.Semaphore(8)

    async def missing(path: str) -> str | None:
        async with limit:
            reply = await dav.request("GET", path)
        return None if reply.status == 200 else f"{path}: {reply.status}"

    return [m for m in await asyncio.gather(*(missing(p) for p in paths)) if m]


async def test_sigkill_one_host_under_load(cluster: Cluster, clients: Clients) -> None:
    cal = await new_calendar(clients.lb, "load")
    load = Load()
    try:
        await asyncio.wait_for(asyncio.gather(
            _kill_halfway(cluster, load),
            *(_client(clients.lb, cal, k, load) for k in range(CLIENTS))), 120)
        assert load.down.is_set()
        assert len(load.after_down) >= CLIENTS * (PUTS - AFTER_DOWN)
        failed = [(p, s) for p, s in load.after_down if s not in (201, 204)]
        assert not failed, f"requests after host A was marked down failed: {failed}"
        assert len(load.acknowledged) >= CLIENTS * PUTS // 2
        assert await _readable(clients.lb, load.acknowledged) == []
        assert await _readable(clients.b, load.acknowledged) == []
        listed = etags(await clients.b.propfind(cal, names.GETETAG, depth="1"), skip=cal)
        assert set(load.acknowledged) <= set(listed)
    finally:
        await asyncio.to_thread(cluster.start_host, 1)


@contextlib.contextmanager
def second_database() -> Iterator[tuple[Database, str]]:
    """A PostgreSQL of its own, bootstrapped; yields it and a DSN to it."""
    root = reachable_tempdir()
    database = Database(root, free_port(), root / "postgres.log", durable=False)
    dsn = f"postgresql://caldavd:other@127.0.0.1:{database.pg.port}/caldav"
    plist = root / "caldavd.plist"
    plist.write_bytes(plistlib.dumps({"ServerRoot": str(root), "DBType": "postgres",
                                      "DSN": dsn}))
    try:
        database.start()
        database.bootstrap(plist)
        yield database, dsn
    finally:
        database.stop(mode="immediate")
        remove_tree(root)


async def test_host_without_its_database_leaves_haproxy(cluster: Cluster,
                                                         clients: Clients) -> None:
    """A third host on a PostgreSQL of its own: stop that PostgreSQL, and the host's
    /health says 503, haproxy takes it out, and requests through haproxy still succeed.
    (Its memcached client is off: its database is not the cluster's.)"""
    with second_database() as (database, dsn):
        host = await asyncio.to_thread(cluster.add_host, {
            "DSN": dsn, "Memcached.Pools.Default.ClientEnabled": False})
        try:
            await asyncio.to_thread(cluster.wait_haproxy, [host.name], "UP")
            health = cluster.host_url(host) + HEALTH_PATH
            await asyncio.to_thread(database.stop, "immediate")

            answers: list[int | None] = []

            async def unavailable() -> bool:
                answers.append(await asyncio.to_thread(http_status, health))
                return answers[-1] == 503

            try:
                await until(unavailable, 30, f"{health} did not answer 503")
            except AssertionError as exc:
                log = cluster.layout.host_log(host).read_text()[-4000:]
                raise AssertionError(f"{exc}; answers {answers[-5:]}; log:\n{log}") from None
            await asyncio.to_thread(cluster.wait_haproxy, [host.name], "DOWN")
            for _ in range(3 * len(cluster.hosts)):
                reply = await clients.lb.propfind(HOME01, names.RESOURCETYPE)
                assert reply.status == 207, reply.status
        finally:
            await asyncio.to_thread(cluster.remove_host, host.number)
