"""OPTIONS (RFC 4918 §10.1, RFC 4791 §5.1): what this server and resource support."""

from __future__ import annotations

from aiohttp import web

from caldavd.http.keys import REGISTRY

# Compliance classes and features claimed only where they work.  Class 2 (LOCK)
# is not claimed: there is no locking.  calendar-proxy: Apple's caldav-proxy §5.1
# (a MUST for a server with the proxy groups); calendar-default-alarms: Apple's
# caldav-defaultalarms (the default-alarm properties are kept as set).
# calendar-auto-schedule (RFC 6638 §2) is not claimed yet: homes have an inbox and an
# outbox, but writes do not deliver invitations until the fan-out and delivery are wired
# (issue 18), and a client seeing the token would leave the sending to the server.
DAV_TOKENS = ("1", "3", "access-control", "calendar-access", "extended-mkcol",
              "calendar-managed-attachments", "calendar-proxy", "calendar-default-alarms")


def allow_header(request: web.Request) -> str:
    return request.app[REGISTRY].allow


async def options(request: web.Request) -> web.StreamResponse:
    return web.Response(status=200, headers={"DAV": ", ".join(DAV_TOKENS),
                                             "Allow": allow_header(request)})


METHODS = {
    "OPTIONS": options,
}
