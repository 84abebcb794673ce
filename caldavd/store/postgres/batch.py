"""Coalescing concurrent lookups into one statement.

Every GET, PUT and PROPFIND resolves its URL with one ``locate`` statement.
Under load many requests do that in the same event-loop iteration; sending
one statement for all of them instead of one each saves a round trip per
request (on virtual machines the cross-core wake-up inside ``send()`` costs
more client CPU than anything else in a GET) and PostgreSQL's per-statement
overhead.  Nothing waits for a batch to fill: a lookup is sent at the end of
the loop iteration that asked for it, together with whatever else was asked in
that iteration, so an idle server answers as fast as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

# A flush sends at most this many keys in one statement (the rest go in the next).
MAX_BATCH = 64


class Batcher(Generic[K, V]):
    """``await load(key)``: ``fetch(keys)`` runs once for the keys of one loop iteration.

    ``fetch`` returns one value per key, in order.  Its exception goes to every
    caller of that batch; a caller that is cancelled meanwhile is skipped.
    """

    def __init__(self, fetch: Callable[[Sequence[K]], Awaitable[Sequence[V]]],
                 max_batch: int = MAX_BATCH) -> None:
        self._fetch = fetch
        self._max_batch = max_batch
        self._pending: list[tuple[K, asyncio.Future[V]]] = []
        self._scheduled = False
        self._running: set[asyncio.Task[None]] = set()

    async def load(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[V] = loop.create_future()
        self._pending.append((key, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        pending, self._pending = self._pending, []
        for start in range(0, len(pending), self._max_batch):
            batch = [(k, f) for k, f in pending[start:start + self._max_batch] if not f.done()]
            if batch:
                task = asyncio.ensure_future(self._run(batch))
                self._running.add(task)  # a reference, so the task is not collected early
                task.add_done_callback(self._running.discard)

    async def _run(self, batch: list[tuple[K, asyncio.Future[V]]]) -> None:
        try:
            values = await self._fetch([key for key, _ in batch])
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # every waiter of the batch sees the failure
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), value in zip(batch, values, strict=True):
            if not future.done():
                future.set_result(value)
