"""memcached killed and started again under the cluster changes no answer: caches
are an optimisation, never the truth, and an outage costs speed only."""

from __future__ import annotations

import asyncio

from caldavd.harness.cluster import Cluster
from caldavd.harness.processes import memcached_stats
from tests.cluster.conftest import Clients, needs_cluster, new_calendar
from tests.cluster.views import View, changes_since, primed, view
from tests.functional.conftest import Dav, event

pytestmark = needs_cluster

PROPPATCH = """<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>
  <D:displayname>Frozen</D:displayname></D:prop></D:set></D:propertyupdate>"""


def memcached_stat(port: int, name: str) -> int:
    """One of memcached's counters, e.g. cmd_get (lookups since it started) or get_hits."""
    return int(memcached_stats(port)[name])


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
        if memcached_stat(cluster.settings.memcached_port, "cmd_get") > 0 \
                or loop.time() > deadline:
            break
        await asyncio.sleep(0.2)
    assert await changes_since(b, cal, before.token) == {
        cal + "down.ics": during.listing[cal + "down.ics"]}


async def test_memcached_frozen_then_back_with_old_entries(cluster: Cluster,
                                                         clients: Clients) -> None:
    """memcached stops answering (SIGSTOP) while A writes, then answers again still
    holding what B cached before: none of that may come back as an answer."""
    a, b = clients.a, clients.b
    port = cluster.settings.memcached_port
    cal = await new_calendar(a, "frozen")
    assert (await a.put(cal + "0.ics", event("frozen-0-" + cal[-9:-1]))).status == 201
    before = await primed(b, cal, cal + "0.ics")
    await primed(a, cal, cal + "0.ics")
    try:
        await asyncio.to_thread(cluster.pause_memcached)
        assert (await a.put(cal + "1.ics", event("frozen-1-" + cal[-9:-1]))).status == 201
        assert (await a.request("PROPPATCH", cal, PROPPATCH)).status == 207
        etag = (await a.request("GET", cal + "0.ics")).headers["ETag"]
        assert (await a.put(cal + "0.ics", event("frozen-0-" + cal[-9:-1], summary="Later"),
                            headers={"If-Match": etag})).status == 204
    finally:
        await asyncio.to_thread(cluster.pause_memcached, False)
    expected = await view(a, cal)
    assert expected.displayname == "Frozen" and sorted(expected.listing) == [
        cal + "0.ics", cal + "1.ics"]
    assert expected.listing[cal + "0.ics"] != before.listing[cal + "0.ics"]

    # Read through B until the hosts use memcached again (hits grow), and a little after.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    hits = memcached_stat(port, "get_hits")
    rounds_after_hits = 0
    while rounds_after_hits < 3 and loop.time() < deadline:
        assert await both(a, b, cal) == expected, "an answer cached before the outage came back"
        got = await b.request("GET", cal + "0.ics")
        assert b"SUMMARY:Later" in got.body
        if memcached_stat(port, "get_hits") > hits:
            rounds_after_hits += 1
        await asyncio.sleep(0.2)
    assert rounds_after_hits, "the hosts did not use memcached again within 15 s"
