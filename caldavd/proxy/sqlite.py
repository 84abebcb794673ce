"""Delegates in a local SQLite file (``ProxySqliteDB``): one host only.

The file has the shape Apple's server gave its proxy database, one row per
member of a proxy group: ``GROUPS(GROUPNAME, MEMBER)`` with group names
'<delegator uid>#calendar-proxy-write' (or -read), so an existing file can be
used as it is, or moved to PostgreSQL with ``caldavd-migrate-proxies``.
SQLite blocks, so every call runs in a worker thread, one at a time.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from caldavd.proxy.base import (
    Access,
    Assignment,
    ProxyDBError,
    group_name,
    parse_group_name,
    strongest,
)

T = TypeVar("T")
_SCHEMA = ("CREATE TABLE IF NOT EXISTS GROUPS (GROUPNAME text, MEMBER text)",
           "CREATE INDEX IF NOT EXISTS GROUPNAMES ON GROUPS (GROUPNAME)",
           "CREATE INDEX IF NOT EXISTS MEMBERS ON GROUPS (MEMBER)")


class SqliteProxyDB:
    """``ProxyDB`` on a SQLite file."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self._path = path
        self._read_only = read_only
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self._locked, work)

    def _locked(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            try:
                if self._db is None:
                    self._db = self._open()
                return work(self._db)
            except sqlite3.Error as exc:
                raise ProxyDBError(f"ProxyDBService dbpath {self._path}: {exc}") from None

    def _open(self) -> sqlite3.Connection:
        if self._read_only:
            return sqlite3.connect(f"{self._path.absolute().as_uri()}?mode=ro", uri=True,
                                   check_same_thread=False, isolation_level=None)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        for statement in _SCHEMA:
            db.execute(statement)
        return db

    async def delegates(self, delegator_uid: str, write: bool) -> set[str]:
        name = group_name(delegator_uid, write)
        rows = await self._run(lambda db: db.execute(
            "SELECT MEMBER FROM GROUPS WHERE GROUPNAME = ?", (name,)).fetchall())
        return {r[0] for r in rows}

    async def set_delegates(self, delegator_uid: str, write: bool,
                            delegate_uids: Iterable[str]) -> None:
        name = group_name(delegator_uid, write)
        members = sorted(set(delegate_uids))

        def replace(db: sqlite3.Connection) -> None:
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.execute("DELETE FROM GROUPS WHERE GROUPNAME = ?", (name,))
                db.executemany("INSERT INTO GROUPS (GROUPNAME, MEMBER) VALUES (?, ?)",
                               [(name, m) for m in members])

        await self._run(replace)

    async def delegators(self, delegate_uids: Iterable[str], write: bool) -> set[str]:
        found = set()
        for assignment in await self._matching(delegate_uids):
            if assignment.write == write:
                found.add(assignment.delegator_uid)
        return found

    async def access(self, delegator_uid: str, delegate_uids: Iterable[str]) -> Access | None:
        return strongest(a.write for a in await self._matching(delegate_uids)
                         if a.delegator_uid == delegator_uid)

    async def _matching(self, delegate_uids: Iterable[str]) -> list[Assignment]:
        members = sorted(set(delegate_uids))
        marks = ",".join("?" * len(members))
        rows = await self._run(lambda db: db.execute(
            f"SELECT GROUPNAME, MEMBER FROM GROUPS WHERE MEMBER IN ({marks})",
            members).fetchall()) if members else []
        return _assignments(rows)

    async def assignments(self) -> list[Assignment]:
        rows = await self._run(lambda db: db.execute(
            "SELECT GROUPNAME, MEMBER FROM GROUPS").fetchall())
        return sorted(_assignments(rows))

    async def close(self) -> None:
        def close(db: sqlite3.Connection) -> None:
            db.close()
            self._db = None
        if self._db is not None:
            await self._run(close)


def _assignments(rows: Iterable[tuple[str, str]]) -> list[Assignment]:
    """Rows of proxy groups as assignments; rows of other groups are not delegation."""
    found = []
    for name, member in rows:
        parsed = parse_group_name(name)
        if parsed is not None:
            found.append(Assignment(parsed[0], parsed[1], member))
    return found
