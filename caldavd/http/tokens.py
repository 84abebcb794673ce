"""Sync tokens (RFC 6578 §3.2) and CTags: derived from the store's revisions.

A token names its collection's id as well as the revision, so a token from a
deleted calendar that was re-created under the same name is refused, not
silently misread.
"""

from __future__ import annotations

import re

from caldavd.dav.errors import ValidSyncToken
from caldavd.store import Calendar, Home

_PREFIX = "data:,caldavd/"
_TOKEN = re.compile(r"^data:,caldavd/(\d+)/(\d+)$")


def ctag(collection_id: int, revision: int) -> str:
    return f"{collection_id}-{revision}"


def sync_token_for_calendar(calendar: Calendar) -> str:
    return f"{_PREFIX}{calendar.id}/{calendar.revision}"


def sync_token_for_home(home: Home, revision: int) -> str:
    return f"{_PREFIX}{home.id}/{revision}"


def make_token(collection_id: int, revision: int) -> str:
    return f"{_PREFIX}{collection_id}/{revision}"


def parse_token(token: str | None, collection_id: int) -> int:
    """The revision in ``token`` (0 for an initial sync); ValidSyncToken if foreign."""
    if not token:
        return 0
    match = _TOKEN.match(token.strip())
    if match is None or int(match.group(1)) != collection_id:
        raise ValidSyncToken("the sync-token was not issued for this collection")
    return int(match.group(2))
