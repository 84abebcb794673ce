"""Free-busy through the scheduling Outbox (RFC 6638 §5).

A POST of a VFREEBUSY REQUEST (RFC 5546 §3.3.2) asks for the busy time of each ATTENDEE
in [DTSTART, DTEND); the answer is a CALDAV:schedule-response with one CALDAV:response
per recipient: its address, a request-status (2.0 with a VFREEBUSY REPLY, 3.7 for an
address nobody here has, 3.8 when the organizer may not see that recipient's busy time,
§6.1.4) and the reply.  ``parse_request`` checks the message (the POST preconditions of
§5); ``replies`` reads the busy time of every recipient with one store statement
(``QueryStore.busy_time_of_homes``) and builds each reply from the index rows and the
instances of the objects the index does not decide, leaving out those the recipient
declined.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from icalendar import Component
from lxml import etree

from caldavd.caldav.budget import Budget
from caldavd.caldav.filter import stored_timezone
from caldavd.caldav.freebusy import expand, freebusy, spend
from caldavd.caldav.ical import check_media_type, parse_calendar
from caldavd.caldav.recurrence import Instance
from caldavd.dav import names
from caldavd.dav.errors import (
    OrganizerAllowed,
    RecipientLimit,
    RecipientSpecified,
    ValidSchedulingMessage,
)
from caldavd.dav.xml import element, serialize
from caldavd.directory import Record
from caldavd.store import HomeBusyTime, Offload, QueryStore

SUCCESS = "2.0;Success"
INVALID_USER = "3.7;Invalid calendar user"
NO_AUTHORITY = "3.8;No authority"


def normalise(address: str) -> str:
    """Addresses compare case-insensitively, scheme and address (SCHEDULING.md)."""
    return address.strip().lower()


@dataclass(frozen=True)
class FreeBusyRequest:
    """A VFREEBUSY REQUEST: ORGANIZER and ATTENDEEs as written (each address once)."""

    organizer: str
    attendees: tuple[str, ...]
    start: datetime  # UTC
    end: datetime
    uid: str


@dataclass(frozen=True)
class Recipient:
    """An ATTENDEE of the request: the record its address names (None: nobody here) and
    whether the organizer may query its busy time (schedule-query-freebusy)."""

    address: str
    record: Record | None
    allowed: bool = True


@dataclass(frozen=True)
class Answer:
    """One CALDAV:response of the schedule-response (RFC 6638 §10.2)."""

    recipient: str
    status: str
    calendar_data: bytes | None = None


def parse_request(body: bytes, content_type: str | None, *,
                  max_recipients: int) -> FreeBusyRequest:
    """The request, or the precondition it fails (RFC 6638 §5): supported-calendar-data,
    valid-calendar-data, valid-scheduling-message, recipient-specified, and more
    ATTENDEEs than ``max_recipients`` (0: no limit) is recipient-limit."""
    check_media_type(content_type)
    cal = parse_calendar(body)
    if str(cal.get("METHOD", "")).strip().upper() != "REQUEST":
        raise ValidSchedulingMessage("a free-busy request has METHOD:REQUEST")
    main = [c for c in cal.subcomponents if c.name != "VTIMEZONE"]
    if len(main) != 1 or main[0].name != "VFREEBUSY":
        raise ValidSchedulingMessage("a free-busy request holds exactly one VFREEBUSY")
    component = main[0]
    for name in ("ORGANIZER", "UID", "DTSTAMP", "DTSTART", "DTEND"):
        if len(_values(component, name)) != 1:
            raise ValidSchedulingMessage(f"the VFREEBUSY needs one {name} (RFC 5546 §3.3.2)")
    start, end = _moment(component, "DTSTART"), _moment(component, "DTEND")
    if end <= start:
        raise ValidSchedulingMessage("the VFREEBUSY's DTEND must be after its DTSTART")
    attendees = _attendees(component)
    if not attendees:
        raise RecipientSpecified("the VFREEBUSY names no ATTENDEE")
    if 0 < max_recipients < len(attendees):
        raise RecipientLimit(f"at most {max_recipients} recipients in one request")
    return FreeBusyRequest(str(component["ORGANIZER"]).strip(), attendees, start, end,
                           str(component["UID"]))


def check_organizer(request: FreeBusyRequest, owner_addresses: Sequence[str]) -> None:
    """The ORGANIZER is one of the Outbox owner's addresses (RFC 6638 §5,
    organizer-allowed)."""
    if normalise(request.organizer) not in {normalise(a) for a in owner_addresses}:
        raise OrganizerAllowed(f"{request.organizer} is not an address of the outbox's "
                               "owner")


def _values(component: Component, name: str) -> list[object]:
    """Every ``name`` property of the component (icalendar gives one bare)."""
    value = component.get(name)
    return [] if value is None else value if isinstance(value, list) else [value]


def _moment(component: Component, name: str) -> datetime:
    """A DATE-TIME with a zone (UTC, RFC 5545 §3.6.4), in UTC."""
    try:
        value = component.decoded(name)
    except Exception:  # untrusted input into a third-party parser: any failure
        value = None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidSchedulingMessage(f"the VFREEBUSY's {name} must be a UTC date-time")
    return value.astimezone(UTC)


def _attendees(component: Component) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for prop in _values(component, "ATTENDEE"):
        address = str(prop).strip()
        if address:
            seen.setdefault(normalise(address), address)
    return tuple(seen.values())


async def replies(store: QueryStore, request: FreeBusyRequest,
                  recipients: Sequence[Recipient], *, max_rows: int, budget: Budget,
                  run: Offload) -> list[Answer]:
    """One answer per recipient, in order; the busy time of every recipient that has a
    record and may be asked, read in one store statement; the replies are built on
    ``run`` (expansion within ``budget``, at most ``max_rows`` index rows in all,
    refused with number-of-matches-within-limits beyond either)."""
    asked = [r.record.uid for r in recipients if r.record is not None and r.allowed]
    busy = await store.busy_time_of_homes(asked, request.start, request.end,
                                          limit=max_rows) if asked else {}
    spend(Budget(max_rows), sum(len(b.periods) for b in busy.values()),
          "busy periods than MaxFreeBusyRows")
    built = await run(functools.partial(_build_all, request, recipients, busy, budget))
    return [Answer(r.address, *built[i]) for i, r in enumerate(recipients)]


def _build_all(request: FreeBusyRequest, recipients: Sequence[Recipient],
               busy: dict[str, HomeBusyTime], budget: Budget,
               ) -> list[tuple[str, bytes | None]]:
    """(status, reply) of each recipient (on the executor)."""
    result: list[tuple[str, bytes | None]] = []
    for recipient in recipients:
        record = recipient.record
        if record is None:
            result.append((INVALID_USER, None))
        elif not recipient.allowed:
            result.append((NO_AUTHORITY, None))
        else:
            result.append((SUCCESS, _reply(request, recipient.address, record,
                                           busy[record.uid], budget)))
    return result


def _reply(request: FreeBusyRequest, address: str, record: Record, busy: HomeBusyTime,
           budget: Budget) -> bytes:
    """The recipient's VFREEBUSY REPLY (RFC 5546 §3.3.3)."""
    objects = [(text, stored_timezone(zone) or UTC) for text, zone in busy.to_expand]
    mine = frozenset(normalise(a) for a in (*record.calendar_user_addresses, address))
    batches = expand(objects, request.start, request.end, budget,
                     keep=functools.partial(_attending, mine))
    return freebusy(batches, request.start, request.end, indexed=busy.periods,
                    organizer=request.organizer, attendees=(address,), uid=request.uid,
                    method="REPLY")


def _attending(addresses: frozenset[str], instance: Instance) -> bool:
    """False when the recipient declined this instance (PARTSTAT=DECLINED on its
    ATTENDEE): declined meetings are not busy time."""
    for prop in _values(instance.component, "ATTENDEE"):
        params = getattr(prop, "params", {})
        if (normalise(str(prop)) in addresses
                and str(params.get("PARTSTAT", "")).upper() == "DECLINED"):
            return False
    return True


def schedule_response(answers: Sequence[Answer]) -> bytes:
    """The CALDAV:schedule-response body (RFC 6638 §10.1)."""
    root = etree.Element(names.SCHEDULE_RESPONSE, nsmap=names.NSMAP)
    for answer in answers:
        children = [element(names.RECIPIENT, children=[element(names.HREF, answer.recipient)]),
                    element(names.REQUEST_STATUS, answer.status)]
        if answer.calendar_data is not None:
            children.append(element(names.CALENDAR_DATA, answer.calendar_data.decode()))
        root.append(element(names.SCHEDULE_RESPONSE_RESPONSE, children=children))
    return serialize(root)


__all__ = ["Answer", "FreeBusyRequest", "Recipient", "check_organizer",
           "parse_request", "replies", "schedule_response"]
