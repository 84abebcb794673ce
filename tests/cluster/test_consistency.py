"""A write through host A is what host B answers right after, whatever B had cached.

For each kind of write: B reads everything (GET, PROPFIND getctag/sync-token,
calendar-query, sync-collection) twice, A writes, then B must answer exactly
what A answers and show the change, and an incremental sync through B from
the token B handed out before must report it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from caldavd.dav import names
from tests.cluster.conftest import Clients, needs_cluster, new_calendar
from tests.cluster.views import changes_since, primed, view
from tests.functional.conftest import HOME01, NS, Dav, event

pytestmark = needs_cluster

PROPPATCH = """<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>
  <D:displayname>{name}</D:displayname></D:prop></D:set></D:propertyupdate>"""

Write = Callable[[Dav, str], Awaitable[int]]


async def put_new(a: Dav, cal: str) -> int:
    return (await a.put(cal + "new.ics", event("new-" + cal[-9:-1]))).status


async def put_changed(a: Dav, cal: str) -> int:
    etag = (await a.request("GET", cal + "one.ics")).headers["ETag"]
    return (await a.put(cal + "one.ics", event("one-" + cal[-9:-1], summary="Moved up"),
                        headers={"If-Match": etag})).status


async def delete(a: Dav, cal: str) -> int:
    return (await a.request("DELETE", cal + "one.ics")).status


async def move(a: Dav, cal: str) -> int:
    return (await a.request("MOVE", cal + "one.ics",
                            headers={"Destination": a.base + cal + "moved.ics"})).status


async def rename(a: Dav, cal: str) -> int:
    return (await a.request("PROPPATCH", cal, PROPPATCH.format(name="Renamed"))).status


# A write through A on a calendar holding one.ics and two.ics -> the status A must
# answer, and what the calendar then holds (name -> text its data must contain).
WRITES: dict[str, tuple[Write, int, dict[str, str]]] = {
    "PUT new": (put_new, 201, {"one.ics": "SUMMARY:Meeting", "two.ics": "", "new.ics": ""}),
    "PUT changed": (put_changed, 204, {"one.ics": "SUMMARY:Moved up", "two.ics": ""}),
    "DELETE": (delete, 204, {"two.ics": ""}),
    "MOVE": (move, 201, {"two.ics": "", "moved.ics": ""}),
    "PROPPATCH": (rename, 207, {"one.ics": "SUMMARY:Meeting", "two.ics": ""}),
}
NAMES = ("one.ics", "two.ics", "new.ics", "moved.ics")


@pytest.mark.parametrize("kind", list(WRITES))
async def test_write_through_a_is_read_through_b(clients: Clients, kind: str) -> None:
    write, status, expected = WRITES[kind]
    a, b = clients.a, clients.b
    cal = await new_calendar(a, kind.split()[0].lower())
    for name in ("one.ics", "two.ics"):
        assert (await a.put(cal + name, event(f"{name[:3]}-{cal[-9:-1]}"))).status == 201
    before = await primed(b, cal, *(cal + n for n in NAMES))

    assert await write(a, cal) == status

    after_b, after_a = await view(b, cal), await view(a, cal)
    assert after_b == after_a, f"host B is stale after {kind} through host A"
    assert sorted(after_b.listing) == sorted(cal + n for n in expected)
    assert after_b.query == after_b.listing == after_b.sync
    for name in NAMES:
        got = await b.request("GET", cal + name)
        if name in expected:
            assert got.status == 200, (name, got.status)
            assert expected[name].encode() in got.body
        else:
            assert got.status == 404, (name, got.status)
    if kind == "PROPPATCH":
        assert before.displayname != "Renamed" == after_b.displayname
        return
    assert after_b.ctag != before.ctag
    assert after_b.token != before.token
    changed = await changes_since(b, cal, before.token)
    assert changed, "sync-collection through B reports nothing"
    assert all(after_b.listing.get(href, "") == etag for href, etag in changed.items())


async def test_mkcalendar_through_a_is_listed_through_b(clients: Clients) -> None:
    a, b = clients.a, clients.b

    async def home(dav: Dav) -> dict[str, bool]:
        """The home's members as B lists them: href -> is a calendar."""
        listed = await dav.propfind(HOME01, names.RESOURCETYPE, names.DISPLAYNAME, depth="1")
        assert listed.status == 207
        return {href: r.find(".//C:calendar", NS) is not None
                for href, r in listed.responses().items()}

    before = [await home(b) for _ in range(2)][-1]
    cal = await new_calendar(a, "mk")
    after = await home(b)
    assert cal not in before
    assert after == await home(a) == {**before, cal: True}
    assert (await b.put(cal + "x.ics", event("mk-" + cal[-9:-1]))).status == 201
