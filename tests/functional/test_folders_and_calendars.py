"""Where plain folders and calendars meet: a calendar is made at the top of a home or
refused, never made elsewhere (RFC 4791 §4.2, §5.3.1); COPY and MOVE between a plain
folder and a calendar apply the PUT preconditions of RFC 4791 §5.3.2."""

from __future__ import annotations

from caldavd.dav import names
from tests.functional.conftest import CAL01, HOME01, HOME02, Dav, event, todo

DIR = HOME01 + "folder/"
MKCOL_CALENDAR = """<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop><D:resourcetype><D:collection/><C:calendar/></D:resourcetype></D:prop>
  </D:set></D:mkcol>"""


async def _folder(dav: Dav) -> None:
    assert (await dav.request("MKCOL", DIR)).status == 201


async def test_mkcalendar_in_a_plain_folder_is_refused_and_makes_nothing(dav: Dav) -> None:
    """It answered 201 and made work/ at the top of the home."""
    await _folder(dav)
    for method, body in (("MKCALENDAR", None), ("MKCOL", MKCOL_CALENDAR)):
        reply = await dav.request(method, DIR + "work/", body,
                                  headers={"Content-Type": "application/xml"})
        assert reply.status == 403, method
        assert reply.error() == names.CALENDAR_COLLECTION_LOCATION_OK
        assert (await dav.request("PROPFIND", HOME01 + "work/", headers={"Depth": "0"})
                ).status == 404, method
        assert (await dav.request("PROPFIND", DIR + "work/", headers={"Depth": "0"})
                ).status == 404, method


async def test_a_plain_folder_inside_a_calendar_is_refused(dav: Dav) -> None:
    """RFC 4791 §4.2: no collection at any depth inside a calendar collection; 403 (RFC
    4918 §9.3.1), not 409 "no parent"."""
    assert (await dav.request("MKCOL", CAL01 + "sub/")).status == 403
    await _folder(dav)
    assert (await dav.request("MKCOL", DIR + "sub/")).status == 201
    moved = await dav.request("MOVE", DIR + "sub/",
                              headers={"Destination": dav.base + CAL01 + "sub/"})
    assert moved.status == 403
    assert (await dav.request("PROPFIND", DIR + "sub/", headers={"Depth": "0"})).status == 207


async def test_copy_and_move_of_an_ics_file_into_a_calendar(dav: Dav) -> None:
    """It answered 409 "the destination's parent collection does not exist"."""
    await _folder(dav)
    ics = event("from-a-folder")
    assert (await dav.request("PUT", DIR + "e.ics", ics,
                              headers={"Content-Type": "text/calendar"})).status == 201
    copied = await dav.request("COPY", DIR + "e.ics",
                               headers={"Destination": dav.base + CAL01 + "e.ics"})
    assert copied.status == 201
    got = await dav.request("GET", CAL01 + "e.ics")
    assert got.status == 200 and got.body.decode() == ics
    assert (await dav.request("GET", DIR + "e.ics")).status == 200
    # Another name in the same calendar: the UID is taken there (409 naming the holder).
    again = await dav.request("COPY", DIR + "e.ics",
                              headers={"Destination": dav.base + CAL01 + "e2.ics"})
    assert again.status == 409 and again.error() == names.NO_UID_CONFLICT
    assert again.texts(".//D:href") == [CAL01 + "e.ics"]
    moved = await dav.request("MOVE", DIR + "e.ics",
                              headers={"Destination": dav.base + HOME01 + "tasks/e.ics"})
    assert moved.status == 403 and moved.error() == names.SUPPORTED_CALENDAR_COMPONENT
    assert (await dav.request("GET", DIR + "e.ics")).status == 200
    assert (await dav.request("DELETE", CAL01 + "e.ics")).status == 204
    moved = await dav.request("MOVE", DIR + "e.ics",
                              headers={"Destination": dav.base + CAL01 + "e.ics"})
    assert moved.status == 201
    assert (await dav.request("GET", DIR + "e.ics")).status == 404
    assert (await dav.request("GET", CAL01 + "e.ics")).status == 200


async def test_a_file_into_a_calendar_meets_every_put_precondition(dav: Dav) -> None:
    """RFC 4791 §5.3.2.1, as a PUT of the file's content would."""
    await _folder(dav)
    cases = (
        ("bad.ics", "not iCalendar at all", "text/calendar", 403, names.VALID_CALENDAR_DATA),
        ("text.txt", event("typed"), "text/plain", 403, names.SUPPORTED_CALENDAR_DATA),
        ("two.ics", event("two-a").replace(
            "END:VCALENDAR", "BEGIN:VEVENT\r\nUID:two-b\r\nDTSTAMP:20260101T000000Z\r\n"
            "DTSTART:20260105T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR"),
         "text/calendar", 403, names.VALID_CALENDAR_OBJECT_RESOURCE),
        ("t.ics", todo("a-todo"), "text/calendar", 403, names.SUPPORTED_CALENDAR_COMPONENT),
        ("old.ics", event("old", "18500101T100000Z", "18500101T110000Z"), "text/calendar",
         403, names.MIN_DATE_TIME),
    )
    for name, body, media_type, status, error in cases:
        assert (await dav.request("PUT", DIR + name, body,
                                  headers={"Content-Type": media_type})).status == 201
        for method in ("COPY", "MOVE"):
            reply = await dav.request(method, DIR + name,
                                      headers={"Destination": dav.base + CAL01 + name})
            assert (reply.status, reply.error()) == (status, error), (name, method)
            assert (await dav.request("GET", CAL01 + name)).status == 404
            assert (await dav.request("GET", DIR + name)).status == 200
    # A file PUT without a Content-Type is judged by its content.
    assert (await dav.request("PUT", DIR + "untyped.ics", event("untyped"))).status == 201
    reply = await dav.request("COPY", DIR + "untyped.ics",
                              headers={"Destination": dav.base + CAL01 + "untyped.ics"})
    assert reply.status == 201


async def test_copy_and_move_of_a_calendar_object_into_a_plain_folder(dav: Dav) -> None:
    """The reverse direction: the object's text becomes a plain file of the home."""
    await _folder(dav)
    ics = event("to-a-folder")
    assert (await dav.put(CAL01 + "o.ics", ics)).status == 201
    copied = await dav.request("COPY", CAL01 + "o.ics",
                               headers={"Destination": dav.base + DIR + "o.ics"})
    assert copied.status == 201
    got = await dav.request("GET", DIR + "o.ics")
    assert got.body.decode() == ics and got.headers["Content-Type"].startswith("text/calendar")
    kept = await dav.request("COPY", CAL01 + "o.ics", headers={
        "Destination": dav.base + DIR + "o.ics", "Overwrite": "F"})
    assert kept.status == 412
    moved = await dav.request("MOVE", CAL01 + "o.ics",
                              headers={"Destination": dav.base + DIR + "moved.ics"})
    assert moved.status == 201
    assert (await dav.request("GET", CAL01 + "o.ics")).status == 404
    assert (await dav.request("GET", DIR + "moved.ics")).body.decode() == ics
    # Files live in folders, and in their own home.
    assert (await dav.put(CAL01 + "p.ics", event("top"))).status == 201
    top = await dav.request("COPY", CAL01 + "p.ics",
                            headers={"Destination": dav.base + HOME01 + "p.ics"})
    assert top.status == 403
    assert (await dav.request("MKCOL", HOME02 + "theirs/", user="user02")).status == 201
    away = await dav.request("COPY", CAL01 + "p.ics",
                             headers={"Destination": dav.base + HOME02 + "theirs/p.ics"})
    assert away.status == 403
    assert (await dav.request("GET", HOME02 + "theirs/p.ics", user="user02")).status == 404
