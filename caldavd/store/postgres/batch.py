"""Coalescing concurrent lookups into one statement.

Every GET, PUT and PROPFIND resolves its URL with one ``locate`` statement.
Under load many requests do that in the same event-loop iteration; sending
one statement for all of them instead of one each saves a round trip per
request (on virtual machines the cross-core wake-up inside ``send()`` costs
more client CPU than anything else in a GET) and PostgreSQL's per-statement
overhead.  Nothing waits for a batch to fill: a lookup is sent at the end of
the loop iteration that asked for it, together with whatever else was asked in
that iteration, so an idle server answers as fast as before.

The statement runs in a task of its own, which would charge its database time
to the request whose lookup scheduled the flush; each caller of the batch is
charged its share instead (``timing.share``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeAlias, TypeVar

from caldavd.store.postgres.timing import CURRENT, DBTimer, share

K = TypeVar("K")
V = TypeVar("V")

# A flush sends at most this many keys in one statement (the rest go in the next).
MAX_BATCH = 64

# A caller's key, the future it awaits, and its request's timer (None outside a request).
_Waiter: TypeAlias = tuple[K, asyncio.Future[V], DBTimer | None]


class Batcher(Generic[K, V]):
    """``await load(key)``: ``fetch(keys)`` runs once for the keys of one loop iteration.

    ``fetch`` returns one value per key, in order.  Its exception goes to every
    caller of that batch; a caller that is cancelled meanwhile is skipped.
    """

    def __init__(self, fetch: Callable[[Sequence[K]], Awaitable[Sequence[V]]],
                 max_batch: int = MAX_BATCH) -> None:
        self._fetch = fetch
        self._max_batch = max_batch
        self._pending: list[_Waiter[K, V]] = []
        self._scheduled = False
        self._running: set[asyncio.Task[None]] = set()

    async def load(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[V] = loop.create_future()
        self._pending.append((key, future, CURRENT.get()))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        pending, self._pending = self._pending, []
        for start in range(0, len(pending), self._max_batch):
            batch = [w for w in pending[start:start + self._max_batch] if not w[1].done()]
            if batch:
                task = asyncio.ensure_future(self._run(batch))
                self._running.add(task)  # a reference, so the task is not collected early
                task.add_done_callback(self._running.discard)

    async def _run(self, batch: list[_Waiter[K, V]]) -> None:
        spent = DBTimer()
        CURRENT.set(spent)  # this task's context: the pool charges the batch, not a caller
        try:
            await self._answer(batch)
        finally:
            share(spent, [timer for _, _, timer in batch])

    async def _answer(self, batch: list[_Waiter[K, V]]) -> None:
        try:
            values = await self._fetch([key for key, _, _ in batch])
        except asyncio.CancelledError:
            for _, future, _ in batch:
                future.cancel()
            raise
        except Exception as exc:  # every waiter of the batch sees the failure
            for _, future, _ in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future, _), value in zip(batch, values, strict=True):
            if not future.done():
                future.set_result(value)
