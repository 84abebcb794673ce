"""PUT, GET, DELETE, COPY and MOVE of calendar object resources with their
preconditions (RFC 4791 §5.3.2, RFC 4918 §9.6-9.9, RFC 9110 §13)."""

from __future__ import annotations

from pathlib import Path

from caldavd.dav import names
from tests.conftest import PgDatabase
from tests.functional.conftest import CAL01, HOME01, HOME02, Dav, event, serving, todo


async def test_put_then_get_round_trips_with_a_strong_etag(dav: Dav) -> None:
    ics = event("round-trip-1")
    created = await dav.put(CAL01 + "a.ics", ics)
    assert created.status == 201
    etag = created.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    got = await dav.request("GET", CAL01 + "a.ics")
    assert got.status == 200
    assert got.body.decode() == ics
    assert got.headers["ETag"] == etag
    assert got.headers["Content-Type"].startswith("text/calendar")
    assert "Last-Modified" in got.headers
    head = await dav.request("HEAD", CAL01 + "a.ics")
    assert head.status == 200 and head.body == b""
    not_modified = await dav.request("GET", CAL01 + "a.ics", headers={"If-None-Match": etag})
    assert not_modified.status == 304


async def test_replace_changes_etag_and_ctag(dav: Dav) -> None:
    first = await dav.put(CAL01 + "b.ics", event("replace-1"))
    ctag1 = (await dav.propfind(CAL01, names.GETCTAG)).texts(".//CS:getctag")
    second = await dav.put(CAL01 + "b.ics", event("replace-1", summary="Changed"))
    assert second.status == 204
    assert second.headers["ETag"] != first.headers["ETag"]
    assert (await dav.propfind(CAL01, names.GETCTAG)).texts(".//CS:getctag") != ctag1


async def test_if_none_match_star_refuses_overwrite(dav: Dav) -> None:
    assert (await dav.put(CAL01 + "c.ics", event("inm-1"))).status == 201
    again = await dav.put(CAL01 + "c.ics", event("inm-1"), headers={"If-None-Match": "*"})
    assert again.status == 412


async def test_if_match_guards_updates_and_deletes(dav: Dav) -> None:
    etag = (await dav.put(CAL01 + "d.ics", event("im-1"))).headers["ETag"]
    stale = await dav.put(CAL01 + "d.ics", event("im-1", summary="x"),
                          headers={"If-Match": '"not-it"'})
    assert stale.status == 412
    ok = await dav.put(CAL01 + "d.ics", event("im-1", summary="y"), headers={"If-Match": etag})
    assert ok.status == 204
    assert (await dav.request("DELETE", CAL01 + "d.ics", headers={"If-Match": etag})).status \
        == 412
    assert (await dav.request("DELETE", CAL01 + "d.ics",
                              headers={"If-Match": ok.headers["ETag"]})).status == 204
    assert (await dav.request("GET", CAL01 + "d.ics")).status == 404


async def test_uid_conflict_names_the_holder(dav: Dav) -> None:
    """RFC 4791 §5.3.2.1: no-uid-conflict with the DAV:href of the existing resource."""
    assert (await dav.put(CAL01 + "e.ics", event("dup-1"))).status == 201
    reply = await dav.put(CAL01 + "f.ics", event("dup-1"))
    assert reply.status == 409
    assert reply.error() == names.NO_UID_CONFLICT
    assert reply.texts(".//D:href") == [CAL01 + "e.ics"]


async def test_malformed_calendar_data_is_valid_calendar_data(dav: Dav) -> None:
    """RFC 4791 §5.3.2.1 valid-calendar-data: 403, the body can never succeed (§1.3)."""
    reply = await dav.put(CAL01 + "g.ics", "BEGIN:VCALENDAR\r\nthis is not ical\r\n")
    assert reply.status == 403
    assert reply.error() == names.VALID_CALENDAR_DATA
    assert (await dav.request("GET", CAL01 + "g.ics")).status == 404


async def test_wrong_media_type_is_supported_calendar_data(dav: Dav) -> None:
    reply = await dav.request("PUT", CAL01 + "h.ics", event("mt-1"),
                              headers={"Content-Type": "text/plain"})
    assert reply.status == 403
    assert reply.error() == names.SUPPORTED_CALENDAR_DATA


async def test_two_uids_is_not_a_valid_object_resource(dav: Dav) -> None:
    two = event("two-1").replace("END:VCALENDAR", "BEGIN:VEVENT\r\nUID:two-2\r\n"
                                 "DTSTAMP:20260101T000000Z\r\nDTSTART:20260105T100000Z\r\n"
                                 "END:VEVENT\r\nEND:VCALENDAR")
    reply = await dav.put(CAL01 + "i.ics", two)
    assert reply.status == 403
    assert reply.error() == names.VALID_CALENDAR_OBJECT_RESOURCE


async def test_todo_in_event_calendar_is_unsupported_component(dav: Dav) -> None:
    reply = await dav.put(CAL01 + "j.ics", todo("todo-1"))
    assert reply.status == 403
    assert reply.error() == names.SUPPORTED_CALENDAR_COMPONENT
    assert (await dav.put(HOME01 + "tasks/j.ics", todo("todo-1"))).status == 201


async def test_too_large_is_max_resource_size(dav: Dav) -> None:
    big = event("big-1", extra="DESCRIPTION:" + "x" * 70 + "\r\n " * 0 + "\r\n")
    padding = "".join(f"X-PAD-{i}:{'y' * 60}\r\n" for i in range(20000))
    reply = await dav.put(CAL01 + "k.ics", big.replace("END:VEVENT", padding + "END:VEVENT"))
    assert reply.status == 403
    assert reply.error() == names.MAX_RESOURCE_SIZE


async def test_put_into_another_users_calendar_is_forbidden(dav: Dav) -> None:
    reply = await dav.put(CAL01 + "l.ics", event("steal-1"), user="user02")
    assert reply.status == 403
    assert (await dav.request("GET", CAL01 + "l.ics")).status == 404


async def test_get_of_another_users_event_is_forbidden(dav: Dav) -> None:
    assert (await dav.put(CAL01 + "m.ics", event("private-1"))).status == 201
    assert (await dav.request("GET", CAL01 + "m.ics", user="user02")).status == 403


async def test_move_between_calendars(dav: Dav) -> None:
    assert (await dav.request("MKCALENDAR", HOME01 + "target/")).status == 201
    assert (await dav.put(CAL01 + "n.ics", event("move-1"))).status == 201
    moved = await dav.request("MOVE", CAL01 + "n.ics",
                              headers={"Destination": dav.base + HOME01 + "target/n.ics"})
    assert moved.status == 201
    assert (await dav.request("GET", CAL01 + "n.ics")).status == 404
    assert (await dav.request("GET", HOME01 + "target/n.ics")).status == 200


async def test_move_onto_existing_without_overwrite_is_412(dav: Dav) -> None:
    assert (await dav.put(CAL01 + "o.ics", event("mo-1"))).status == 201
    assert (await dav.put(CAL01 + "p.ics", event("mo-2"))).status == 201
    reply = await dav.request("MOVE", CAL01 + "o.ics",
                              headers={"Destination": dav.base + CAL01 + "p.ics",
                                       "Overwrite": "F"})
    assert reply.status == 412
    assert (await dav.request("GET", CAL01 + "o.ics")).status == 200


async def test_move_of_todo_into_event_calendar_is_refused(dav: Dav) -> None:
    assert (await dav.put(HOME01 + "tasks/q.ics", todo("mt-todo"))).status == 201
    reply = await dav.request("MOVE", HOME01 + "tasks/q.ics",
                              headers={"Destination": dav.base + CAL01 + "q.ics"})
    assert reply.error() == names.SUPPORTED_CALENDAR_COMPONENT


async def test_copy_to_another_home_needs_rights_there(dav: Dav) -> None:
    assert (await dav.put(CAL01 + "s.ics", event("copy-2"))).status == 201
    reply = await dav.request("COPY", CAL01 + "s.ics",
                              headers={"Destination": dav.base + HOME02 + "calendar/s.ics"})
    assert reply.status == 403


async def test_add_member_post_creates_with_server_chosen_name(dav: Dav) -> None:
    """RFC 5995 §3.2."""
    reply = await dav.propfind(CAL01, names.ADD_MEMBER)
    url = reply.texts(".//D:add-member/D:href")[0]
    created = await dav.request("POST", url, event("post-1"),
                                headers={"Content-Type": "text/calendar"})
    assert created.status == 201
    location = created.headers["Location"]
    assert location.startswith(CAL01) and location.endswith(".ics")
    assert (await dav.request("GET", location)).status == 200


async def test_prefer_return_representation_answers_with_the_stored_object(dav: Dav) -> None:
    """RFC 7240 §4.2: with Prefer: return=representation a PUT or an add-member POST
    answers with the object as stored, its ETag and Content-Location (CalDAVTester's
    managed-attachments.xml stopped on the empty answer).  A body the server changes
    (here a byte order mark dropped) comes back as stored, with the ETag of that."""
    prefer = {"Prefer": "return=representation"}
    created = await dav.put(CAL01 + "rep.ics", event("rep-1"), headers=prefer)
    assert created.status == 201
    assert created.headers["Preference-Applied"] == "return=representation"
    assert created.headers["Content-Location"] == CAL01 + "rep.ics"
    stored = await dav.request("GET", CAL01 + "rep.ics")
    assert created.body == stored.body
    assert created.headers["ETag"] == stored.headers["ETag"]
    changed = await dav.request("PUT", CAL01 + "rep.ics",
                                b"\xef\xbb\xbf" + event("rep-1", summary="Moved").encode(),
                                headers={"Content-Type": "text/calendar", **prefer})
    assert changed.status == 200
    again = await dav.request("GET", CAL01 + "rep.ics")
    assert changed.body == again.body and not changed.body.startswith(b"\xef")
    assert changed.headers["ETag"] == again.headers["ETag"]
    url = (await dav.propfind(CAL01, names.ADD_MEMBER)).texts(".//D:add-member/D:href")[0]
    posted = await dav.request("POST", url, event("rep-2"),
                               headers={"Content-Type": "text/calendar", **prefer})
    assert posted.status == 201 and b"UID:rep-2" in posted.body
    assert posted.headers["Content-Location"] == posted.headers["Location"]
    # Without the preference the answers stay empty.
    plain = await dav.put(CAL01 + "rep.ics", event("rep-1"))
    assert plain.status == 204 and plain.body == b""
    assert "Preference-Applied" not in plain.headers


async def test_depth_1_lists_objects_with_etags(dav: Dav) -> None:
    etags = {}
    for n in range(3):
        reply = await dav.put(CAL01 + f"list{n}.ics", event(f"list-{n}"))
        etags[CAL01 + f"list{n}.ics"] = reply.headers["ETag"]
    listing = await dav.propfind(CAL01, names.GETETAG, names.GETCONTENTTYPE, depth="1")
    found = {href: r.findtext(".//{DAV:}getetag") for href, r in listing.responses().items()
             if href != CAL01}
    assert found == etags


async def test_quota_exceeded_is_507_and_stores_nothing(pg_database: PgDatabase,
                                                        tmp_path: Path) -> None:
    """RFC 4331 §6: DAV:quota-not-exceeded."""
    async with serving(pg_database, tmp_path, UserQuota=400) as small:
        assert (await small.put(CAL01 + "q1.ics", event("quota-1"))).status == 201
        reply = await small.put(CAL01 + "q2.ics", event("quota-2"))
        assert reply.status == 507
        assert reply.error() == names.QUOTA_NOT_EXCEEDED
        assert (await small.request("GET", CAL01 + "q2.ics")).status == 404
        used = await small.propfind(HOME01, names.QUOTA_USED_BYTES,
                                    names.QUOTA_AVAILABLE_BYTES)
        assert int(used.texts(".//D:quota-used-bytes")[0]) <= 400


async def test_date_before_min_date_time_is_refused(dav: Dav) -> None:
    reply = await dav.put(CAL01 + "old.ics", event("old-1", "18500101T100000Z",
                                                   "18500101T110000Z"))
    assert reply.status == 403
    assert reply.error() == names.MIN_DATE_TIME


async def test_date_after_max_date_time_is_refused(dav: Dav) -> None:
    reply = await dav.put(CAL01 + "far.ics", event("far-1", "22000101T100000Z",
                                                   "22000101T110000Z"))
    assert reply.status == 403
    assert reply.error() == names.MAX_DATE_TIME


async def test_too_many_instances_is_max_instances(pg_database: PgDatabase,
                                                   tmp_path: Path) -> None:
    async with serving(pg_database, tmp_path, MaxAllowedInstances=50) as limited:
        many = event("many-1", extra="RRULE:FREQ=DAILY;COUNT=60\r\n")
        reply = await limited.put(CAL01 + "many.ics", many)
        assert reply.status == 403
        assert reply.error() == names.MAX_INSTANCES
        few = event("few-1", extra="RRULE:FREQ=DAILY;COUNT=40\r\n")
        assert (await limited.put(CAL01 + "few.ics", few)).status == 201


async def test_too_many_attendees_is_max_attendees(pg_database: PgDatabase,
                                                   tmp_path: Path) -> None:
    async with serving(pg_database, tmp_path, MaxAttendeesPerInstance=3) as limited:
        people = "".join(f"ATTENDEE:mailto:p{n}@example.com\r\n" for n in range(4))
        reply = await limited.put(CAL01 + "crowd.ics", event(
            "crowd-1", extra="ORGANIZER:mailto:user01@example.com\r\n" + people))
        assert reply.status == 403
        assert reply.error() == names.MAX_ATTENDEES_PER_INSTANCE
