"""Directory records: users, groups, locations and resources."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RecordType = Literal["user", "group", "location", "resource"]
RECORD_TYPES: tuple[RecordType, ...] = ("user", "group", "location", "resource")

# RFC 6638 §2.4.2 calendar-user-type values per record type.
CALENDAR_USER_TYPES: dict[RecordType, str] = {
    "user": "INDIVIDUAL", "group": "GROUP", "location": "ROOM", "resource": "RESOURCE",
}


@dataclass(frozen=True)
class Record:
    uid: str
    record_type: RecordType
    short_names: tuple[str, ...]
    full_name: str
    emails: tuple[str, ...] = ()
    members: tuple[str, ...] = ()  # member uids (groups only)
    enabled_for_calendaring: bool = True
    enabled_for_login: bool = True
    # How scheduling requests to this record are answered (augments.xml; RFC 6638 later).
    auto_schedule_mode: str = "none"

    @property
    def short_name(self) -> str:
        return self.short_names[0]

    @property
    def calendar_user_addresses(self) -> tuple[str, ...]:
        """mailto: for every email, then urn:uuid: for the uid (RFC 6638 §2.4.1)."""
        return (*(f"mailto:{e}" for e in self.emails), f"urn:uuid:{self.uid}")

    @property
    def calendar_user_type(self) -> str:
        return CALENDAR_USER_TYPES[self.record_type]
