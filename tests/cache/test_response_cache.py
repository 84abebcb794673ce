"""The PROPFIND response cache, across two hosts sharing a real memcached and a real
PostgreSQL: answers are served from the cache, and never after a change made
through any host, whatever memcached does meanwhile (down, frozen, restarted)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from caldavd.cache import memcached
from caldavd.cache.response import ResponseCache
from caldavd.http.keys import RESPONSE_CACHE
from caldavd.server.app import create_app
from caldavd.store.postgres.migrate import upgrade_to_head
from tests.cache.test_memcached import Memcached
from tests.cache.test_memcached_timeouts import stopped
from tests.conftest import PgDatabase
from tests.functional.conftest import CAL01, HOME01, Dav, Reply, config_for, event

pytestmark = pytest.mark.skipif(shutil.which("memcached") is None,
                                reason="memcached is not installed")

CTAG = "{http://calendarserver.org/ns/}getctag"
SYNC_TOKEN = "{DAV:}sync-token"
DISPLAYNAME = "{DAV:}displayname"
ETAG = "{DAV:}getetag"


@dataclass
class Host:
    app: web.Application
    dav: Dav

    @property
    def cache(self) -> ResponseCache:
        cache = self.app[RESPONSE_CACHE]
        assert cache is not None
        return cache

    async def home(self) -> Reply:
        """What a desktop client polls: the home at Depth 1."""
        reply = await self.dav.propfind(HOME01, DISPLAYNAME, CTAG, SYNC_TOKEN, depth="1")
        assert reply.status == 207
        return reply

    async def calendar(self) -> Reply:
        reply = await self.dav.propfind(CAL01, ETAG, DISPLAYNAME, depth="1")
        assert reply.status == 207
        return reply

    async def views(self) -> tuple[bytes, bytes]:
        return (await self.home()).body, (await self.calendar()).body



def shared_pool(port: int) -> dict[str, Any]:
    return {"Memcached": {"Pools": {"Default": {
        "ClientEnabled": True, "ServerEnabled": False, "BindAddress": "127.0.0.1",
        "Port": port, "HandleCacheTypes": ["Default"]}}}}


@contextlib.asynccontextmanager
async def host(db: PgDatabase, tmp: Path, **overrides: Any) -> AsyncIterator[Host]:
    app = create_app(config_for(db, tmp, **overrides))
    async with TestServer(app, host="127.0.0.1") as server, aiohttp.ClientSession() as session:
        yield Host(app, Dav(session, str(server.make_url("")).rstrip("/")))


@pytest.fixture
async def hosts(pg_database: PgDatabase, tmp_path: Path, mc: Memcached,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Host, Host]]:
    # A busy machine must not turn the hits these tests count into timeouts.
    monkeypatch.setattr(memcached, "TIMEOUT", 5.0)
    await upgrade_to_head(pg_database.connect_kwargs)
    async with host(pg_database, tmp_path, **shared_pool(mc.port)) as a, \
            host(pg_database, tmp_path, **shared_pool(mc.port)) as b:
        assert (await a.dav.put(CAL01 + "seed.ics", event("seed"))).status == 201
        yield a, b


async def test_a_repeated_propfind_is_answered_from_the_cache(
        hosts: tuple[Host, Host], pg_database: PgDatabase) -> None:
    """Proof of a hit: a change made behind the store's back (no token move) stays unseen;
    moving the token (what every write does) makes the next answer fresh."""
    _, b = hosts
    first = await b.home()
    conn = await pg_database.connect()
    try:
        await conn.execute("UPDATE dead_property SET value = replace(value, 'Calendar', "
                           "'Renamed behind the cache')")
        hits = b.cache.hits
        assert (await b.home()).body == first.body
        assert b.cache.hits == hits + 1
        await conn.execute("UPDATE calendar_home SET change_token = change_token + 1")
    finally:
        await conn.close()
    assert b"Renamed behind the cache" in (await b.home()).body


async def test_the_other_host_shares_the_entry(hosts: tuple[Host, Host]) -> None:
    a, b = hosts
    answer = await a.home()
    hits = b.cache.hits
    assert (await b.home()).body == answer.body
    assert b.cache.hits == hits + 1, "host B used the entry host A filed"


async def _put(a: Host) -> None:
    assert (await a.dav.put(CAL01 + "new.ics", event("new"))).status == 201


async def _delete(a: Host) -> None:
    assert (await a.dav.request("DELETE", CAL01 + "seed.ics")).status == 204


async def _move(a: Host) -> None:
    reply = await a.dav.request("MOVE", CAL01 + "seed.ics", headers={
        "Destination": a.dav.base + CAL01 + "moved.ics"})
    assert reply.status == 201


async def _proppatch(a: Host) -> None:
    body = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
            "<D:displayname>Work</D:displayname></D:prop></D:set></D:propertyupdate>")
    assert (await a.dav.request("PROPPATCH", CAL01, body)).status == 207


async def _mkcalendar(a: Host) -> None:
    assert (await a.dav.request("MKCALENDAR", HOME01 + "added/")).status == 201


WRITES: dict[str, Callable[[Host], Awaitable[None]]] = {
    "PUT": _put, "DELETE": _delete, "MOVE": _move, "PROPPATCH": _proppatch,
    "MKCALENDAR": _mkcalendar,
}


@pytest.mark.parametrize("write", WRITES)
async def test_a_write_through_one_host_is_seen_through_the_other_at_once(
        hosts: tuple[Host, Host], write: str) -> None:
    a, b = hosts
    primed = await b.views()
    hits = b.cache.hits
    assert await b.views() == primed and b.cache.hits == hits + 2, "B's answers are cached"
    await WRITES[write](a)
    after = await b.views()
    assert after == await a.views(), "B answers what A answers"
    changed = [before != now for before, now in zip(primed, after, strict=True)]
    # Every write moves the home's CTag; a calendar's own listing changes unless only the
    # home's membership did (MKCALENDAR).
    assert changed[0] and (changed[1] or write == "MKCALENDAR")


async def test_memcached_frozen_while_a_host_writes_serves_nothing_stale(
        hosts: tuple[Host, Host], mc: Memcached, monkeypatch: pytest.MonkeyPatch) -> None:
    """memcached stops answering (SIGSTOP), a write lands meanwhile, memcached comes back
    with its old contents: the old entries are still there, and never served."""
    monkeypatch.setattr(memcached, "RETRY_SECONDS", 0.0)
    a, b = hosts
    primed = await b.views()
    assert mc.proc is not None
    monkeypatch.setattr(memcached, "TIMEOUT", 0.3)
    os.kill(mc.proc.pid, signal.SIGSTOP)
    await stopped(mc.proc.pid)
    try:
        await _put(a)
        during = await b.views()
    finally:
        os.kill(mc.proc.pid, signal.SIGCONT)
        monkeypatch.setattr(memcached, "TIMEOUT", 5.0)
    assert during != primed and during == await a.views()
    after = await b.views()
    assert after == during, "old entries came back with memcached and were not served"
    hits = b.cache.hits
    assert await b.views() == after and b.cache.hits == hits + 2, "the cache is used again"


async def test_memcached_killed_and_restarted_changes_no_answer(
        hosts: tuple[Host, Host], mc: Memcached, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(memcached, "RETRY_SECONDS", 0.0)
    a, b = hosts
    before = await b.views()
    mc.stop()
    with caplog.at_level("ERROR", logger="caldavd.cache.memcached"):
        assert await b.views() == before and await b.views() == before
        await _proppatch(a)
        during = await a.views()
        assert await b.views() == during != before
    outage_lines = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert 1 <= len(outage_lines) <= 2, "one line per host and outage, not one per request"
    mc.start()
    assert await b.views() == during and await b.views() == during
    hits = b.cache.hits
    assert await b.views() == during and b.cache.hits == hits + 2


async def test_other_principals_are_not_answered_from_the_owners_entries(
        hosts: tuple[Host, Host]) -> None:
    """user02 asking for user01's home gets its own answer (403 here), not the cached one."""
    _, b = hosts
    await b.home()
    reply = await b.dav.propfind(HOME01, DISPLAYNAME, CTAG, SYNC_TOKEN, depth="1",
                                 user="user02")
    assert reply.status == 403


async def test_depth_0_is_computed_every_time(hosts: tuple[Host, Host]) -> None:
    """A Depth 0 answer costs less to compute than to fetch (bench/README.md, Findings)."""
    _, b = hosts
    before = (b.cache.hits, b.cache.misses)
    for _ in range(3):
        assert (await b.dav.propfind(HOME01, CTAG, depth="0")).status == 207
    assert (b.cache.hits, b.cache.misses) == before


async def test_a_disabled_cache_is_not_consulted(pg_database: PgDatabase,
                                                 tmp_path: Path) -> None:
    await upgrade_to_head(pg_database.connect_kwargs)
    async with host(pg_database, tmp_path, EnableResponseCache=False) as only:
        assert only.app[RESPONSE_CACHE] is None
        assert (await only.home()).body == (await only.home()).body


async def test_without_memcached_each_host_caches_for_itself(pg_database: PgDatabase,
                                                             tmp_path: Path) -> None:
    """No pool handles ResponseCache: an in-process cache, validated the same way."""
    await upgrade_to_head(pg_database.connect_kwargs)
    async with host(pg_database, tmp_path) as a, host(pg_database, tmp_path) as b:
        primed = await b.views()
        await b.views()
        assert b.cache.hits >= 2
        await _put(a)
        assert await b.views() != primed
