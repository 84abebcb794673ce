"""Messages applied to copies (RFC 5546 §3.2.2, §3.2.3, §3.2.5; RFC 6638 §3.2.2, §3.2.8)."""

from __future__ import annotations

from caldavd.scheduling.itip import (
    apply_cancel,
    apply_request,
    attendee_reply,
    merge_reply,
    organizer_messages,
    prepare_organizer_copy,
)
from tests.unit.scheduling.samples import (
    ALARM,
    DEFAULT_ATTENDEES,
    ORG,
    OVERRIDE_RID,
    SECOND,
    WEEKLY,
    A,
    B,
    attendee,
    by_recipient,
    calendar,
    components,
    everyone,
    override,
    params,
    text,
    vevent,
)

ORG_LINE, A_LINE, B_LINE = DEFAULT_ATTENDEES
DECLINING = (ORG_LINE, f"ATTENDEE;PARTSTAT=DECLINED:{A}", B_LINE)


def test_a_first_request_is_the_new_copy_without_method() -> None:
    """RFC 4791 §4.1: no METHOD in a calendar object resource."""
    message = organizer_messages(None, calendar(vevent()), ORG, everyone)[0]
    copy = apply_request(None, message.calendar, A)
    assert "METHOD" not in copy and len(components(copy)) == 1


def test_a_request_keeps_the_attendees_alarms_and_transp() -> None:
    existing = calendar(vevent(ALARM, "TRANSP:TRANSPARENT"))
    message = organizer_messages(calendar(vevent()), calendar(vevent(summary="New")), ORG,
                                 everyone)[0]
    event, = components(apply_request(existing, message.calendar, A))
    assert str(event["SUMMARY"]) == "New"
    assert str(event["TRANSP"]) == "TRANSPARENT"
    assert [sub.name for sub in event.subcomponents] == ["VALARM"]


def test_a_new_override_inherits_the_alarm_of_the_master() -> None:
    existing = calendar(vevent(WEEKLY, ALARM))
    message = organizer_messages(calendar(vevent(WEEKLY)),
                                 calendar(vevent(WEEKLY), override(summary="Moved")), ORG,
                                 everyone)[0]
    copy = apply_request(existing, message.calendar, A)
    assert [[s.name for s in c.subcomponents] for c in components(copy)] == [["VALARM"]] * 2


def test_an_answer_stands_through_an_insignificant_request() -> None:
    """A REQUEST sent before the organizer merged the REPLY does not undo the answer."""
    existing = calendar(vevent(attendees=DECLINING))
    message = organizer_messages(calendar(vevent()), calendar(vevent(summary="New")), ORG,
                                 everyone)[0]
    event, = components(apply_request(existing, message.calendar, A))
    assert params(event, A)["PARTSTAT"] == "DECLINED"


def test_a_significant_request_asks_again() -> None:
    """§3.2.8: after a reschedule the attendee's answer is NEEDS-ACTION again."""
    existing = calendar(vevent(attendees=DECLINING))
    moved = prepare_organizer_copy(calendar(vevent()),
                                   calendar(vevent(start="DTSTART:20260105T140000Z",
                                                   end="DTEND:20260105T150000Z")), {})
    message = by_recipient(organizer_messages(calendar(vevent()), moved, ORG,
                                              everyone))[A, "REQUEST"]
    event, = components(apply_request(existing, message.calendar, A))
    assert params(event, A)["PARTSTAT"] == "NEEDS-ACTION"


def test_a_cancel_of_the_event_deletes_the_copy() -> None:
    message = organizer_messages(calendar(vevent()), None, ORG, everyone)[0]
    assert apply_cancel(calendar(vevent()), message.calendar) is None
    assert apply_cancel(None, message.calendar) is None


def test_a_cancel_of_an_instance_removes_it_from_the_copy() -> None:
    """RFC 5546 §3.2.5: the override goes, the master excludes the instance."""
    existing = calendar(vevent(WEEKLY), override())
    message = organizer_messages(calendar(vevent(WEEKLY), override()),
                                 calendar(vevent(WEEKLY, f"EXDATE:{SECOND}")), ORG,
                                 everyone)
    cancel = by_recipient(message)[A, "CANCEL"]
    copy = apply_cancel(existing, cancel.calendar)
    assert copy is not None
    master, = components(copy)
    assert f"EXDATE:{SECOND}" in text(copy) and "RECURRENCE-ID" not in master


def test_cancelling_the_only_instance_of_a_copy_deletes_it() -> None:
    only = calendar(override())
    cancel = organizer_messages(only, None, ORG, everyone)[0]
    assert cancel.recurrence_ids == (SECOND,)
    assert apply_cancel(only, cancel.calendar) is None


def test_a_reply_sets_that_attendees_partstat_and_schedule_status() -> None:
    """RFC 6638 §3.2.9: SCHEDULE-STATUS 2.0 once the REPLY is processed."""
    reply = attendee_reply(calendar(vevent()),
                           calendar(vevent(attendees=DECLINING)), A)
    assert reply is not None
    merged = merge_reply(calendar(vevent(summary="Organizer's")), reply.calendar, A)
    event, = components(merged)
    assert params(event, A)["PARTSTAT"] == "DECLINED"
    assert params(event, A)["SCHEDULE-STATUS"] == "2.0"
    assert params(event, B)["PARTSTAT"] == "TENTATIVE"
    assert str(event["SUMMARY"]) == "Organizer's"


def test_a_reply_for_one_instance_makes_an_override_in_the_organizers_copy() -> None:
    declined = vevent(rid=OVERRIDE_RID, start="DTSTART:20260112T100000Z",
                      end="DTEND:20260112T110000Z", attendees=DECLINING)
    reply = attendee_reply(calendar(vevent(WEEKLY)), calendar(vevent(WEEKLY), declined), A)
    assert reply is not None and reply.recurrence_ids == (SECOND,)
    master, instance = components(merge_reply(calendar(vevent(WEEKLY)), reply.calendar, A))
    assert params(master, A)["PARTSTAT"] == "ACCEPTED"
    assert params(instance, A)["PARTSTAT"] == "DECLINED"
    assert str(instance["UID"]) == "meeting-1" and "RRULE" not in instance


def test_a_reply_for_no_instance_changes_nothing() -> None:
    stray = vevent(rid="RECURRENCE-ID:20260113T100000Z", start="DTSTART:20260113T100000Z",
                   end="DTEND:20260113T110000Z", attendees=DECLINING)
    reply = calendar(stray, method="REPLY")
    merged = merge_reply(calendar(vevent(WEEKLY)), reply, A)
    assert len(components(merged)) == 1
    assert params(components(merged)[0], A)["PARTSTAT"] == "ACCEPTED"


def test_invitation_answer_and_refresh_end_to_end() -> None:
    """Organizer invites, A declines, the organizer's copy merges, B alone is refreshed."""
    first = prepare_organizer_copy(None, calendar(vevent()), {A: "a", B: "b"})
    invite = by_recipient(organizer_messages(None, first, ORG, everyone))[A, "REQUEST"]
    mine = apply_request(None, invite.calendar, A)
    answered = mine.copy(recursive=True)
    attendee(components(answered)[0], A).params["PARTSTAT"] = "DECLINED"

    reply = attendee_reply(mine, answered, A)
    assert reply is not None
    merged = merge_reply(first, reply.calendar, A)
    refresh = organizer_messages(first, merged, ORG, everyone)
    assert [(m.recipient, m.method) for m in refresh] == [(B, "REQUEST")]
    assert f"PARTSTAT=DECLINED:{A}" in text(refresh[0].calendar)
