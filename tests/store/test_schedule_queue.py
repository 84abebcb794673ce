"""The scheduling queue's claims (issue 18, item 8): one UID at a time across claimers
(FOR UPDATE SKIP LOCKED), bursts coalesced, the ledger, back-off, numbers, and object
writes that commit with their claim or not at all."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest

from caldavd.store.errors import NotFound
from caldavd.store.interface import Store
from caldavd.store.model import Calendar, Home, NewCalendar, NewDelivery
from tests.store.builders import count, event

_WORK_SQL = """
INSERT INTO schedule_work (home_id, owner_uid, uid, role, actor_uid, current)
VALUES ($1, 'alice', $2, 'organizer', 'alice', $3) RETURNING id
"""


async def work(db: asyncpg.Connection, home: Home, uid: str, current: str = "c") -> int:
    return int(await db.fetchval(_WORK_SQL, home.id, uid, current))


def message(recipient: str, uid: str, digest: str) -> NewDelivery:
    return NewDelivery(uid=uid, recipient_uid=recipient, sender="mailto:alice@example.com",
                       method="REQUEST", message=f"BEGIN:VCALENDAR {digest}", digest=digest)


async def test_nothing_due_is_none(store: Store) -> None:
    async with store.fan_out() as claim:
        assert claim is None
    async with store.deliver() as delivery:
        assert delivery is None


async def test_a_burst_of_one_uid_is_one_claim(store: Store, db: asyncpg.Connection,
                                               home: Home) -> None:
    ids = [await work(db, home, "m1", f"v{i}") for i in range(3)]
    other = await work(db, home, "m2")
    later = await work(db, home, "m1", "v3")
    async with store.fan_out() as claim:
        assert claim is not None
        assert [w.id for w in claim.work] == [*ids, later]
        assert [w.current for w in claim.work] == ["v0", "v1", "v2", "v3"]
        assert claim.work[0].role == "organizer" and claim.work[0].owner_uid == "alice"
        await claim.done()
    async with store.fan_out() as claim:
        assert claim is not None and [w.id for w in claim.work] == [other]
        await claim.done()
    assert await count(db, "schedule_work") == 0


async def test_concurrent_claimers_never_share_a_uid(store: Store, db: asyncpg.Connection,
                                                     home: Home) -> None:
    await work(db, home, "m1")
    await work(db, home, "m1")
    second_key = await work(db, home, "m2")
    held = asyncio.Event()
    release = asyncio.Event()

    async def first() -> list[str]:
        async with store.fan_out() as claim:
            assert claim is not None
            held.set()
            await release.wait()
            await claim.done()
            return [w.uid for w in claim.work]

    task = asyncio.create_task(first())
    await held.wait()
    async with store.fan_out() as claim:  # the other key, not m1's second row
        assert claim is not None and [w.id for w in claim.work] == [second_key]
        async with store.fan_out() as third:  # m1 held, m2 held: nothing
            assert third is None
    release.set()
    assert await task == ["m1", "m1"]


async def test_a_rolled_back_claim_is_claimable_again(store: Store, db: asyncpg.Connection,
                                                      home: Home) -> None:
    first = await work(db, home, "m1")
    with pytest.raises(RuntimeError):
        async with store.fan_out() as claim:
            assert claim is not None
            await claim.done()
            await claim.queue([message("bob", "m1", "d1")])
            raise RuntimeError("fan-out failed")
    assert await count(db, "schedule_delivery") == 0
    async with store.fan_out() as claim:
        assert claim is not None and [w.id for w in claim.work] == [first]


async def test_postpone_backs_off_the_whole_key(store: Store, db: asyncpg.Connection,
                                                home: Home) -> None:
    first = await work(db, home, "m1")
    await work(db, home, "m1")
    other = await work(db, home, "m2")
    await store.postpone("work", first, 60.0, "recipient unreachable")
    row = await db.fetchrow("SELECT attempts, last_error, not_before - now() AS wait "
                            "FROM schedule_work WHERE id = $1", first)
    assert (row["attempts"], row["last_error"]) == (1, "recipient unreachable")
    assert timedelta(seconds=50) < row["wait"] <= timedelta(seconds=60)
    async with store.fan_out() as claim:  # m1 waits, newer rows of it too
        assert claim is not None and [w.id for w in claim.work] == [other]
        await claim.done()
    async with store.fan_out() as claim:
        assert claim is None
    await store.postpone("work", first, 0.0, "again")
    async with store.fan_out() as claim:
        assert claim is not None and claim.work[0].attempts == 2
    stats = await store.queue_stats()
    assert (stats.work, stats.work_retrying, stats.deliveries) == (2, 1, 0)
    assert stats.work_oldest >= 0.0
    assert await store.drop("work", [first, 99999]) == 1


async def test_deliveries_claim_one_recipient_and_uid_at_a_time(
        store: Store, db: asyncpg.Connection, home: Home) -> None:
    await work(db, home, "m1")
    async with store.fan_out() as claim:
        assert claim is not None
        queued = await claim.queue([message("bob", "m1", "d1"), message("bob", "m1", "d2"),
                                    message("carol", "m1", "d3")])
        assert queued == 3
        await claim.done()
    async with store.deliver() as bob:
        assert bob is not None and bob.delivery.digest == "d1"
        async with store.deliver() as carol:  # bob's second waits for his first
            assert carol is not None and carol.delivery.recipient_uid == "carol"
            assert carol.delivery.sender == "mailto:alice@example.com"
            async with store.deliver() as none:
                assert none is None
        await bob.done()
    assert await count(db, "schedule_delivery") == 2  # carol's stays: not done
    async with store.deliver() as bob:
        assert bob is not None and bob.delivery.digest == "d2"
    stats = await store.queue_stats()
    assert (stats.deliveries, stats.work) == (2, 0)


async def test_the_ledger_makes_a_repeat_a_no_op(store: Store, db: asyncpg.Connection,
                                                 home: Home) -> None:
    await work(db, home, "m1")
    async with store.fan_out() as claim:
        assert claim is not None
        await claim.queue([message("bob", "m1", "d1")])
        await claim.done()
    async with store.deliver() as delivery:
        assert delivery is not None
        assert not await delivery.seen("bob", "d1")
        await delivery.done()
    await work(db, home, "m1")
    async with store.fan_out() as claim:
        assert claim is not None
        assert await claim.seen("bob", "d1") and not await claim.seen("carol", "d1")
        assert await claim.queue([message("bob", "m1", "d1"),
                                  message("carol", "m1", "d1")]) == 1
        await claim.done()
    assert await count(db, "schedule_ledger") == 1
    await db.execute("UPDATE schedule_ledger SET delivered = now() - interval '40 days'")
    assert await store.purge_ledger(timedelta(days=30)) == 1
    assert await store.purge_ledger(timedelta(days=30)) == 0


async def test_a_claims_writes_commit_with_it(store: Store, db: asyncpg.Connection,
                                              home: Home, cal: Calendar) -> None:
    bob = await store.ensure_home("bob")
    bobs = await store.create_calendar(bob, NewCalendar("calendar"))
    await store.put_object(cal, event("m1"))
    await db.execute("INSERT INTO schedule_delivery (uid, recipient_uid, sender, method, "
                     "message, digest) VALUES ('m1', 'bob', 'a', 'REQUEST', 'x', 'd1')")
    for fails in (True, False):
        with pytest.raises(RuntimeError) if fails else _Nothing():
            async with store.deliver() as delivery:
                assert delivery is not None
                assert await delivery.locate_uid("bob", "m1") is None
                target = await delivery.default_calendar("bob")
                assert target is not None and target.id == bobs.id
                copy = await delivery.put(target, event("m1"))
                item = await delivery.add_inbox("bob", event("m1", name="item-1.ics"))
                assert item.uid == "item-1.ics"
                await delivery.done()
                if fails:
                    raise RuntimeError("cancelled half-way")
        rows = (await count(db, "calendar_object WHERE home_id = $1", bob.id),
                await count(db, "schedule_ledger"), await count(db, "schedule_delivery"))
        assert rows == ((0, 0, 1) if fails else (2, 1, 0))
    async with store.fan_out() as none:
        assert none is None
    await work(db, home, "m1")
    async with store.fan_out() as claim:
        assert claim is not None
        found = await claim.locate_uid("bob", "m1")
        assert found is not None and found[1].id == copy.id and found[0].id == bobs.id
        assert found[1].icalendar == copy.icalendar
        assert await claim.locate_uid("nobody", "m1") is None
        await claim.delete(found[0], found[1].name)
        with pytest.raises(NotFound):
            await claim.delete(found[0], found[1].name)
        await claim.done()
    assert await count(db, "calendar_object WHERE home_id = $1", bob.id) == 1  # the inbox


async def test_default_calendar_prefers_the_named_one(store: Store, db: asyncpg.Connection,
                                                      home: Home, cal: Calendar) -> None:
    tasks = await store.create_calendar(home, NewCalendar(
        "tasks", supported_components=frozenset({"VTODO"})))
    later = await store.create_calendar(home, NewCalendar("later"))
    await work(db, home, "m1")
    async with store.fan_out() as claim:
        assert claim is not None
        assert (await claim.default_calendar("alice")) == cal
        chosen = await claim.default_calendar("alice", "later")
        assert chosen is not None and chosen.id == later.id
        todo = await claim.default_calendar("alice", "tasks", component="VTODO")
        assert todo is not None and todo.id == tasks.id
        event_in = await claim.default_calendar("alice", "tasks")  # takes no VEVENT
        assert event_in is not None and event_in.id == cal.id
        assert await claim.default_calendar("nobody") is None
        with pytest.raises(NotFound):
            await claim.add_inbox("nobody", event("x"))  # no such home, so no inbox


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None
