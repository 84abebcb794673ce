"""Schedule-Tag over HTTP (RFC 6638 §3.2.10): the response header on GET, HEAD and the
writes of a scheduling object resource (§8.2), the CALDAV:schedule-tag property in
PROPFIND and the reports (§9.3), and If-Schedule-Tag-Match on PUT and DELETE (§8.3)."""

from __future__ import annotations

from caldavd.dav import names
from tests.conftest import PgDatabase
from tests.functional.conftest import CAL01, HOME01, NS, Dav, Reply, event
from tests.functional.test_attachments import add
from tests.functional.test_uid_scope import meeting

M = CAL01 + "m.ics"
P = CAL01 + "p.ics"
INVITED = meeting("invited-1", organizer="mailto:user02@example.com",
                  attendee="mailto:user01@example.com")
PROP = "<D:prop><D:getetag/><C:schedule-tag/></D:prop>"
MULTIGET = f"""<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  {PROP}<D:href>{M}</D:href><D:href>{P}</D:href></C:calendar-multiget>"""
QUERY = f"""<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  {PROP}<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/>
  </C:comp-filter></C:filter></C:calendar-query>"""
SYNC = f"""<D:sync-collection xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:sync-token/><D:sync-level>1</D:sync-level>{PROP}</D:sync-collection>"""


async def _two(dav: Dav) -> str:
    """A meeting (user01 organizes it) and a plain event; the meeting's Schedule-Tag."""
    put = await dav.put(M, meeting("meet-1"))
    assert put.status == 201
    assert (await dav.put(P, event("plain-1"))).status == 201
    return put.headers["Schedule-Tag"]


def _tags(reply: Reply) -> dict[str, str | None]:
    """Per href of a multistatus, the schedule-tag found (None: 404)."""
    found: dict[str, str | None] = {}
    for href, response in reply.responses().items():
        for propstat in response.iterfind("D:propstat", NS):
            prop = propstat.find(f"D:prop/{{{NS['C']}}}schedule-tag", NS)
            if prop is not None:
                ok = "200" in (propstat.findtext("D:status", namespaces=NS) or "")
                found[href] = prop.text if ok else None
    return found


async def test_a_scheduling_object_has_a_schedule_tag_header(dav: Dav) -> None:
    """§8.2: on the PUT that stored it, and on GET and HEAD; none for a plain object."""
    put = await dav.put(M, meeting("meet-1"))
    tag = put.headers.get("Schedule-Tag")
    assert put.status == 201 and tag and tag.startswith('"') and tag.endswith('"')
    for method in ("GET", "HEAD"):
        assert (await dav.request(method, M)).headers.get("Schedule-Tag") == tag
    plain = await dav.put(P, event("plain-1"))
    assert plain.status == 201 and "Schedule-Tag" not in plain.headers
    assert "Schedule-Tag" not in (await dav.request("GET", P)).headers
    # An attendee's copy is a scheduling object too (§3.1).
    invited = await dav.put(CAL01 + "i.ics", INVITED)
    assert invited.headers.get("Schedule-Tag")


async def test_every_client_write_changes_the_tag(dav: Dav) -> None:
    """§3.2.10: a PUT, an attachment action, a COPY and a MOVE each store a new tag and
    answer it."""
    tags = [await _two(dav)]
    tags.append((await dav.put(M, meeting("meet-1", summary="moved"))).headers["Schedule-Tag"])
    attached = await add(dav, M, b"agenda")
    assert attached.status == 201
    tags.append(attached.headers["Schedule-Tag"])
    assert (await dav.request("MKCALENDAR", HOME01 + "other/")).status == 201
    moved = await dav.request("MOVE", M, headers={"Destination": dav.base + HOME01
                                                  + "other/m.ics"})
    assert moved.status == 201
    tags.append(moved.headers["Schedule-Tag"])
    got = await dav.request("GET", HOME01 + "other/m.ics")
    assert got.headers["Schedule-Tag"] == tags[-1]
    assert len(set(tags)) == len(tags)
    copied = await dav.request("COPY", P, headers={"Destination": dav.base + HOME01
                                                   + "other/p.ics"})
    assert copied.status == 201 and "Schedule-Tag" not in copied.headers


async def test_schedule_tag_property(dav: Dav) -> None:
    """§9.3: the header's value; 404 on an object that is not a scheduling one."""
    tag = await _two(dav)
    one = await dav.propfind(M, names.SCHEDULE_TAG)
    assert one.texts(".//C:schedule-tag") == [tag]
    assert _tags(await dav.propfind(P, names.SCHEDULE_TAG)) == {P: None}
    listed = await dav.propfind(CAL01, names.GETETAG, names.SCHEDULE_TAG, depth="1")
    assert _tags(listed) == {CAL01: None, M: tag, P: None}


async def test_schedule_tag_in_reports(dav: Dav) -> None:
    """calendar-multiget, calendar-query and sync-collection answer it like PROPFIND."""
    tag = await _two(dav)
    for body in (MULTIGET, QUERY, SYNC):
        reply = await dav.report(CAL01, body)
        assert reply.status == 207, body
        assert _tags(reply) == {M: tag, P: None}, body


async def test_if_schedule_tag_match_on_put(dav: Dav) -> None:
    """§8.3: 412 unless the current tag is the one given; the data stays."""
    tag = await _two(dav)
    before = (await dav.request("GET", M)).body
    refused = await dav.put(M, meeting("meet-1", summary="lost"),
                            headers={"If-Schedule-Tag-Match": '"not-it"'})
    assert refused.status == 412
    assert (await dav.request("GET", M)).body == before
    done = await dav.put(M, meeting("meet-1", summary="won"),
                         headers={"If-Schedule-Tag-Match": tag})
    assert done.status == 204 and done.headers["Schedule-Tag"] != tag
    late = await dav.put(M, meeting("meet-1", summary="late"),
                         headers={"If-Schedule-Tag-Match": tag})
    assert late.status == 412
    # No scheduling object there: nothing matches.
    for path in (P, CAL01 + "new.ics"):
        reply = await dav.put(path, meeting("meet-x"), headers={"If-Schedule-Tag-Match": tag})
        assert reply.status == 412, path


async def test_if_schedule_tag_match_on_delete(dav: Dav) -> None:
    tag = await _two(dav)
    refused = await dav.request("DELETE", M, headers={"If-Schedule-Tag-Match": '"not-it"'})
    assert refused.status == 412
    assert (await dav.request("GET", M)).status == 200
    assert (await dav.request("DELETE", P, headers={"If-Schedule-Tag-Match": tag})).status == 412
    done = await dav.request("DELETE", M, headers={"If-Schedule-Tag-Match": tag})
    assert done.status == 204
    assert (await dav.request("GET", M)).status == 404


async def test_a_stale_etag_with_the_current_tag_is_accepted(dav: Dav,
                                                             pg_database: PgDatabase) -> None:
    """§3.2.10: the server changed the attendee's copy without changing its tag (an
    organizer's PARTSTAT-only refresh, made here in the database as the store's
    keep-the-tag write leaves it); the attendee's PUT with its old Schedule-Tag and no
    If-Match is accepted, with If-Match too it is 412."""
    put = await dav.put(CAL01 + "i.ics", INVITED)
    tag, etag = put.headers["Schedule-Tag"], put.headers["ETag"]
    conn = await pg_database.connect()
    try:
        await conn.execute("UPDATE calendar_object SET etag = 'refreshed' WHERE name = 'i.ics'")
    finally:
        await conn.close()
    assert (await dav.request("GET", CAL01 + "i.ics")).headers["ETag"] == '"refreshed"'
    mine = meeting("invited-1", organizer="mailto:user02@example.com",
                   attendee="mailto:user01@example.com", summary="with my alarm")
    both = await dav.put(CAL01 + "i.ics", mine,
                         headers={"If-Schedule-Tag-Match": tag, "If-Match": etag})
    assert both.status == 412
    accepted = await dav.put(CAL01 + "i.ics", mine, headers={"If-Schedule-Tag-Match": tag})
    assert accepted.status == 204
    assert "with my alarm" in (await dav.request("GET", CAL01 + "i.ics")).body.decode()


async def test_schedule_tag_is_protected(dav: Dav) -> None:
    """A live property: PROPPATCH cannot set it (RFC 4918 §9.2)."""
    await _two(dav)
    body = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" '
            'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
            '<C:schedule-tag>"mine"</C:schedule-tag></D:prop></D:set></D:propertyupdate>')
    reply = await dav.request("PROPPATCH", M, body)
    assert reply.status == 207
    assert b"403" in reply.body and b"cannot-modify-protected-property" in reply.body


async def test_if_schedule_tag_match_on_copy_and_move_is_the_sources(dav: Dav) -> None:
    """§8.3: on COPY and MOVE the header applies to the source, not the destination."""
    tag = await _two(dav)
    assert (await dav.request("MKCALENDAR", HOME01 + "other/")).status == 201
    for method in ("COPY", "MOVE"):
        refused = await dav.request(method, M, headers={
            "Destination": dav.base + HOME01 + "other/m.ics",
            "If-Schedule-Tag-Match": '"not-it"'})
        assert refused.status == 412, method
    moved = await dav.request("MOVE", M, headers={
        "Destination": dav.base + HOME01 + "other/m.ics", "If-Schedule-Tag-Match": tag})
    assert moved.status == 201
    plain = await dav.request("COPY", P, headers={
        "Destination": dav.base + HOME01 + "other/p.ics", "If-Schedule-Tag-Match": tag})
    assert plain.status == 412
