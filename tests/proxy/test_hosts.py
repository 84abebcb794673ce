"""Delegation across hosts: two caldavd hosts sharing the main database, a delegation
database of their own (created empty, as the operator would) and one memcached.  A
grant or a revocation made through host A counts through host B at the next request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from caldavd.store.postgres.migrate import upgrade_to_head
from tests.cache.test_memcached import Memcached
from tests.cache.test_response_cache import Host, host, shared_pool
from tests.conftest import PgDatabase
from tests.functional.conftest import CAL01, event
from tests.functional.test_delegation import P02, WRITE_GROUP, members, set_members


def _proxy_service(db: PgDatabase) -> dict[str, Any]:
    kwargs = db.connect_kwargs
    return {"ProxyDBService": {"type": "ProxyPostgreSQLDB", "params": {
        "host": str(kwargs["host"]), "port": kwargs["port"], "database": db.name,
        "user": kwargs["user"]}}}


@pytest.fixture
async def hosts(pg_database: PgDatabase, empty_database: PgDatabase, tmp_path: Path,
                mc: Memcached) -> AsyncIterator[tuple[Host, Host]]:
    await upgrade_to_head(pg_database.connect_kwargs)
    settings = {**shared_pool(mc.port), **_proxy_service(empty_database)}
    async with host(pg_database, tmp_path, **settings) as a, \
            host(pg_database, tmp_path, **settings) as b:
        assert (await a.dav.put(CAL01 + "seed.ics", event("seed"))).status == 201
        yield a, b


async def test_a_grant_through_one_host_counts_through_the_other(
        hosts: tuple[Host, Host], empty_database: PgDatabase) -> None:
    a, b = hosts
    # B has answered user01's own requests (cached) and refused user02.
    await b.calendar()
    assert (await b.dav.request("GET", CAL01 + "seed.ics", user="user02")).status == 403
    assert await set_members(a.dav, WRITE_GROUP, P02) == 200
    assert await members(b.dav, WRITE_GROUP) == [P02]
    assert (await b.dav.request("GET", CAL01 + "seed.ics", user="user02")).status == 200
    assert (await b.dav.put(CAL01 + "by02.ics", event("by02"), user="user02")).status == 201
    listing = await a.calendar()
    assert b"by02.ics" in listing.body, "the delegate's write is in the owner's next answer"
    conn = await empty_database.connect()
    try:
        assert await conn.fetchval("SELECT count(*) FROM delegate") == 1, \
            "kept in the delegation database"
    finally:
        await conn.close()


async def test_a_revocation_through_one_host_counts_through_the_other(
        hosts: tuple[Host, Host]) -> None:
    a, b = hosts
    assert await set_members(a.dav, WRITE_GROUP, P02) == 200
    assert (await b.dav.put(CAL01 + "one.ics", event("one"), user="user02")).status == 201
    assert await set_members(a.dav, WRITE_GROUP) == 200
    assert (await b.dav.put(CAL01 + "two.ics", event("two"), user="user02")).status == 403
    assert (await b.dav.request("GET", CAL01 + "one.ics", user="user02")).status == 403
    reply = await b.dav.propfind(CAL01, "{DAV:}getetag", depth="1", user="user02")
    assert reply.status == 403


async def test_an_unusable_sqlite_file_is_503_not_500(pg_database: PgDatabase,
                                                      tmp_path: Path) -> None:
    """A delegation database that fails mid-run answers 503 with Retry-After, and the
    owner's own requests, which need no grant, still work."""
    await upgrade_to_head(pg_database.connect_kwargs)
    broken = tmp_path / "not-a-database.sqlite"
    broken.write_bytes(b"this is not SQLite" * 100)
    settings = {"ProxyDBService": {"type": "ProxySqliteDB", "params": {"dbpath": str(broken)}}}
    async with host(pg_database, tmp_path, **settings) as only:
        assert (await only.dav.put(CAL01 + "mine.ics", event("mine"))).status == 201
        reply = await only.dav.request("GET", CAL01 + "mine.ics", user="user02")
        assert reply.status == 503 and reply.headers["Retry-After"]
