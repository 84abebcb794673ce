"""Free-busy requests to the Outbox (RFC 6638 §5): the message's preconditions, the
organizer check, declined instances and the schedule-response body."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar
import pytest
from lxml import etree

from caldavd.caldav import recurrence
from caldavd.caldav.budget import Budget
from caldavd.dav import names
from caldavd.dav.errors import (
    DAVError,
    OrganizerAllowed,
    RecipientLimit,
    RecipientSpecified,
    SupportedCalendarData,
    ValidCalendarData,
    ValidSchedulingMessage,
)
from caldavd.directory import Record
from caldavd.scheduling import freebusy
from caldavd.scheduling.freebusy import Answer, FreeBusyRequest, Recipient, parse_request
from caldavd.store import HomeBusyTime, inline

LINES = {
    "METHOD": "METHOD:REQUEST",
    "ORGANIZER": "ORGANIZER:mailto:alice@example.com",
    "ATTENDEE": "ATTENDEE:mailto:bob@example.com\r\nATTENDEE:MAILTO:Bob@Example.com\r\n"
                "ATTENDEE:mailto:carol@example.com",
    "UID": "UID:fb-1",
    "DTSTAMP": "DTSTAMP:20260101T000000Z",
    "DTSTART": "DTSTART:20260105T000000Z",
    "DTEND": "DTEND:20260106T000000Z",
}


def body(**changes: str | None) -> bytes:
    """A VFREEBUSY REQUEST with some lines replaced (None: left out)."""
    lines = {**LINES, **changes}
    method = lines.pop("METHOD")
    inner = "\r\n".join(v for v in lines.values() if v)
    head = f"{method}\r\n" if method else ""
    return (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{head}"
            f"BEGIN:VFREEBUSY\r\n{inner}\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n").encode()


def test_a_request_parses_with_each_recipient_once() -> None:
    request = parse_request(body(), "text/calendar", max_recipients=10)
    assert request == FreeBusyRequest(
        "mailto:alice@example.com", ("mailto:bob@example.com", "mailto:carol@example.com"),
        datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 6, tzinfo=UTC), "fb-1")


@pytest.mark.parametrize(("changes", "error"), [
    ({"METHOD": "METHOD:PUBLISH"}, ValidSchedulingMessage),
    ({"METHOD": None}, ValidSchedulingMessage),
    ({"ORGANIZER": None}, ValidSchedulingMessage),
    ({"UID": None}, ValidSchedulingMessage),
    ({"DTSTAMP": None}, ValidSchedulingMessage),
    ({"DTSTART": None}, ValidSchedulingMessage),
    ({"DTEND": "DTEND:20260104T000000Z"}, ValidSchedulingMessage),
    ({"DTSTART": "DTSTART;VALUE=DATE:20260105"}, ValidSchedulingMessage),
    ({"DTSTART": "DTSTART:20260105T000000"}, ValidSchedulingMessage),  # floating
    ({"ATTENDEE": None}, RecipientSpecified),
])
def test_a_request_that_is_no_free_busy_request_is_refused(
        changes: dict[str, str | None], error: type[DAVError]) -> None:
    """RFC 6638 §5 preconditions, RFC 5546 §3.3.2 (what a VFREEBUSY REQUEST holds)."""
    with pytest.raises(error) as caught:
        parse_request(body(**changes), "text/calendar", max_recipients=10)
    assert caught.value.status == 403


def test_one_vfreebusy_and_nothing_else() -> None:
    two = body().replace(b"END:VCALENDAR", b"BEGIN:VTODO\r\nUID:t\r\nDTSTAMP:20260101T0"
                                           b"00000Z\r\nEND:VTODO\r\nEND:VCALENDAR")
    with pytest.raises(ValidSchedulingMessage):
        parse_request(two, "text/calendar", max_recipients=10)


def test_not_icalendar_is_valid_calendar_data_and_media_type_is_checked() -> None:
    with pytest.raises(ValidCalendarData):
        parse_request(b"BEGIN:VCALENDAR\r\nno\r\n", "text/calendar", max_recipients=10)
    with pytest.raises(SupportedCalendarData):
        parse_request(body(), "application/xml", max_recipients=10)


def test_more_recipients_than_allowed_is_recipient_limit() -> None:
    with pytest.raises(RecipientLimit) as caught:
        parse_request(body(), "text/calendar", max_recipients=1)
    assert caught.value.element == names.RECIPIENT_LIMIT
    assert parse_request(body(), None, max_recipients=0).attendees  # 0: no limit


def test_the_organizer_must_be_the_outbox_owner() -> None:
    request = parse_request(body(), "text/calendar", max_recipients=10)
    freebusy.check_organizer(request, ("MAILTO:Alice@example.com", "urn:uuid:a"))
    with pytest.raises(OrganizerAllowed) as caught:
        freebusy.check_organizer(request, ("mailto:bob@example.com",))
    assert (caught.value.status, caught.value.element) == (403, names.ORGANIZER_ALLOWED)


def _instance(partstat: str) -> recurrence.Instance:
    text = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:m\r\n"
            "DTSTAMP:20260101T000000Z\r\nDTSTART:20260105T100000Z\r\n"
            "DTEND:20260105T110000Z\r\nORGANIZER:mailto:alice@example.com\r\n"
            f"ATTENDEE;PARTSTAT={partstat}:mailto:bob@example.com\r\n"
            "ATTENDEE;PARTSTAT=DECLINED:mailto:carol@example.com\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n")
    return recurrence.expand(icalendar.Calendar.from_ical(text))[0]


def test_an_instance_the_recipient_declined_is_not_busy() -> None:
    bob = frozenset({"mailto:bob@example.com"})
    assert freebusy._attending(bob, _instance("ACCEPTED"))  # carol's decline is hers
    assert not freebusy._attending(bob, _instance("declined"))


def test_the_schedule_response_has_one_response_per_recipient() -> None:
    """RFC 6638 §10.1-10.4."""
    xml = freebusy.schedule_response([
        Answer("mailto:bob@example.com", "2.0;Success", b"BEGIN:VCALENDAR\r\n"),
        Answer("mailto:nobody@example.com", "3.7;Invalid calendar user")])
    root = etree.fromstring(xml)
    assert root.tag == names.SCHEDULE_RESPONSE
    responses = root.findall(names.SCHEDULE_RESPONSE_RESPONSE)
    assert [r.findtext(f"{names.RECIPIENT}/{names.HREF}") for r in responses] == [
        "mailto:bob@example.com", "mailto:nobody@example.com"]
    assert [r.findtext(names.REQUEST_STATUS) for r in responses] == [
        "2.0;Success", "3.7;Invalid calendar user"]
    assert responses[0].findtext(names.CALENDAR_DATA) == "BEGIN:VCALENDAR\r\n"
    assert responses[1].find(names.CALENDAR_DATA) is None


class _Store:
    """busy_time_of_homes only, counting its calls."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    async def busy_time_of_homes(self, owner_uids: list[str], start: datetime,
                                 end: datetime, *, limit: int) -> dict[str, HomeBusyTime]:
        self.asked.append(list(owner_uids))
        hour = datetime(2026, 1, 5, 10, tzinfo=UTC)
        return {uid: HomeBusyTime([(hour, hour.replace(hour=11), "BUSY")])
                for uid in owner_uids}


async def test_replies_ask_the_store_once_for_every_recipient_it_may_ask() -> None:
    store = _Store()
    request = parse_request(body(), "text/calendar", max_recipients=10)
    bob = Record("bob", "user", ("bob",), "Bob", emails=("bob@example.com",))
    carol = Record("carol", "user", ("carol",), "Carol")
    answers = await freebusy.replies(
        store, request,  # type: ignore[arg-type]
        [Recipient("mailto:bob@example.com", bob), Recipient("mailto:x@example.com", None),
         Recipient("mailto:carol@example.com", carol, allowed=False)],
        max_rows=10, budget=Budget(10), run=inline)
    assert store.asked == [["bob"]]
    assert [a.status for a in answers] == ["2.0;Success", "3.7;Invalid calendar user",
                                          "3.8;No authority"]
    reply = icalendar.Calendar.from_ical(answers[0].calendar_data or b"")
    assert reply["METHOD"] == "REPLY"
    component = reply.walk("VFREEBUSY")[0]
    assert (str(component["ATTENDEE"]), str(component["ORGANIZER"]), component["UID"]) == (
        "mailto:bob@example.com", "mailto:alice@example.com", "fb-1")
    assert component["FREEBUSY"].to_ical() == b"20260105T100000Z/20260105T110000Z"
    assert answers[1].calendar_data is None and answers[2].calendar_data is None
