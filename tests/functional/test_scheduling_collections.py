"""The scheduling inbox and outbox over HTTP (RFC 6638 §2): discovery, what a client
may do to them, inbox items as the server delivers them, and that neither is taken for
a calendar (listing, calendar-query and free-busy of a home)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from caldavd.dav import names
from caldavd.store.model import CalendarObject
from caldavd.store.postgres.pool import create_pool
from caldavd.store.postgres.store import PostgresStore
from tests.conftest import PgDatabase
from tests.functional.conftest import CAL01, HOME01, NS, USER01_UID, Dav, event, serving
from tests.store.builders import indexer

PRINCIPAL01 = f"/principals/__uids__/{USER01_UID}/"
INBOX01 = HOME01 + "inbox/"
OUTBOX01 = HOME01 + "outbox/"
ROOM_UID = "30000000-0000-0000-0000-000000000001"
REQUEST = event("meeting").replace("VERSION:2.0\r\n", "VERSION:2.0\r\nMETHOD:REQUEST\r\n")
SYNC = """<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>
  <D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"""


@pytest.fixture
async def served(pg_database: PgDatabase,
                 tmp_path: Path) -> AsyncIterator[tuple[Dav, PostgresStore]]:
    """The app, and a store on the same database to deliver into inboxes as the
    scheduling queue will."""
    async with serving(pg_database, tmp_path) as client:
        pool = await create_pool(pg_database.connect_kwargs, max_size=2)
        try:
            yield client, PostgresStore(pool, indexer=indexer)
        finally:
            await pool.close()


async def _deliver(dav: Dav, store: PostgresStore, text: str = REQUEST) -> CalendarObject:
    assert (await dav.propfind(HOME01, names.RESOURCETYPE)).status == 207  # makes the home
    home = await store.home(USER01_UID)
    assert home is not None
    return await store.add_inbox_item(home, text)


@pytest.mark.parametrize("path", [HOME01, CAL01, INBOX01, OUTBOX01, "/"])
async def test_options_do_not_claim_calendar_auto_schedule_yet(dav: Dav, path: str) -> None:
    """RFC 6638 §2: the token promises implicit scheduling, which writes do not do yet
    (issue 18: delivery not wired); it returns with the delivery, on every path here."""
    reply = await dav.request("OPTIONS", path)
    assert reply.status == 200
    tokens = [t.strip() for t in reply.headers["DAV"].split(",")]
    assert "calendar-auto-schedule" not in tokens and "calendar-access" in tokens


async def test_principal_names_its_inbox_outbox_and_every_address(dav: Dav) -> None:
    """RFC 6638 §2.2.1, §2.1.1, §2.4.1, §2.4.2."""
    reply = await dav.propfind(PRINCIPAL01, names.SCHEDULE_INBOX_URL, names.SCHEDULE_OUTBOX_URL,
                               names.CALENDAR_USER_ADDRESS_SET, names.CALENDAR_USER_TYPE)
    assert reply.status == 207
    prop = "D:response/D:propstat/D:prop/"
    assert reply.texts(prop + "C:schedule-inbox-URL/D:href") == [INBOX01]
    assert reply.texts(prop + "C:schedule-outbox-URL/D:href") == [OUTBOX01]
    assert reply.texts(prop + "C:calendar-user-address-set/D:href") == [
        "mailto:user01@example.com", f"urn:uuid:{USER01_UID}", PRINCIPAL01,
        "/principals/users/user01/"]
    assert reply.texts(prop + "C:calendar-user-type") == ["INDIVIDUAL"]
    room = await dav.propfind(f"/principals/__uids__/{ROOM_UID}/", names.CALENDAR_USER_TYPE)
    assert room.texts(prop + "C:calendar-user-type") == ["ROOM"]


async def test_home_lists_inbox_and_outbox_as_scheduling_collections(dav: Dav) -> None:
    """RFC 6638 §2.2, §2.1: DAV:collection and the scheduling kind, no CALDAV:calendar,
    and none of a calendar's claims (supported-calendar-component-set and the rest)."""
    reply = await dav.propfind(HOME01, names.RESOURCETYPE,
                               names.SUPPORTED_CALENDAR_COMPONENT_SET, names.SYNC_TOKEN,
                               depth="1")
    responses = reply.responses()
    assert {INBOX01, OUTBOX01, CAL01} <= set(responses)
    for path, kind in ((INBOX01, "C:schedule-inbox"), (OUTBOX01, "C:schedule-outbox")):
        ok = responses[path].find("D:propstat[D:status='HTTP/1.1 200 OK']/D:prop", NS)
        assert ok is not None
        resourcetype = ok.find("D:resourcetype", NS)
        assert resourcetype is not None
        assert [child.tag for child in resourcetype] == [
            names.COLLECTION, names.SCHEDULE_INBOX if "inbox" in kind else names.SCHEDULE_OUTBOX]
        assert ok.find("D:sync-token", NS) is not None
        assert ok.find("C:supported-calendar-component-set", NS) is None


async def test_inbox_and_outbox_cannot_be_deleted_or_written_by_clients(dav: Dav) -> None:
    await dav.propfind(HOME01, names.RESOURCETYPE)
    for path in (INBOX01, OUTBOX01):
        assert (await dav.request("DELETE", path)).status == 403
    for path in (INBOX01 + "x.ics", OUTBOX01 + "x.ics"):
        reply = await dav.put(path, event("x"))
        assert reply.status == 403, path
        assert b"RFC 6638" in reply.body
    assert (await dav.request("POST", INBOX01 + "?add-member", event("y"), headers={
        "Content-Type": "text/calendar"})).status == 403
    assert (await dav.request("MKCALENDAR", HOME01 + "inbox/")).status in (403, 405)
    assert (await dav.put(CAL01 + "z.ics", event("z"))).status == 201
    moved = await dav.request("MOVE", CAL01 + "z.ics", headers={
        "Destination": dav.base + INBOX01 + "z.ics"})
    assert moved.status == 403
    assert (await dav.propfind(HOME01 + "inbox/", names.RESOURCETYPE)).status == 207


async def test_the_owner_reads_syncs_and_deletes_inbox_items(
        served: tuple[Dav, PostgresStore]) -> None:
    """Clients poll the inbox with sync-collection (RFC 6578) and remove what they have
    processed; GET gives the message as delivered."""
    dav, store = served
    initial = await dav.report(INBOX01, SYNC.format(token=""))
    assert initial.status == 207 and not initial.responses()
    token = initial.xml.findtext("D:sync-token", namespaces=NS)
    item = await _deliver(dav, store)
    synced = await dav.report(INBOX01, SYNC.format(token=token))
    assert list(synced.responses()) == [INBOX01 + item.name]
    got = await dav.request("GET", INBOX01 + item.name)
    assert got.status == 200 and b"METHOD:REQUEST" in got.body
    listed = await dav.propfind(INBOX01, names.GETETAG, depth="1")
    assert INBOX01 + item.name in listed.responses()
    assert (await dav.request("GET", INBOX01 + item.name, user="user02")).status == 403
    assert (await dav.request("DELETE", INBOX01 + item.name)).status == 204
    assert (await dav.request("GET", INBOX01 + item.name)).status == 404
    copied = await _deliver(dav, store)
    assert (await dav.request("COPY", INBOX01 + copied.name, headers={
        "Destination": dav.base + CAL01 + "copy.ics"})).status == 403


async def test_inbox_items_are_not_events_of_the_home(served: tuple[Dav, PostgresStore]) -> None:
    """A delivered message is no calendar data of the home: a calendar-query over the home
    and its free-busy do not see it (only the copy in a calendar will count)."""
    dav, store = served
    await _deliver(dav, store)
    query = ('<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
             '<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR">'
             '<C:comp-filter name="VEVENT"/></C:comp-filter></C:filter></C:calendar-query>')
    found = await dav.report(HOME01, query, depth="infinity")
    assert found.status == 207 and not found.responses()
    busy = await dav.report(HOME01, (
        '<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range '
        'start="20260105T000000Z" end="20260106T000000Z"/></C:free-busy-query>'))
    assert busy.status == 200 and b"\nFREEBUSY" not in busy.body
    on_inbox = await dav.report(INBOX01, query)
    assert on_inbox.status in (403, 501)  # no calendar-query on the inbox (supported-report)


async def test_home_sync_reports_the_inbox_and_outbox(dav: Dav) -> None:
    reply = await dav.report(HOME01, SYNC.format(token=""))
    assert {INBOX01, OUTBOX01, CAL01} <= set(reply.responses())
