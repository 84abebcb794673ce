"""How far a UID must be unique: in its calendar collection (RFC 4791 §5.3.2.1
no-uid-conflict), and in the home for scheduling object resources (RFC 6638 §3.1,
§3.2.4.1 unique-scheduling-object-resource); a COPY or MOVE never replaces an
object by one with another UID."""

from __future__ import annotations

from caldavd.dav import names
from tests.functional.conftest import CAL01, HOME01, HOME02, Dav, event
from tests.functional.test_attachments import add

OTHER = HOME01 + "other/"
ME = "mailto:user01@example.com"


def meeting(uid: str, organizer: str = ME, attendee: str = "mailto:user02@example.com",
            summary: str = "Meeting") -> str:
    """A scheduling object resource when user01 is its organizer or one of its attendees."""
    return event(uid, summary=summary,
                 extra=f"ORGANIZER:{organizer}\r\nATTENDEE:{attendee}\r\n")


async def _second_calendar(dav: Dav) -> None:
    assert (await dav.request("MKCALENDAR", OTHER)).status == 201


async def _copy(dav: Dav, source: str, dest: str, method: str = "COPY",
                overwrite: str = "T") -> int:
    reply = await dav.request(method, source, headers={"Destination": dav.base + dest,
                                                        "Overwrite": overwrite})
    return reply.status


async def test_one_uid_in_two_calendars_of_a_home(dav: Dav) -> None:
    """RFC 4791 §5.3.2.1 scopes the UID to the calendar collection."""
    await _second_calendar(dav)
    assert (await dav.put(CAL01 + "a.ics", event("shared-uid"))).status == 201
    assert (await dav.put(OTHER + "a.ics", event("shared-uid"))).status == 201
    assert (await dav.put(OTHER + "b.ics", event("shared-uid", summary="x"))).status == 409
    assert (await dav.request("GET", CAL01 + "a.ics")).status == 200
    assert (await dav.request("GET", OTHER + "a.ics")).status == 200


async def test_copy_to_another_calendar_of_the_home(dav: Dav) -> None:
    await _second_calendar(dav)
    assert (await dav.put(CAL01 + "c.ics", event("copied"))).status == 201
    assert await _copy(dav, CAL01 + "c.ics", OTHER + "c.ics") == 201
    copy = await dav.request("GET", OTHER + "c.ics")
    assert copy.status == 200 and "UID:copied" in copy.body.decode()
    # Within one calendar the copy would hold the UID twice.
    reply = await dav.request("COPY", CAL01 + "c.ics",
                              headers={"Destination": dav.base + CAL01 + "d.ics"})
    assert reply.status == 409 and reply.error() == names.NO_UID_CONFLICT
    assert reply.texts(".//D:href") == [CAL01 + "c.ics"]


async def test_scheduling_object_twice_in_a_home_is_refused(dav: Dav) -> None:
    """RFC 6638 §3.2.4.1: 403 unique-scheduling-object-resource naming the other one."""
    await _second_calendar(dav)
    assert (await dav.put(CAL01 + "m.ics", meeting("meet-1"))).status == 201
    reply = await dav.put(OTHER + "m.ics", meeting("meet-1"))
    assert reply.status == 403
    assert reply.error() == names.UNIQUE_SCHEDULING_OBJECT_RESOURCE
    assert reply.texts(".//D:href") == [CAL01 + "m.ics"]
    assert (await dav.request("GET", OTHER + "m.ics")).status == 404
    copied = await dav.request("COPY", CAL01 + "m.ics",
                               headers={"Destination": dav.base + OTHER + "m.ics"})
    assert copied.status == 403
    assert copied.error() == names.UNIQUE_SCHEDULING_OBJECT_RESOURCE
    assert copied.texts(".//D:href") == [CAL01 + "m.ics"]
    # Moving it is fine: it is still one object.
    assert await _copy(dav, CAL01 + "m.ics", OTHER + "m.ics", "MOVE") == 201


async def test_an_attachment_action_keeps_a_scheduling_object_one(dav: Dav) -> None:
    """RFC 8607 §3.4 rewrites the event; RFC 6638 §3.2.4.1 still holds for it (the
    rewrite marked it a plain object, and a second one with its UID got in)."""
    await _second_calendar(dav)
    assert (await dav.put(CAL01 + "m.ics", meeting("meet-2"))).status == 201
    assert (await add(dav, CAL01 + "m.ics", b"agenda")).status == 201
    reply = await dav.put(OTHER + "m.ics", meeting("meet-2"))
    assert reply.status == 403
    assert reply.error() == names.UNIQUE_SCHEDULING_OBJECT_RESOURCE


async def test_an_attendees_copy_is_a_scheduling_object_too(dav: Dav) -> None:
    """RFC 6638 §3.1: another ORGANIZER with the owner among the ATTENDEEs."""
    await _second_calendar(dav)
    invite = meeting("invite-1", organizer="mailto:user02@example.com", attendee=ME)
    assert (await dav.put(CAL01 + "i.ics", invite)).status == 201
    reply = await dav.put(OTHER + "i.ics", invite)
    assert reply.error() == names.UNIQUE_SCHEDULING_OBJECT_RESOURCE


async def test_an_event_that_does_not_involve_the_owner_is_not_scheduling(dav: Dav) -> None:
    """An ORGANIZER that is not the owner, and no ATTENDEE that is: a plain object."""
    await _second_calendar(dav)
    theirs = meeting("theirs-1", organizer="mailto:user02@example.com",
                     attendee="mailto:user03@example.com")
    assert (await dav.put(CAL01 + "t.ics", theirs)).status == 201
    assert (await dav.put(OTHER + "t.ics", theirs)).status == 201


async def test_overwrite_never_replaces_an_object_with_another_uid(dav: Dav) -> None:
    """RFC 4791 §5.3.2.1: as PUT refuses to change a resource's UID, COPY and MOVE with
    Overwrite: T refuse to replace a resource by one with another UID (409, naming the
    destination), and the destination is kept."""
    await _second_calendar(dav)
    assert (await dav.put(CAL01 + "src.ics", event("mover"))).status == 201
    victim = event("victim")
    assert (await dav.put(OTHER + "dst.ics", victim)).status == 201
    for method in ("COPY", "MOVE"):
        reply = await dav.request(method, CAL01 + "src.ics", headers={
            "Destination": dav.base + OTHER + "dst.ics", "Overwrite": "T"})
        assert reply.status == 409, method
        assert reply.error() == names.NO_UID_CONFLICT
        assert reply.texts(".//D:href") == [OTHER + "dst.ics"]
        kept = await dav.request("GET", OTHER + "dst.ics")
        assert kept.body.decode() == victim
        assert (await dav.request("GET", CAL01 + "src.ics")).status == 200
    # The same UID at the destination is a replacement, as a PUT would be.
    assert (await dav.put(OTHER + "same.ics", event("mover", summary="old"))).status == 201
    assert await _copy(dav, CAL01 + "src.ics", OTHER + "same.ics", "MOVE") == 204
    moved = await dav.request("GET", OTHER + "same.ics")
    assert "SUMMARY:Meeting" in moved.body.decode()


async def test_uid_conflict_href_names_the_holders_home(dav: Dav) -> None:
    """A delegate or an administrator writing by another path still gets the holder's
    href in its owner's home (the store names the home)."""
    assert (await dav.put(CAL01 + "h.ics", event("holder-1"))).status == 201
    by_name = "/calendars/users/user01/calendar/"
    reply = await dav.put(by_name + "h2.ics", event("holder-1"))
    assert reply.status == 409
    assert reply.texts(".//D:href") == [CAL01 + "h.ics"]
    assert (await dav.put(HOME02 + "calendar/h.ics", event("holder-1"),
                          user="user02")).status == 201
