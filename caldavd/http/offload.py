"""Heavy calendar work off the event loop: the bounded executor, and giving up on it.

Expansion and recheck of stored objects (REPORTs) run on the executor, at most
``EXPANSION_GATE`` of them at once per worker (a write's parsing, validation and
indexing share the gate, ``caldavd.http.writes``), so the loop keeps answering
every other request, ``/health`` included. aiohttp does not cancel a handler whose client hung up
(``handler_cancellation`` is off), so while the work runs the loop looks at the
connection every ``POLL_SECONDS``: once it is gone (or the handler is
cancelled) the work's ``Budget`` is cancelled, the thread stops at its next
check, and only then is the gate's slot given back; the request ends as a
client hang-up (``ConnectionResetError``, one INFO line in ``guarded``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from aiohttp import web

from caldavd.caldav.budget import Budget, Cancelled
from caldavd.http.context import Context
from caldavd.http.keys import EXPANSION_GATE
from caldavd.store import Offload

T = TypeVar("T")

POLL_SECONDS = 0.2


def client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def offload(ctx: Context, budget: Budget) -> Offload:
    """``off_loop`` as the store takes it, for the work a write or query gives it (its
    index rows)."""
    async def run(work: Callable[[], T]) -> T:
        return await off_loop(ctx, budget, work)
    return run


async def off_loop(ctx: Context, budget: Budget, work: Callable[[], T]) -> T:
    """``work()`` on the executor under the gate; ConnectionResetError when the client
    hung up meanwhile (``work`` must ``budget.check()`` between its steps)."""
    async with ctx.request.app[EXPANSION_GATE]:
        if client_gone(ctx.request):  # while waiting for the gate, or during earlier work
            raise ConnectionResetError("the client hung up during the request")
        future = asyncio.get_running_loop().run_in_executor(None, work)
        try:
            while not future.done():
                await asyncio.wait((future,), timeout=POLL_SECONDS)
                if not future.done() and client_gone(ctx.request):
                    budget.cancel()
        except asyncio.CancelledError:
            budget.cancel()
            await asyncio.wait((future,))  # the slot is free once the thread is
            raise
        try:
            return future.result()
        except Cancelled:
            raise ConnectionResetError("the client hung up during the request") from None
