"""Watching the cluster: caldavd-stats shows every host (each with its workers), and the
statistics are not readable through the load balancer without credentials."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from caldavd.harness.cluster import Cluster
from tests.cluster.conftest import Clients, needs_cluster, until
from tests.tools.helpers import run_tool_async

pytestmark = needs_cluster


async def stats_view(cluster: Cluster) -> dict[str, Any]:
    result = await run_tool_async("caldavd-stats", "--once", "--json",
                                  "--cluster", str(cluster.layout.root))
    assert result.returncode == 0, result.stdout + result.stderr
    view: dict[str, Any] = json.loads(result.stdout)
    return view


async def test_caldavd_stats_shows_every_host_of_the_cluster(clients: Clients,
                                                             healthy_cluster: Cluster) -> None:
    before = await stats_view(healthy_cluster)
    assert [h["node"] for h in before["hosts"]] == ["caldavd1", "caldavd2"]
    assert all(h["ok"] and h["gauges"]["workers"] == 2 for h in before["hosts"])
    old = {h["node"]: h["totals"]["ops"].get("DELETE", 0) for h in before["hosts"]}
    # DELETEs of missing objects: no other cluster test sends them to these names.
    for i in range(6):
        assert (await clients.a.request("DELETE", f"/calendars/users/user01/calendar/"
                                                  f"stats-a{i}.ics")).status == 404
    for i in range(4):
        assert (await clients.b.request("DELETE", f"/calendars/users/user01/calendar/"
                                                  f"stats-b{i}.ics")).status == 404

    # One view for both checks: each call may be answered by another worker, whose
    # sibling's published numbers can be up to 2 s older than the last view's.
    async def counted() -> bool:
        view = await stats_view(healthy_cluster)
        new = {h["node"]: h["totals"]["ops"].get("DELETE", 0) for h in view["hosts"]}
        merged = view["cluster"]["ops"].get("DELETE", {}).get("count", 0)
        return new == {"caldavd1": old["caldavd1"] + 6,
                       "caldavd2": old["caldavd2"] + 4} and merged >= 10  # windows, merged

    await until(counted, 20, "each host counts its own DELETEs, across its workers, "
                             "and the cluster view merges both")

    async def shown() -> bool:
        text = await run_tool_async("caldavd-stats", "--once", "--cluster",
                                    str(healthy_cluster.layout.root))
        assert text.returncode == 0
        return all(word in text.stdout for word in ("caldavd1", "caldavd2", "DELETE"))

    await until(shown, 20, "caldavd-stats shows both hosts and the DELETEs")


async def test_statistics_through_the_load_balancer_need_an_administrator(
        clients: Clients) -> None:
    # haproxy adds X-Forwarded-For: the request is a remote client's, not a local one.
    reply = await clients.lb.request("GET", "/stats", user=None)
    assert reply.status == 401
    reply = await clients.lb.request("GET", "/metrics", user="user01")
    assert reply.status == 403
    direct = await asyncio.gather(clients.a.request("GET", "/stats", user=None),
                                  clients.b.request("GET", "/metrics", user=None))
    assert [r.status for r in direct] == [200, 200]
