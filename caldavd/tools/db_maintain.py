"""caldavd-db-maintain: database upkeep by hand (what the hosts run in the background).

    caldavd-db-maintain -f caldavd.plist                  every task, now
    caldavd-db-maintain -f caldavd.plist --purge --json   one task; the result as JSON
    caldavd-db-maintain -f caldavd.plist --if-due         only what is due (cron, when
                                                          Maintenance.Enabled is false)
    caldavd-db-maintain -f caldavd.plist --status         each task's last run

Tasks: ``--analyze`` (table statistics), ``--purge`` (sync tombstones older than
SyncTokenLifetimeDays), ``--attachments`` (files no attachment refers to); none
named means all.  By hand means now, due or not (``--force``, the default);
``--if-due`` asks the database's record as the hosts do.  The run takes the same
lock as the hosts, so it never runs alongside them: when a host holds it the
tool waits up to ``--wait`` seconds (default 0), then exits 3 naming the host.
Exit status: 0 done, 1 a task failed or the database could not be reached,
2 a bad argument or configuration, 3 another host is running upkeep.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from caldavd.caldav.index import index_rows
from caldavd.cli.common import add_config_argument, load_or_exit, run_tool
from caldavd.cli.dbcommon import connect, describe_status
from caldavd.cli.errors import ToolError
from caldavd.config import Config
from caldavd.ops.upkeep import TASK_NAMES, describe, intervals, phrase, tasks_for
from caldavd.store.postgres.maintenance import (
    FAILED,
    Holder,
    Report,
    TaskRow,
    job_connect_kwargs,
    lock_holder,
    owned,
    run_job,
    task_rows,
)
from caldavd.store.postgres.migrate import schema_status
from caldavd.store.postgres.params import connect_kwargs_for, describe_target
from caldavd.store.postgres.pool import create_pool
from caldavd.store.postgres.store import PostgresStore

BUSY = 3


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also NaN
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0 or more)")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="caldavd-db-maintain",
        description="Database upkeep by hand: table statistics, sync tombstones, orphaned "
                    "attachment files.  No task named: all of them.")
    add_config_argument(parser)
    tasks = parser.add_argument_group("tasks")
    tasks.add_argument("--analyze", action="store_true",
                       help="refresh table statistics (ANALYZE) of every table")
    tasks.add_argument("--purge", action="store_true",
                       help="purge sync tombstones older than SyncTokenLifetimeDays")
    tasks.add_argument("--attachments", action="store_true",
                       help="remove attachment files no attachment refers to")
    tasks.add_argument("--ledger", action="store_true",
                       help="forget scheduling deliveries older than "
                            "Scheduling.LedgerRetentionDays")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--force", action="store_true",
                      help="run the tasks now, due or not (the default)")
    when.add_argument("--if-due", action="store_true",
                      help="run only the tasks that are due, as the hosts would")
    parser.add_argument("--wait", type=_seconds, default=0.0, metavar="SECONDS",
                        help="while another host runs upkeep, wait this long for it "
                             "(default 0: exit 3 at once)")
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    parser.add_argument("--status", action="store_true",
                        help="print each task's last run (and who runs upkeep now); "
                             "runs nothing")
    args = parser.parse_args(argv)
    if args.status and (args.force or args.if_due or args.wait):
        parser.error("--status runs nothing: it goes with task names and --json only")
    return args


def chosen_tasks(args: argparse.Namespace) -> tuple[str, ...]:
    named = tuple(name for name in TASK_NAMES if getattr(args, name))
    return named or TASK_NAMES


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_tool(_run(load_or_exit(args.config, args.overrides), args))


async def _run(config: Config, args: argparse.Namespace) -> int:
    conn = await _connect(config)
    async with owned(conn):
        status = await schema_status(conn)
        if status.behind or status.ahead:
            raise ToolError(f"{describe_status(status)}: run "
                            f"'caldavd-bootstrap-db -f {config.config_file}'")
        if args.status:
            await _print_status(conn, config, chosen_tasks(args), args.json)
            return 0
        report = await _maintain(conn, config, args)
    _print_report(report, args.json)
    if report.busy is not None:
        raise ToolError(f"database upkeep is running on {_holder_text(report.busy)}; "
                        "try again later, or wait for it with --wait SECONDS", BUSY)
    return 1 if any(o.state == FAILED for o in report.outcomes) else 0


async def _connect(config: Config) -> asyncpg.Connection:
    kwargs = job_connect_kwargs(connect_kwargs_for(config), config.NodeName)
    try:
        return await connect(kwargs, describe_target(config))
    except ToolError as exc:
        if config.DBType != "":
            raise
        raise ToolError(f"{exc}; the embedded database (DBType \"\") runs only while "
                        "caldavd runs: start caldavd first") from None


async def _maintain(conn: asyncpg.Connection, config: Config,
                    args: argparse.Namespace) -> Report:
    # The attachments sweep goes through the store; its pool connects only if it runs.
    pool = await create_pool(connect_kwargs_for(config), 2, warm=False)
    try:
        tasks = tasks_for(config, PostgresStore(pool, indexer=index_rows), chosen_tasks(args))
        return await run_job(conn, config.NodeName, tasks, force=not args.if_due,
                             wait=args.wait)
    finally:
        await pool.close()


def _jsonable(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _holder_text(holder: Holder) -> str:
    if holder.task is None:
        return holder.node
    return f"{holder.node} (task {holder.task}, since {_time(holder.since)})"


def _time(value: datetime | None) -> str:
    return value.isoformat(sep=" ", timespec="seconds") if value is not None else "-"


def _print_report(report: Report, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"node": report.node,
                          "busy": asdict(report.busy) if report.busy else None,
                          "tasks": [asdict(o) for o in report.outcomes]},
                         indent=2, default=_jsonable))
        return
    for outcome in report.outcomes:
        print(describe(outcome))


async def _print_status(conn: asyncpg.Connection, config: Config, names: Sequence[str],
                        as_json: bool) -> None:
    rows = await task_rows(conn)
    holder = await lock_holder(conn)
    every = intervals(config)
    if as_json:
        print(json.dumps({
            "running": asdict(holder) if holder else None,
            "tasks": [_status_entry(name, rows.get(name), every[name]) for name in names]},
            indent=2, default=_jsonable))
        return
    for name in names:
        print(_status_line(name, rows.get(name), every[name], holder))
    print(f"running now: {_holder_text(holder)}" if holder else "running now: nobody")


def _next_due(row: TaskRow | None, every: timedelta) -> datetime | None:
    """None: due now (never completed)."""
    if row is None or row.last_complete is None:
        return None
    due: datetime = row.last_complete + every
    return due


def _status_entry(name: str, row: TaskRow | None, every: timedelta) -> dict[str, Any]:
    entry: dict[str, Any] = {"task": name, "next_due": _next_due(row, every)}
    if row is not None:
        entry.update(asdict(row))
        del entry["name"]
    return entry


def _status_line(name: str, row: TaskRow | None, every: timedelta, holder: Holder | None) -> str:
    due = _next_due(row, every)
    when = f"next due {_time(due)}" if due else "due now"
    if row is None or row.last_started is None:
        return f"{name}: never run; {when}"
    if row.running:
        now = holder is not None and holder.task == name
        return (f"{name}: {'running' if now else 'interrupted'} on {row.last_node} since "
                f"{_time(row.last_started)}; {when}")
    took = (row.last_finished - row.last_started).total_seconds() if row.last_finished else 0
    if row.last_error is not None:
        what = f"failed: {row.last_error}"
    else:
        what = phrase(name, row.last_result) if row.last_result is not None else "no result"
    return (f"{name}: last run {_time(row.last_started)} on {row.last_node} ({took:.1f} s), "
            f"{what}; {when}")


if __name__ == "__main__":
    sys.exit(main())
