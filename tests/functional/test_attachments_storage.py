"""Attachments when AttachmentsRoot is full or cannot be written (issue #16, item 9).

A real file system: a 64 KiB tmpfs mounted as AttachmentsRoot (needs root, as the
test machine runs), full for real, then remounted read-only.  Before: a bare 500.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from caldavd.dav import names
from tests.conftest import PgDatabase
from tests.functional.conftest import serving
from tests.functional.test_attachments import (
    EVENT,
    action,
    add,
    attaches,
    files_under,
    put_event,
)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "attachments"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _read_only(mount: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)


def _storage_lines(caplog: pytest.LogCaptureFixture, mount: Path) -> list[str]:
    return [r.getMessage() for r in caplog.records if str(mount) in r.getMessage()]


async def test_full_storage_is_507_and_the_event_is_unchanged(
        pg_database: PgDatabase, tmp_path: Path, small_disk: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """RFC 4331 §6: DAV:sufficient-disk-space, 507; nothing of the upload is left."""
    async with serving(pg_database, tmp_path, AttachmentsRoot=str(small_disk)) as dav:
        await put_event(dav)
        before = await dav.request("GET", EVENT)
        with caplog.at_level(logging.WARNING):
            reply = await add(dav, EVENT, b"x" * 200_000)
        assert reply.status == 507, reply.body
        assert reply.error() == names.SUFFICIENT_DISK_SPACE
        assert str(small_disk) not in reply.body.decode(), "no server path to the client"
        assert len(_storage_lines(caplog, small_disk)) == 1, caplog.text
        after = await dav.request("GET", EVENT)
        assert after.body == before.body and after.headers["ETag"] == before.headers["ETag"]
        assert files_under(small_disk) == []
        assert (await add(dav, EVENT, b"small enough")).status == 201, "room again"


async def test_read_only_storage_is_503_with_retry_after(
        pg_database: PgDatabase, tmp_path: Path, small_disk: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """RFC 9110 §15.6.4: 503 with Retry-After while the storage cannot be written; removing
    an attachment still works (its file is left for the cleanup sweep)."""
    async with serving(pg_database, tmp_path, AttachmentsRoot=str(small_disk)) as dav:
        await put_event(dav)
        kept = await add(dav, EVENT, b"written before")
        assert kept.status == 201, kept.body
        _read_only(small_disk)
        before = await dav.request("GET", EVENT)
        with caplog.at_level(logging.WARNING):
            reply = await add(dav, EVENT, b"after")
        assert reply.status == 503, reply.body
        assert int(reply.headers["Retry-After"]) > 0
        assert len(_storage_lines(caplog, small_disk)) == 1, caplog.text
        assert (await dav.request("GET", EVENT)).body == before.body
        removed = await action(dav, EVENT, "attachment-remove", kept.headers["Cal-Managed-ID"])
        assert removed.status == 204, removed.body
        assert await attaches(dav) == []
        assert any("not removed" in r.getMessage() for r in caplog.records), caplog.text
