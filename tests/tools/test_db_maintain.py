"""caldavd-db-maintain, run as an operator runs it, and upkeep between real caldavd hosts
(issue #8 item 4)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from caldavd.store.postgres.maintenance import LOCK_KEY, job_connect_kwargs
from caldavd.store.postgres.migrate import upgrade_to_head
from tests.conftest import PgDatabase, free_port
from tests.tools.helpers import (
    Result,
    external_db_plist,
    reachable_tempdir,
    remove_tree,
    run_tool_async,
    start_tool,
    write_plist,
)
from tests.tools.test_serve import _terminate, _wait_for_health
from tests.waiting import until

TASKS = ["analyze", "purge", "attachments", "ledger"]


async def maintain(plist: Path, *args: str) -> Result:
    return await run_tool_async("caldavd-db-maintain", "-f", str(plist), *args)




async def test_runs_every_task_and_says_what_it_did(plist: Path, db: asyncpg.Connection) -> None:
    result = await maintain(plist, "-o", "NodeName=by-hand")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == TASKS
    assert re.fullmatch(r"analyze: all tables, \d+ \(.*revision.*\)", lines[0])
    assert lines[1].startswith("purge: 0 tombstones from 0 collections (deleted before ")
    assert lines[2] == ("attachments: 0 orphaned, 0 temporary and 0 deleted attachments' "
                        "files removed")
    recorded = await db.fetch("SELECT name, runs, last_node FROM maintenance_task")
    assert sorted(tuple(r) for r in recorded) == [(t, 1, "by-hand") for t in sorted(TASKS)]
    # By hand means now: a second run does it all again, due or not.
    assert (await maintain(plist)).returncode == 0
    assert await db.fetchval("SELECT min(runs) FROM maintenance_task") == 2
    due = await maintain(plist, "--if-due")
    assert due.returncode == 0
    assert all(" not due before " in line for line in due.stdout.splitlines()), due.stdout


async def test_json_and_one_task(plist: Path) -> None:
    result = await maintain(plist, "--purge", "--json", "-o", "SyncTokenLifetimeDays=3")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["busy"] is None
    [purge] = report["tasks"]
    assert (purge["task"], purge["state"], purge["result"]["tombstones"]) == ("purge", "ran", 0)


async def test_status_shows_each_tasks_last_run(plist: Path) -> None:
    before = await maintain(plist, "--status")
    assert before.returncode == 0, before.stderr
    assert before.stdout.splitlines() == [f"{t}: never run; due now" for t in TASKS] + [
        "running now: nobody"]
    assert (await maintain(plist, "--analyze", "-o", "NodeName=ops-1")).returncode == 0
    after = await maintain(plist, "--status")
    first = after.stdout.splitlines()[0]
    assert re.match(r"analyze: last run \S+ \S+ on ops-1 \(\d+\.\d s\), all tables, ", first)
    assert "; next due " in first
    listed = json.loads((await maintain(plist, "--status", "--json", "--analyze")).stdout)
    assert [t["task"] for t in listed["tasks"]] == ["analyze"]
    assert listed["tasks"][0]["last_node"] == "ops-1" and listed["tasks"][0]["runs"] == 1


async def test_busy_lock_is_exit_3_naming_the_holder(plist: Path,
                                                     pg_database: PgDatabase) -> None:
    holder = await asyncpg.connect(**job_connect_kwargs(pg_database.connect_kwargs, "host-z"))
    try:
        assert await holder.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY)
        result = await maintain(plist)
        assert result.returncode == 3
        assert "database upkeep is running on host-z" in result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""
        waited = await maintain(plist, "--wait", "0.3", "--json")
        assert waited.returncode == 3 and json.loads(waited.stdout)["busy"]["node"] == "host-z"

        # --wait: the tool gets the lock the moment the holder lets go.
        tool = asyncio.create_task(maintain(plist, "--wait", "120", "--purge"))

        async def tool_waits() -> bool:
            return bool(await holder.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"))
        await until(tool_waits, "the tool waiting for the lock")
        await holder.fetchval("SELECT pg_advisory_unlock($1)", LOCK_KEY)
        done = await tool
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("purge: ")
    finally:
        await holder.close()


async def test_two_tools_at_once_run_each_task_once(plist: Path, db: asyncpg.Connection) -> None:
    results = await asyncio.gather(*(maintain(plist, "--if-due", "-o", f"NodeName=n{i}")
                                     for i in range(2)))
    assert sorted(r.returncode for r in results) in ([0, 0], [0, 3]), results
    assert await db.fetchval("SELECT sum(runs) FROM maintenance_task") == len(TASKS)
    assert await db.fetchval("SELECT count(DISTINCT last_node) FROM maintenance_task") == 1


@pytest.mark.parametrize("args, message", [
    (["--wait", "soon"], "'soon' is not a number of seconds"),
    (["--wait", "-1"], "'-1' is not a number of seconds"),
    (["--status", "--force"], "--status runs nothing"),
    (["--force", "--if-due"], "not allowed with argument"),
    (["--vacuum"], "unrecognized arguments: --vacuum"),
])
async def test_bad_arguments_are_argparse_errors(plist: Path, args: list[str],
                                                 message: str) -> None:
    result = await maintain(plist, *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr


async def test_bad_key_is_exit_2_naming_it(plist: Path) -> None:
    result = await maintain(plist, "-o", "Maintenance.PurgeHours=0")
    assert result.returncode == 2 and "Maintenance.PurgeHours" in result.stderr


async def test_schema_behind_names_bootstrap(pg_database: PgDatabase, tmp_path: Path) -> None:
    result = await maintain(external_db_plist(tmp_path, pg_database.url))
    assert result.returncode == 1 and "caldavd-bootstrap-db" in result.stderr, result.stderr


async def test_embedded_database_not_running_says_start_caldavd(tmp_path: Path) -> None:
    result = await maintain(write_plist(tmp_path, {"DBType": ""}))
    assert result.returncode == 1
    assert "start caldavd first" in result.stderr and "Traceback" not in result.stderr


# -- two real caldavd hosts ----------------------------------------------------------------


@pytest.fixture
def roots() -> Iterator[list[Path]]:
    made = [reachable_tempdir(), reachable_tempdir()]
    yield made
    for root in made:
        remove_tree(root)


@pytest.mark.slow
async def test_two_hosts_one_run_per_interval(pg_database: PgDatabase, db: asyncpg.Connection,
                                              roots: list[Path]) -> None:
    """Two hosts on one database ask every second: one runs every task once; after it
    each host has found nothing due at least once, and nothing ran again.  Only a host's
    first worker asks (one extra database connection per host)."""
    await upgrade_to_head(pg_database.connect_kwargs)
    hosts = []
    for node, root in zip(("host-a", "host-b"), roots, strict=True):
        port = free_port()
        plist = external_db_plist(root, pg_database.url, HTTPPort=port,
                                  BindAddresses=["127.0.0.1"], MultiProcessCount=2)
        log = root / "caldavd.log"
        proc = start_tool("caldavd", ["-f", str(plist), "-o", f"NodeName={node}",
                                      "-o", "Maintenance.CheckSeconds=1",
                                      "--log-level", "DEBUG"], log)
        hosts.append((node, proc, log, f"http://127.0.0.1:{port}/"))
    try:
        for _, proc, log, url in hosts:
            await asyncio.to_thread(_wait_for_health, proc, url, log)

        async def each_found_nothing_due() -> bool:
            return all(f"database upkeep on {node}: nothing due" in log.read_text()
                       for node, _, log, _ in hosts)
        await until(each_found_nothing_due, "both hosts finding nothing due", 90)
        recorded = await db.fetch("SELECT name, runs, last_node, last_error "
                                  "FROM maintenance_task ORDER BY name")
        assert [(r["name"], r["runs"], r["last_error"]) for r in recorded] == [
            (t, 1, None) for t in sorted(TASKS)]
        [runner] = {r["last_node"] for r in recorded}
        logs = {node: log.read_text() for node, _, log, _ in hosts}
        assert logs[runner].count(f"INFO caldavd.ops.upkeep[w1]: database upkeep on "
                                  f"{runner}: analyze: all tables") == 1, logs[runner]
        other = next(node for node in logs if node != runner)
        assert f"database upkeep on {other}: analyze" not in logs[other]
        assert not any("caldavd.ops.upkeep[w2]" in text for text in logs.values())
        assert all("plus 1 for database upkeep" in text for text in logs.values())
    finally:
        for _, proc, log, _ in hosts:
            assert _terminate(proc, log) == 0, log.read_text()
