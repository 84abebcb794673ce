"""What one host says about a calendar: every read a client uses to notice a change.

Two hosts that share a database must say the same thing at every moment; a
host whose cache outlived another host's write says something older.
"""

from __future__ import annotations

from dataclasses import dataclass

from caldavd.dav import names
from tests.functional.conftest import NS, Dav, Reply

QUERY = """<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="20260101T000000Z" end="20260201T000000Z"/>
  </C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"""

SYNC = """<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>
  <D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"""


@dataclass(frozen=True)
class View:
    """A calendar as one host answers for it: properties, and href -> etag per read."""

    ctag: str
    token: str
    displayname: str
    listing: dict[str, str]
    query: dict[str, str]
    sync: dict[str, str]


def etags(reply: Reply, skip: str = "") -> dict[str, str]:
    """href -> getetag of a multistatus (a member with no etag, e.g. a 404, maps to '')."""
    assert reply.status == 207, (reply.status, reply.body[:300])
    return {href: response.findtext(".//D:getetag", default="", namespaces=NS)
            for href, response in reply.responses().items() if href != skip}


async def view(dav: Dav, calendar: str) -> View:
    props = await dav.propfind(calendar, names.GETCTAG, names.SYNC_TOKEN, names.DISPLAYNAME)
    assert props.status == 207, props.body
    listing = await dav.propfind(calendar, names.GETETAG, depth="1")
    query = await dav.report(calendar, QUERY)
    sync = await dav.report(calendar, SYNC.format(token=""))
    return View(
        ctag=props.texts(".//CS:getctag")[0],
        token=props.texts(".//D:sync-token")[0],
        displayname=(props.texts(".//D:displayname") or [""])[0],
        listing=etags(listing, skip=calendar),
        query=etags(query),
        sync=etags(sync))


async def changes_since(dav: Dav, calendar: str, token: str) -> dict[str, str]:
    """What sync-collection reports after ``token``: href -> etag ('' for a removal)."""
    return etags(await dav.report(calendar, SYNC.format(token=token)))


async def primed(dav: Dav, calendar: str, *gets: str) -> View:
    """Read everything twice through ``dav`` (so any cache holds it), return what it said."""
    for _ in range(2):
        seen = await view(dav, calendar)
        for path in gets:
            await dav.request("GET", path)
    return seen
