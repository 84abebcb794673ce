"""Removing attachment files nothing refers to any more.

``collect`` unlinks the files of attachments deleted since (the trash of
migration 0009), right after the write that deleted them.  ``sweep`` is the
cleanup pass for what a crash left: files older than ``older_than`` seconds
without a row (written, then the process died before its row committed; or
deleted and trashed, then it died before unlinking), and stale temporary
files.  A file younger than ``older_than`` may belong to a write in flight, so
the pass leaves it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from caldavd.attachments.files import AttachmentFiles
from caldavd.store import AttachmentTrash

log = logging.getLogger(__name__)

SWEEP_AGE = 3600.0  # seconds: far longer than any upload's write-to-commit
_BATCH = 500


async def collect(store: AttachmentTrash, files: AttachmentFiles) -> int:
    """Unlink the files of deleted attachments; how many."""
    removed = 0
    while paths := await store.take_trash(_BATCH):
        await files.remove(paths)
        removed += len(paths)
        if len(paths) < _BATCH:
            break
    return removed


@dataclass(frozen=True)
class Swept:
    trashed: int
    orphans: int
    temporary: int


async def sweep(store: AttachmentTrash, files: AttachmentFiles,
                older_than: float = SWEEP_AGE) -> Swept:
    trashed = await collect(store, files)
    found = await asyncio.get_running_loop().run_in_executor(
        None, lambda: list(files.files_older_than(older_than)) if files.root.exists() else [])
    temporary = [path for path, temp in found if temp]
    orphans: list[str] = []
    kept = [path for path, temp in found if not temp]
    for start in range(0, len(kept), _BATCH):
        batch = kept[start:start + _BATCH]
        known = await store.attachment_paths(batch)
        orphans.extend(p for p in batch if p not in known)
    await files.remove(temporary + orphans)
    if orphans or temporary:
        log.info("attachments cleanup: removed %d orphaned and %d temporary files",
                 len(orphans), len(temporary))
    return Swept(trashed, len(orphans), len(temporary))
