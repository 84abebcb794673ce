"""MaxRequests: requests in flight per worker, a short queue, then 503.

Up to ``MaxRequests`` requests run at once.  The next ones wait in arrival
order, but at most ``MaxRequests`` of them (``QUEUE_FACTOR``) and for at most
``QUEUE_SECONDS`` each; beyond either bound a request is answered at once
with 503 and ``Retry-After``.  Why these bounds: a request that waits holds
only a coroutine and its connection, so a queue as deep as the pool of running
requests absorbs a burst without turning it into errors; a deeper one would
only make clients wait for an answer another host (or a later retry) gives
sooner.  Ten seconds keeps a waiting request well inside client and load
balancer timeouts (tens of seconds), so a client always gets an answer it can
act on, never a hang; calendar clients and load balancers treat 503 with
Retry-After as "try again later / elsewhere".

Waiting requests are handed a slot directly when one is freed (first come,
first served), so a newcomer cannot overtake the queue.  ``/health`` is not
limited: a load balancer must still see a busy host as alive.  The gate also
tells a stopping worker when its last request is done (``idle``): aiohttp's
own shutdown stops reading from every connection at once, which would cut
off a request whose body is still arriving.

A wrapper of the route handler, not a middleware: with any middleware at all
aiohttp builds a chain per request (bench README, Findings 14).
"""

from __future__ import annotations

import asyncio
from collections import deque

from aiohttp import web

from caldavd.http.errors import Handler
from caldavd.http.keys import CONFIG

QUEUE_FACTOR = 1
QUEUE_SECONDS = 10.0
RETRY_AFTER = "5"


class RequestGate:
    """``limit`` slots and a queue of at most ``queue`` waiters, each waiting ``wait`` s."""

    def __init__(self, limit: int, queue: int, wait: float) -> None:
        self._free = limit
        self._queue = queue
        self._wait = wait
        self._limit = limit
        self._waiters: deque[asyncio.Future[bool]] = deque()
        self._idle: asyncio.Future[None] | None = None

    @property
    def in_flight(self) -> int:
        """Requests admitted or waiting."""
        return self._limit - self._free + len(self._waiters)

    async def idle(self) -> None:
        """Returns once no request is admitted or waiting."""
        while self.in_flight:
            self._idle = asyncio.get_running_loop().create_future()
            await self._idle

    async def enter(self) -> bool:
        """True with a slot held (``leave`` must follow); False when the request is refused."""
        if self._free > 0:
            self._free -= 1
            return True
        if len(self._waiters) >= self._queue:
            return False
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiters.append(waiter)
        expiry = loop.call_later(self._wait, self._expire, waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self.leave()  # handed a slot just as the request was cancelled
            raise
        finally:
            expiry.cancel()
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            self._wake_idle()

    def leave(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)
                return
        self._free += 1
        self._wake_idle()

    def _wake_idle(self) -> None:
        if self._idle is not None and not self._idle.done() and not self.in_flight:
            self._idle.set_result(None)

    def _expire(self, waiter: asyncio.Future[bool]) -> None:
        if not waiter.done():
            waiter.set_result(False)


REQUEST_GATE = web.AppKey("request_gate", RequestGate)


def limited(app: web.Application, handler: Handler) -> Handler:
    """``handler`` run only while the app's gate (``MaxRequests``) admits it; refused:
    503 with Retry-After.  The gate is kept as ``app[REQUEST_GATE]``."""
    limit = app[CONFIG].MaxRequests
    gate = app[REQUEST_GATE] = RequestGate(limit, limit * QUEUE_FACTOR, QUEUE_SECONDS)

    async def limited_handler(request: web.Request) -> web.StreamResponse:
        if not await gate.enter():
            return web.Response(status=503, text="busy: too many requests; retry later\n",
                                headers={"Retry-After": RETRY_AFTER})
        try:
            return await handler(request)
        finally:
            gate.leave()

    return limited_handler
