"""The one directory interface; backends (xml, ldap) implement it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal, Protocol

from caldavd.directory.record import Record, RecordType

MatchType = Literal["contains", "starts-with", "equals", "ends-with"]
SearchField = Literal["fullName", "shortName", "emailAddress", "calendarUserAddress"]


class DirectoryUnavailable(Exception):
    """The directory cannot be reached (e.g. LDAP down); answer 503, not 401."""


class DirectoryConfigError(Exception):
    """The directory cannot be opened as configured; the message names the key."""


class Directory(Protocol):
    async def record_by_uid(self, uid: str) -> Record | None: ...

    async def record_by_short_name(self, record_type: RecordType,
                                   short_name: str) -> Record | None: ...

    async def record_by_address(self, address: str) -> Record | None:
        """By calendar user address: mailto:, urn:uuid:, or a principal path."""
        ...

    async def records(self, record_type: RecordType) -> list[Record]: ...

    async def search(self, terms: Sequence[tuple[SearchField, str, MatchType]], *,
                     any_of: bool, record_types: Iterable[RecordType] | None = None,
                     limit: int | None = None) -> list[Record]: ...

    async def authenticate(self, short_name: str, password: str) -> Record | None:
        """The user whose password this is, or None; DirectoryUnavailable if unreachable."""
        ...

    async def groups_of(self, uid: str, *, direct: bool = False) -> set[str]:
        """Uids of every group that has ``uid`` as a member, transitively (or only directly)."""
        ...

    async def members_of(self, uid: str) -> list[Record]:
        """Direct members of a group."""
        ...

    async def close(self) -> None: ...


def matches(value: str, text: str, match_type: MatchType) -> bool:
    """Case-insensitive match as principal-property-search does it (RFC 3744 §9.4)."""
    value, text = value.casefold(), text.casefold()
    if match_type == "equals":
        return value == text
    if match_type == "starts-with":
        return value.startswith(text)
    if match_type == "ends-with":
        return value.endswith(text)
    return text in value


def field_values(record: Record, field: SearchField) -> tuple[str, ...]:
    if field == "fullName":
        return (record.full_name,)
    if field == "shortName":
        return record.short_names
    if field == "emailAddress":
        return record.emails
    return record.calendar_user_addresses
