"""Store contract: listings, the rows a Depth 1 PROPFIND or a sync report reads by the
thousand (objects without dates or data)."""

from __future__ import annotations

from collections.abc import Sequence

from caldavd.store.interface import Store
from caldavd.store.model import Calendar, CalendarObject, Home, Listing, NewCalendar
from tests.store.builders import event

Summary = tuple[str, str, str, int]


def summaries(listed: Listing | Sequence[CalendarObject]) -> list[Summary]:
    """A listing's rows, or what the same objects offer."""
    if isinstance(listed, Listing):
        rows = zip(listed.names, listed.etags, listed.component_types, listed.sizes,
                   strict=True)
        assert len(listed) == len(listed.names)
        return list(rows)
    return [(o.name, o.etag, o.component_type, o.size) for o in listed]


async def test_listing_is_objects_without_dates_or_data(store: Store,
                                                        cal: Calendar) -> None:
    for uid, name in [("b", "b é&.ics"), ("a", "a <1>.ics"), ("c", "c.ics")]:
        await store.put_object(cal, event(uid, name=name))
    await store.put_object(cal, event("t", name="task.ics", component="VTODO"))
    listed = await store.listing(cal)
    assert summaries(listed) == summaries(await store.objects(cal))
    assert list(listed.names) == ["a <1>.ics", "b é&.ics", "c.ics", "task.ics"]
    assert listed.component_types[-1] == "VTODO"


async def test_listing_by_name_skips_what_is_not_there(store: Store,
                                                       cal: Calendar) -> None:
    for uid in ("x", "y", "z"):
        await store.put_object(cal, event(uid))
    listed = await store.listing(cal, ["z.ics", "missing.ics", "x.ics"])
    assert list(listed.names) == ["x.ics", "z.ics"]
    assert summaries(listed) == summaries(await store.objects(cal, ["x.ics", "z.ics"]))
    assert summaries(await store.listing(cal, [])) == []
    assert summaries(await store.listing(cal, ["missing.ics"])) == []


async def test_listing_is_one_calendar_and_follows_writes(store: Store, home: Home,
                                                          cal: Calendar) -> None:
    other = await store.create_calendar(home, NewCalendar("other"))
    await store.put_object(other, event("elsewhere"))
    first, _ = await store.put_object(cal, event("e", summary="first"))
    assert summaries(await store.listing(cal)) == summaries([first])
    second, created = await store.put_object(cal, event("e", summary="second, longer"))
    assert not created and second.etag != first.etag
    assert summaries(await store.listing(cal)) == summaries([second])
    await store.delete_object(cal, "e.ics")
    assert len(await store.listing(cal)) == 0
