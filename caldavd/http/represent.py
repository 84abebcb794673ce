"""The answer of the writes that store a calendar object (PUT, add-member POST and the
attachment actions): its Schedule-Tag (RFC 6638 §8.2) and, with Prefer:
return=representation (RFC 7240 §4.2), the object."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from caldavd.dav.hrefs import quote_path
from caldavd.http.scheduletag import schedule_tag_header
from caldavd.store import CalendarObject


def wants_representation(request: web.Request) -> bool:
    return "return=representation" in request.headers.get("Prefer", "")


def write_answer(request: web.Request, path: str, obj: CalendarObject, status: int,
            headers: Mapping[str, str]) -> web.Response:
    """The write's answer; with the preference, the object as stored, its ETag and
    Content-Location (200, or 201 for a new one) instead of an empty body.  The ETag is
    sent then even when the stored data is not the body octet for octet: the client
    gets that data with it (RFC 4791 §5.3.4 forbids it only on an empty answer).  A
    scheduling object's answer names its new Schedule-Tag (RFC 6638 §8.2)."""
    headers = {**headers, **schedule_tag_header(obj)}
    if not wants_representation(request):
        return web.Response(status=status, headers=dict(headers))
    return web.Response(
        status=201 if status == 201 else 200, body=(obj.icalendar or "").encode(),
        headers={**headers, "ETag": f'"{obj.etag}"', "Content-Location": quote_path(path),
                 "Content-Type": "text/calendar; charset=utf-8",
                 "Preference-Applied": "return=representation"})
