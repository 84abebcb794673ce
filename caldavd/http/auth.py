"""HTTP Basic authentication (RFC 7617) against the directory.

Every request but the health check and the well-known redirect must authenticate
(``authenticated`` wraps the one route of everything else); failures get 401 with a
``WWW-Authenticate`` challenge.  Passwords never reach a log line.
"""

from __future__ import annotations

import base64

from aiohttp import web

from caldavd.dav.errors import Unauthorized
from caldavd.directory import Record
from caldavd.http.context import attach_context
from caldavd.http.errors import Handler
from caldavd.http.keys import CONFIG, DIRECTORY, PRINCIPAL

REALM = "caldavd"


def challenge() -> Unauthorized:
    return Unauthorized("authentication required",
                        headers={"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'})


def parse_basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except ValueError:  # not Base64 (binascii.Error, or non-ASCII text), not UTF-8
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


async def authenticate(request: web.Request) -> Record:
    if not request.app[CONFIG].Authentication.Basic.Enabled:
        raise challenge()
    credentials = parse_basic(request.headers.get("Authorization", ""))
    if credentials is None:
        raise challenge()
    record = await request.app[DIRECTORY].authenticate(*credentials)
    if record is None:
        raise challenge()
    return record


def authenticated(handler: Handler) -> Handler:
    """``handler`` for authenticated requests only (the route of everything but the
    health check and the well-known redirect; see ``errors.guarded`` for why not
    a middleware)."""

    async def authenticated_handler(request: web.Request) -> web.StreamResponse:
        request[PRINCIPAL] = principal = await authenticate(request)
        attach_context(request, principal)
        return await handler(request)

    return authenticated_handler
