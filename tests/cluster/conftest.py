"""One real multi-host deployment for the whole tests/cluster run.

The cluster is what ``bin/caldavd-cluster start`` brings up (the same
``Cluster`` class): PostgreSQL, memcached, two caldavd hosts on 127.0.0.2 and
127.0.0.3 reading one plist, haproxy in front.  Tests that break a part
(kill a host, kill memcached) put it back; ``clients`` first makes sure every
part is up again, so tests do not depend on their order.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from caldavd.harness.cluster import Cluster, running_cluster
from caldavd.harness.processes import port_free
from caldavd.harness.topology import Settings
from tests.conftest import free_port
from tests.functional.conftest import HOME01, Dav
from tests.tools.helpers import reachable_tempdir, remove_tree

MISSING = [name for name in ("haproxy", "memcached") if shutil.which(name) is None]


needs_cluster = pytest.mark.skipif(bool(MISSING), reason=f"not installed: {MISSING}")


def free_host_port(addresses: int = 4) -> int:
    """A port free on 127.0.0.2 ... 127.0.0.<addresses+1> (every host uses the same one)."""
    for _ in range(50):
        port = free_port("127.0.0.2")
        if all(port_free(f"127.0.0.{n}", port) for n in range(3, addresses + 2)):
            return port
    raise AssertionError("no port free on every host address")


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    root = reachable_tempdir()
    settings = Settings(hosts=2, workers=2, port=free_port(), tls_port=free_port(),
                        host_port=free_host_port(), pg_port=free_port(),
                        memcached_port=free_port(), durable=False)
    try:
        with running_cluster(root, settings) as started:
            yield started
        assert running_processes(root) == [], "stop left processes behind"
    finally:
        remove_tree(root)


def running_processes(root: Path) -> list[str]:
    """Command lines of the processes whose arguments mention ``root``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(root) in text:
            found.append(text)
    return found


def restore(cluster: Cluster) -> None:
    """Every part of the session's cluster running and every host UP in haproxy."""
    cluster.start_memcached()
    for host in cluster.hosts:
        if cluster.pid(host.name, "caldavd") is None:
            cluster.start_host(host.number)
    cluster.wait_haproxy_up([h.name for h in cluster.hosts])


@dataclass
class Clients:
    """user01 talking to host A directly, to host B directly, and through haproxy."""

    a: Dav
    b: Dav
    lb: Dav


@pytest.fixture
def healthy_cluster(cluster: Cluster) -> Cluster:
    restore(cluster)
    return cluster


@pytest.fixture
async def clients(healthy_cluster: Cluster) -> AsyncIterator[Clients]:
    cluster = healthy_cluster
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        yield Clients(Dav(session, cluster.host_url(1)), Dav(session, cluster.host_url(2)),
                      Dav(session, cluster.haproxy_url))


async def new_calendar(dav: Dav, prefix: str) -> str:
    """A fresh calendar in user01's home (tests share one database)."""
    path = f"{HOME01}{prefix}-{uuid.uuid4().hex[:8]}/"
    reply = await dav.request("MKCALENDAR", path)
    assert reply.status == 201, reply.body
    return path


async def until(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    """Poll ``check`` until it returns true, or fail saying ``what`` did not happen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} within {seconds} s")
