"""Managed attachments across hosts, under load and through a crash: two caldavd
apps sharing one AttachmentsRoot and one PostgreSQL; a 50 MB attachment with the
server's memory measured; a caldavd process killed between file and commit."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import aiohttp
import asyncpg
import pytest

from caldavd.attachments.cleanup import sweep
from caldavd.attachments.files import AttachmentFiles
from caldavd.caldav.index import index_rows
from caldavd.dav import names
from caldavd.store.postgres.migrate import upgrade_to_head
from caldavd.store.postgres.pool import create_pool
from caldavd.store.postgres.store import PostgresStore
from tests.conftest import PgDatabase, free_port
from tests.functional.conftest import Dav, serving
from tests.functional.test_attachments import (
    EVENT,
    action,
    add,
    attaches,
    files_under,
    put_event,
    rows,
)
from tests.tools.helpers import external_db_plist, reachable_tempdir, remove_tree, start_tool
from tests.tools.processes import children, running

T = TypeVar("T")

AUTH = aiohttp.BasicAuth("user01", "user01")


@contextlib.asynccontextmanager
async def two_hosts(db: PgDatabase, root: Path, **overrides: object) -> AsyncIterator[
        tuple[Dav, Dav]]:
    """Hosts A and B: separate apps (pools, caches) on one database and one ServerRoot,
    so one AttachmentsRoot."""
    async with serving(db, root, **overrides) as a, serving(db, root, **overrides) as b:
        yield a, b


async def test_added_on_one_host_served_by_the_other(pg_database: PgDatabase,
                                                     tmp_path: Path) -> None:
    async with two_hosts(pg_database, tmp_path) as (a, b):
        await put_event(a)
        reply = await add(a, EVENT, b"made on host A", filename="a.txt")
        assert reply.status == 201
        managed_id = reply.headers["Cal-Managed-ID"]
        got = await b.request("GET", f"/attachments/{managed_id}")
        assert got.status == 200 and got.body == b"made on host A"
        assert [x["MANAGED-ID"] for x in await attaches(b)] == [managed_id]
        removed = await action(b, EVENT, "attachment-remove", managed_id)
        assert removed.status == 204
        assert (await a.request("GET", f"/attachments/{managed_id}")).status == 404
        assert files_under(tmp_path / "Data" / "Attachments") == []


async def test_concurrent_adds_through_both_hosts_all_land(pg_database: PgDatabase,
                                                           tmp_path: Path) -> None:
    """Each action is re-applied to what the other host wrote: none is lost."""
    async with two_hosts(pg_database, tmp_path) as (a, b):
        await put_event(a)
        replies = await asyncio.gather(*(add(host, EVENT, f"{n}".encode(), filename=f"{n}.txt")
                                         for n in range(6) for host in (a, b)))
        assert [r.status for r in replies] == [201] * 12
        ids = {r.headers["Cal-Managed-ID"] for r in replies}
        assert {x["MANAGED-ID"] for x in await attaches(b)} == ids
        assert {p.name for p in files_under(tmp_path / "Data" / "Attachments")} == ids
        assert await rows(pg_database) == 12


async def test_concurrent_updates_end_with_one_version(pg_database: PgDatabase,
                                                       tmp_path: Path) -> None:
    """Two hosts update one attachment at once: one wins, the other is told its managed-id
    is gone; file, row and ATTACH agree on the winner."""
    for round_ in range(5):
        async with two_hosts(pg_database, tmp_path) as (a, b):
            await put_event(a, uid=f"race-{round_}")
            old = (await add(a, EVENT, b"v1")).headers["Cal-Managed-ID"]
            ra, rb = await asyncio.gather(
                action(a, EVENT, "attachment-update", old, b"from A"),
                action(b, EVENT, "attachment-update", old, b"from B"))
            assert sorted([ra.status, rb.status]) == [204, 403], (ra.body, rb.body)
            winner, body = (ra, b"from A") if ra.status == 204 else (rb, b"from B")
            loser = rb if winner is ra else ra
            assert loser.error() == names.VALID_MANAGED_ID_PARAMETER
            new = winner.headers["Cal-Managed-ID"]
            for host in (a, b):
                assert [x["MANAGED-ID"] for x in await attaches(host)] == [new]
                assert (await host.request("GET", f"/attachments/{new}")).body == body
            assert [p.name for p in files_under(tmp_path / "Data" / "Attachments")] == [new]
            assert await rows(pg_database) == 1
            assert (await a.request("DELETE", EVENT)).status == 204


async def _stream(size: int, chunk: int = 65536) -> AsyncIterator[bytes]:
    block = b"\xa5" * chunk
    for _ in range(size // chunk):
        yield block


async def test_50_mb_streams_with_bounded_memory(pg_database: PgDatabase,
                                                 tmp_path: Path) -> None:
    """Up and down, the process (server and client) never holds more than a few MB."""
    size = 50 * 1024 * 1024
    async with serving(pg_database, tmp_path, MaximumAttachmentSize=64 * 1024 * 1024,
                       UserQuota=0) as dav:
        await put_event(dav)
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            async with dav.session.post(f"{dav.base}{EVENT}?action=attachment-add",
                                        data=_stream(size), auth=AUTH,
                                        headers={"Content-Type": "video/mp4"}) as resp:
                assert resp.status == 201, await resp.text()
                location = resp.headers["Location"]
            upload_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.reset_peak()
            received = 0
            async with dav.session.get(location, auth=AUTH) as resp:
                assert resp.status == 200
                async for data in resp.content.iter_chunked(65536):
                    received += len(data)
            download_peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert received == size
    stored = files_under(tmp_path / "Data" / "Attachments")
    assert [p.stat().st_size for p in stored] == [size]
    assert upload_peak < 8 * 1024 * 1024, upload_peak
    assert download_peak < 8 * 1024 * 1024, download_peak


# -- a crash between the file and the commit ------------------------------------------------

_HOLD = """
CREATE FUNCTION test_hold_attachment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_advisory_xact_lock(8607); RETURN NEW; END $$;
CREATE TRIGGER test_hold_attachment BEFORE INSERT ON attachment
FOR EACH ROW EXECUTE FUNCTION test_hold_attachment();
"""
_WAITING = ("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND objid = 8607")


async def _until(condition: Callable[[], Awaitable[T]], what: str,
                 seconds: float = 30.0) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = await condition()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} not reached within {seconds} s")


@pytest.fixture
def crash_dir() -> object:
    path = reachable_tempdir()
    yield path
    remove_tree(path)


async def test_crash_between_file_and_commit_leaves_no_row(
        pg_database: PgDatabase, crash_dir: Path) -> None:
    """caldavd is SIGKILLed while its attachment row waits on a lock the test holds: the
    file was renamed into place, no row or ATTACH exists, and the cleanup pass removes
    the orphan."""
    await upgrade_to_head(pg_database.connect_kwargs)
    port = free_port()
    plist = external_db_plist(crash_dir, pg_database.url, HTTPPort=port,
                              BindAddresses=["127.0.0.1"], MultiProcessCount=1)
    proc = start_tool("caldavd", ["-f", str(plist)], crash_dir / "caldavd.log")
    base = f"http://127.0.0.1:{port}"
    holder: asyncpg.Connection = await pg_database.connect()
    try:
        async with aiohttp.ClientSession(auth=AUTH) as session:
            async def healthy() -> bool:
                try:
                    async with session.get(f"{base}/health") as resp:
                        return resp.status == 200
                except aiohttp.ClientError:
                    return False
            await _until(healthy, "caldavd answering /health", 60)
            async with session.put(f"{base}{EVENT}", data=_event_text(),
                                   headers={"Content-Type": "text/calendar"}) as resp:
                assert resp.status == 201
            await holder.execute(_HOLD)
            await holder.execute("SELECT pg_advisory_lock(8607)")
            post = asyncio.create_task(_post(session, f"{base}{EVENT}?action=attachment-add"))
            backend = await _until(lambda: holder.fetchval(_WAITING), "the row insert waiting")
            workers = children(proc.pid)
            for pid in [*workers, proc.pid]:  # the whole host dies at once
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            proc.wait(30)
            await _until(_gone(workers), "the worker gone")
            await post
            await holder.execute("SELECT pg_advisory_unlock(8607)")
            await _until(_backend_gone(holder, int(backend)), "the worker's backend gone")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        await holder.close()
    root = crash_dir / "Data" / "Attachments"
    orphans = [p for p in files_under(root) if ".tmp" not in p.parts]
    assert len(orphans) == 1 and orphans[0].read_bytes() == b"never committed"
    assert await rows(pg_database) == 0
    pool = await create_pool(pg_database.connect_kwargs, 2)
    try:
        store = PostgresStore(pool, indexer=index_rows)
        event = await _event_data(pg_database)
        assert "ATTACH" not in event
        swept = await sweep(store, AttachmentFiles(root), older_than=0)
        assert swept.orphans == 1
        assert files_under(root) == []
    finally:
        await pool.close()


async def _post(session: aiohttp.ClientSession, url: str) -> None:
    with contextlib.suppress(aiohttp.ClientError):
        async with session.post(url, data=b"never committed",
                                headers={"Content-Type": "text/plain"}):
            pass


def _event_text() -> str:
    from tests.functional.conftest import event
    return event("crash-1")


def _gone(pids: list[int]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return not any(running(pid) for pid in pids)
    return check


def _backend_gone(conn: asyncpg.Connection, pid: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return not await conn.fetchval("SELECT 1 FROM pg_stat_activity WHERE pid = $1", pid)
    return check


async def _event_data(db: PgDatabase) -> str:
    conn = await db.connect()
    try:
        return str(await conn.fetchval(
            "SELECT icalendar FROM calendar_object WHERE name = 'with-attachment.ics'"))
    finally:
        await conn.close()


async def test_cleanup_pass_keeps_live_files_and_young_orphans(pg_database: PgDatabase,
                                                               tmp_path: Path) -> None:
    root = tmp_path / "Data" / "Attachments"
    async with serving(pg_database, tmp_path) as dav:
        await put_event(dav)
        managed_id = (await add(dav, EVENT, b"kept")).headers["Cal-Managed-ID"]
    stray = root / "ff" / "ff" / ("f" * 32)
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"orphan")
    temporary = root / ".tmp" / "x.part"
    temporary.write_bytes(b"half")
    pool = await create_pool(pg_database.connect_kwargs, 2)
    try:
        store = PostgresStore(pool, indexer=index_rows)
        young = await sweep(store, AttachmentFiles(root), older_than=3600)
        assert (young.orphans, young.temporary) == (0, 0)
        old = time.time() - 7200
        for path in (stray, temporary):
            os.utime(path, (old, old))
        swept = await sweep(store, AttachmentFiles(root), older_than=3600)
        assert (swept.orphans, swept.temporary) == (1, 1)
    finally:
        await pool.close()
    assert [p.name for p in files_under(root)] == [managed_id]
