"""The home row: the lock every write in a home takes, and its change token.

A write takes the home's row lock by moving the home's change token (an UPDATE
takes the same ``FOR NO KEY UPDATE`` lock a ``SELECT ... FOR NO KEY UPDATE``
would): writes to one home are serialised across hosts, and every cache
validated by the token (migration 0008) sees the change at the commit that
makes it.
"""

from __future__ import annotations

import asyncpg

from caldavd.store.errors import NotFound

_MOVE_TOKEN_SQL = ("UPDATE calendar_home SET change_token = nextval('revision_seq') "
                   "WHERE id = $1 RETURNING id")


async def lock_home(conn: asyncpg.Connection, home_id: int) -> None:
    """Lock the home for this transaction and move its change token."""
    if await conn.fetchval(_MOVE_TOKEN_SQL, home_id) is None:
        raise NotFound(f"home {home_id}")


async def move_token_of(conn: asyncpg.Connection, owner_uid: str) -> None:
    """Move the token of ``owner_uid``'s home, if it has one: what the home shows someone
    changed without a write in it (its delegates).  Takes the home's row lock, as writes do."""
    await conn.execute("UPDATE calendar_home SET change_token = nextval('revision_seq') "
                       "WHERE owner_uid = $1", owner_uid)

