"""The write preconditions of scheduling object resources over HTTP (RFC 6638 §3.2.4)."""

from __future__ import annotations

from caldavd.dav import names
from tests.functional.conftest import CAL01, Dav

ME = "mailto:user01@example.com"


def recurring(master_organizer: str, override_organizer: str | None,
              attendee: str = "mailto:user02@example.com") -> str:
    """A weekly meeting with one override, each with its ORGANIZER (None: none)."""
    override = "" if override_organizer is None else f"ORGANIZER:{override_organizer}\r\n"
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//caldavd tests//EN\r\n"
        "BEGIN:VEVENT\r\nUID:weekly-m\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART:20260105T100000Z\r\nDTEND:20260105T110000Z\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\n"
        f"SUMMARY:Weekly\r\nORGANIZER:{master_organizer}\r\nATTENDEE:{attendee}\r\n"
        "END:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:weekly-m\r\nDTSTAMP:20260101T000000Z\r\n"
        "RECURRENCE-ID:20260112T100000Z\r\n"
        "DTSTART:20260112T120000Z\r\nDTEND:20260112T130000Z\r\n"
        f"SUMMARY:Moved\r\n{override}ATTENDEE:{attendee}\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n")


async def test_same_organizer_in_all_components(dav: Dav) -> None:
    """§3.2.4.2: 403 same-organizer-in-all-components, nothing stored."""
    reply = await dav.put(CAL01 + "w.ics", recurring(ME, "mailto:user03@example.com"))
    assert reply.status == 403
    assert reply.error() == names.SAME_ORGANIZER_IN_ALL_COMPONENTS
    assert (await dav.request("GET", CAL01 + "w.ics")).status == 404


async def test_one_organizer_however_spelled_or_left_out(dav: Dav) -> None:
    """Addresses compare case-insensitively; an override without ORGANIZER has the
    master's."""
    assert (await dav.put(CAL01 + "a.ics", recurring(ME, "MAILTO:User01@Example.com"))
            ).status == 201
    assert (await dav.put(CAL01 + "b.ics", recurring(ME, None).replace(
        "weekly-m", "weekly-n"))).status == 201


async def test_an_object_that_is_not_scheduling_is_not_held_to_it(dav: Dav) -> None:
    """Neither organizer is the owner and the owner attends neither: a plain object."""
    theirs = recurring("mailto:user02@example.com", "mailto:user03@example.com",
                       attendee="mailto:user04@example.com")
    assert (await dav.put(CAL01 + "t.ics", theirs)).status == 201
