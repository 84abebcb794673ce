"""Pure iTIP logic (RFC 5546) for implicit scheduling (RFC 6638 §3.2): icalendar
objects in, icalendar objects and :class:`Message` out, no I/O.

The organizer's side is in ``itip_organizer``, the attendee's in ``itip_attendee``,
what a delivered message does to a copy in ``itip_merge`` and the ORGANIZER
preconditions in ``itip_checks``; this module is the interface the processor and the
HTTP layer use."""

from __future__ import annotations

import hashlib

from caldavd.caldav.ical import serialize
from caldavd.scheduling.addresses import normalise
from caldavd.scheduling.itip_attendee import attendee_reply, check_attendee_change
from caldavd.scheduling.itip_checks import (
    check_organizer_change,
    check_same_organizer,
    check_valid_organizer,
)
from caldavd.scheduling.itip_common import Message
from caldavd.scheduling.itip_merge import apply_cancel, apply_request, merge_reply
from caldavd.scheduling.itip_organizer import (
    is_significant_change,
    organizer_messages,
    prepare_organizer_copy,
)

__all__ = [
    "Message",
    "apply_cancel",
    "apply_request",
    "attendee_reply",
    "check_attendee_change",
    "check_organizer_change",
    "check_same_organizer",
    "check_valid_organizer",
    "digest",
    "is_significant_change",
    "merge_reply",
    "organizer_messages",
    "prepare_organizer_copy",
]


def digest(message: Message) -> str:
    """sha256 of who gets what: recipient, method, UID, recurrence ids, SEQUENCE and the
    message text without its DTSTAMPs, so that computing the same message again (a
    retried fan-out, with a new clock) gives the same digest (the delivery ledger)."""
    uids = sorted({str(c.get("UID", "")) for c in message.calendar.subcomponents
                   if "UID" in c})
    body = b"\n".join(line for line in serialize(message.calendar).splitlines()
                      if not line.upper().startswith(b"DTSTAMP"))
    hasher = hashlib.sha256()
    for part in (normalise(message.recipient), message.method.upper(), *uids, "",
                 *message.recurrence_ids, "", str(message.sequence)):
        hasher.update(part.encode() + b"\0")
    hasher.update(body)
    return hasher.hexdigest()
