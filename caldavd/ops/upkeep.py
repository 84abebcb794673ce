"""Database upkeep from every host: its first worker asks now and then, one host does
the work.

Every ``Maintenance.CheckSeconds`` (the first time at a random moment within
that, so hosts started together do not all ask at once) a worker tries the job
of ``caldavd.store.postgres.maintenance``: the session that gets its lock runs
what is due by the database's record, everyone else carries on.  The job runs
on a connection of its own, not one of the request pool: a run may take
minutes, and closing the connection afterwards leaves no session holding the
lock.  A failure is logged and the next check tries again; the worker never
stops for it.  ``caldavd-db-maintain`` runs the same tasks by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import random
from collections.abc import AsyncIterator, Callable, Collection
from datetime import timedelta

import asyncpg

from caldavd.attachments.cleanup import SWEEP_AGE, sweep
from caldavd.attachments.files import AttachmentFiles
from caldavd.config import Config
from caldavd.store import AttachmentTrash, Store
from caldavd.store.postgres.maintenance import (
    DATABASE_AWAY,
    FAILED,
    NOT_DUE,
    Outcome,
    Report,
    Result,
    Task,
    analyze_task,
    describe_error,
    job_connect_kwargs,
    owned,
    purge_task,
    run_job,
)
from caldavd.store.postgres.params import connect_kwargs_for
from caldavd.store.postgres.scheduling import ledger_task

log = logging.getLogger(__name__)

TASK_NAMES = ("analyze", "purge", "attachments", "ledger")
CONNECT_TIMEOUT = 10.0


def intervals(config: Config) -> dict[str, timedelta]:
    """How often each task is due, by name."""
    settings = config.Maintenance
    return {"analyze": timedelta(hours=settings.AnalyzeHours),
            "purge": timedelta(hours=settings.PurgeHours),
            "attachments": timedelta(hours=settings.AttachmentSweepHours),
            "ledger": timedelta(hours=settings.PurgeHours)}


def tasks_for(config: Config, store: AttachmentTrash,
              names: Collection[str] = TASK_NAMES) -> list[Task]:
    """The upkeep tasks ``config`` describes, in ``TASK_NAMES`` order."""
    every = intervals(config)
    made: dict[str, Callable[[], Task]] = {
        "analyze": lambda: analyze_task(every["analyze"],
                                        config.Maintenance.AnalyzeChangedPercent),
        "purge": lambda: purge_task(every["purge"],
                                    timedelta(days=config.SyncTokenLifetimeDays)),
        "attachments": lambda: attachments_task(every["attachments"], config, store),
        "ledger": lambda: ledger_task(
            every["ledger"], timedelta(days=config.Scheduling.LedgerRetentionDays)),
    }
    return [made[name]() for name in TASK_NAMES if name in names]


def attachments_task(every: timedelta, config: Config, store: AttachmentTrash) -> Task:
    """The cleanup pass of ``attachments.cleanup`` (files no row refers to)."""
    async def run(conn: asyncpg.Connection, complete: bool) -> Result:
        files = AttachmentFiles(config.AttachmentsRoot)
        return dataclasses.asdict(await sweep(store, files, SWEEP_AGE))

    return Task("attachments", every, run)


async def check(config: Config, store: AttachmentTrash) -> Report | None:
    """One try at the job; None when it could not be tried (logged, one line)."""
    kwargs = job_connect_kwargs(connect_kwargs_for(config), config.NodeName)
    try:
        conn = await asyncpg.connect(**kwargs, timeout=CONNECT_TIMEOUT)
        async with owned(conn):
            report = await run_job(conn, config.NodeName, tasks_for(config, store))
    except (*DATABASE_AWAY, OSError, asyncpg.PostgresError) as exc:
        log.warning("database upkeep skipped: %s", describe_error(exc))
        return None
    except Exception:  # a bug; the next check tries again
        log.exception("database upkeep failed")
        return None
    _log(report)
    return report


def _log(report: Report) -> None:
    if report.busy is not None:
        log.debug("database upkeep: running on %s", report.busy.node)
    elif not report.did_something:
        log.debug("database upkeep on %s: nothing due", report.node)
    else:
        failed = any(o.state == FAILED for o in report.outcomes)
        log.log(logging.WARNING if failed else logging.INFO, "database upkeep on %s: %s",
                report.node, "; ".join(describe(o) for o in report.outcomes
                                       if o.state != NOT_DUE))


def describe(outcome: Outcome) -> str:
    """One phrase for what a task did (or why not)."""
    if outcome.state == FAILED:
        return f"{outcome.task} failed ({outcome.result['error']})"
    if outcome.state == NOT_DUE:
        return f"{outcome.task} not due before {outcome.result['next_due']}"
    return f"{outcome.task}: {phrase(outcome.task, outcome.result)}"


def phrase(task: str, result: Result) -> str:
    """What a run of ``task`` did, in words."""
    text = _PHRASES.get(task)
    return text(result) if text else json.dumps(result)


def _analyzed(result: Result) -> str:
    tables: list[str] = result["tables"]
    which = "all tables" if result["all"] else "changed tables"
    return f"{which}, {len(tables)} ({', '.join(tables)})" if tables else f"{which}, none"


def _purged(result: Result) -> str:
    return (f"{result['tombstones']} tombstones from {result['collections']} collections "
            f"(deleted before {result['older_than']})")


def _swept(result: Result) -> str:
    return (f"{result['orphans']} orphaned, {result['temporary']} temporary and "
            f"{result['trashed']} deleted attachments' files removed")


def _forgot(result: Result) -> str:
    return (f"{result['ledger_rows']} scheduling ledger rows older than "
            f"{result['older_than_days']} days removed")


_PHRASES: dict[str, Callable[[Result], str]] = {
    "analyze": _analyzed, "purge": _purged, "attachments": _swept, "ledger": _forgot}


@contextlib.asynccontextmanager
async def running(config: Config, store: Store, worker: int) -> AsyncIterator[None]:
    """The host's upkeep checks while the block runs, unless Maintenance.Enabled is false."""
    # One worker per host asks (the first; 0: in-process): one extra connection per host
    # at most (server/budget.py counts it), and no more questions than hosts.
    asks = config.Maintenance.Enabled and worker <= 1
    task = asyncio.create_task(_checks(config, store)) if asks else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _checks(config: Config, store: AttachmentTrash) -> None:
    every = config.Maintenance.CheckSeconds
    await asyncio.sleep(random.uniform(0, every))
    while True:
        await check(config, store)
        await asyncio.sleep(every)
