"""The scheduling processor against a real database (issue 18, item 8): two processors
on two pools, as two hosts, drain the queue with every message delivered exactly once,
also when one of them is cancelled in the middle of a delivery; failures back off and
are given up after Scheduling.MaxAttempts; LISTEN/NOTIFY wakes an idle processor."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from caldavd.config.model import SchedulingSettings
from caldavd.ops.stats import ScheduleCounts
from caldavd.scheduling.processor import Processor
from caldavd.store import Deliver, Delivery, FanOut, NewDelivery, Work
from caldavd.store.postgres.migrate import upgrade_to_head
from caldavd.store.postgres.notify import SCHEDULE_CHANNEL, listen
from caldavd.store.postgres.pool import create_pool
from caldavd.store.postgres.store import PostgresStore
from tests.conftest import PgDatabase
from tests.store.builders import event, indexer

SETTINGS = SchedulingSettings(Enabled=True, MaxAttempts=3, RetryBaseSeconds=1,
                              WorkersPerProcess=2, PollSeconds=0.05, LedgerRetentionDays=30)
RECIPIENTS = [f"user{i:02d}" for i in range(1, 6)]
ITEMS = 200


@pytest.fixture
async def hosts(pg_database: PgDatabase) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    """Two stores on pools of their own, with homes (each with its inbox) for the recipients."""
    await upgrade_to_head(pg_database.connect_kwargs)
    pools = [await create_pool(pg_database.connect_kwargs, max_size=4) for _ in range(2)]
    try:
        a, b = (PostgresStore(pool, indexer=indexer) for pool in pools)
        for uid in ["organizer", *RECIPIENTS]:
            await a.ensure_home(uid)
        yield a, b
    finally:
        for pool in pools:
            await pool.close()


async def queue_work(db: asyncpg.Connection, uids: list[str]) -> None:
    home_id = await db.fetchval("SELECT id FROM calendar_home WHERE owner_uid = 'organizer'")
    await db.executemany(
        "INSERT INTO schedule_work (home_id, owner_uid, uid, role, actor_uid, current) "
        "VALUES ($1, 'organizer', $2, 'organizer', 'organizer', 'data')",
        [(home_id, uid) for uid in uids])


async def one_delivery_each(handle: FanOut) -> None:
    """A stand-in fan-out: one message per work row, to a recipient chosen by its UID."""
    messages = [NewDelivery(uid=w.uid, recipient_uid=RECIPIENTS[sum(map(ord, w.uid)) % 5],
                            sender="mailto:organizer@example.com", method="REQUEST",
                            message="BEGIN:VCALENDAR", digest=f"digest-{w.uid}")
                for w in handle.work]
    await handle.queue(messages)
    await handle.done()


async def into_inbox(handle: Deliver) -> None:
    """A stand-in delivery: the message as an inbox item, unless the ledger has it."""
    delivery = handle.delivery
    if not await handle.seen(delivery.recipient_uid, delivery.digest):
        await handle.add_inbox(delivery.recipient_uid,
                               event(delivery.uid, name=f"{delivery.digest}.ics"))
    await handle.done()


async def until(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def drained(db: asyncpg.Connection) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return not await db.fetchval("SELECT (SELECT count(*) FROM schedule_work) + "
                                     "(SELECT count(*) FROM schedule_delivery)")
    return check


async def inbox_items(db: asyncpg.Connection) -> dict[str, int]:
    rows = await db.fetch("SELECT o.name, count(*) AS n FROM calendar_object o "
                          "JOIN calendar_bind b ON b.calendar_id = o.calendar_id "
                          "WHERE b.name = 'inbox' GROUP BY o.name")
    return {r["name"]: r["n"] for r in rows}


def processor(store: PostgresStore, deliver_one: Callable[[Deliver], Awaitable[None]],
              counts: ScheduleCounts) -> Processor:
    return Processor(store, SETTINGS, fan_out_one=one_delivery_each, deliver_one=deliver_one,
                     counters=counts)


async def test_two_hosts_deliver_every_message_exactly_once(
        hosts: tuple[PostgresStore, PostgresStore], db: asyncpg.Connection) -> None:
    uids = [f"meeting-{i:03d}" for i in range(ITEMS)]
    await queue_work(db, uids)
    counts = [ScheduleCounts(), ScheduleCounts()]
    first, second = (processor(s, into_inbox, c) for s, c in zip(hosts, counts, strict=True))
    async with first.running(), second.running():
        await until(drained(db), "the queue to drain")
    items = await inbox_items(db)
    assert items == {f"digest-{uid}.ics": 1 for uid in uids}
    assert await db.fetchval("SELECT count(*) FROM schedule_ledger") == ITEMS
    assert sum(c.counters["deliveries"] for c in counts) == ITEMS
    assert sum(c.counters["fan_outs"] for c in counts) == ITEMS
    assert all(c.counters["deliveries"] for c in counts)  # both hosts worked


async def test_a_host_cancelled_mid_delivery_leaves_it_to_the_other(
        hosts: tuple[PostgresStore, PostgresStore], db: asyncpg.Connection) -> None:
    uids = [f"meeting-{i:03d}" for i in range(ITEMS)]
    await queue_work(db, uids)
    stalled: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def stalls_once(handle: Deliver) -> None:
        """Writes the inbox item, then hangs before done() until cancelled."""
        await into_inbox(handle)
        if not stalled.done():
            stalled.set_result(handle.delivery.digest)
            await asyncio.Event().wait()

    counts = [ScheduleCounts(), ScheduleCounts()]
    first = processor(hosts[0], stalls_once, counts[0])
    second = processor(hosts[1], into_inbox, counts[1])
    async with second.running():
        async with first.running():
            digest = await asyncio.wait_for(stalled, 60)
        # first's loops are cancelled: the stalled claim rolled back, inbox item and all
        await until(drained(db), "the queue to drain")
    items = await inbox_items(db)
    assert items == {f"digest-{uid}.ics": 1 for uid in uids}
    assert items[f"{digest}.ics"] == 1
    assert await db.fetchval("SELECT count(*) FROM schedule_ledger") == ITEMS


async def test_failures_back_off_then_give_up(
        hosts: tuple[PostgresStore, PostgresStore], db: asyncpg.Connection) -> None:
    await queue_work(db, ["flaky", "doomed"])
    tries: dict[str, int] = {}
    given_up: list[tuple[Work | Delivery, str]] = []

    async def fails(handle: FanOut) -> None:
        uid = handle.work[0].uid
        tries[uid] = tries.get(uid, 0) + 1
        if uid == "doomed" or tries[uid] == 1:
            raise RuntimeError(f"{uid} unreachable")
        await handle.done()

    async def record(row: Work | Delivery, error: str) -> None:
        given_up.append((row, error))

    counts = ScheduleCounts()
    worker = Processor(hosts[0], SETTINGS, fan_out_one=fails, gave_up=record, counters=counts)
    steps = 0
    while await worker.step():
        steps += 1
        waits = await db.fetch("SELECT attempts, not_before - now() AS wait FROM schedule_work")
        assert all(w["wait"].total_seconds() <= 2.0 ** w["attempts"] for w in waits)
        await db.execute("UPDATE schedule_work SET not_before = now()")  # skip the wait
    assert steps == 2 + SETTINGS.MaxAttempts
    assert tries == {"flaky": 2, "doomed": SETTINGS.MaxAttempts}
    assert [(row.uid, error) for row, error in given_up] == [
        ("doomed", "RuntimeError: doomed unreachable")]
    assert await db.fetchval("SELECT count(*) FROM schedule_work") == 0
    assert counts.counters["retries"] == 1 + SETTINGS.MaxAttempts - 1  # flaky once, doomed
    assert counts.counters["gave_up"] == 1


async def test_a_retry_waits_its_back_off(hosts: tuple[PostgresStore, PostgresStore],
                                          db: asyncpg.Connection) -> None:
    await queue_work(db, ["slow"])

    async def fails(handle: FanOut) -> None:
        raise RuntimeError("no")

    worker = Processor(hosts[0], SETTINGS, fan_out_one=fails)
    assert await worker.step()
    row = await db.fetchrow("SELECT attempts, last_error, not_before - now() AS wait "
                            "FROM schedule_work")
    assert (row["attempts"], row["last_error"]) == (1, "RuntimeError: no")
    assert 0.5 < row["wait"].total_seconds() <= SETTINGS.RetryBaseSeconds
    assert not await worker.step()  # not due yet


async def test_a_notification_wakes_an_idle_processor(
        hosts: tuple[PostgresStore, PostgresStore], db: asyncpg.Connection,
        pg_database: PgDatabase) -> None:
    slow = dataclasses.replace(SETTINGS, PollSeconds=60.0, WorkersPerProcess=1)
    worker = Processor(hosts[0], slow, fan_out_one=one_delivery_each, deliver_one=into_inbox)
    async with worker.running(listen(pg_database.connect_kwargs, SCHEDULE_CHANNEL,
                                     worker.wake)):
        await asyncio.sleep(0.5)  # the loop has found nothing and waits for a minute
        started = time.monotonic()
        await queue_work(db, ["woken"])
        await until(drained(db), "the notified processor", seconds=10)
        assert time.monotonic() - started < 5
    assert await inbox_items(db) == {"digest-woken.ics": 1}
