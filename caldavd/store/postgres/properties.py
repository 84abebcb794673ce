"""Writing dead properties within their bounds (``PropertyLimits``).

Every row names the home whose quota it counts in (migration 0013); the trigger there
keeps ``calendar_home.quota_used`` right.  The bounds are checked after the write, in
its transaction under the home's lock, so a refused write leaves nothing behind and two
writes at once cannot both slip under a bound.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import asyncpg

from caldavd.store.errors import QuotaExceeded, TooManyProperties
from caldavd.store.model import PropertyLimits

_USAGE = ("SELECT count(*) AS count, "
          "coalesce(sum(octet_length(name) + octet_length(value)), 0) AS bytes "
          "FROM dead_property WHERE resource_id = $1")


async def write_properties(conn: asyncpg.Connection, home_id: int, resource_id: int,
                           set_: Mapping[str, str], remove: Iterable[str],
                           limits: PropertyLimits) -> None:
    """Remove, then set (``home_id`` owns the resource); the caller holds the home's lock."""
    bounded = bool(limits.count or limits.bytes or limits.quota)
    before = await conn.fetchrow(_USAGE, resource_id) if bounded else None
    removed = [n for n in remove if n not in set_]
    if removed:
        await conn.execute(
            "DELETE FROM dead_property WHERE resource_id = $1 AND name = ANY($2)",
            resource_id, removed)
    if set_:
        await conn.executemany(
            "INSERT INTO dead_property (resource_id, home_id, name, value) "
            "VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (resource_id, name) DO UPDATE SET value = excluded.value",
            [(resource_id, home_id, k, v) for k, v in set_.items()])
    if before is not None and set_:
        await _check(conn, home_id, resource_id, before, limits)


async def _check(conn: asyncpg.Connection, home_id: int, resource_id: int,
                 before: asyncpg.Record, limits: PropertyLimits) -> None:
    after = await conn.fetchrow(_USAGE, resource_id)
    if limits.count and after["count"] > max(limits.count, before["count"]):
        raise TooManyProperties(f"{after['count']} dead properties; a resource may carry "
                                f"{limits.count}")
    grew = after["bytes"] > before["bytes"]
    if limits.bytes and grew and after["bytes"] > limits.bytes:
        raise TooManyProperties(f"{after['bytes']} bytes of dead properties; a resource may "
                                f"carry {limits.bytes}")
    if limits.quota and grew:
        used = await conn.fetchval("SELECT quota_used FROM calendar_home WHERE id = $1",
                                   home_id)
        if used > limits.quota:
            raise QuotaExceeded(f"{used} bytes would exceed the quota of {limits.quota}")
