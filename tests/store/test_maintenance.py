"""Database upkeep (issue #8 item 4): the job is single-flight across hosts, purges
only what it should, analyses what changed, and sweeps orphaned attachment files."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from caldavd.dav import names
from caldavd.ops.upkeep import attachments_task, check
from caldavd.store.errors import InvalidSyncToken
from caldavd.store.interface import Store
from caldavd.store.model import Calendar, Home, NewCalendar
from caldavd.store.postgres.maintenance import (
    FAILED,
    LOCK_KEY,
    NOT_DUE,
    RAN,
    Report,
    Result,
    Task,
    analyze_task,
    job_connect_kwargs,
    owned,
    purge_task,
    run_job,
)
from tests.conftest import PgDatabase, free_port
from tests.functional.conftest import CAL01, config_for, serving
from tests.functional.conftest import event as http_event
from tests.store.builders import event
from tests.waiting import until

LIFETIME = timedelta(days=14)
DAY = timedelta(days=1)


async def job(db: PgDatabase, tasks: Sequence[Task], node: str = "host-a", *,
              force: bool = False) -> Report:
    """One run of the job, on a connection of its own, as a host runs it."""
    conn = await asyncpg.connect(**job_connect_kwargs(db.connect_kwargs, node))
    async with owned(conn):
        return await run_job(conn, node, tasks, force=force)


def purge(batch: int = 5000) -> Task:
    return purge_task(timedelta(hours=6), LIFETIME, batch)


async def age(db: asyncpg.Connection, collection_id: int, name: str, days: int) -> None:
    await db.execute("UPDATE revision SET modified = now() - make_interval(days => $3) "
                     "WHERE collection_id = $1 AND name = $2", collection_id, name, days)


async def rows(db: asyncpg.Connection, collection_id: int) -> dict[str, tuple[int, bool]]:
    found = await db.fetch("SELECT name, revision, deleted FROM revision "
                           "WHERE collection_id = $1", collection_id)
    return {r["name"]: (r["revision"], r["deleted"]) for r in found}


async def floor_of(db: asyncpg.Connection, table: str, row_id: int) -> int:
    return int(await db.fetchval(f"SELECT purged_revision FROM {table} WHERE id = $1", row_id))


async def token(store: Store, cal: Calendar) -> int:
    return (await store.changes_since(cal, 0))[1]




# -- purging sync tombstones ---------------------------------------------------------------


async def test_purge_takes_old_tombstones_only(store: Store, cal: Calendar,
                                               db: asyncpg.Connection,
                                               pg_database: PgDatabase) -> None:
    for uid in ("live", "old", "young", "later"):
        await store.put_object(cal, event(uid))
    before_old = await token(store, cal)
    await store.delete_object(cal, "old.ics")
    at_old = await token(store, cal)
    await store.delete_object(cal, "young.ics")
    await store.put_object(cal, event("later", summary="again"))
    await age(db, cal.id, "old.ics", 30)
    await age(db, cal.id, "live.ics", 30)  # old but live: never purged
    before = await rows(db, cal.id)

    report = await job(pg_database, [purge()])

    assert [(o.task, o.state) for o in report.outcomes] == [("purge", RAN)]
    assert report.outcomes[0].result["tombstones"] == 1
    after = await rows(db, cal.id)
    assert set(before) - set(after) == {"old.ics"}
    assert {k: v for k, v in after.items() if k != ""} == {
        k: v for k, v in before.items() if k not in ("", "old.ics")}
    # Tokens older than the purged deletion are refused (RFC 6578 §3.2); the token
    # that saw it stays valid and gets exactly what happened since.
    assert await floor_of(db, "calendar", cal.id) == at_old - 1
    with pytest.raises(InvalidSyncToken):
        await store.changes_since(cal, before_old)
    changes, _ = await store.changes_since(cal, at_old)
    assert sorted((c.name, c.deleted) for c in changes) == [
        ("later.ics", False), ("young.ics", True)]


async def test_purging_the_newest_row_keeps_the_token(store: Store, home: Home,
                                                      cal: Calendar, db: asyncpg.Connection,
                                                      pg_database: PgDatabase) -> None:
    await store.put_object(cal, event("a"))
    before = await token(store, cal)
    await store.delete_object(cal, "a.ics")
    newest = await token(store, cal)
    await age(db, cal.id, "a.ics", 15)

    await job(pg_database, [purge()])

    assert "a.ics" not in await rows(db, cal.id)
    located = await store.calendar(home, cal.name)
    assert located is not None and located.revision == newest  # not backwards
    assert located.purged_revision == newest - 1
    assert await store.changes_since(cal, newest) == ([], newest)
    assert await store.changes_since(cal, 0) == ([], newest)
    with pytest.raises(InvalidSyncToken):
        await store.changes_since(cal, before)
    await store.put_object(cal, event("b"))
    changes, _ = await store.changes_since(cal, newest)
    assert [(c.name, c.deleted) for c in changes] == [("b.ics", False)]


async def test_home_tombstones_raise_the_home_floor(store: Store, home: Home,
                                                    cal: Calendar, db: asyncpg.Connection,
                                                    pg_database: PgDatabase) -> None:
    await store.create_calendar(home, NewCalendar("gone"))
    _, before = await store.home_changes_since(home, 0)
    await store.delete_calendar(home, "gone")
    _, at_delete = await store.home_changes_since(home, 0)
    await age(db, home.id, "gone", 20)

    await job(pg_database, [purge()])

    assert "gone" not in await rows(db, home.id)
    assert await floor_of(db, "calendar_home", home.id) == at_delete - 1
    assert await store.home_revision(home) == at_delete
    with pytest.raises(InvalidSyncToken):
        await store.home_changes_since(home, before)
    assert await store.home_changes_since(home, at_delete) == ([], at_delete)
    assert await floor_of(db, "calendar", cal.id) == 0  # untouched collection


async def test_purge_in_batches_raises_each_floor_to_its_own_newest(
        store: Store, home: Home, cal: Calendar, db: asyncpg.Connection,
        pg_database: PgDatabase) -> None:
    other = await store.create_calendar(home, NewCalendar("other"))
    newest: dict[int, int] = {}
    for calendar, uids in ((cal, "abc"), (other, "de")):
        for uid in (*uids, f"stays-{calendar.id}"):
            await store.put_object(calendar, event(uid))
        for uid in uids:
            await store.delete_object(calendar, f"{uid}.ics")
            await age(db, calendar.id, f"{uid}.ics", 40)
        newest[calendar.id] = max(r for r, deleted in (await rows(db, calendar.id)).values()
                                  if deleted)
    tokens = {c.id: await token(store, c) for c in (cal, other)}

    report = await job(pg_database, [purge(batch=2)])

    result = report.outcomes[0].result
    assert (result["tombstones"], result["collections"]) == (5, 2)
    for calendar in (cal, other):
        assert set(await rows(db, calendar.id)) == {"", f"stays-{calendar.id}.ics"}
        assert await floor_of(db, "calendar", calendar.id) == newest[calendar.id] - 1
        assert await token(store, calendar) == tokens[calendar.id]


async def test_sync_report_with_a_purged_token_is_valid_sync_token(
        pg_database: PgDatabase, tmp_path: Path) -> None:
    """Over HTTP: 403 with DAV:valid-sync-token (RFC 6578 §3.2); the newer token still
    answers, from the fast path."""
    sync = ('<D:sync-collection xmlns:D="DAV:"><D:sync-token>{}</D:sync-token>'
            "<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop>"
            "</D:sync-collection>")
    # The server's own upkeep stays out of it: only the test's job purges.
    async with serving(pg_database, tmp_path, Maintenance={"Enabled": False}) as dav:
        for name in ("a", "b"):
            assert (await dav.put(CAL01 + f"{name}.ics", http_event(name))).status == 201
        old = (await dav.report(CAL01, sync.format(""))).texts("D:sync-token")[0]
        assert (await dav.request("DELETE", CAL01 + "b.ics")).status == 204
        seen = await dav.report(CAL01, sync.format(old))
        assert set(seen.responses()) == {CAL01 + "b.ics"}
        newer = seen.texts("D:sync-token")[0]
        conn = await pg_database.connect()
        try:
            await conn.execute("UPDATE revision SET modified = now() - interval '15 days' "
                               "WHERE deleted")
        finally:
            await conn.close()
        assert (await job(pg_database, [purge()])).outcomes[0].result["tombstones"] == 1

        refused = await dav.report(CAL01, sync.format(old))
        assert refused.status == 403 and refused.error() == names.VALID_SYNC_TOKEN
        current = await dav.report(CAL01, sync.format(newer))
        assert current.status == 207 and current.responses() == {}
        assert current.texts("D:sync-token") == [newer]


# -- single flight -------------------------------------------------------------------------

_WAITING = """
SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
WHERE NOT l.granted AND c.relname = 'revision'
"""


async def test_one_host_runs_while_the_other_is_told_who(store: Store,
                                                         db: asyncpg.Connection,
                                                         pg_database: PgDatabase) -> None:
    """Host A's ANALYZE waits on a lock the test holds, so A is mid-run for sure: host B
    (its own connection, as another host) is told A is running it; once A is done, B
    finds nothing due; each task ran once, on A."""
    tasks = [analyze_task(timedelta(hours=24), 10), purge()]
    blocker = await pg_database.connect()
    try:
        async with blocker.transaction():
            await blocker.execute("LOCK TABLE revision IN SHARE UPDATE EXCLUSIVE MODE")
            first = asyncio.create_task(job(pg_database, tasks, "host-a"))
            await until(lambda: db.fetchval(_WAITING), "host A's ANALYZE waiting")
            second = await job(pg_database, tasks, "host-b")
            assert second.busy is not None and second.outcomes == ()
            assert (second.busy.node, second.busy.task) == ("host-a", "analyze")
        ran = await first
    finally:
        await blocker.close()
    assert [(o.task, o.state) for o in ran.outcomes] == [("analyze", RAN), ("purge", RAN)]
    later = await job(pg_database, tasks, "host-b")
    assert [(o.task, o.state) for o in later.outcomes] == [("analyze", NOT_DUE),
                                                           ("purge", NOT_DUE)]
    recorded = await db.fetch("SELECT name, runs, last_node FROM maintenance_task")
    assert sorted(tuple(r) for r in recorded) == [("analyze", 1, "host-a"),
                                                   ("purge", 1, "host-a")]


async def test_two_hosts_at_once_run_each_task_once(store: Store,
                                                    db: asyncpg.Connection,
                                                    pg_database: PgDatabase) -> None:
    tasks = [analyze_task(timedelta(hours=24), 10), purge()]
    reports = await asyncio.gather(*(job(pg_database, tasks, node)
                                     for node in ("host-a", "host-b", "host-c")))
    ran = [(r.node, o.task) for r in reports for o in r.outcomes if o.state == RAN]
    assert sorted(task for _, task in ran) == ["analyze", "purge"]
    for report in reports:  # the others were busy or found nothing due
        assert report.busy is not None or all(
            o.state in (RAN, NOT_DUE) for o in report.outcomes)
    assert await db.fetchval("SELECT sum(runs) FROM maintenance_task") == 2


async def test_a_cancelled_run_lets_go_of_the_lock(store: Store,
                                                  db: asyncpg.Connection,
                                                  pg_database: PgDatabase) -> None:
    """A worker stopping mid-run (its upkeep task cancelled) ends the job's session, so
    the lock is free for the next host, and the task it was on is still due."""
    blocker = await pg_database.connect()
    try:
        async with blocker.transaction():
            await blocker.execute("LOCK TABLE revision IN SHARE UPDATE EXCLUSIVE MODE")
            running = asyncio.create_task(job(pg_database, [analyze_task(DAY, 10)]))
            await until(lambda: db.fetchval(_WAITING), "the job's ANALYZE waiting")
            running.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(running, 30)
            # Free while the ANALYZE it was in still could not have finished.
            await until(lambda: _lock_free(db), "the upkeep lock free")
    finally:
        await blocker.close()
    report = await job(pg_database, [analyze_task(DAY, 10)], "host-b")
    assert report.busy is None and report.outcomes[0].state == RAN


async def _lock_free(db: asyncpg.Connection) -> bool:
    return not await db.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND objid::bigint = $1", LOCK_KEY & 0xFFFFFFFF)


async def test_a_dead_session_releases_the_lock(store: Store, db: asyncpg.Connection,
                                                pg_database: PgDatabase) -> None:
    crashed = await asyncpg.connect(**job_connect_kwargs(pg_database.connect_kwargs, "dead"))
    assert await crashed.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY)
    pid = crashed.get_server_pid()
    assert (await job(pg_database, [purge()], "host-b")).busy is not None
    crashed.terminate()  # the host died: its socket closed
    await until(lambda: _gone(db, pid), "the dead session's backend gone")
    assert (await job(pg_database, [purge()], "host-b")).outcomes[0].state == RAN


async def _gone(db: asyncpg.Connection, pid: int) -> bool:
    return not await db.fetchval("SELECT 1 FROM pg_stat_activity WHERE pid = $1", pid)


async def test_a_failed_task_is_recorded_and_stays_due(store: Store,
                                                       db: asyncpg.Connection,
                                                       pg_database: PgDatabase) -> None:
    attempts: list[bool] = []

    async def flaky(conn: asyncpg.Connection, complete: bool) -> Result:
        attempts.append(complete)
        if len(attempts) == 1:
            raise OSError(5, "Input/output error")
        return {"ok": True}

    tasks = [Task("flaky", timedelta(hours=1), flaky), purge()]
    first = await job(pg_database, tasks)
    assert [(o.task, o.state) for o in first.outcomes] == [("flaky", FAILED), ("purge", RAN)]
    assert "Input/output error" in first.outcomes[0].result["error"]
    row = await db.fetchrow("SELECT * FROM maintenance_task WHERE name = 'flaky'")
    assert row["last_error"] and row["last_complete"] is None and row["runs"] == 1
    again = await job(pg_database, tasks)
    assert [(o.task, o.state) for o in again.outcomes] == [("flaky", RAN), ("purge", NOT_DUE)]
    row = await db.fetchrow("SELECT * FROM maintenance_task WHERE name = 'flaky'")
    assert row["last_error"] is None and row["last_complete"] == row["last_started"]


async def test_a_database_outage_is_one_line_and_no_crash(
        store: Store, pg_database: PgDatabase, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    away = f"postgresql://nobody@127.0.0.1:{free_port()}/nothing"
    config = config_for(pg_database, tmp_path, DSN=away)
    with caplog.at_level(logging.INFO, logger="caldavd.ops.upkeep"):
        assert await check(config, store) is None
    records = [r for r in caplog.records if r.name == "caldavd.ops.upkeep"]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    assert "database upkeep skipped" in records[0].getMessage()
    assert records[0].exc_info is None


# -- ANALYZE -------------------------------------------------------------------------------

_STATS = """
SELECT relname, last_analyze, n_mod_since_analyze FROM pg_stat_user_tables
WHERE schemaname = current_schema()
"""


async def _stats(db: asyncpg.Connection) -> dict[str, asyncpg.Record]:
    return {r["relname"]: r for r in await db.fetch(_STATS)}


async def test_analyze_all_on_the_interval_and_changed_tables_sooner(
        store: Store, db: asyncpg.Connection, pg_database: PgDatabase) -> None:
    for table in await db.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"):
        # No autovacuum ANALYZE behind the test's back.
        await db.execute(f'ALTER TABLE "{table["tablename"]}" SET (autovacuum_enabled = false)')
    tasks = [analyze_task(timedelta(hours=24), 10)]

    first = (await job(pg_database, tasks)).outcomes[0]
    assert first.state == RAN and first.result["all"] is True
    assert {"revision", "calendar_object", "dead_property"} <= set(first.result["tables"])
    analysed = await _stats(db)
    assert all(analysed[t]["last_analyze"] is not None for t in first.result["tables"])

    await db.execute("INSERT INTO dead_property (resource_id, name, value, home_id) "
                     "SELECT g, 'p', 'v', 0 FROM generate_series(1, 2000) AS g")
    await db.execute("SELECT pg_stat_force_next_flush()")

    async def counted() -> bool:
        return bool((await _stats(db))["dead_property"]["n_mod_since_analyze"] >= 2000)
    await until(counted, "the insert counted in pg_stat_user_tables")

    sooner = (await job(pg_database, tasks)).outcomes[0]
    assert (sooner.state, sooner.result) == (RAN, {"tables": ["dead_property"], "all": False})
    now = await _stats(db)
    assert now["dead_property"]["last_analyze"] > analysed["dead_property"]["last_analyze"]
    assert now["revision"]["last_analyze"] == analysed["revision"]["last_analyze"]

    assert (await job(pg_database, tasks)).outcomes[0].state == NOT_DUE
    # The partial run left the interval where it was; once it is up, all tables again.
    await db.execute("UPDATE maintenance_task SET last_complete = now() - interval '25 hours'")
    assert (await job(pg_database, tasks)).outcomes[0].result["all"] is True


# -- orphaned attachment files -------------------------------------------------------------


async def test_the_job_sweeps_old_orphans_and_keeps_young_ones(
        store: Store, pg_database: PgDatabase, tmp_path: Path) -> None:
    config = config_for(pg_database, tmp_path)
    root = config.AttachmentsRoot
    old_orphan, young_orphan = (root / "aa" / "bb" / ("aabb" + c * 28) for c in "01")
    for path in (old_orphan, young_orphan):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"nobody's")
    hours_ago = time.time() - 2 * 3600
    os.utime(old_orphan, (hours_ago, hours_ago))

    report = await job(pg_database, [attachments_task(timedelta(hours=1), config, store)])

    assert report.outcomes[0].state == RAN
    assert report.outcomes[0].result == {"trashed": 0, "orphans": 1, "temporary": 0}
    assert not old_orphan.exists() and young_orphan.exists()
