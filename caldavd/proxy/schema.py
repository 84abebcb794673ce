"""The schema of a delegation database of its own (``ProxyPostgreSQLDB``), kept by caldavd.

As the multi-server guide says, the operator only creates the empty database and
its role; caldavd creates the tables at first use and upgrades them when they
are older.  Steps run in order in one transaction under an advisory lock, so
hosts starting together neither race nor half-apply a step.  A database newer
than this caldavd knows is refused (an older caldavd must not write to it).
"""

from __future__ import annotations

import asyncpg

from caldavd.proxy.base import ProxyDBError

# pg_advisory_xact_lock key: 'caldavd-proxy-schema' as a stable 63-bit number.
LOCK_KEY = 0x6361_6C64_7072_6F78
STEPS: dict[int, tuple[str, ...]] = {
    1: ("CREATE TABLE delegate (delegator_uid text NOT NULL, delegate_uid text NOT NULL, "
        "read_write boolean NOT NULL, PRIMARY KEY (delegator_uid, delegate_uid, read_write))",),
    2: ("CREATE INDEX delegate_by_delegate ON delegate (delegate_uid)",
        "ALTER TABLE delegate ADD COLUMN created timestamptz NOT NULL DEFAULT now()"),
}
VERSION = max(STEPS)


async def ensure_schema(conn: asyncpg.Connection) -> tuple[int, int]:
    """Bring the delegation schema to ``VERSION``; (version found, version now)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS caldavd_proxy_schema (version integer NOT NULL)")
        found = int(await conn.fetchval(
            "SELECT coalesce(max(version), 0) FROM caldavd_proxy_schema"))
        if found > VERSION:
            raise ProxyDBError(f"the delegation database has schema version {found}, newer "
                               f"than this caldavd knows ({VERSION}); upgrade caldavd")
        for step in range(found + 1, VERSION + 1):
            for statement in STEPS[step]:
                await conn.execute(statement)
        if found < VERSION:
            await conn.execute("DELETE FROM caldavd_proxy_schema")
            await conn.execute("INSERT INTO caldavd_proxy_schema VALUES ($1)", VERSION)
    return found, VERSION
