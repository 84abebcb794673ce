"""GET /health: for load balancers; no authentication."""

from __future__ import annotations

from aiohttp import web

from caldavd.http.keys import SCHEMA_STATUS, STORE
from caldavd.store import StoreUnavailable


async def health(request: web.Request) -> web.Response:
    try:
        await request.app[STORE].ping()
    except StoreUnavailable:
        return web.json_response({"status": "unavailable", "database": "unavailable"},
                                 status=503, headers={"Retry-After": "10"})
    current, head = request.app[SCHEMA_STATUS]
    return web.json_response({"status": "ok", "database": "ok", "schema": current,
                              "head": head})
