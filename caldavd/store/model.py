"""What the store hands out and takes in: plain frozen values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

BindMode = Literal["own", "read", "write"]


@dataclass(frozen=True)
class Home:
    id: int
    owner_uid: str
    created: datetime


@dataclass(frozen=True)
class Calendar:
    """A calendar as bound in one home under ``name``."""

    id: int
    home_id: int
    owner_home_id: int
    name: str
    mode: BindMode
    supported_components: frozenset[str] | None  # None = every type
    created: datetime
    modified: datetime
    revision: int  # highest revision of the calendar (CTag and sync token derive from it)
    purged_revision: int = 0  # tombstones up to this revision are gone (older tokens invalid)


@dataclass(frozen=True)
class CalendarObject:
    id: int
    calendar_id: int
    name: str
    uid: str
    component_type: str
    etag: str
    size: int
    organizer: str | None
    schedule_tag: str | None
    created: datetime
    modified: datetime
    icalendar: str | None = field(default=None, repr=False)  # None unless asked for


class Listed(Protocol):
    """A calendar object as a listing shows it: no dates, no data, so cheap to fetch by
    the thousand (a Depth 1 PROPFIND, a sync report).  A ``CalendarObject`` is one; the
    rows ``Store.listing`` returns are others."""

    @property
    def name(self) -> str: ...

    @property
    def etag(self) -> str: ...

    @property
    def component_type(self) -> str: ...

    @property
    def size(self) -> int: ...


@dataclass(frozen=True)
class InstanceRow:
    """One time-range index row (RFC 4791 §9.9 window of one instance), UTC."""

    start: datetime
    end: datetime
    floating: bool
    transparent: bool
    fbtype: str


@dataclass(frozen=True)
class ObjectWrite:
    """A validated calendar object, with its index rows computed by ``caldavd.caldav``."""

    name: str
    uid: str
    component_type: str
    icalendar: str
    instances: Sequence[InstanceRow] = ()
    indexed_until: datetime | None = None  # None: every instance is in ``instances``
    organizer: str | None = None
    schedule_tag: str | None = None


@dataclass(frozen=True)
class NewCalendar:
    name: str
    supported_components: frozenset[str] | None = None
    properties: dict[str, str] = field(default_factory=dict)  # Clark name -> XML text


@dataclass(frozen=True)
class Change:
    name: str
    revision: int
    deleted: bool


@dataclass(frozen=True)
class Candidate:
    """A calendar-query prefilter result; ``exact`` = no in-memory recheck needed."""

    object: CalendarObject
    exact: bool
    indexed_until: datetime | None = None  # the object's index stops here (None: complete)


@dataclass(frozen=True)
class PlainResource:
    """A plain WebDAV file or folder in a home; ``path`` relative to the home."""

    id: int
    path: str
    is_collection: bool
    content_type: str | None
    etag: str
    size: int
    created: datetime
    modified: datetime
    content: bytes | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]
