"""The delivery ledger's digest (SCHEDULING.md: exactly once)."""

from __future__ import annotations

from datetime import UTC, datetime

from caldavd.scheduling.itip import digest, organizer_messages
from tests.unit.scheduling.samples import ORG, calendar, everyone, vevent


def _digests(cal_text: str, now: datetime | None = None) -> list[str]:
    cal = calendar(cal_text)
    return [digest(m) for m in organizer_messages(None, cal, ORG, everyone, now=now)]


def test_the_same_message_has_the_same_digest_whatever_its_dtstamp() -> None:
    assert _digests(vevent()) == _digests(vevent(), now=datetime(2030, 1, 1, tzinfo=UTC))


def test_each_recipient_has_its_own_digest() -> None:
    first, second = _digests(vevent())
    assert first != second


def test_another_sequence_or_partstat_is_another_digest() -> None:
    base = _digests(vevent())
    assert _digests(vevent(seq=1)) != base
    changed = vevent(attendees=("ATTENDEE;PARTSTAT=DECLINED:mailto:org@example.com",
                                "ATTENDEE;PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:a@example.com",
                                "ATTENDEE;PARTSTAT=TENTATIVE:mailto:b@example.com"))
    assert _digests(changed) != base
