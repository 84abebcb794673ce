"""The attendee's REPLY and allowed changes (RFC 6638 §3.2.2, §3.2.2.1; RFC 5546 §3.2.3)."""

from __future__ import annotations

import pytest

from caldavd.dav import names
from caldavd.dav.errors import AllowedAttendeeChange
from caldavd.scheduling.itip import attendee_reply, check_attendee_change
from tests.unit.scheduling.samples import (
    ALARM,
    DEFAULT_ATTENDEES,
    ORG,
    OVERRIDE_RID,
    SECOND,
    WEEKLY,
    A,
    B,
    calendar,
    components,
    params,
    text,
    vevent,
)

ORG_LINE, A_LINE, B_LINE = DEFAULT_ATTENDEES


def _answering(answer: str, *extra: str) -> str:
    return vevent(*extra, attendees=(ORG_LINE, f"ATTENDEE;PARTSTAT={answer}:{A}", B_LINE))


def _instance(answer: str, start: str = "DTSTART:20260112T100000Z") -> str:
    return vevent(rid=OVERRIDE_RID, start=start, end="DTEND:20260112T110000Z",
                  attendees=(ORG_LINE, f"ATTENDEE;PARTSTAT={answer}:{A}", B_LINE))


def test_a_changed_partstat_replies_with_only_that_attendee() -> None:
    """§3.2.2.3: a REPLY to the organizer; RFC 5546 §3.2.3: only the replying ATTENDEE."""
    before = calendar(vevent())
    after = calendar(_answering("DECLINED"))
    check_attendee_change(before, after, A)
    reply = attendee_reply(before, after, A)
    assert reply is not None
    assert (reply.recipient, reply.method, reply.recurrence_ids) == (ORG, "REPLY", ())
    event, = components(reply.calendar)
    assert params(event, A)["PARTSTAT"] == "DECLINED"
    body = text(reply.calendar)
    assert "METHOD:REPLY" in body and B not in body and "ORGANIZER" in body
    assert "RSVP" not in body


def test_an_answer_for_one_instance_replies_with_that_instance() -> None:
    """§3.2.2.3 per instance: the attendee's override declines one occurrence."""
    before = calendar(vevent(WEEKLY))
    after = calendar(vevent(WEEKLY), _instance("DECLINED"))
    check_attendee_change(before, after, A)
    reply = attendee_reply(before, after, A)
    assert reply is not None and reply.recurrence_ids == (SECOND,)
    instance, = components(reply.calendar)
    assert params(instance, A)["PARTSTAT"] == "DECLINED"
    assert OVERRIDE_RID in text(reply.calendar)


def test_an_override_that_answers_nothing_new_sends_nothing() -> None:
    before = calendar(vevent(WEEKLY))
    after = calendar(vevent(WEEKLY), _instance("ACCEPTED;RSVP=TRUE"))
    check_attendee_change(before, after, A)
    assert attendee_reply(before, after, A) is None


def test_deleting_the_copy_declines() -> None:
    """§3.2.2.4: removing an attendee's copy declines (unless Schedule-Reply: F)."""
    reply = attendee_reply(calendar(vevent()), None, A)
    assert reply is not None and reply.method == "REPLY"
    assert params(components(reply.calendar)[0], A)["PARTSTAT"] == "DECLINED"


def test_deleting_a_declined_copy_sends_nothing() -> None:
    assert attendee_reply(calendar(_answering("DECLINED")), None, A) is None


def test_removing_an_instance_declines_it() -> None:
    """An EXDATE the attendee adds removes that instance for them: declined."""
    before = calendar(vevent(WEEKLY))
    after = calendar(vevent(WEEKLY, f"EXDATE:{SECOND}"))
    check_attendee_change(before, after, A)
    reply = attendee_reply(before, after, A)
    assert reply is not None and reply.recurrence_ids == (SECOND,)
    instance, = components(reply.calendar)
    assert "RRULE" not in instance and params(instance, A)["PARTSTAT"] == "DECLINED"


def test_alarms_transp_and_x_properties_are_the_attendees_and_send_nothing() -> None:
    """§3.2.2.1: an attendee may change their alarms and TRANSP."""
    before = calendar(vevent())
    after = calendar(vevent(ALARM, "TRANSP:TRANSPARENT", "X-CLIENT-COLOR:red",
                            stamp="20251224T000000Z"))
    check_attendee_change(before, after, A)
    assert attendee_reply(before, after, A) is None


@pytest.mark.parametrize("after", [
    vevent(start="DTSTART:20260105T140000Z", end="DTEND:20260105T150000Z"),
    vevent(summary="Something else"),
    vevent("LOCATION:Room 9"),
    vevent(attendees=(ORG_LINE, A_LINE, f"ATTENDEE;PARTSTAT=ACCEPTED:{B}")),
    vevent(attendees=(ORG_LINE, A_LINE)),
    vevent(organizer=f"ORGANIZER:{B}"),
], ids=["dtstart", "summary", "location", "others-partstat", "attendee-removed", "organizer"])
def test_other_changes_are_refused(after: str) -> None:
    """§3.2.2.1 / §3.2.4: allowed-attendee-scheduling-object-change, 403."""
    with pytest.raises(AllowedAttendeeChange) as refused:
        check_attendee_change(calendar(vevent()), calendar(after), A)
    assert refused.value.status == 403
    assert refused.value.element == names.ALLOWED_ATTENDEE_SCHEDULING_OBJECT_CHANGE


def test_an_override_that_moves_its_instance_is_refused() -> None:
    with pytest.raises(AllowedAttendeeChange):
        check_attendee_change(calendar(vevent(WEEKLY)),
                              calendar(vevent(WEEKLY), _instance("ACCEPTED",
                                                                 "DTSTART:20260112T090000Z")),
                              A)


def test_an_override_of_no_instance_is_refused() -> None:
    stray = vevent(rid="RECURRENCE-ID:20260113T100000Z", start="DTSTART:20260113T100000Z",
                   end="DTEND:20260113T110000Z")
    with pytest.raises(AllowedAttendeeChange):
        check_attendee_change(calendar(vevent(WEEKLY)), calendar(vevent(WEEKLY), stray), A)


def test_bringing_back_a_removed_instance_is_refused() -> None:
    with pytest.raises(AllowedAttendeeChange):
        check_attendee_change(calendar(vevent(WEEKLY, f"EXDATE:{SECOND}")),
                              calendar(vevent(WEEKLY)), A)


def test_no_reply_when_the_organizer_is_not_server_scheduled() -> None:
    """§7.1: SCHEDULE-AGENT on the ORGANIZER of an attendee's copy."""
    organizer = f"ORGANIZER;SCHEDULE-AGENT=CLIENT:{ORG}"
    before = calendar(vevent(organizer=organizer))
    after = calendar(vevent(organizer=organizer,
                            attendees=(ORG_LINE, f"ATTENDEE;PARTSTAT=DECLINED:{A}", B_LINE)))
    assert attendee_reply(before, after, A) is None


def test_schedule_force_send_reply_replies_without_a_change() -> None:
    """§7.2: SCHEDULE-FORCE-SEND=REPLY on the ORGANIZER forces a REPLY."""
    before = calendar(vevent())
    after = calendar(vevent(organizer=f"ORGANIZER;CN=Org;SCHEDULE-FORCE-SEND=REPLY:{ORG}"))
    check_attendee_change(before, after, A)
    reply = attendee_reply(before, after, A)
    assert reply is not None and "FORCE-SEND" not in text(reply.calendar)


def test_a_delegate_answers_on_the_attendees_behalf() -> None:
    delegate = "mailto:assistant@example.com"
    reply = attendee_reply(calendar(vevent()), calendar(_answering("TENTATIVE")), A,
                           sent_by=delegate)
    assert reply is not None
    assert params(components(reply.calendar)[0], A)["SENT-BY"] == delegate
