"""calendar-query runs its one path once per calendar: one index prefilter
(``Store.query_listing``) and one recheck, whatever the answer needs besides —
calendar-data fragments evicted from their cache, objects changed or deleted between
the prefilter and the read of their data, properties only the objects have.  Spies
count the calls to the real store methods."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from caldavd.http.keys import STORE
from caldavd.http.reports import query as query_report
from caldavd.server.app import create_app
from caldavd.store.postgres.migrate import upgrade_to_head
from tests.conftest import PgDatabase
from tests.functional.conftest import (
    CAL01,
    NS,
    Dav,
    GuardedTestServer,
    Reply,
    config_for,
    event,
)

QUERY = """<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/>{more}</D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
  <C:time-range start="20260101T000000Z" end="20260201T000000Z"/>
  </C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"""
FLOATING = event("floating", "20260112T100000", "20260112T110000")  # rechecked


class Spied:
    """The app's store with a count of calls to some of its methods; ``before`` runs
    ahead of the real call, once per method."""

    def __init__(self, store: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.before: dict[str, Callable[[], Awaitable[None]]] = {}
        for name in ("query_listing", "objects"):
            self._spy(store, name)

    def _spy(self, store: Any, name: str) -> None:
        real = getattr(store, name)

        async def spy(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            first = self.before.pop(name, None)
            if first is not None:
                await first()
            return await real(*args, **kwargs)

        setattr(store, name, spy)


@contextlib.asynccontextmanager
async def spied(db: PgDatabase, tmp: Path) -> AsyncIterator[tuple[Dav, Spied]]:
    await upgrade_to_head(db.connect_kwargs)
    app = create_app(config_for(db, tmp))
    async with GuardedTestServer(app, host="127.0.0.1") as server, \
            aiohttp.ClientSession() as session:
        yield Dav(session, str(server.make_url("")).rstrip("/")), Spied(app[STORE])


async def _fill(dav: Dav) -> None:
    for n in range(3):
        body = event(f"e{n}", f"2026010{n + 5}T100000Z", f"2026010{n + 5}T110000Z")
        assert (await dav.put(f"{CAL01}e{n}.ics", body)).status == 201
    assert (await dav.put(CAL01 + "floating.ics", FLOATING)).status == 201


def _answers(reply: Reply) -> dict[str, tuple[str, str]]:
    assert reply.status == 207, reply.body
    return {href: (r.findtext(".//D:getetag", namespaces=NS) or "",
                   r.findtext(".//C:calendar-data", namespaces=NS) or "")
            for href, r in reply.responses().items()}


async def _current(dav: Dav) -> dict[str, tuple[str, str]]:
    """href -> (ETag, data) of every object, by GET."""
    listing = await dav.propfind(CAL01, "{DAV:}getetag", depth="1")
    result = {}
    for href in listing.responses():
        if href.endswith(".ics"):
            got = await dav.request("GET", href)
            result[href] = (got.headers["ETag"], got.body.decode())
    return result


async def test_evicted_fragments_are_read_not_queried_again(
        pg_database: PgDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With room for two fragments, the second query finds some of its rows' fragments
    and must read the others' data; making those fragments evicts ones it found: it
    answers from what it found, with the one prefilter."""
    monkeypatch.setattr(query_report, "FRAGMENTS", query_report.Fragments(2))
    async with spied(pg_database, tmp_path) as (dav, spy):
        await _fill(dav)
        expected = await _current(dav)
        for _ in range(3):
            spy.calls.clear()
            assert _answers(await dav.report(CAL01, QUERY.format(more=""))) == expected
            assert spy.calls["query_listing"] == 1, spy.calls


async def test_objects_changed_after_the_prefilter_are_answered_as_they_are_now(
        pg_database: PgDatabase, tmp_path: Path) -> None:
    """Between the prefilter and the read of the data it lacks, one object moves out of
    the range, one changes within it and one is deleted: the answer shows the objects
    as they are once read (the moved one rechecked and left out), from one prefilter."""
    async with spied(pg_database, tmp_path) as (dav, spy):
        await _fill(dav)
        query = QUERY.format(more="")
        await dav.report(CAL01, query)
        for n in range(3):  # new ETags: no cached fragment
            body = event(f"e{n}", f"2026010{n + 5}T100000Z", f"2026010{n + 5}T110000Z",
                         summary="Renamed")
            assert (await dav.put(f"{CAL01}e{n}.ics", body)).status == 204

        async def meanwhile() -> None:
            moved = event("e0", "20260305T100000Z", "20260305T110000Z")
            assert (await dav.put(CAL01 + "e0.ics", moved)).status == 204
            changed = event("e1", "20260106T120000Z", "20260106T130000Z", summary="Later")
            assert (await dav.put(CAL01 + "e1.ics", changed)).status == 204
            assert (await dav.request("DELETE", CAL01 + "e2.ics")).status == 204

        spy.calls.clear()
        spy.before["objects"] = meanwhile
        answers = _answers(await dav.report(CAL01, query))
        assert spy.calls["query_listing"] == 1, spy.calls
        current = await _current(dav)
        assert answers == {href: current[href] for href in (CAL01 + "e1.ics",
                                                             CAL01 + "floating.ics")}
        assert "SUMMARY:Later" in answers[CAL01 + "e1.ics"][1]


async def test_a_query_for_more_than_the_rows_hold_runs_the_prefilter_once(
        pg_database: PgDatabase, tmp_path: Path) -> None:
    """getlastmodified is no listing column: the objects themselves are read, after the
    one prefilter, and the answer agrees with the rows' answer."""
    async with spied(pg_database, tmp_path) as (dav, spy):
        await _fill(dav)
        rows = _answers(await dav.report(CAL01, QUERY.format(more="")))
        spy.calls.clear()
        objects = await dav.report(CAL01, QUERY.format(more="<D:getlastmodified/>"))
        assert _answers(objects) == rows
        assert spy.calls["query_listing"] == 1, spy.calls
        assert all(r.findtext(".//D:getlastmodified", namespaces=NS)
                   for r in objects.responses().values())
