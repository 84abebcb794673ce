"""The set-up the fuzzer starts from, and the check that everything stored stays readable.

After a run every calendar object in either user's home must answer GET with a
calendar icalendar can parse, appear with calendar-data in a calendar-multiget, and be
found by a calendar-query that matches every object (RFC 4791 §7.8, §7.9): whatever
the server accepted it must be able to give back.
"""

from __future__ import annotations

from urllib.parse import unquote
from xml.sax.saxutils import escape

import icalendar
from lxml import etree

from caldavd.dav import names
from tests.fuzz import targets as t
from tests.fuzz.client import Connection, Response
from tests.fuzz.run import bind
from tests.fuzz.server import request

BATCH = 100
NS = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"'
LISTING = (f'<D:propfind {NS}><D:prop><D:resourcetype/><D:getetag/></D:prop>'
           "</D:propfind>").encode()
QUERY = (f"<C:calendar-query {NS}><D:prop><D:getetag/></D:prop><C:filter>"
         "<C:comp-filter name='VCALENDAR'/></C:filter></C:calendar-query>").encode()


class Client:
    def __init__(self, host: str, port: int, user: str) -> None:
        self.host, self.port, self.user = host, port, user
        self.connection = Connection(host, port, 120)

    async def ask(self, method: str, path: str, body: bytes = b"", **headers: str) -> Response:
        sent = bind(request(method, path, body, self.user, **headers), self.host, self.port)
        response = await self.connection.send(sent)
        assert response is not None
        return response


async def set_up(host: str, port: int) -> None:
    client = Client(host, port, "fuzz01")
    assert (await client.ask("MKCALENDAR", t.CAL2)).status == 201
    assert (await client.ask("MKCOL", t.PLAIN)).status == 201
    for n, path in enumerate(t.SEEDS):
        reply = await client.ask("PUT", path, t.calendars(f"seed-uid-{n}")[n].encode(),
                                 Content_Type="text/calendar")
        assert reply.status == 201, reply.body
    other = Client(host, port, "fuzz02")
    reply = await other.ask("PUT", t.OTHER_CAL + "theirs.ics",
                            t.calendars("theirs")[0].encode(), Content_Type="text/calendar")
    assert reply.status == 201, reply.body


def _responses(body: bytes) -> dict[str, etree._Element]:
    root = etree.fromstring(body)
    return {r.findtext(names.HREF) or "": r for r in root.iter(names.RESPONSE)}


async def calendars_of(client: Client, home: str) -> list[str]:
    reply = await client.ask("PROPFIND", home, LISTING, Depth="1")
    assert reply.status == 207, reply.body
    return [href for href, r in _responses(reply.body).items()
            if r.find(f".//{names.RESOURCETYPE}/{names.CALENDAR}") is not None]


async def unreadable(client: Client, calendar: str) -> list[str]:
    """What of ``calendar`` cannot be read back, as messages (empty: all is well)."""
    reply = await client.ask("PROPFIND", calendar, LISTING, Depth="1")
    assert reply.status == 207, reply.body
    objects = sorted(h for h in _responses(reply.body) if h != calendar and
                     not h.endswith("/"))
    found = [f"GET {href}: {why}" for href in objects
             if (why := await _get_problem(client, href))]
    for start in range(0, len(objects), BATCH):
        found += await _multiget_problems(client, calendar, objects[start:start + BATCH])
    reply = await client.ask("REPORT", calendar, QUERY, Depth="1")
    if reply.status != 207:
        return [*found, f"calendar-query on {calendar}: {reply.status} {reply.body[:300]!r}"]
    missing = {unquote(h) for h in objects} - {unquote(h) for h in _responses(reply.body)}
    return found + [f"calendar-query on {calendar} misses {href}" for href in sorted(missing)]


async def _get_problem(client: Client, href: str) -> str | None:
    reply = await client.ask("GET", href)
    if reply.status != 200:
        return f"{reply.status} {reply.body[:300]!r}"
    try:
        icalendar.Calendar.from_ical(reply.body)
    except ValueError as exc:
        return f"unparsable: {exc}"
    return None


async def _multiget_problems(client: Client, calendar: str, hrefs: list[str]) -> list[str]:
    listed = "".join(f"<D:href>{escape(h)}</D:href>" for h in hrefs)
    body = (f"<C:calendar-multiget {NS}><D:prop><D:getetag/><C:calendar-data/></D:prop>"
            f"{listed}</C:calendar-multiget>")
    reply = await client.ask("REPORT", calendar, body.encode(), Depth="1")
    if reply.status != 207:
        return [f"multiget on {calendar}: {reply.status} {reply.body[:300]!r}"]
    answers = {unquote(h): r for h, r in _responses(reply.body).items()}
    return [f"multiget misses the data of {href}" for href in hrefs
            if not (answers.get(unquote(href)) is not None and
                    (answers[unquote(href)].findtext(f".//{names.CALENDAR_DATA}") or "").strip())]
