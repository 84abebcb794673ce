"""Method dispatch: one small handler per method, looked up in a registry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from caldavd.dav.errors import MethodNotAllowed

MethodHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# DAV compliance classes claimed in OPTIONS (RFC 4918 §10.1): only what works.
DAV_CLASSES = ("1",)


async def options(request: web.Request) -> web.StreamResponse:
    return web.Response(status=200, headers={
        "DAV": ", ".join(DAV_CLASSES),
        "Allow": ", ".join(sorted(METHODS)),
    })


METHODS: dict[str, MethodHandler] = {"OPTIONS": options}


async def dispatch(request: web.Request) -> web.StreamResponse:
    handler = METHODS.get(request.method)
    if handler is None:
        raise MethodNotAllowed(f"{request.method} is not supported",
                               headers={"Allow": ", ".join(sorted(METHODS))})
    return await handler(request)
