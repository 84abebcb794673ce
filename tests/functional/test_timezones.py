"""VTIMEZONEs repeated in one object over HTTP (issue #15 item 5; RFC 5545 §3.6.5,
RFC 4791 §5.3.2.1, §5.3.4).

khal writes one VTIMEZONE per VEVENT when it edits a recurring event with overrides,
so vdirsyncer uploads the same definition twice: the server keeps one copy, and since
what it stores is then not what was sent, its PUT answer carries no ETag.
"""

from __future__ import annotations

from caldavd.dav import names
from caldavd.dav.errors import ValidCalendarData
from tests.functional.conftest import CAL01, NS, Dav

BERLIN = ("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"
          "BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
          "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\nTZNAME:CET\r\n"
          "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n"
          "BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\n"
          "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\nTZNAME:CEST\r\n"
          "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n")
# The same definition written otherwise: DAYLIGHT first, properties reordered, folded.
BERLIN_AGAIN = ("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"
                "BEGIN:DAYLIGHT\r\nTZOFFSETTO:+0200\r\nTZOFFSETFROM:+0100\r\n"
                "TZNAME:CEST\r\nDTSTART:19700329T020000\r\n"
                "RRULE:FREQ=YEARLY;BYDAY=-1SU;\r\n BYMONTH=3\r\nEND:DAYLIGHT\r\n"
                "BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
                "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\nTZNAME:CET\r\n"
                "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n")
MASTER = ("BEGIN:VEVENT\r\nUID:khal-1\r\nDTSTAMP:20260101T000000Z\r\n"
          "DTSTART;TZID=Europe/Berlin:20260105T100000\r\n"
          "DTEND;TZID=Europe/Berlin:20260105T110000\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\n"
          "SUMMARY:Weekly\r\nEND:VEVENT\r\n")
OVERRIDE = ("BEGIN:VEVENT\r\nUID:khal-1\r\nDTSTAMP:20260101T000000Z\r\n"
            "RECURRENCE-ID;TZID=Europe/Berlin:20260112T100000\r\n"
            "DTSTART;TZID=Europe/Berlin:20260112T150000\r\n"
            "DTEND;TZID=Europe/Berlin:20260112T160000\r\nSUMMARY:Moved\r\nEND:VEVENT\r\n")


def _ics(*components: str) -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//khal-like//EN\r\n"
            + "".join(components) + "END:VCALENDAR\r\n")


KHAL = _ics(BERLIN, MASTER, BERLIN_AGAIN, OVERRIDE)
QUERY = """<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="20260112T133000Z" end="20260112T143000Z"/>
  </C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"""


async def test_identical_vtimezones_are_stored_once_and_put_has_no_etag(dav: Dav) -> None:
    """The copy is dropped; RFC 4791 §5.3.4: no ETag when the stored data differs from
    the body, one when it is the body octet for octet."""
    href = CAL01 + "khal.ics"
    created = await dav.put(href, KHAL)
    assert created.status == 201, created.body
    assert "ETag" not in created.headers
    got = await dav.request("GET", href)
    text = got.body.decode()
    assert text == _ics(BERLIN, MASTER, OVERRIDE)
    found = await dav.report(CAL01, QUERY)  # the override, 15:00 Berlin = 14:00Z
    assert set(found.responses()) == {href}
    again = await dav.put(href, KHAL, headers={"If-Match": got.headers["ETag"]})
    assert again.status == 204 and "ETag" not in again.headers
    same = await dav.put(href, text, headers={"If-Match": got.headers["ETag"]})
    assert same.status == 204 and same.headers["ETag"] == got.headers["ETag"]


async def test_differing_definitions_of_one_tzid_are_valid_calendar_data(dav: Dav) -> None:
    """RFC 5545 §3.6.5: one definition per TZID; RFC 4791 §5.3.2.1 valid-calendar-data."""
    other = BERLIN_AGAIN.replace("TZOFFSETTO:+0200", "TZOFFSETTO:+0300")
    reply = await dav.put(CAL01 + "two.ics", _ics(BERLIN, MASTER, other, OVERRIDE))
    assert reply.status == ValidCalendarData.status
    assert reply.error() == names.VALID_CALENDAR_DATA
    assert b"VTIMEZONE Europe/Berlin is defined twice, differently" in reply.body
    assert (await dav.request("GET", CAL01 + "two.ics")).status == 404


async def test_a_body_stored_otherwise_gets_no_etag(dav: Dav) -> None:
    """A byte order mark is not stored either (RFC 4791 §5.3.4)."""
    body = "\ufeff" + _ics(MASTER)
    reply = await dav.put(CAL01 + "bom.ics", body)
    assert reply.status == 201 and "ETag" not in reply.headers
    plain = await dav.put(CAL01 + "plain.ics", _ics(MASTER.replace("khal-1", "khal-2")))
    assert plain.status == 201 and plain.headers["ETag"]
    listed = await dav.propfind(CAL01 + "bom.ics", names.GETETAG)
    assert listed.xml.findtext(".//D:getetag", namespaces=NS)
