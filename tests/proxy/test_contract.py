"""Every delegation database behaves the same (main store, PostgreSQL of its own, SQLite)."""

from __future__ import annotations

from caldavd.proxy.base import Assignment, ProxyDB
from caldavd.proxy.postgres import PostgresProxyDB
from caldavd.store.postgres.migrate import upgrade_to_head
from caldavd.store.postgres.pool import create_pool
from tests.conftest import PgDatabase


async def test_set_delegates_replaces_the_set(proxy_db: ProxyDB) -> None:
    assert await proxy_db.delegates("boss", True) == set()
    await proxy_db.set_delegates("boss", True, ["a", "b"])
    await proxy_db.set_delegates("boss", False, ["c"])
    assert await proxy_db.delegates("boss", True) == {"a", "b"}
    await proxy_db.set_delegates("boss", True, ["b", "d", "d"])
    assert await proxy_db.delegates("boss", True) == {"b", "d"}
    assert await proxy_db.delegates("boss", False) == {"c"}
    await proxy_db.set_delegates("boss", True, [])
    assert await proxy_db.delegates("boss", True) == set()
    assert await proxy_db.delegates("boss", False) == {"c"}


async def test_delegators(proxy_db: ProxyDB) -> None:
    await proxy_db.set_delegates("boss", True, ["a", "b"])
    await proxy_db.set_delegates("chief", True, ["b"])
    await proxy_db.set_delegates("chief", False, ["a"])
    assert await proxy_db.delegators(["a"], True) == {"boss"}
    assert await proxy_db.delegators(["a"], False) == {"chief"}
    assert await proxy_db.delegators(["a", "b"], True) == {"boss", "chief"}
    assert await proxy_db.delegators(["zed"], True) == set()
    assert await proxy_db.delegators([], True) == set()


async def test_access_is_the_strongest_grant(proxy_db: ProxyDB) -> None:
    await proxy_db.set_delegates("boss", False, ["assistant", "team"])
    await proxy_db.set_delegates("boss", True, ["team"])
    assert await proxy_db.access("boss", ["assistant"]) == "read"
    assert await proxy_db.access("boss", ["assistant", "team"]) == "write"
    assert await proxy_db.access("boss", ["stranger"]) is None
    assert await proxy_db.access("chief", ["team"]) is None
    assert await proxy_db.access("boss", []) is None


async def test_assignments_list_everything(proxy_db: ProxyDB) -> None:
    await proxy_db.set_delegates("boss", True, ["b", "a"])
    await proxy_db.set_delegates("chief", False, ["a"])
    assert await proxy_db.assignments() == [
        Assignment("boss", True, "a"), Assignment("boss", True, "b"),
        Assignment("chief", False, "a")]


async def test_the_main_store_moves_the_delegators_home_token(pg_database: PgDatabase) -> None:
    """A grant changes what the delegator's home shows its delegate (caches see it)."""
    await upgrade_to_head(pg_database.connect_kwargs)
    pool = await create_pool(pg_database.connect_kwargs, 2)
    db = PostgresProxyDB(pool, main_store=True, owns_pool=True)
    try:
        async with pool.acquire() as conn:
            await conn.execute("INSERT INTO calendar_home (owner_uid) VALUES ('boss')")
            token = "SELECT change_token FROM calendar_home WHERE owner_uid = 'boss'"
            before = await conn.fetchval(token)
            await db.set_delegates("boss", True, ["assistant"])
            assert await conn.fetchval(token) > before
    finally:
        await db.close()

