"""Attachment files under AttachmentsRoot, shared by every host (NFS in production).

A file's path comes from its managed id alone (``ab/cd/<id>``: 65,536 directories
so no directory grows huge); nothing a client sends reaches a path.  A file is
written to ``.tmp/`` on the same filesystem, fsynced, renamed into place and
its directory fsynced, so no reader (on any host) ever sees part of one, and a
file is in place before the row that names it commits.  Bytes go to disk in
bounded chunks as they arrive; every system call runs in the executor.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import logging
import os
import re
import secrets
import time
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from caldavd.attachments.errors import (
    AttachmentTooLarge,
    StorageError,
    StorageFull,
    StorageUnavailable,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

TMP = ".tmp"
_MANAGED_ID = re.compile(r"[0-9a-f]{32}")
_WRITE_CHUNK = 1 << 20  # bytes gathered before one write call
READ_CHUNK = 256 * 1024
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def new_managed_id() -> str:
    return secrets.token_hex(16)


def valid_managed_id(value: str) -> bool:
    return _MANAGED_ID.fullmatch(value) is not None


def path_for(managed_id: str) -> str:
    """The file's path relative to the root; only for ids that ``valid_managed_id``."""
    if not valid_managed_id(managed_id):
        raise ValueError(f"not a managed attachment id: {managed_id!r}")
    return f"{managed_id[:2]}/{managed_id[2:4]}/{managed_id}"


@dataclass(frozen=True)
class StoredFile:
    managed_id: str
    path: str  # relative to the root
    size: int
    digest: str  # sha256, hex


class _TempFile:
    """The blocking half of a write; each method runs in the executor."""

    def __init__(self, root: Path) -> None:
        (root / TMP).mkdir(parents=True, exist_ok=True)
        self.path = root / TMP / f"{secrets.token_hex(16)}.part"
        self.fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> None:
        if self.fd is None:
            raise RuntimeError("self.fd is not set")
        self.digest.update(data)
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def commit(self, final: Path) -> None:
        if self.fd is None:
            raise RuntimeError("self.fd is not set")
        os.fsync(self.fd)
        os.close(self.fd)
        self.fd = None
        final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(self.path, final)
        _fsync_dir(final.parent)

    def discard(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self.path.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def storage_error(exc: OSError, where: Path) -> StorageError:
    """What the file system said, as the attachments' own error naming the path."""
    kind = StorageFull if exc.errno in _FULL else StorageUnavailable
    return kind(exc.filename or where, exc.strerror or str(exc))


async def _on_disk(where: Path, call: Callable[..., T], *args: object) -> T:
    """``call(*args)`` in the executor; an OSError becomes a ``StorageError``."""
    try:
        return await asyncio.get_running_loop().run_in_executor(None, call, *args)
    except OSError as exc:
        raise storage_error(exc, where) from exc


class AttachmentFiles:
    def __init__(self, root: Path) -> None:
        self.root = root

    def full_path(self, path: str) -> Path:
        return self.root / path

    async def store(self, chunks: AsyncIterable[bytes], limit: int = 0) -> StoredFile:
        """Write ``chunks`` as a new attachment's file; AttachmentTooLarge past ``limit``
        (0: none), and nothing is left behind."""
        loop = asyncio.get_running_loop()
        managed_id = new_managed_id()
        temp = await _on_disk(self.root, _TempFile, self.root)
        try:
            size = await _copy(chunks, temp, limit)
            await _on_disk(temp.path, temp.commit, self.root / path_for(managed_id))
        except BaseException:
            with contextlib.suppress(OSError):
                await loop.run_in_executor(None, temp.discard)
            raise
        return StoredFile(managed_id, path_for(managed_id), size, temp.digest.hexdigest())

    async def remove(self, paths: list[str]) -> None:
        if paths:
            await asyncio.get_running_loop().run_in_executor(None, self._remove, paths)

    def _remove(self, paths: list[str]) -> None:
        """Unlink what can be; a file left (read-only storage) has no row any more, so
        the next sweep takes it."""
        failed: list[OSError] = []
        for path in paths:
            try:
                (self.root / path).unlink(missing_ok=True)
            except OSError as exc:
                failed.append(exc)
        if failed:
            log.warning("attachment storage: %d file(s) not removed, e.g. %s: %s (the "
                        "cleanup sweep tries again)", len(failed), failed[0].filename,
                        failed[0].strerror)

    async def read(self, path: str, start: int, length: int) -> AsyncGenerator[bytes, None]:
        """``length`` bytes from ``start``, chunk by chunk (FileNotFoundError at once)."""
        loop = asyncio.get_running_loop()
        try:
            handle = await loop.run_in_executor(None, open, self.root / path, "rb")
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise storage_error(exc, self.root / path) from exc
        try:
            await loop.run_in_executor(None, handle.seek, start)
            while length > 0:
                data = await loop.run_in_executor(None, handle.read, min(READ_CHUNK, length))
                if not data:
                    return
                length -= len(data)
                yield data
        finally:
            await loop.run_in_executor(None, handle.close)

    def files_older_than(self, seconds: float) -> Iterator[tuple[str, bool]]:
        """(relative path, is a temporary file) of every file not modified for ``seconds``
        (blocking: run it in the executor)."""
        cutoff = time.time() - seconds
        for directory, _, names in os.walk(self.root):
            for name in names:
                full = Path(directory) / name
                try:
                    if full.stat().st_mtime > cutoff:
                        continue
                except FileNotFoundError:
                    continue
                relative = str(full.relative_to(self.root))
                yield relative, relative.startswith(TMP + "/")


async def _copy(chunks: AsyncIterable[bytes], temp: _TempFile, limit: int) -> int:
    pending: list[bytes] = []
    pending_size = size = 0
    async for chunk in chunks:
        size += len(chunk)
        if limit and size > limit:
            raise AttachmentTooLarge(limit)
        pending.append(chunk)
        pending_size += len(chunk)
        if pending_size >= _WRITE_CHUNK:
            await _on_disk(temp.path, temp.write, b"".join(pending))
            pending, pending_size = [], 0
    if pending:
        await _on_disk(temp.path, temp.write, b"".join(pending))
    return size
