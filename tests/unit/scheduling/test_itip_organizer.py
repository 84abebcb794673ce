"""The organizer's messages and copy (RFC 6638 §3.2.1, §3.2.8, §3.2.9; RFC 5546 §3.2)."""

from __future__ import annotations

from datetime import UTC, datetime

from caldavd.scheduling.itip import (
    is_significant_change,
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
    C,
    by_recipient,
    calendar,
    components,
    everyone,
    override,
    params,
    text,
    vevent,
)

RESOLVED = {A: "uid-a", B: "uid-b", C: "uid-c", ORG: "uid-org"}


def test_a_new_meeting_requests_every_attendee_but_the_organizer() -> None:
    """§3.2.1.1: a REQUEST to each attendee; never to the organizer listed as one."""
    messages = organizer_messages(None, calendar(vevent(ALARM)), ORG, everyone)
    assert sorted((m.recipient, m.method) for m in messages) == [(A, "REQUEST"),
                                                                 (B, "REQUEST")]
    body = text(messages[0].calendar)
    assert "METHOD:REQUEST" in body and "UID:meeting-1" in body
    assert "BEGIN:VALARM" not in body  # the organizer's reminders stay home
    assert messages[0].recurrence_ids == () and messages[0].sequence == 0


def test_the_organizer_is_known_by_any_spelling() -> None:
    """Addresses compare case-insensitively (RFC 6638 §2.4.1 calendar-user-address-set)."""
    cal = calendar(vevent(attendees=(f"ATTENDEE:{ORG.upper()}", f"ATTENDEE:{A}")))
    assert [m.recipient for m in organizer_messages(None, cal, ORG, everyone)] == [A]


def test_only_local_attendees_get_messages() -> None:
    messages = organizer_messages(None, calendar(vevent()), ORG, lambda a: a == B)
    assert [m.recipient for m in messages] == [B]


def test_a_changed_summary_requests_everyone_and_keeps_partstat() -> None:
    """§3.2.1.2; not a significant change (§3.2.8): the answers stand."""
    before = calendar(vevent())
    after = calendar(vevent(summary="Planning (room 2)"))
    assert not is_significant_change(before, after)
    stored = prepare_organizer_copy(before, after, RESOLVED)
    event = components(stored)[0]
    assert params(event, A)["PARTSTAT"] == "ACCEPTED"
    assert params(event, B)["PARTSTAT"] == "TENTATIVE"
    messages = organizer_messages(before, stored, ORG, everyone)
    assert sorted((m.recipient, m.method) for m in messages) == [(A, "REQUEST"),
                                                                 (B, "REQUEST")]


def test_a_moved_meeting_resets_every_answer_but_the_organizers() -> None:
    """§3.2.8: a new DTSTART asks the attendees again; SEQUENCE goes up (RFC 5546 §2.1.4)."""
    before = calendar(vevent())
    after = calendar(vevent(start="DTSTART:20260105T140000Z", end="DTEND:20260105T150000Z"))
    assert is_significant_change(before, after)
    event = components(prepare_organizer_copy(before, after, RESOLVED))[0]
    assert params(event, A)["PARTSTAT"] == "NEEDS-ACTION"
    assert params(event, A)["RSVP"] == "TRUE"
    assert params(event, B)["PARTSTAT"] == "NEEDS-ACTION"
    assert params(event, ORG)["PARTSTAT"] == "ACCEPTED"
    assert int(str(event["SEQUENCE"])) == 1


def test_a_client_that_bumped_sequence_keeps_its_number() -> None:
    before = calendar(vevent(seq=3))
    after = calendar(vevent(start="DTSTART:20260105T140000Z", end="DTEND:20260105T150000Z",
                            seq=4))
    assert int(str(components(prepare_organizer_copy(before, after, RESOLVED))[0]["SEQUENCE"])) == 4


def test_the_same_instant_in_another_zone_is_not_significant() -> None:
    before = calendar(vevent())
    after = calendar(vevent(start="DTSTART;TZID=Europe/Berlin:20260105T110000",
                            end="DTEND;TZID=Europe/Berlin:20260105T120000"))
    assert not is_significant_change(before, after)


def test_a_longer_meeting_is_significant() -> None:
    before = calendar(vevent())
    after = calendar(vevent(end="DTEND:20260105T113000Z"))
    assert is_significant_change(before, after)


def test_a_removed_attendee_alone_gets_a_cancel() -> None:
    """§3.2.1.2: CANCEL to the attendee removed; the others learn of the new list."""
    before = calendar(vevent())
    after = calendar(vevent(attendees=DEFAULT_ATTENDEES[:2]))
    stored = prepare_organizer_copy(before, after, RESOLVED)
    messages = by_recipient(organizer_messages(before, stored, ORG, everyone))
    assert set(messages) == {(B, "CANCEL"), (A, "REQUEST")}
    cancel = messages[B, "CANCEL"]
    body = text(cancel.calendar)
    assert "METHOD:CANCEL" in body and "STATUS:CANCELLED" in body
    assert f"ATTENDEE;PARTSTAT=TENTATIVE:{B}" in body and A not in body
    assert cancel.recurrence_ids == () and cancel.sequence == 1


def test_a_deleted_meeting_cancels_for_everyone() -> None:
    """§3.2.1.3: removing the organizer's object cancels it, SEQUENCE one higher."""
    messages = organizer_messages(calendar(vevent(seq=2)), None, ORG, everyone)
    assert sorted((m.recipient, m.method) for m in messages) == [(A, "CANCEL"),
                                                                 (B, "CANCEL")]
    assert all(m.sequence == 3 and "SEQUENCE:3" in text(m.calendar) for m in messages)


def test_a_cancelled_status_cancels_for_everyone() -> None:
    before = calendar(vevent())
    after = calendar(vevent("STATUS:CANCELLED"))
    messages = organizer_messages(before, after, ORG, everyone)
    assert sorted((m.recipient, m.method) for m in messages) == [(A, "CANCEL"),
                                                                 (B, "CANCEL")]


def test_an_attendee_of_one_override_gets_only_that_instance() -> None:
    """§3.2.1.2 per instance: C is in the override only; A and B see the series."""
    before = calendar(vevent(WEEKLY))
    after = calendar(vevent(WEEKLY), override(attendees=(*DEFAULT_ATTENDEES, f"ATTENDEE:{C}")))
    messages = by_recipient(organizer_messages(before, after, ORG, everyone))
    assert set(messages) == {(A, "REQUEST"), (B, "REQUEST"), (C, "REQUEST")}
    only = components(messages[C, "REQUEST"].calendar)
    assert [c.get("RECURRENCE-ID").dt for c in only] == [datetime(2026, 1, 12, 10, tzinfo=UTC)]
    assert messages[C, "REQUEST"].recurrence_ids == (SECOND,)
    assert len(components(messages[A, "REQUEST"].calendar)) == 2
    assert messages[A, "REQUEST"].recurrence_ids == ()


def test_the_master_sent_to_an_attendee_left_out_of_an_override_excludes_it() -> None:
    """An instance an attendee is not in is no instance of theirs (RFC 5546 §2.1.5)."""
    cal = calendar(vevent(WEEKLY), override(attendees=DEFAULT_ATTENDEES[:2]))
    messages = by_recipient(organizer_messages(None, cal, ORG, everyone))
    master = components(messages[B, "REQUEST"].calendar)
    assert len(master) == 1 and f"EXDATE:{SECOND}" in text(messages[B, "REQUEST"].calendar)


def test_an_added_exdate_cancels_that_instance_only() -> None:
    """§3.2.1.2: the instance removed is cancelled by its RECURRENCE-ID, answers kept."""
    before = calendar(vevent(WEEKLY))
    after = calendar(vevent(WEEKLY, f"EXDATE:{SECOND}"))
    assert not is_significant_change(before, after)
    stored = prepare_organizer_copy(before, after, RESOLVED)
    assert params(components(stored)[0], A)["PARTSTAT"] == "ACCEPTED"
    messages = organizer_messages(before, stored, ORG, everyone)
    assert sorted((m.recipient, m.method) for m in messages) == [(A, "CANCEL"),
                                                                 (B, "CANCEL")]
    assert messages[0].recurrence_ids == (SECOND,)
    assert OVERRIDE_RID in text(messages[0].calendar)


def test_an_exdate_taken_back_is_significant_and_requested() -> None:
    before = calendar(vevent(WEEKLY, f"EXDATE:{SECOND}"))
    after = calendar(vevent(WEEKLY))
    assert is_significant_change(before, after)
    methods = {m.method for m in organizer_messages(before, after, ORG, everyone)}
    assert methods == {"REQUEST"}


def test_an_attendee_removed_from_one_instance_gets_its_cancel() -> None:
    before = calendar(vevent(WEEKLY), override())
    after = calendar(vevent(WEEKLY), override(attendees=DEFAULT_ATTENDEES[:2]))
    messages = by_recipient(organizer_messages(before, after, ORG, everyone))
    assert messages[B, "CANCEL"].recurrence_ids == (SECOND,)
    assert (A, "CANCEL") not in messages


def test_a_moved_override_is_significant_for_that_instance_only() -> None:
    before = calendar(vevent(WEEKLY))
    after = calendar(vevent(WEEKLY), override())  # 12:00 instead of 10:00
    stored = prepare_organizer_copy(before, after, RESOLVED)
    master, moved = components(stored)
    assert params(master, A)["PARTSTAT"] == "ACCEPTED"
    assert params(moved, A)["PARTSTAT"] == "NEEDS-ACTION"


def test_schedule_agent_client_or_none_gets_no_message_nor_status() -> None:
    """§7.1: only SCHEDULE-AGENT=SERVER (the default) is the server's to schedule."""
    people = (f"ATTENDEE;SCHEDULE-AGENT=CLIENT:{A}", f"ATTENDEE;SCHEDULE-AGENT=NONE:{B}",
              f"ATTENDEE:{C}")
    cal = calendar(vevent(attendees=people))
    assert [m.recipient for m in organizer_messages(None, cal, ORG, everyone)] == [C]
    event = components(prepare_organizer_copy(None, cal, RESOLVED))[0]
    assert "SCHEDULE-STATUS" not in params(event, A)
    assert "SCHEDULE-STATUS" not in params(event, B)
    assert params(event, C)["SCHEDULE-STATUS"] == "1.2"


def test_schedule_force_send_requests_without_a_change_and_is_stripped() -> None:
    """§7.2: forces a REQUEST; never kept in the resource nor sent."""
    before = calendar(vevent())
    forced = calendar(vevent(attendees=(DEFAULT_ATTENDEES[0],
                                        f"ATTENDEE;PARTSTAT=ACCEPTED;RSVP=TRUE;SCHEDULE-FORCE-SEND=REQUEST:{A}",
                                        DEFAULT_ATTENDEES[2])))
    messages = organizer_messages(before, forced, ORG, everyone)
    assert [(m.recipient, m.method) for m in messages] == [(A, "REQUEST")]
    assert "FORCE-SEND" not in text(messages[0].calendar)
    stored = prepare_organizer_copy(before, forced, RESOLVED)
    assert "FORCE-SEND" not in text(stored)
    assert params(components(stored)[0], A)["SCHEDULE-STATUS"] == "1.2"


def test_schedule_status_says_who_could_not_be_found() -> None:
    """§3.2.9: 1.2 delivered to a local user, 3.7 an invalid calendar user."""
    stored = prepare_organizer_copy(None, calendar(vevent()), {A: "uid-a"})
    event = components(stored)[0]
    assert params(event, A)["SCHEDULE-STATUS"] == "1.2"
    assert params(event, B)["SCHEDULE-STATUS"] == "3.7"
    assert "SCHEDULE-STATUS" not in params(event, ORG)


def test_schedule_status_survives_a_client_that_drops_it() -> None:
    before = prepare_organizer_copy(None, calendar(vevent()), RESOLVED)
    after = calendar(vevent(ALARM))  # only an alarm: nobody is sent anything
    event = components(prepare_organizer_copy(before, after, RESOLVED))[0]
    assert params(event, A)["SCHEDULE-STATUS"] == "1.2"


def test_no_message_without_a_change_the_attendees_see() -> None:
    """New DTSTAMP, organizer's alarms and server parameters are no change to send."""
    before = prepare_organizer_copy(None, calendar(vevent()), RESOLVED)
    after = calendar(vevent(ALARM, stamp="20251202T000000Z"))
    assert organizer_messages(before, after, ORG, everyone) == []


def test_an_answer_merged_refreshes_the_others_only() -> None:
    """After a REPLY (merge_reply), the other attendees see the new PARTSTAT."""
    before = calendar(vevent())
    after = calendar(vevent(attendees=(DEFAULT_ATTENDEES[0], f"ATTENDEE;PARTSTAT=DECLINED:{A}",
                                       DEFAULT_ATTENDEES[2])))
    messages = organizer_messages(before, after, ORG, everyone)
    assert [(m.recipient, m.method) for m in messages] == [(B, "REQUEST")]


def test_dtstamp_is_the_callers_clock_when_given() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    messages = organizer_messages(None, calendar(vevent()), ORG, everyone, now=now)
    assert "DTSTAMP:20260101T120000Z" in text(messages[0].calendar)


def test_the_callers_object_is_not_changed() -> None:
    before = calendar(vevent())
    after = calendar(vevent(start="DTSTART:20260105T140000Z", end="DTEND:20260105T150000Z"))
    original = text(after)
    prepare_organizer_copy(before, after, RESOLVED)
    assert text(after) == original


def test_the_organizer_cannot_answer_for_an_attendee() -> None:
    """§3.2.1: another user's PARTSTAT is theirs; a stale copy does not undo a REPLY."""
    before = calendar(vevent())
    forged = calendar(vevent(attendees=(DEFAULT_ATTENDEES[0], f"ATTENDEE;PARTSTAT=DECLINED:{A}",
                                        f"ATTENDEE:{B}")))
    event = components(prepare_organizer_copy(before, forged, RESOLVED))[0]
    assert params(event, A)["PARTSTAT"] == "ACCEPTED"
    assert params(event, B)["PARTSTAT"] == "TENTATIVE"


def test_a_large_meeting_refreshes_everyone_but_the_one_who_answered() -> None:
    """The views are compared per component once, not per pair of attendees."""
    people = [f"ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:u{i}@example.com" for i in range(200)]
    answered = [people[0].replace("NEEDS-ACTION", "ACCEPTED"), *people[1:]]
    messages = organizer_messages(calendar(vevent(attendees=people)),
                                  calendar(vevent(attendees=answered)), ORG, everyone)
    recipients = {m.recipient for m in messages}
    assert len(recipients) == 199 and "mailto:u0@example.com" not in recipients


def test_a_delegate_organises_on_the_organizers_behalf() -> None:
    """A write delegate's change is sent with SENT-BY on the ORGANIZER (RFC 5545
    §3.2.18); the organizer stays the organizer."""
    delegate = "mailto:assistant@example.com"
    messages = organizer_messages(calendar(vevent()), None, ORG, everyone, sent_by=delegate)
    messages += organizer_messages(None, calendar(vevent()), ORG, everyone, sent_by=delegate)
    assert len(messages) == 4
    for message in messages:
        organizer = components(message.calendar)[0]["ORGANIZER"]
        assert str(organizer) == ORG and organizer.params["SENT-BY"] == delegate
