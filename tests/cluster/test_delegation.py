"""Delegation across the cluster's hosts (each with its own workers): a grant made
through host A counts through host B at the next request, and so does a revocation
made through B at A.  Delegates are in the main database (ProxyDBService unset)."""

from __future__ import annotations

from tests.cluster.conftest import Clients, needs_cluster
from tests.functional.conftest import Dav, event
from tests.functional.test_delegation import members, set_members

pytestmark = needs_cluster

# user03 delegates to user04 (other cluster tests work as user01).
P03 = "/principals/__uids__/10000000-0000-0000-0000-000000000003/"
P04 = "/principals/__uids__/10000000-0000-0000-0000-000000000004/"
CAL03 = "/calendars/__uids__/10000000-0000-0000-0000-000000000003/calendar/"
WRITE_GROUP03 = P03 + "calendar-proxy-write/"


async def as_delegate(dav: Dav, name: str) -> tuple[int, int, int]:
    """What user04 gets through ``dav``: GET of seed.ics, listing, and a PUT of ``name``."""
    got = await dav.request("GET", CAL03 + "seed.ics", user="user04")
    listed = await dav.propfind(CAL03, "{DAV:}getetag", depth="1", user="user04")
    put = await dav.put(CAL03 + name, event(name[:-4] + "-by04"), user="user04")
    return got.status, listed.status, put.status


async def test_grant_and_revocation_count_on_every_host(clients: Clients) -> None:
    a, b = clients.a, clients.b
    assert (await a.put(CAL03 + "seed.ics", event("seed-03"), user="user03")).status in (
        201, 204)
    for _ in range(2):
        assert await as_delegate(b, "refused.ics") == (403, 403, 403)
        assert (await b.propfind(CAL03, "{DAV:}getetag", depth="1", user="user03")).status == 207
    try:
        assert await set_members(a, WRITE_GROUP03, P04, user="user03") == 200
        assert await members(b, WRITE_GROUP03) == [P04]
        assert await as_delegate(b, "granted.ics") == (200, 207, 201)
        owner = await b.propfind(CAL03, "{DAV:}getetag", depth="1", user="user03")
        assert CAL03 + "granted.ics" in owner.responses(), "the owner's next answer has it"

        assert await set_members(b, WRITE_GROUP03, user="user03") == 200
        assert await members(a, WRITE_GROUP03) == []
        assert await as_delegate(a, "revoked.ics") == (403, 403, 403)
    finally:
        await set_members(a, WRITE_GROUP03, user="user03")
