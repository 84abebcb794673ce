"""Store contract: the calendar-query time-range prefilter (RFC 4791 §9.9),
``query_listing``.

Range used throughout: [T0, T0 + 1 day).  A candidate with ``exact=True`` must
match without an in-memory recheck; objects the index cannot decide are handed
back with ``exact=False``; objects the index rules out are not handed back.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg

from caldavd.caldav.index import InstanceRow
from caldavd.store.interface import Store
from caldavd.store.model import (
    Calendar,
    Home,
    Listing,
    Matches,
    NewCalendar,
)
from tests.store.builders import DAY, HOUR, T0, Indexed, count, event, row

START, END = T0, T0 + DAY


async def _query(store: Store, cal: Calendar, component: str | None = "VEVENT",
                 start: datetime | None = START,
                 end: datetime | None = END) -> dict[str, bool]:
    """uid -> exact, for the candidates of ``query_listing`` (what a calendar-query
    answers from), after checking its columns against the objects themselves."""
    matches = await store.query_listing(cal, component, start, end)
    names = list(matches.names)
    assert names == sorted(set(names)), names  # each object at most once, in name order
    by_name = {o.name: o for o in await store.objects(cal, names, with_data=True)}
    found = [by_name[name] for name in names]
    assert Listing.of(found) == _listed(matches)
    assert list(matches.icalendars) == [o.icalendar for o in found]
    assert all(text is not None for text in matches.icalendars)
    assert list(matches.ids) == [o.id for o in found]
    assert all(reach is None for reach, exact in zip(matches.indexed_until, matches.exact,
                                                     strict=True) if exact)
    lean = await store.query_listing(cal, component, start, end, with_data=False)
    assert _listed(lean) == _listed(matches) and lean.exact == matches.exact
    assert list(lean.icalendars) == [None if exact else o.icalendar
                                     for o, exact in zip(found, matches.exact, strict=True)]
    assert list(lean.ids) == list(matches.ids)
    assert lean.indexed_until == matches.indexed_until
    return {o.uid: exact for o, exact in zip(found, matches.exact, strict=True)}


async def _reach(store: Store, cal: Calendar) -> dict[str, datetime | None]:
    """name -> where the index stops, for the inexact candidates of the default query
    (what a recheck expands from)."""
    matches = await store.query_listing(cal, "VEVENT", START, END)
    return {name: reach for name, exact, reach in zip(
        matches.names, matches.exact, matches.indexed_until, strict=True) if not exact}


def _listed(matches: Matches) -> Listing:
    return Listing(list(matches.names), list(matches.etags), list(matches.component_types),
                   list(matches.sizes))


async def test_event_inside_is_exact_and_outside_is_left_out(store: Store,
                                                             cal: Calendar) -> None:
    await store.put_object(cal, event("inside", T0 + HOUR))
    await store.put_object(cal, event("far", T0 + 10 * DAY))
    await store.put_object(cal, event("before", T0 - 3 * DAY))
    # Within the floating slack of the range, but not floating: still ruled out.
    await store.put_object(cal, event("just-after", END + HOUR))
    await store.put_object(cal, event("just-before", START - 3 * HOUR, START - 2 * HOUR))
    assert await _query(store, cal) == {"inside": True}


async def test_overlapping_the_edges(store: Store, cal: Calendar) -> None:
    """RFC 4791 §9.9: (start < DTEND AND end > DTSTART)."""
    await store.put_object(cal, event("over-start", START - HOUR, START + HOUR))
    await store.put_object(cal, event("over-end", END - HOUR, END + HOUR))
    await store.put_object(cal, event("spanning", START - DAY, END + DAY))
    await store.put_object(cal, event("ends-at-start", START - HOUR, START))
    await store.put_object(cal, event("starts-at-end", END, END + HOUR))
    assert await _query(store, cal) == {"over-start": True, "over-end": True, "spanning": True}


async def test_zero_duration_event_at_the_edges(store: Store, cal: Calendar) -> None:
    """RFC 4791 §9.9, DURATION = 0: (start <= DTSTART AND end > DTSTART)."""
    await store.put_object(cal, event("at-start", START, START))
    await store.put_object(cal, event("in-middle", START + HOUR, START + HOUR))
    await store.put_object(cal, event("at-end", END, END))
    await store.put_object(cal, event("before", START - HOUR, START - HOUR))
    assert await _query(store, cal) == {"at-start": True, "in-middle": True}


async def test_one_matching_instance_of_many(store: Store, cal: Calendar) -> None:
    days = tuple(row(T0 + i * DAY + HOUR, T0 + i * DAY + 2 * HOUR) for i in range(-3, 4))
    await store.put_object(cal, event("daily", instances=days))
    weekly = tuple(row(T0 + i * 7 * DAY + 2 * DAY, T0 + i * 7 * DAY + 2 * DAY + HOUR)
                   for i in range(3))
    await store.put_object(cal, event("weekly", instances=weekly))
    assert await _query(store, cal) == {"daily": True}


async def test_floating_rows_within_slack_are_inexact(store: Store,
                                                      cal: Calendar) -> None:
    """Floating times are indexed as UTC; the zone is only known to the caller."""
    await store.put_object(cal, event("inside", T0 + HOUR, floating=True))
    await store.put_object(cal, event("near-after", END + 10 * HOUR, floating=True))
    await store.put_object(cal, event("near-before", START - 11 * HOUR, START - 10 * HOUR,
                                      floating=True))
    await store.put_object(cal, event("far-after", END + 20 * HOUR, floating=True))
    await store.put_object(cal, event("far-before", START - 21 * HOUR, START - 20 * HOUR,
                                      floating=True))
    assert await _query(store, cal) == {"inside": False, "near-after": False,
                                        "near-before": False}
    assert await _reach(store, cal) == dict.fromkeys(
        ("inside.ics", "near-after.ics", "near-before.ics"))


async def test_one_floating_row_makes_the_object_inexact(store: Store,
                                                         cal: Calendar) -> None:
    rows = (row(T0 + HOUR, T0 + 2 * HOUR), row(T0 + 3 * HOUR, T0 + 4 * HOUR, floating=True))
    await store.put_object(cal, event("mixed", instances=rows))
    assert await _query(store, cal) == {"mixed": False}


async def test_partly_indexed_objects_are_inexact(store: Store, cal: Calendar) -> None:
    """Instances after ``indexed_until`` are not in the index: the caller must expand."""
    early = (row(START - 10 * DAY, START - 10 * DAY + HOUR),)
    await store.put_object(cal, event("cut-before-end", instances=early,
                                      indexed_until=START + HOUR))
    await store.put_object(cal, event("cut-before-start", instances=(),
                                      indexed_until=START - 5 * DAY))
    await store.put_object(cal, event("hit-but-cut", T0 + HOUR, indexed_until=T0 + 2 * HOUR))
    # Indexed past the end of the range: the index decides, and there is no match.
    await store.put_object(cal, event("cut-after-end", instances=early,
                                      indexed_until=END + DAY))
    await store.put_object(cal, event("hit-cut-after-end", T0 + HOUR,
                                      indexed_until=END + DAY))
    assert await _query(store, cal) == {"cut-before-end": False, "cut-before-start": False,
                                        "hit-but-cut": False, "hit-cut-after-end": True}
    assert await _reach(store, cal) == {"cut-before-end.ics": START + HOUR,
                                        "cut-before-start.ics": START - 5 * DAY,
                                        "hit-but-cut.ics": T0 + 2 * HOUR}


async def test_component_type_filter(store: Store, cal: Calendar) -> None:
    await store.put_object(cal, event("meeting", T0 + HOUR))
    await store.put_object(cal, event("chore", T0 + HOUR, component="VTODO"))
    await store.put_object(cal, event("old-chore", T0 - 10 * DAY, component="VTODO"))
    assert await _query(store, cal, "VEVENT") == {"meeting": True}
    assert set(await _query(store, cal, "VTODO")) == {"chore"}
    assert set(await _query(store, cal, None)) == {"meeting", "chore"}


async def test_no_time_range_returns_every_object_of_the_type_exact(
        store: Store, cal: Calendar) -> None:
    await store.put_object(cal, event("inside", T0 + HOUR))
    await store.put_object(cal, event("far", T0 + 100 * DAY, floating=True))
    await store.put_object(cal, event("unindexed", instances=(), indexed_until=T0))
    await store.put_object(cal, event("chore", T0, component="VTODO"))
    assert await _query(store, cal, "VEVENT", None, None) == {
        "inside": True, "far": True, "unindexed": True}
    assert await _query(store, cal, "VTODO", None, None) == {"chore": True}
    assert set(await _query(store, cal, None, None, None)) == {
        "inside", "far", "unindexed", "chore"}


async def test_open_ended_ranges(store: Store, cal: Calendar) -> None:
    await store.put_object(cal, event("past", T0 - 1000 * DAY))
    await store.put_object(cal, event("now", T0 + HOUR))
    await store.put_object(cal, event("future", T0 + 1000 * DAY))
    assert await _query(store, cal, "VEVENT", T0, None) == {"now": True, "future": True}
    assert await _query(store, cal, "VEVENT", None, T0) == {"past": True}


async def test_query_is_per_calendar(store: Store, home: Home, cal: Calendar) -> None:
    other = await store.create_calendar(home, NewCalendar("other"))
    await store.put_object(cal, event("mine", T0 + HOUR))
    await store.put_object(other, event("theirs", T0 + HOUR))
    assert await _query(store, cal) == {"mine": True}
    assert await _query(store, other) == {"theirs": True}


async def test_index_follows_replace_delete_and_move(store: Store, home: Home,
                                                     cal: Calendar) -> None:
    other = await store.create_calendar(home, NewCalendar("other"))
    await store.put_object(cal, event("e1", T0 + HOUR))
    await store.put_object(cal, event("e1", T0 + 10 * DAY))  # rescheduled out of the range
    assert await _query(store, cal) == {}
    assert await _query(store, cal, "VEVENT", T0 + 10 * DAY, T0 + 11 * DAY) == {"e1": True}

    await store.put_object(cal, event("e2", T0 + HOUR))
    await store.move_object(cal, "e2.ics", other, "e2.ics", overwrite=False)
    assert await _query(store, cal) == {}
    assert await _query(store, other) == {"e2": True}

    await store.delete_object(other, "e2.ics")
    assert await _query(store, other) == {}


def _overlaps(s: datetime, e: datetime, lo: datetime, hi: datetime) -> bool:
    """RFC 4791 §9.9 for a VEVENT instance [s, e)."""
    return lo <= s < hi if s == e else s < hi and e > lo


async def test_exact_candidates_agree_with_a_brute_force_check(store: Store,
                                                               cal: Calendar) -> None:
    """Paranoid mode in small: for many events and ranges, the prefilter returns every
    overlapping event, and whatever it calls exact really overlaps."""
    step = timedelta(hours=3)
    spans = [(T0 + i * step, T0 + i * step + d * HOUR) for i in range(12) for d in (0, 2)]
    for i, (s, e) in enumerate(spans):
        await store.put_object(cal, event(f"e{i}", s, e))
    for lo_i in range(0, 12, 3):
        for width in (1, 5):
            lo, hi = T0 + lo_i * step, T0 + (lo_i + width) * step
            expected = {f"e{i}" for i, (s, e) in enumerate(spans) if _overlaps(s, e, lo, hi)}
            assert expected
            got = await _query(store, cal, "VEVENT", lo, hi)
            assert set(got) == expected, (lo, hi)
            assert all(got.values())


async def test_instances_around_the_seven_day_split(store: Store,
                                                    cal: Calendar) -> None:
    """Instances of at most seven days are found by start, longer ones by end
    (migration 0007); every length on both sides of the split still overlaps
    by RFC 4791 §9.9, and one that ends before the range is still left out."""
    week = 7 * DAY
    await store.put_object(cal, event("week-ending-inside", START - week + HOUR, START + HOUR))
    await store.put_object(cal, event("week-ending-at-start", START - week, START))
    await store.put_object(cal, event("week-and-hour", START - week, START + HOUR))
    await store.put_object(cal, event("month-spanning", START - 20 * DAY, END + 10 * DAY))
    await store.put_object(cal, event("month-ended", START - 40 * DAY, START - 10 * DAY))
    await store.put_object(cal, event("year-ending-inside", START - 365 * DAY, START + HOUR))
    await store.put_object(cal, event("long-after", END + DAY, END + 30 * DAY))
    floating = (row(START - 30 * DAY, START - 5 * HOUR, floating=True),)
    await store.put_object(cal, event("long-floating-near", instances=floating))
    assert await _query(store, cal) == {
        "week-ending-inside": True, "week-and-hour": True, "month-spanning": True,
        "year-ending-inside": True, "long-floating-near": False}


async def test_long_and_short_instances_of_one_object_count_once(store: Store,
                                                                 cal: Calendar) -> None:
    rows = (row(START - 10 * DAY, END + DAY), row(START + HOUR, START + 2 * HOUR))
    await store.put_object(cal, event("both", instances=rows))
    assert await _query(store, cal) == {"both": True}


async def test_ranges_far_from_the_data_agree_with_a_brute_force_check(
        store: Store, cal: Calendar) -> None:
    """Ranges in the past, the middle and the future of a spread of short and long
    instances: one generic plan answers each of them right."""
    spans = [(T0 + i * 5 * DAY, T0 + i * 5 * DAY + length)
             for i in range(-8, 9) for length in (HOUR, 3 * DAY, 9 * DAY, 60 * DAY)]
    for i, (s, e) in enumerate(spans):
        await store.put_object(cal, event(f"s{i}", s, e))
    answered = 0
    for lo in (T0 - 400 * DAY, T0 - 30 * DAY, T0, T0 + 33 * DAY, T0 + 400 * DAY):
        for width in (DAY, 7 * DAY, 45 * DAY):
            hi = lo + width
            expected = {f"s{i}" for i, (s, e) in enumerate(spans) if _overlaps(s, e, lo, hi)}
            got = await _query(store, cal, "VEVENT", lo, hi)
            assert set(got) == expected, (lo, hi)
            assert all(got.values())
            answered += len(got)
    assert answered > 50


ENDLESS = row(datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))


async def test_endless_rows_are_stored_finite_and_are_candidates_for_every_range(
        store: Store, cal: Calendar, db: asyncpg.Connection) -> None:
    """A row with no bounds (a to-do without dates matches every range, RFC 4791 §9.9;
    asyncpg would send datetime.min/max as infinity) by PUT, batched PUTs and reindex."""
    await store.put_object(cal, event("alone", component="VTODO", instances=(ENDLESS,)))
    await asyncio.gather(*(store.put_object(cal, event(uid, component="VTODO",
                                                       instances=(ENDLESS,)))
                           for uid in ("batched-1", "batched-2")))
    later, _ = await store.put_object(cal, event("reindexed", component="VTODO",
                                                 indexed_until=T0))
    assert await _extend(store, cal, later.id, later.etag, (ENDLESS,), None)
    assert await count(db, "time_range WHERE NOT (isfinite(start_utc) AND isfinite(end_utc))"
                       " OR end_utc - start_utc < interval '9000 years'") == 0
    endless = {"alone", "batched-1", "batched-2", "reindexed"}
    for start, end in ((START, END), (None, END), (START, None),
                       (datetime(1, 1, 2, tzinfo=UTC), datetime(1, 1, 3, tzinfo=UTC)),
                       (datetime(9999, 1, 1, tzinfo=UTC), None)):
        assert set(await _query(store, cal, "VTODO", start, end)) == endless, (start, end)


async def _extend(store: Store, cal: Calendar, object_id: int, etag: str,
                  rows: tuple[InstanceRow, ...], until: datetime | None) -> bool:
    """``extend_index`` of one object whose extension comes out as ``rows`` up to ``until``
    (the test store's indexer gives an ``Indexed`` object's rows)."""
    return await store.extend_index(cal, [(object_id, etag, Indexed(rows, until))], END,
                                    limit=100) == 1


async def test_reindex_only_when_the_index_reaches_further(
        store: Store, cal: Calendar, db: asyncpg.Connection) -> None:
    """Queries past an object's horizon extend its index; one that cannot take it further
    (the extension has a limit) writes nothing."""
    obj, _ = await store.put_object(cal, event("daily", indexed_until=T0 + DAY))
    two = (row(T0, T0 + HOUR), row(T0 + DAY, T0 + DAY + HOUR))
    assert not await _extend(store, cal, obj.id, obj.etag, two, T0 + DAY)
    assert not await _extend(store, cal, obj.id, obj.etag, two, T0)
    assert await count(db, "time_range") == 1
    assert await _extend(store, cal, obj.id, obj.etag, two, T0 + 2 * DAY)
    assert await count(db, "time_range") == 2
    assert await _extend(store, cal, obj.id, obj.etag, two[:1], None)
    assert not await _extend(store, cal, obj.id, obj.etag, two, None)  # complete already
    assert await count(db, "time_range") == 1
    assert not await _extend(store, cal, obj.id, "other etag", two, T0 + 9 * DAY)


async def test_an_extension_stops_once_it_computed_its_limit_of_rows(
        store: Store, cal: Calendar, db: asyncpg.Connection) -> None:
    """The objects are extended in order until ``limit`` rows were computed (the one that
    reaches it is extended whole); the rest keep their index for a later query."""
    two = (row(T0, T0 + HOUR), row(T0 + DAY, T0 + DAY + HOUR))
    short = []
    for uid in ("a", "b", "c"):
        obj, _ = await store.put_object(cal, event(uid, indexed_until=T0 + DAY))
        short.append((obj.id, obj.etag, Indexed(two, None)))
    assert await store.extend_index(cal, short, END, limit=3) == 2
    assert await count(db, "calendar_object WHERE indexed_until IS NULL") == 2
    assert await count(db, "time_range") == 5


async def test_busy_time_reads_the_rows_the_index_decides(store: Store,
                                                          cal: Calendar) -> None:
    """Free-busy (RFC 4791 §7.10) from index rows: opaque busy rows of objects indexed
    past the range and without floating instances; the others' data, to expand."""
    transparent = InstanceRow(start=T0 + HOUR, end=T0 + 2 * HOUR, floating=False,
                              transparent=True, fbtype="BUSY")
    await store.put_object(cal, event("busy", T0 + HOUR))
    await store.put_object(cal, event("tentative", T0 + 3 * HOUR, instances=(
        row(T0 + 3 * HOUR, T0 + 4 * HOUR, fbtype="BUSY-TENTATIVE"),)))
    await store.put_object(cal, event("see-through", T0 + HOUR, instances=(transparent,)))
    await store.put_object(cal, event("cancelled", T0 + HOUR, instances=(
        row(T0 + HOUR, T0 + 2 * HOUR, fbtype="FREE"),)))
    await store.put_object(cal, event("floating", T0 + 5 * HOUR, floating=True))
    await store.put_object(cal, event("short", T0 - DAY, indexed_until=T0 + HOUR))
    await store.put_object(cal, event("outside", T0 + 3 * DAY))
    found = await store.busy_time(cal, START, END, limit=10)
    assert sorted(found.periods) == [(T0 + HOUR, T0 + 2 * HOUR, "BUSY"),
                                     (T0 + 3 * HOUR, T0 + 4 * HOUR, "BUSY-TENTATIVE")]
    assert sorted(text.split("UID:")[1].split("\r\n")[0] for text in found.to_expand) == [
        "floating", "short"]
    assert len((await store.busy_time(cal, START, END, limit=1)).periods) == 2, "limit + 1"
