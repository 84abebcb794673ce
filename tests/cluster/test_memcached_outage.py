"""memcached killed and started again under the cluster changes no answer: caches
are an optimisation, never the truth, and an outage costs speed only."""

from __future__ import annotations

import asyncio
import socket

from caldavd.tools.cluster import Cluster
from tests.cluster.conftest import Clients, needs_cluster, new_calendar
from tests.cluster.views import View, changes_since, primed, view
from tests.functional.conftest import Dav, event

pytestmark = needs_cluster


def memcached_gets(port: int) -> int:
    """memcached's cmd_get counter: how many lookups it has served since it started."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            data += sock.recv(65536)
    stats = dict(line.split()[1:3] for line in data.decode().splitlines()
                 if line.startswith("STAT "))
    return int(stats["cmd_get"])


async def both(a: Dav, b: Dav, cal: str) -> View:
    """What A and B answer, which must be the same."""
    seen_a, seen_b = await view(a, cal), await view(b, cal)
    assert seen_a == seen_b
    return seen_b


async def test_memcached_restart_changes_no_answer(cluster: Cluster, clients: Clients) -> None:
    a, b = clients.a, clients.b
    cal = await new_calendar(a, "mc")
    for n in range(3):
        assert (await a.put(f"{cal}{n}.ics", event(f"mc-{n}-{cal[-9:-1]}"))).status == 201
    before = await primed(b, cal)
    await primed(a, cal)
    assert await both(a, b, cal) == before

    try:
        await asyncio.to_thread(cluster.kill_memcached)
        assert await both(a, b, cal) == before, "answers changed with memcached down"
        assert (await a.put(cal + "down.ics", event("down-" + cal[-9:-1]))).status == 201
        during = await both(a, b, cal)
        assert cal + "down.ics" in during.listing
        assert during.token != before.token
    finally:
        await asyncio.to_thread(cluster.start_memcached)

    # Until the hosts use memcached again (they rest a few seconds after an outage),
    # every answer must already be the one from the outage.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while True:
        assert await both(a, b, cal) == during, "answers changed after memcached came back"
        if memcached_gets(cluster.settings.memcached_port) > 0 or loop.time() > deadline:
            break
        await asyncio.sleep(0.2)
    assert await changes_since(b, cal, before.token) == {
        cal + "down.ics": during.listing[cal + "down.ics"]}
