"""ORGANIZER preconditions of a scheduling object (RFC 6638 §3.1, §3.2.4)."""

from __future__ import annotations

import pytest

from caldavd.dav import names
from caldavd.dav.errors import AllowedOrganizerChange, SameOrganizerInAllComponents, ValidOrganizer
from caldavd.scheduling.itip import (
    check_organizer_change,
    check_same_organizer,
    check_valid_organizer,
)
from tests.unit.scheduling.samples import ORG, WEEKLY, B, calendar, everyone, override, vevent


def test_one_organizer_in_every_component_passes_whatever_its_case() -> None:
    check_same_organizer(calendar(vevent(WEEKLY), vevent(
        rid="RECURRENCE-ID:20260112T100000Z", organizer=f"ORGANIZER:{ORG.upper()}")))


def test_two_organizers_are_refused() -> None:
    cal = calendar(vevent(WEEKLY), vevent(rid="RECURRENCE-ID:20260112T100000Z",
                                          organizer=f"ORGANIZER:{B}"))
    with pytest.raises(SameOrganizerInAllComponents) as refused:
        check_same_organizer(cal)
    assert refused.value.status == 403
    assert refused.value.element == names.SAME_ORGANIZER_IN_ALL_COMPONENTS


def test_an_override_with_attendees_but_no_organizer_is_refused() -> None:
    cal = calendar(vevent(WEEKLY), vevent(rid="RECURRENCE-ID:20260112T100000Z",
                                          organizer=None))
    with pytest.raises(SameOrganizerInAllComponents):
        check_same_organizer(cal)


def test_an_event_without_organizer_or_attendees_is_no_concern() -> None:
    cal = calendar(vevent(organizer=None, attendees=()))
    check_same_organizer(cal)
    check_valid_organizer(cal, everyone)


def test_a_valid_organizer_passes() -> None:
    check_valid_organizer(calendar(vevent(WEEKLY), override()), lambda a: a == ORG)


@pytest.mark.parametrize("organizer", [None, "ORGANIZER:nobody", "ORGANIZER:mailto:"],
                         ids=["missing", "no-scheme", "empty"])
def test_an_invalid_organizer_is_refused(organizer: str | None) -> None:
    with pytest.raises(ValidOrganizer) as refused:
        check_valid_organizer(calendar(vevent(organizer=organizer)), everyone)
    assert refused.value.status == 403 and refused.value.element == names.VALID_ORGANIZER


def test_an_organizer_the_caller_does_not_accept_is_refused() -> None:
    with pytest.raises(ValidOrganizer):
        check_valid_organizer(calendar(vevent()), lambda _a: False)


def test_the_organizer_cannot_change_hands() -> None:
    with pytest.raises(AllowedOrganizerChange) as refused:
        check_organizer_change(calendar(vevent()),
                               calendar(vevent(organizer=f"ORGANIZER:{B}")))
    assert refused.value.element == names.ALLOWED_ORGANIZER_SCHEDULING_OBJECT_CHANGE
    with pytest.raises(AllowedOrganizerChange):
        check_organizer_change(calendar(vevent()), calendar(vevent(organizer=None)))


def test_the_same_organizer_or_none_at_all_may_change_the_rest() -> None:
    check_organizer_change(calendar(vevent()), calendar(vevent(summary="Other")))
    check_organizer_change(calendar(vevent()), calendar(vevent(organizer=None,
                                                               attendees=())))
    check_organizer_change(None, calendar(vevent()))
