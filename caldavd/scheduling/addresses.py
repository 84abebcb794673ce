"""Calendar user addresses (RFC 6638 §2.4.1): every address a record is known by, one
form to compare them in, and the record an address names.

Addresses are compared case-insensitively on the scheme and the address
(``MAILTO:A@Example.com`` is ``mailto:a@example.com``), and a principal URL given as
an http(s) URL on any host is its path, with a trailing slash.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias
from urllib.parse import unquote, urlsplit

from caldavd.directory import Directory, Record
from caldavd.directory.paths import PRINCIPALS, principal_paths

Address: TypeAlias = str
"""A calendar user address as written (``mailto:a@example.com``, ``urn:uuid:...``)."""


def normalise(address: str) -> str:
    """The form in which two addresses of one calendar user are equal."""
    text = address.strip()
    lowered = text.lower()
    if lowered.startswith(("http://", "https://")):
        path = unquote(urlsplit(text).path)
        if path.startswith(PRINCIPALS):
            text = path
    if text.startswith(PRINCIPALS) and not text.endswith("/"):
        text += "/"
    return text.casefold()


def addresses_of(record: Record) -> tuple[str, ...]:
    """calendar-user-address-set (RFC 6638 §2.4.1): ``mailto:`` of every email, the
    ``urn:uuid:`` of the uid, then every principal URL (the principal-URL first)."""
    return (*record.calendar_user_addresses, *principal_paths(record))


def same_address(a: str, b: str) -> bool:
    return normalise(a) == normalise(b)


def is_address_of(address: str, record: Record) -> bool:
    """Whether ``address`` is one of ``record``'s."""
    wanted = normalise(address)
    return any(normalise(a) == wanted for a in addresses_of(record))


def normalised_set(addresses: Iterable[str]) -> frozenset[str]:
    return frozenset(normalise(a) for a in addresses)


async def record_for(directory: Directory, address: str) -> Record | None:
    """The record ``address`` names (mailto:, urn:uuid: or a principal URL), if the
    directory has one; a record not enabled for calendaring is no calendar user."""
    record = await directory.record_by_address(address.strip())
    return record if record is not None and record.enabled_for_calendaring else None
