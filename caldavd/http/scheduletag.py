"""Schedule-Tag on the wire (RFC 6638 §3.2.10): the response header of a scheduling
object resource (§8.2) and the request header that makes a write conditional on it
(§8.3).  The store makes, keeps and matches the tags; they travel quoted, as an
opaque-tag (a quoted-string, like an entity-tag)."""

from __future__ import annotations

from aiohttp import web

from caldavd.dav.errors import PreconditionFailed
from caldavd.store import CalendarObject

SCHEDULE_TAG = "Schedule-Tag"
IF_SCHEDULE_TAG_MATCH = "If-Schedule-Tag-Match"


def quoted(tag: str) -> str:
    return f'"{tag}"'


def if_schedule_tag(request: web.Request) -> str | None:
    """If-Schedule-Tag-Match's tag without its quotes; None without the header.  A tag
    sent unquoted is taken as it is (clients echo what they were given)."""
    value = request.headers.get(IF_SCHEDULE_TAG_MATCH)
    if value is None:
        return None
    value = value.strip()
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        return value[1:-1]
    return value


def check_source_tag(request: web.Request, source: CalendarObject | None) -> None:
    """If-Schedule-Tag-Match on a COPY or MOVE, which applies to the source (RFC 6638
    §8.3): 412 unless ``source`` (None: not a calendar object) has that tag.  Checked
    against the source as the request read it; PUT and DELETE check in the store."""
    wanted = if_schedule_tag(request)
    if wanted is not None and (source is None or source.schedule_tag != wanted):
        raise PreconditionFailed("the source's Schedule-Tag differs (or it has none)")


def schedule_tag_header(obj: CalendarObject) -> dict[str, str]:
    """The Schedule-Tag header of a scheduling object resource; none for another."""
    return {} if obj.schedule_tag is None else {SCHEDULE_TAG: quoted(obj.schedule_tag)}
