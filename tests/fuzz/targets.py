"""The URL space the fuzzer aims at, and the objects the set-up stores there."""

from __future__ import annotations

from tests.fuzz.server import USERS

UID1, UID2 = USERS["fuzz01"][0], USERS["fuzz02"][0]
HOME = f"/calendars/__uids__/{UID1}/"
CAL = HOME + "calendar/"
CAL2 = HOME + "fuzzcal/"
PLAIN = HOME + "files/"
OTHER_HOME = f"/calendars/__uids__/{UID2}/"
OTHER_CAL = OTHER_HOME + "calendar/"
PRINCIPAL = f"/principals/__uids__/{UID1}/"
OTHER_PRINCIPAL = f"/principals/__uids__/{UID2}/"
# One object of each shape of ``calendars``; VTODO and VJOURNAL where they are allowed.
SEEDS = [f"{CAL2 if n in (3, 6) else CAL}seed-{n}.ics" for n in range(7)]

PATHS = [
    "/", "/principals/", "/principals/users/", "/principals/users/fuzz01/", PRINCIPAL,
    PRINCIPAL + "calendar-proxy-read/", PRINCIPAL + "calendar-proxy-write/", OTHER_PRINCIPAL,
    "/calendars/", "/calendars/users/fuzz01/", HOME, CAL, CAL2, PLAIN, OTHER_HOME, OTHER_CAL,
    CAL + "missing.ics", *SEEDS, "/.well-known/caldav", "/health",
]

TZ = ("BEGIN:VTIMEZONE\r\nTZID:Europe/Fuzz\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
      "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"
      "END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\n"
      "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n"
      "END:DAYLIGHT\r\nEND:VTIMEZONE\r\n")


def _wrap(inner: str) -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//caldavd fuzz//EN\r\n"
            f"{inner}END:VCALENDAR\r\n")


def calendars(uid: str) -> list[str]:
    """Valid calendar objects of each shape the server indexes differently."""
    stamp = "DTSTAMP:20260101T000000Z\r\n"
    return [
        _wrap(f"BEGIN:VEVENT\r\nUID:{uid}\r\n{stamp}DTSTART:20260105T100000Z\r\n"
              "DTEND:20260105T110000Z\r\nSUMMARY:Single\r\nEND:VEVENT\r\n"),
        _wrap(f"BEGIN:VEVENT\r\nUID:{uid}\r\n{stamp}DTSTART:20260105T100000Z\r\n"
              "DURATION:PT1H\r\nRRULE:FREQ=DAILY;COUNT=10\r\nSUMMARY:Daily\r\nEND:VEVENT\r\n"
              f"BEGIN:VEVENT\r\nUID:{uid}\r\n{stamp}RECURRENCE-ID:20260107T100000Z\r\n"
              "DTSTART:20260107T120000Z\r\nDURATION:PT1H\r\nSUMMARY:Moved\r\nEND:VEVENT\r\n"),
        _wrap(f"{TZ}BEGIN:VEVENT\r\nUID:{uid}\r\n{stamp}"
              "DTSTART;TZID=Europe/Fuzz:20260302T090000\r\n"
              "DTEND;TZID=Europe/Fuzz:20260302T100000\r\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE\r\n"
              "EXDATE;TZID=Europe/Fuzz:20260304T090000\r\nSUMMARY:Weekly\r\n"
              "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDESCRIPTION:Soon\r\n"
              "END:VALARM\r\nEND:VEVENT\r\n"),
        _wrap(f"BEGIN:VTODO\r\nUID:{uid}\r\n{stamp}DUE:20260110T120000Z\r\nSUMMARY:Task\r\n"
              "STATUS:NEEDS-ACTION\r\nEND:VTODO\r\n"),
        _wrap(f"BEGIN:VEVENT\r\nUID:{uid}\r\n{stamp}DTSTART;VALUE=DATE:20260120\r\n"
              "DTEND;VALUE=DATE:20260121\r\nSUMMARY:All day\r\nTRANSP:TRANSPARENT\r\n"
              "CATEGORIES:a,b\r\nEND:VEVENT\r\n"),
        _wrap(f"BEGIN:VEVENT\r\nUID:{uid}\r\n{stamp}DTSTART:20260201T090000Z\r\n"
              "DTEND:20260201T100000Z\r\nSUMMARY:Meeting\r\n"
              "ORGANIZER;CN=Fuzz 01:mailto:fuzz01@example.com\r\n"
              "ATTENDEE;PARTSTAT=ACCEPTED:mailto:fuzz01@example.com\r\n"
              "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:fuzz02@example.com\r\n"
              "END:VEVENT\r\n"),
        _wrap(f"BEGIN:VJOURNAL\r\nUID:{uid}\r\n{stamp}DTSTART;VALUE=DATE:20260105\r\n"
              "SUMMARY:Journal\r\nDESCRIPTION:Line one\\nline two\\, with comma\r\n"
              "END:VJOURNAL\r\n"),
    ]
