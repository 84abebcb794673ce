"""The scheduling queue's processor: claim loops in every worker process, on every host.

Each of ``Scheduling.WorkersPerProcess`` loops claims fan-out work, then a
delivery, through the store (``ScheduleStore``: one transaction per claim, one UID
at a time across all claimers), and hands each claim to ``fan_out_one`` or
``deliver_one``, which do their reads and writes through the claim's handle and
call its ``done()``.  The claim commits when they return; when they raise, it
rolls back (nothing of it happened) and the row is postponed by
``RetryBaseSeconds`` doubled with each try.  After ``MaxAttempts`` tries the rows
are dropped and ``gave_up(row, error)`` is told.  A loop that finds nothing waits
for a wake-up (``wake``, called for each NOTIFY on the queue's channel) or
``PollSeconds``, whichever comes first.  Cancelling ``run`` (or leaving
``running``) stops the loops; a claim in progress rolls back, to be claimed again
by any other processor.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol

from caldavd.config.model import SchedulingSettings
from caldavd.store import (
    Deliver,
    Delivery,
    FanOut,
    QueueStats,
    ScheduleStore,
    ScheduleTable,
    StoreUnavailable,
    Work,
)

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 3600.0
STATS_SECONDS = 5.0  # how often the queue's numbers are read for /stats
TROUBLE_SECONDS = 5.0  # a loop's pause after the store failed it

FanOutOne = Callable[[FanOut], Awaitable[None]]
DeliverOne = Callable[[Deliver], Awaitable[None]]
GaveUp = Callable[[Work | Delivery, str], Awaitable[None]]


class Counters(Protocol):
    """Where the processor counts (``caldavd.ops.stats.ScheduleCounts``)."""

    def count(self, event: str, n: int = 1) -> None:
        """``event``: fan_outs, deliveries, retries or gave_up."""
        ...

    def queue(self, stats: QueueStats) -> None: ...


class _NoCounters:
    def count(self, event: str, n: int = 1) -> None:
        pass

    def queue(self, stats: QueueStats) -> None:
        pass


async def just_done(handle: FanOut | Deliver) -> None:
    """The default of ``fan_out_one`` and ``deliver_one``: the claim is done, nothing sent."""
    await handle.done()


async def log_gave_up(row: Work | Delivery, error: str) -> None:
    """The default of ``gave_up``: a warning."""
    log.warning("scheduling gave up on %s %d (UID %s): %s", type(row).__name__.lower(),
                row.id, row.uid, error)


def coalesced(work: Sequence[Work]) -> Work:
    """A claim's rows as one: the oldest, with the data after the newest."""
    return dataclasses.replace(work[0], current=work[-1].current)


def backoff(settings: SchedulingSettings, tries: int) -> float:
    """Seconds before try ``tries`` + 1: RetryBaseSeconds doubled with each try."""
    return min(settings.RetryBaseSeconds * 2.0 ** (tries - 1), MAX_BACKOFF_SECONDS)


def describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclasses.dataclass
class Processor:
    """The claim loops of one worker process."""

    store: ScheduleStore
    settings: SchedulingSettings
    fan_out_one: FanOutOne = just_done
    deliver_one: DeliverOne = just_done
    gave_up: GaveUp = log_gave_up
    counters: Counters = dataclasses.field(default_factory=_NoCounters)
    _wakes: list[asyncio.Event] = dataclasses.field(default_factory=list, init=False)

    def wake(self) -> None:
        """Work was queued: every idle loop claims at once."""
        for event in self._wakes:
            event.set()

    @contextlib.asynccontextmanager
    async def running(self, *alongside: Awaitable[None]) -> AsyncIterator[None]:
        """The loops run while the block does (and ``alongside``: what wakes them);
        cancelled, and waited for, at its end."""
        task = asyncio.create_task(self.run(*alongside))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self, *alongside: Awaitable[None]) -> None:
        """Claim until cancelled (``alongside`` too)."""
        loops = [self._loop() for _ in range(self.settings.WorkersPerProcess)]
        await asyncio.gather(*loops, self._watch(), *alongside)

    async def _loop(self) -> None:
        event = asyncio.Event()
        self._wakes.append(event)
        try:
            while True:
                event.clear()
                try:
                    worked = await self.step()
                except Exception as exc:  # the store is away (or a bug): later again
                    _log_trouble(exc)
                    await asyncio.sleep(TROUBLE_SECONDS)
                    continue
                if not worked:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(event.wait(), self.settings.PollSeconds)
        finally:
            self._wakes.remove(event)

    async def step(self) -> bool:
        """One claim of fan-out work and one of a delivery; whether there was either."""
        fanned = await self.fan_out()
        delivered = await self.deliver()
        return fanned or delivered

    async def fan_out(self) -> bool:
        """Claim and fan out one UID's work; whether there was any."""
        claimed: list[Work] = []
        try:
            async with self.store.fan_out() as claim:
                if claim is None:
                    return False
                claimed = list(claim.work)
                await self.fan_out_one(claim)
        except Exception as exc:
            if not claimed:  # the claim itself failed: no row to blame
                raise
            await self._failed("work", coalesced(claimed), [w.id for w in claimed], exc)
            return True
        self.counters.count("fan_outs", len(claimed))
        return True

    async def deliver(self) -> bool:
        """Claim and deliver one message; whether there was one."""
        claimed: Delivery | None = None
        try:
            async with self.store.deliver() as claim:
                if claim is None:
                    return False
                claimed = claim.delivery
                await self.deliver_one(claim)
        except Exception as exc:
            if claimed is None:
                raise
            await self._failed("delivery", claimed, [claimed.id], exc)
            return True
        self.counters.count("deliveries")
        return True

    async def _failed(self, table: ScheduleTable, row: Work | Delivery, ids: list[int],
                      exc: Exception) -> None:
        """Postpone the claim's rows, or drop them after the last try."""
        error, tries = describe(exc), row.attempts + 1
        if tries < self.settings.MaxAttempts:
            log.info("scheduling %s %d failed (try %d): %s", table, row.id, tries, error)
            await self.store.postpone(table, ids[0], backoff(self.settings, tries), error)
            self.counters.count("retries")
            return
        await self.store.drop(table, ids)
        self.counters.count("gave_up")
        try:
            await self.gave_up(row, error)
        except Exception:  # a bug in the callback must not stop the loop
            log.exception("scheduling: gave_up failed for %s %d", table, row.id)

    async def _watch(self) -> None:
        """The queue's numbers into the counters, every STATS_SECONDS."""
        while True:
            with contextlib.suppress(StoreUnavailable):
                self.counters.queue(await self.store.queue_stats())
            await asyncio.sleep(STATS_SECONDS)


def _log_trouble(exc: Exception) -> None:
    if isinstance(exc, StoreUnavailable):
        log.warning("scheduling paused: %s", exc)
    else:
        log.exception("scheduling loop failed; retrying")
