"""The delegation database's interface, and the names Apple's server gave its groups."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

Access = Literal["read", "write"]
READ_GROUP = "calendar-proxy-read"
WRITE_GROUP = "calendar-proxy-write"


class ProxyDBError(Exception):
    """The delegation database cannot be used (unreachable, or a schema it cannot handle)."""


@dataclass(frozen=True, order=True)
class Assignment:
    """``delegate_uid`` may read (or also write) what ``delegator_uid`` owns."""

    delegator_uid: str
    write: bool
    delegate_uid: str


class ProxyDB(Protocol):
    async def delegates(self, delegator_uid: str, write: bool) -> set[str]:
        """Uids named directly as read (or write) delegates of ``delegator_uid``."""
        ...

    async def set_delegates(self, delegator_uid: str, write: bool,
                            delegate_uids: Iterable[str]) -> None:
        """Replace the read (or write) delegates of ``delegator_uid``, atomically."""
        ...

    async def delegators(self, delegate_uids: Iterable[str], write: bool) -> set[str]:
        """Uids that named any of ``delegate_uids`` as a read (or write) delegate."""
        ...

    async def access(self, delegator_uid: str, delegate_uids: Iterable[str]) -> Access | None:
        """The most any of ``delegate_uids`` was granted by ``delegator_uid``."""
        ...

    async def assignments(self) -> list[Assignment]:
        """Every assignment (tools, migration)."""
        ...

    async def close(self) -> None: ...


def group_name(delegator_uid: str, write: bool) -> str:
    """Apple's name of a proxy group: '<uid>#calendar-proxy-write'."""
    return f"{delegator_uid}#{WRITE_GROUP if write else READ_GROUP}"


def parse_group_name(name: str) -> tuple[str, bool] | None:
    """(delegator uid, write) from a proxy group's name; None for any other name."""
    uid, _, kind = name.rpartition("#")
    if not uid or kind not in (READ_GROUP, WRITE_GROUP):
        return None
    return uid, kind == WRITE_GROUP


def strongest(grants: Iterable[bool]) -> Access | None:
    """'write' if any grant writes, 'read' if there is one, else None."""
    found = list(grants)
    if not found:
        return None
    return "write" if any(found) else "read"
