"""Dead properties within bounds and in the quota (migration 0013, issue 16 item 2)."""

from __future__ import annotations

import pytest

from caldavd.store.errors import QuotaExceeded, TooManyProperties
from caldavd.store.interface import Store
from caldavd.store.model import Calendar, Home, NewCalendar, PropertyLimits
from tests.store.builders import event

NAME = "{urn:x}note"


def value(text: str, name: str = NAME) -> str:
    return f'<ns0:{name[7:]} xmlns:ns0="urn:x">{text}</ns0:{name[7:]}>'


def cost(name: str, stored: str) -> int:
    return len(name.encode()) + len(stored.encode())


async def test_dead_properties_count_in_the_quota_of_the_owning_home(
        store: Store, home: Home, cal: Calendar) -> None:
    """RFC 4331 §1: the bytes a user's properties take are the user's, like the data."""
    stored = value("x" * 1000)
    await store.update_properties(home, None, home.id, {NAME: stored}, ())
    assert await store.home_usage(home) == cost(NAME, stored)
    await store.update_properties(home, cal, cal.id, {NAME: stored}, ())
    obj, _ = await store.put_object(cal, event("a"))
    await store.update_properties(home, None, obj.id, {NAME: stored}, ())
    assert await store.home_usage(home) == 3 * cost(NAME, stored) + obj.size
    smaller = value("y")
    await store.update_properties(home, cal, cal.id, {NAME: smaller}, ())
    assert await store.home_usage(home) == (2 * cost(NAME, stored) + cost(NAME, smaller)
                                            + obj.size)
    await store.delete_object(cal, obj.name)
    await store.update_properties(home, None, home.id, {}, [NAME])
    assert await store.home_usage(home) == cost(NAME, smaller)
    await store.delete_calendar(home, cal.name)
    assert await store.home_usage(home) == 0


async def test_an_object_moved_to_another_home_takes_its_properties_bytes_along(
        store: Store, home: Home, cal: Calendar) -> None:
    """And is held to that home's quota: nothing moves past it."""
    bob = await store.ensure_home("bob")
    theirs = await store.create_calendar(bob, NewCalendar("theirs"))
    obj, _ = await store.put_object(cal, event("a"))
    stored = value("x" * 100)
    await store.update_properties(home, None, obj.id, {NAME: stored}, ())
    needed = obj.size + cost(NAME, stored)
    with pytest.raises(QuotaExceeded):
        await store.move_object(cal, obj.name, theirs, obj.name, overwrite=False,
                                quota=needed - 1)
    assert await store.home_usage(bob) == 0
    assert await store.object(cal, obj.name) is not None
    await store.move_object(cal, obj.name, theirs, obj.name, overwrite=False, quota=needed)
    assert await store.home_usage(home) == 0
    assert await store.home_usage(bob) == needed


async def test_a_write_past_the_quota_is_refused_and_changes_nothing(
        store: Store, home: Home, cal: Calendar) -> None:
    limits = PropertyLimits(quota=2000)
    await store.update_properties(home, cal, cal.id, {NAME: value("x" * 1000)}, (),
                                  limits=limits)
    before = await store.home_usage(home)
    other = "{urn:x}other"
    with pytest.raises(QuotaExceeded):
        await store.update_properties(home, cal, cal.id, {other: value("y" * 2500, other)},
                                      [NAME], limits=limits)
    assert await store.home_usage(home) == before
    assert set(await store.properties(cal.id)) == {NAME}


async def test_count_and_bytes_per_resource_are_bounded(store: Store, home: Home,
                                                        cal: Calendar) -> None:
    limits = PropertyLimits(count=3, bytes=2000)
    props = {f"{{urn:x}}p{i}": value("v", f"{{urn:x}}p{i}") for i in range(3)}
    await store.update_properties(home, cal, cal.id, props, (), limits=limits)
    with pytest.raises(TooManyProperties):
        await store.update_properties(home, cal, cal.id, {NAME: value("v")}, (), limits=limits)
    with pytest.raises(TooManyProperties):
        await store.update_properties(home, cal, cal.id, {"{urn:x}p0": value("x" * 2000)}, (),
                                      limits=limits)
    assert await store.properties(cal.id) == props
    # Replacing one within the bounds and removing always work.
    await store.update_properties(home, cal, cal.id, {NAME: value("v")}, ["{urn:x}p0"],
                                  limits=limits)
    with pytest.raises(TooManyProperties):
        await store.create_calendar(home, NewCalendar("many", None, {
            f"{{urn:x}}q{i}": value("v", f"{{urn:x}}q{i}") for i in range(4)}), limits=limits)
    assert await store.calendar(home, "many") is None


async def test_a_resource_over_a_lowered_bound_may_still_shrink(
        store: Store, home: Home, cal: Calendar) -> None:
    props = {f"{{urn:x}}p{i}": value("v", f"{{urn:x}}p{i}") for i in range(5)}
    await store.update_properties(home, cal, cal.id, props, ())
    lowered = PropertyLimits(count=2)
    await store.update_properties(home, cal, cal.id, {"{urn:x}p0": value("w", "{urn:x}p0")},
                                  ["{urn:x}p1"], limits=lowered)
    assert len(await store.properties(cal.id)) == 4


async def test_a_copied_folder_brings_its_properties_within_the_bounds(
        store: Store, home: Home) -> None:
    """RFC 4918 §9.8.2: a COPY copies the dead properties; the copies are new resources,
    held to the bounds and the quota as a write of their properties would be."""
    await store.plain_mkcol(home, "folder")
    await store.plain_put(home, "folder/f", b"text", "text/plain")
    folder = await store.plain(home, "folder")
    member = await store.plain(home, "folder/f")
    assert folder is not None and member is not None
    stored = value("x" * 1000)
    await store.update_properties(home, None, folder.id, {NAME: stored}, ())
    props = {f"{{urn:x}}p{i}": value("v", f"{{urn:x}}p{i}") for i in range(3)}
    await store.update_properties(home, None, member.id, props, ())
    used = await store.home_usage(home)
    for limits in (PropertyLimits(count=2), PropertyLimits(bytes=1000),
                   PropertyLimits(quota=used + cost(NAME, stored))):
        with pytest.raises((TooManyProperties, QuotaExceeded)):
            await store.plain_copy(home, "folder", "copy", recursive=True, overwrite=False,
                                   move=False, limits=limits)
        assert await store.plain(home, "copy") is None, limits
        assert await store.home_usage(home) == used
    roomy = PropertyLimits(count=3, bytes=2000, quota=2 * used)
    assert await store.plain_copy(home, "folder", "copy", recursive=True, overwrite=False,
                                  move=False, limits=roomy)
    assert await store.home_usage(home) == 2 * used
    # Over the quota now, a copy that replaces one as large does not add and is fine.
    assert not await store.plain_copy(home, "folder", "copy", recursive=True, overwrite=True,
                                      move=False, limits=PropertyLimits(quota=used))
    assert await store.home_usage(home) == 2 * used
