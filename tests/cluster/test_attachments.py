"""Managed attachments (RFC 8607) on the shared AttachmentsRoot: what one host
stores, every host serves, and what one host removes is gone everywhere."""

from __future__ import annotations

from caldavd.harness.cluster import Cluster
from tests.cluster.conftest import Clients, needs_cluster, new_calendar
from tests.functional.conftest import event
from tests.functional.test_attachments import action, add, attaches, attachment_path, files_under

pytestmark = needs_cluster


async def test_attachment_through_a_served_by_b_and_haproxy(cluster: Cluster,
                                                             clients: Clients) -> None:
    a, b, lb = clients.a, clients.b, clients.lb
    cal = await new_calendar(a, "attach")
    path = cal + "with-attachment.ics"
    assert (await a.put(path, event("attach-" + cal[-9:-1]))).status == 201
    for _ in range(2):
        assert await attaches(b, path) == []
    shared = cluster.layout.attachments

    added = await add(a, path, b"first version", filename="notes.txt")
    assert added.status == 201, added.body
    first_id, first = added.headers["Cal-Managed-ID"], attachment_path(added.headers["Location"])
    assert [p.name for p in files_under(shared) if p.name == first_id] == [first_id]
    assert [x["MANAGED-ID"] for x in await attaches(b, path)] == [first_id]
    for host in (b, lb):
        got = await host.request("GET", first)
        assert (got.status, got.body) == (200, b"first version")

    updated = await action(b, path, "attachment-update", first_id, b"second version")
    assert updated.status in (200, 201, 204), updated.body
    [attach] = await attaches(a, path)
    second_id = attach["MANAGED-ID"]
    assert second_id != first_id
    assert (await a.request("GET", first)).status == 404
    got = await a.request("GET", attachment_path(attach["url"]))
    assert (got.status, got.body) == (200, b"second version")

    removed = await action(a, path, "attachment-remove", second_id)
    assert removed.status == 204, removed.body
    assert await attaches(b, path) == []
    assert (await b.request("GET", attachment_path(attach["url"]))).status == 404
    assert not [p for p in files_under(shared) if p.name in (first_id, second_id)]
