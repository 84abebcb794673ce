"""Database upkeep, one host at a time: table statistics, sync tombstones, and
whatever else a caller hands in as a ``Task`` (the attachments sweep).

Single flight.  A job runs on a connection of its own that holds a
session-level advisory lock (``LOCK_KEY``) for the whole run; a host that does
not get the lock leaves the work to the holder.  A session that dies releases
the lock by itself, so a crashed host blocks nobody.  Once it has the lock, a
host reads each task's row in ``maintenance_task`` (migration 0010) and runs
only what is due by it, so intervals hold for the deployment, not per host: a
host that gets the lock the moment another let go finds nothing due.  Times
are the database's, never a host's clock.  The connection's application_name
names the node, which is how the others say who holds the lock.

Tombstones.  A collection's sync token is its highest revision, and tokens at
or below its ``purged_revision`` are refused (RFC 6578 §3.2: the client must
sync afresh).  Purging tombstones up to revision R sets the floor to R - 1: a
client holding token R has seen every deletion purged, so it stays valid; a
floor of R would refuse the collection's current token whenever R is its
newest revision, sending every client into a full sync after each purge.  A
collection whose newest row is purged keeps its token: its own row (name '')
is raised to R in the same transaction.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from caldavd.store.errors import StoreUnavailable

log = logging.getLogger(__name__)

# pg_advisory_lock key: 'caldavmt' as a stable 63-bit number (per database).
LOCK_KEY = 0x63616C6461766D74
# application_name of the job's connection: this prefix, then the node.
APPLICATION = "caldavd-upkeep "
# Tombstones deleted per transaction: no lock is held for long.
TOMBSTONE_BATCH = 5000
# A table is analysed sooner than its interval only once this many rows changed.
ANALYZE_FLOOR = 500

RAN, FAILED, NOT_DUE = "ran", "failed", "not due"

# The database went away under the job: the run stops (nothing is worth recording).
DATABASE_AWAY = (StoreUnavailable, ConnectionError, TimeoutError,
                 asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                 asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError,
                 asyncpg.CrashShutdownError, asyncpg.TooManyConnectionsError,
                 asyncpg.InternalClientError)

Result = dict[str, Any]


@dataclass(frozen=True)
class Task:
    """One kind of upkeep: due once ``every`` has passed since its last complete run.

    ``run(conn, complete)`` does the work on the job's connection and says what it
    did (JSON-able).  ``sooner(conn)``, when given, says the task has work before its
    interval is up; it then runs with ``complete`` false (ANALYZE of the tables that
    changed), which leaves the interval where it was.
    """

    name: str
    every: timedelta
    run: Callable[[asyncpg.Connection, bool], Awaitable[Result]]
    sooner: Callable[[asyncpg.Connection], Awaitable[bool]] | None = None


@dataclass(frozen=True)
class Outcome:
    task: str
    state: str  # RAN, FAILED or NOT_DUE
    result: Result  # what it did; {"error": ...}; {"next_due": ...}
    complete: bool = True


@dataclass(frozen=True)
class Holder:
    """Who runs upkeep now: the node, and the task it is on (if it has started one)."""

    node: str
    task: str | None = None
    since: datetime | None = None


@dataclass(frozen=True)
class Report:
    node: str
    outcomes: tuple[Outcome, ...] = ()
    busy: Holder | None = None  # set when another session held the lock

    @property
    def did_something(self) -> bool:
        return any(o.state != NOT_DUE for o in self.outcomes)


@dataclass(frozen=True)
class TaskRow:
    """A task's row in ``maintenance_task``."""

    name: str
    last_started: datetime | None
    last_finished: datetime | None
    last_node: str | None
    last_result: Result | None
    last_error: str | None
    last_complete: datetime | None
    runs: int

    @property
    def running(self) -> bool:
        """Started and not finished: running now, or interrupted (its host died)."""
        return self.last_started is not None and (
            self.last_finished is None or self.last_finished < self.last_started)


def job_connect_kwargs(kwargs: Mapping[str, object], node: str) -> dict[str, object]:
    """``kwargs`` for the job's own connection, its application_name naming ``node``."""
    given = kwargs.get("server_settings")
    settings = dict(given) if isinstance(given, Mapping) else {}
    settings["application_name"] = APPLICATION + node
    return {**kwargs, "server_settings": settings}


@contextlib.asynccontextmanager
async def owned(conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    """Close the job's connection afterwards: gracefully, or at once after a failure or
    a cancellation (a statement may still be running; the session, and the lock with
    it, ends either way)."""
    try:
        yield conn
    except BaseException:
        conn.terminate()
        raise
    with contextlib.suppress(*DATABASE_AWAY):
        await conn.close(timeout=5)


# -- the job -------------------------------------------------------------------------------


async def run_job(conn: asyncpg.Connection, node: str, tasks: Sequence[Task], *,
                  force: bool = False, wait: float = 0.0) -> Report:
    """Run what is due of ``tasks`` (all of them if ``force``) if this session gets the
    lock, waiting up to ``wait`` seconds for it; otherwise say who holds it."""
    if not await _lock(conn, wait):
        holder = await lock_holder(conn)
        if holder is not None or not await _lock(conn, 0):
            return Report(node, busy=holder or Holder("another session (it has just let go)"))
    try:
        outcomes = [await _maybe_run(conn, node, task, force) for task in tasks]
    finally:
        await _unlock(conn)
    return Report(node, tuple(outcomes))


async def _lock(conn: asyncpg.Connection, wait: float) -> bool:
    if wait <= 0:
        return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY))
    # Waiting in the server: granted the moment the holder lets go, no polling.
    await conn.execute(f"SET lock_timeout = {max(1, round(wait * 1000))}")
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    except asyncpg.LockNotAvailableError:
        return False
    finally:
        await conn.execute("RESET lock_timeout")
    return True


async def _unlock(conn: asyncpg.Connection) -> None:
    try:
        await conn.fetchval("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    except (*DATABASE_AWAY, asyncpg.PostgresError):
        conn.terminate()  # the session ends, and its lock with it


_DUE_SQL = """
SELECT last_complete IS NULL OR last_complete <= now() - $2::interval AS due,
       last_complete + $2::interval AS next_due
FROM maintenance_task WHERE name = $1
"""
_START_SQL = """
INSERT INTO maintenance_task (name, last_started, last_node) VALUES ($1, now(), $2)
ON CONFLICT (name) DO UPDATE SET last_started = excluded.last_started,
                                 last_node = excluded.last_node
RETURNING last_started
"""
_FINISH_SQL = """
UPDATE maintenance_task SET last_finished = now(), last_result = $2::jsonb, last_error = NULL,
       last_complete = coalesce($3, last_complete), runs = runs + 1
WHERE name = $1
"""
_FAIL_SQL = """
UPDATE maintenance_task SET last_finished = now(), last_result = NULL, last_error = $2,
       runs = runs + 1
WHERE name = $1
"""


async def _maybe_run(conn: asyncpg.Connection, node: str, task: Task, force: bool) -> Outcome:
    row = await conn.fetchrow(_DUE_SQL, task.name, task.every)
    complete = force or row is None or bool(row["due"])
    if not complete and not (task.sooner is not None and await task.sooner(conn)):
        if row is None:
            raise RuntimeError("row is not set")
        return Outcome(task.name, NOT_DUE,
                       {"next_due": row["next_due"].isoformat(timespec="seconds")})
    started = await conn.fetchval(_START_SQL, task.name, node)
    try:
        result = await task.run(conn, complete)
    except DATABASE_AWAY:
        raise
    except Exception as exc:
        if not isinstance(exc, asyncpg.PostgresError | OSError):
            log.exception("upkeep task %s failed", task.name)  # a bug: keep its traceback
        error = describe_error(exc)
        await conn.execute(_FAIL_SQL, task.name, error)
        return Outcome(task.name, FAILED, {"error": error}, complete)
    await conn.execute(_FINISH_SQL, task.name, json.dumps(result),
                       started if complete else None)
    return Outcome(task.name, RAN, result, complete)


def describe_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


# -- what others see -----------------------------------------------------------------------

_HOLDER_SQL = """
SELECT a.application_name, a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid::bigint = $1 AND l.objid::bigint = $2
"""
# The server cuts application_name to 63 bytes: the node may be a prefix of last_node.
_RUNNING_SQL = """
SELECT name, last_started FROM maintenance_task
WHERE starts_with(last_node, $1) AND (last_finished IS NULL OR last_finished < last_started)
ORDER BY last_started DESC LIMIT 1
"""


async def lock_holder(conn: asyncpg.Connection) -> Holder | None:
    """Who holds the upkeep lock now, if anyone, and the task it is on."""
    row = await conn.fetchrow(_HOLDER_SQL, LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF)
    if row is None:
        return None
    name = row["application_name"] or ""
    if not name.startswith(APPLICATION):
        return Holder(f"backend {row['pid']} ({name or 'no application_name'})")
    node = name[len(APPLICATION):]
    running = await conn.fetchrow(_RUNNING_SQL, node)
    if running is None:
        return Holder(node)
    return Holder(node, running["name"], running["last_started"])


async def task_rows(conn: asyncpg.Connection) -> dict[str, TaskRow]:
    rows = await conn.fetch("SELECT * FROM maintenance_task ORDER BY name")
    return {r["name"]: TaskRow(
        name=r["name"], last_started=r["last_started"], last_finished=r["last_finished"],
        last_node=r["last_node"],
        last_result=json.loads(r["last_result"]) if r["last_result"] is not None else None,
        last_error=r["last_error"], last_complete=r["last_complete"], runs=r["runs"],
    ) for r in rows}


# -- ANALYZE -------------------------------------------------------------------------------

_TABLES_SQL = """
SELECT relname, format('%I.%I', schemaname, relname) AS qualified,
       n_mod_since_analyze > greatest($1::bigint, n_live_tup * $2::float8 / 100) AS changed
FROM pg_stat_user_tables WHERE schemaname = current_schema() ORDER BY relname
"""


def analyze_task(every: timedelta, changed_percent: int, floor: int = ANALYZE_FLOOR) -> Task:
    """ANALYZE every table of the schema each ``every``; sooner a table whose changed rows
    since its last ANALYZE exceed ``changed_percent`` of its rows (and ``floor``, so a
    small table does not churn)."""
    async def tables(conn: asyncpg.Connection) -> list[asyncpg.Record]:
        return list(await conn.fetch(_TABLES_SQL, floor, changed_percent))

    async def sooner(conn: asyncpg.Connection) -> bool:
        return any(t["changed"] for t in await tables(conn))

    async def run(conn: asyncpg.Connection, complete: bool) -> Result:
        chosen = [t for t in await tables(conn) if complete or t["changed"]]
        for table in chosen:  # one statement each: no lock outlives its table
            await conn.execute(f"ANALYZE {table['qualified']}")
        return {"tables": [t["relname"] for t in chosen], "all": complete}

    return Task("analyze", every, run, sooner)


# -- sync tombstones -----------------------------------------------------------------------

_CANDIDATES_SQL = """
SELECT collection_id, name FROM revision
WHERE deleted AND modified < $1 AND name <> ''
ORDER BY modified LIMIT $2
"""
# In id order, as every write in them would (homes.lock_home): the homes whose change
# token the '' rows' trigger (migration 0008) moves, so no writer waits on us in a cycle.
_LOCK_HOMES_SQL = """
SELECT id FROM calendar_home WHERE id IN (
    SELECT unnest($1::bigint[])
    UNION SELECT owner_home_id FROM calendar WHERE id = ANY($1)
    UNION SELECT home_id FROM calendar_bind WHERE calendar_id = ANY($1))
ORDER BY id FOR NO KEY UPDATE
"""
# The conditions again: a row written since the candidates were read (a name created
# anew) is rechecked in its new version and kept.
_DELETE_SQL = """
WITH gone AS (
    DELETE FROM revision r USING unnest($1::bigint[], $2::text[]) AS c(collection_id, name)
    WHERE r.collection_id = c.collection_id AND r.name = c.name
      AND r.deleted AND r.modified < $3
    RETURNING r.collection_id, r.revision)
SELECT collection_id, max(revision) AS revision, count(*) AS count FROM gone
GROUP BY collection_id
"""
# A separate statement from the DELETE, so its NOT EXISTS sees the rows gone.
_FLOORS_SQL = """
WITH purged AS (SELECT * FROM unnest($1::bigint[], $2::bigint[]) AS p(collection_id, revision)),
calendars AS (
    UPDATE calendar c SET purged_revision = p.revision - 1 FROM purged p
    WHERE c.id = p.collection_id AND c.purged_revision < p.revision - 1),
homes AS (
    UPDATE calendar_home h SET purged_revision = p.revision - 1 FROM purged p
    WHERE h.id = p.collection_id AND h.purged_revision < p.revision - 1)
INSERT INTO revision AS r (collection_id, name, revision, deleted)
SELECT p.collection_id, '', p.revision, false FROM purged p
WHERE (EXISTS (SELECT 1 FROM calendar WHERE id = p.collection_id)
       OR EXISTS (SELECT 1 FROM calendar_home WHERE id = p.collection_id))
  AND NOT EXISTS (SELECT 1 FROM revision x
                  WHERE x.collection_id = p.collection_id AND x.revision >= p.revision)
ON CONFLICT (collection_id, name) DO UPDATE SET revision = excluded.revision
WHERE r.revision < excluded.revision
"""


def purge_task(every: timedelta, lifetime: timedelta, batch: int = TOMBSTONE_BATCH) -> Task:
    async def run(conn: asyncpg.Connection, complete: bool) -> Result:
        return await purge_tombstones(conn, lifetime, batch)

    return Task("purge", every, run)


async def purge_tombstones(conn: asyncpg.Connection, lifetime: timedelta,
                           batch: int = TOMBSTONE_BATCH) -> Result:
    """Delete tombstones older than ``lifetime``, ``batch`` per transaction, raising each
    collection's purge floor with them; never a live row or a younger tombstone."""
    cutoff: datetime = await conn.fetchval("SELECT now() - $1::interval", lifetime)
    removed, collections = 0, set[int]()
    while True:
        found, purged = await _purge_batch(conn, cutoff, batch)
        removed += sum(purged.values())
        collections.update(purged)
        if found < batch:
            break
    return {"tombstones": removed, "collections": len(collections),
            "older_than": cutoff.isoformat(timespec="seconds")}


async def _purge_batch(conn: asyncpg.Connection, cutoff: datetime,
                       batch: int) -> tuple[int, dict[int, int]]:
    """(candidates read, {collection: tombstones deleted}) for one transaction."""
    async with conn.transaction():
        candidates = await conn.fetch(_CANDIDATES_SQL, cutoff, batch)
        if not candidates:
            return 0, {}
        ids = [r["collection_id"] for r in candidates]
        await conn.execute(_LOCK_HOMES_SQL, sorted(set(ids)))
        gone = await conn.fetch(_DELETE_SQL, ids, [r["name"] for r in candidates], cutoff)
        if gone:
            await conn.execute(_FLOORS_SQL, [g["collection_id"] for g in gone],
                               [g["revision"] for g in gone])
    return len(candidates), {g["collection_id"]: g["count"] for g in gone}
