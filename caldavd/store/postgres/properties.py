"""Writing dead properties within their bounds (``PropertyLimits``).

Every row names the home whose quota it counts in (migration 0013); the trigger there
keeps ``calendar_home.quota_used`` right, as 0004 and 0014 do for calendar objects and
plain files.  The bounds are checked after the write, in
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


async def check_copied(conn: asyncpg.Connection, home_id: int, resource_ids: list[int],
                       used_before: int, limits: PropertyLimits) -> None:
    """Resources just copied (COPY, RFC 4918 §9.8.2): the dead properties of each copy
    within the bounds per resource, as a PROPPATCH that set them would be, and the home
    within its quota if the copy made it grow, by file and property bytes alike
    (``used_before``: its usage before)."""
    if resource_ids and (limits.count or limits.bytes):
        worst = await conn.fetchrow(
            "SELECT coalesce(max(count), 0) AS count, coalesce(max(bytes), 0) AS bytes "
            "FROM (SELECT count(*) AS count, sum(octet_length(name) + octet_length(value)) "
            "AS bytes FROM dead_property WHERE resource_id = ANY($1) GROUP BY resource_id) t",
            resource_ids)
        _check_bounds(worst["count"], worst["bytes"], limits)
    if limits.quota:
        await check_quota(conn, home_id, used_before, limits.quota)


def _check_bounds(count: int, size: int, limits: PropertyLimits) -> None:
    if limits.count and count > limits.count:
        raise TooManyProperties(f"{count} dead properties; a resource may carry "
                                f"{limits.count}")
    if limits.bytes and size > limits.bytes:
        raise TooManyProperties(f"{size} bytes of dead properties; a resource may "
                                f"carry {limits.bytes}")


async def check_quota(conn: asyncpg.Connection, home_id: int, used_before: int,
                      quota: int) -> None:
    """QuotaExceeded if the home grew from ``used_before`` past ``quota`` (a home over it
    may still shrink or stay)."""
    used = await home_usage(conn, home_id)
    if used > used_before and used > quota:
        raise QuotaExceeded(f"{used} bytes would exceed the quota of {quota}")


async def home_usage(conn: asyncpg.Connection, home_id: int) -> int:
    return int(await conn.fetchval("SELECT quota_used FROM calendar_home WHERE id = $1",
                                   home_id))


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
        used = await home_usage(conn, home_id)
        if used > limits.quota:
            raise QuotaExceeded(f"{used} bytes would exceed the quota of {limits.quota}")
