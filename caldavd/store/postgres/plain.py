"""Plain WebDAV files and folders in a home (litmus, generic WebDAV clients).

A file's bytes count in its home's quota (the trigger of migration 0014); a write that
makes the home grow past it is refused in its transaction, under the home's lock.

A folder's members share its path as a prefix; recursive copy, move and
delete are single prefix statements, so a folder of any size costs a few
queries, not one per member.
"""

from __future__ import annotations

import hashlib

import asyncpg

from caldavd.store.errors import AlreadyExists, DestinationExists, NotFound
from caldavd.store.model import NO_PROPERTY_LIMITS, Home, PlainResource, PropertyLimits
from caldavd.store.postgres.homes import lock_home
from caldavd.store.postgres.pool import connection, transaction
from caldavd.store.postgres.properties import check_copied, check_quota, home_usage

_COLUMNS = "id, path, is_collection, content_type, etag, size, created, modified"


def _resource(row: asyncpg.Record, with_content: bool = False) -> PlainResource:
    return PlainResource(id=row["id"], path=row["path"], is_collection=row["is_collection"],
                         content_type=row["content_type"], etag=row["etag"], size=row["size"],
                         created=row["created"], modified=row["modified"],
                         content=row["content"] if with_content else None)


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


async def _lock(conn: asyncpg.Connection, home: Home) -> None:
    await lock_home(conn, home.id)


async def _taken(conn: asyncpg.Connection, home: Home, path: str) -> bool:
    if await conn.fetchval("SELECT 1 FROM dav_resource WHERE home_id = $1 AND path = $2",
                           home.id, path):
        return True
    return "/" not in path and bool(await conn.fetchval(
        "SELECT 1 FROM calendar_bind WHERE home_id = $1 AND name = $2", home.id, path))


async def _require_folder(conn: asyncpg.Connection, home: Home, path: str) -> None:
    if path and not await conn.fetchval(
            "SELECT 1 FROM dav_resource WHERE home_id = $1 AND path = $2 AND is_collection",
            home.id, path):
        raise NotFound(f"no folder {path!r}")


async def _delete_tree(conn: asyncpg.Connection, home: Home, path: str) -> None:
    ids = [r["id"] for r in await conn.fetch(
        "DELETE FROM dav_resource WHERE home_id = $1 AND (path = $2 OR "
        "left(path, length($2) + 1) = $2 || '/') RETURNING id", home.id, path)]
    if ids:
        await conn.execute("DELETE FROM dead_property WHERE resource_id = ANY($1)", ids)


class PostgresPlain:
    """``caldavd.store.PlainStore``, a mixin of PostgresStore: needs ``self._pool``."""

    _pool: asyncpg.Pool

    async def plain(self, home: Home, path: str, *,
                    with_content: bool = False) -> PlainResource | None:
        extra = ", content" if with_content else ""
        async with connection(self._pool) as conn:
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS}{extra} FROM dav_resource WHERE home_id = $1 AND path = $2",
                home.id, path)
        return _resource(row, with_content) if row else None

    async def plain_members(self, home: Home, path: str) -> list[PlainResource]:
        async with connection(self._pool) as conn:
            if path:
                rows = await conn.fetch(
                    f"SELECT {_COLUMNS} FROM dav_resource WHERE home_id = $1 "
                    "AND left(path, length($2) + 1) = $2 || '/' "
                    "AND strpos(substr(path, length($2) + 2), '/') = 0 ORDER BY path",
                    home.id, path)
            else:
                rows = await conn.fetch(
                    f"SELECT {_COLUMNS} FROM dav_resource WHERE home_id = $1 "
                    "AND strpos(path, '/') = 0 ORDER BY path", home.id)
        return [_resource(r) for r in rows]

    async def plain_put(self, home: Home, path: str, content: bytes, content_type: str, *,
                        quota: int = 0) -> tuple[PlainResource, bool]:
        etag = hashlib.sha256(content).hexdigest()[:40]
        async with transaction(self._pool) as conn:
            await _lock(conn, home)
            await _require_folder(conn, home, _parent(path))
            used_before = await home_usage(conn, home.id) if quota else 0
            existing = await conn.fetchrow(
                "SELECT is_collection FROM dav_resource WHERE home_id = $1 AND path = $2",
                home.id, path)
            if existing is not None and existing["is_collection"]:
                raise AlreadyExists(path)
            row = await conn.fetchrow(
                "INSERT INTO dav_resource (home_id, path, is_collection, content, content_type, "
                "etag, size) VALUES ($1, $2, false, $3, $4, $5, $6) "
                "ON CONFLICT (home_id, path) DO UPDATE SET content = excluded.content, "
                "content_type = excluded.content_type, etag = excluded.etag, "
                f"size = excluded.size, modified = now() RETURNING {_COLUMNS}",
                home.id, path, content, content_type, etag, len(content))
            if quota:
                await check_quota(conn, home.id, used_before, quota)
        return _resource(row), existing is None

    async def plain_mkcol(self, home: Home, path: str) -> PlainResource:
        async with transaction(self._pool) as conn:
            await _lock(conn, home)
            if await _taken(conn, home, path):
                raise AlreadyExists(path)
            await _require_folder(conn, home, _parent(path))
            row = await conn.fetchrow(
                "INSERT INTO dav_resource (home_id, path, is_collection, etag) "
                f"VALUES ($1, $2, true, md5(random()::text)) RETURNING {_COLUMNS}",
                home.id, path)
        return _resource(row)

    async def plain_delete(self, home: Home, path: str) -> None:
        async with transaction(self._pool) as conn:
            await _lock(conn, home)
            if not await conn.fetchval(
                    "SELECT 1 FROM dav_resource WHERE home_id = $1 AND path = $2",
                    home.id, path):
                raise NotFound(path)
            await _delete_tree(conn, home, path)

    async def plain_copy(self, home: Home, source: str, target: str, *, recursive: bool,
                         overwrite: bool, move: bool,
                         limits: PropertyLimits = NO_PROPERTY_LIMITS) -> bool:
        async with transaction(self._pool) as conn:
            await _lock(conn, home)
            await _require_folder(conn, home, _parent(target))
            used_before = await home_usage(conn, home.id)
            existed = await _taken(conn, home, target)
            if existed:
                if not overwrite:
                    raise DestinationExists(target)
                await _delete_tree(conn, home, target)
            if move:
                await _move_tree(conn, home, source, target)
            else:
                copies = await _copy_tree(conn, home, source, target, recursive)
                await check_copied(conn, home.id, copies, used_before, limits)
        return not existed


async def _move_tree(conn: asyncpg.Connection, home: Home, source: str, target: str) -> None:
    """Ids are kept, so dead properties travel with the resources (RFC 4918 §9.9)."""
    await conn.execute(
        "UPDATE dav_resource SET path = $3 || substr(path, length($2) + 1), modified = now() "
        "WHERE home_id = $1 AND (path = $2 OR left(path, length($2) + 1) = $2 || '/')",
        home.id, source, target)


async def _copy_tree(conn: asyncpg.Connection, home: Home, source: str, target: str,
                     recursive: bool) -> list[int]:
    """The ids of the copies (their dead properties copied too)."""
    scope = "(path = $2 OR left(path, length($2) + 1) = $2 || '/')" if recursive else "path = $2"
    rows = await conn.fetch(
        "INSERT INTO dav_resource (home_id, path, is_collection, content, content_type, etag, "
        "size) SELECT home_id, $3 || substr(path, length($2) + 1), is_collection, content, "
        f"content_type, etag, size FROM dav_resource WHERE home_id = $1 AND {scope} "
        "RETURNING id, path", home.id, source, target)
    new_ids = {r["path"][len(target):]: r["id"] for r in rows}
    old = await conn.fetch(
        f"SELECT id, path FROM dav_resource WHERE home_id = $1 AND {scope}", home.id, source)
    pairs = [(r["id"], new_ids[r["path"][len(source):]]) for r in old
             if r["path"][len(source):] in new_ids]
    if pairs:
        await conn.execute(
            "INSERT INTO dead_property (resource_id, home_id, name, value) "
            "SELECT m.new_id, p.home_id, p.name, p.value FROM dead_property p "
            "JOIN unnest($1::bigint[], $2::bigint[]) AS m(old_id, new_id) "
            "ON p.resource_id = m.old_id",
            [a for a, _ in pairs], [b for _, b in pairs])
    return [b for _, b in pairs]
