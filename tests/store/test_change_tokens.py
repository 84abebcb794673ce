"""The home's change token (migration 0008): every write that changes what a home
shows moves it, in the writer's transaction; reads never do.  Caches on every
host are validated against it, so a write that forgot to move it would be
served stale by another host."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from caldavd.store.errors import UIDConflict
from caldavd.store.interface import Store
from caldavd.store.model import Calendar, Home, NewCalendar
from tests.store.builders import event

Write = Callable[[Store, Home, Calendar], Awaitable[object]]


async def token(store: Store, uid: str = "alice") -> int:
    home = await store.home(uid)
    assert home is not None
    return home.change_token


async def _put_two_at_once(store: Store, home: Home, cal: Calendar) -> None:
    # Concurrent PUTs to one home share one batched statement (migration 0006).
    await asyncio.gather(store.put_object(cal, event("b1")), store.put_object(cal, event("b2")))


async def _move(store: Store, home: Home, cal: Calendar) -> None:
    other = await store.create_calendar(home, NewCalendar("other"))
    await store.move_object(cal, "e0.ics", other, "moved.ics", overwrite=False)


async def _plain_folder(store: Store, home: Home, cal: Calendar) -> None:
    await store.plain_mkcol(home, "folder")


WRITES: dict[str, Write] = {
    "put new": lambda s, h, c: s.put_object(c, event("new")),
    "put replacing": lambda s, h, c: s.put_object(c, event("e0", summary="changed")),
    "put batch": _put_two_at_once,
    "delete": lambda s, h, c: s.delete_object(c, "e0.ics"),
    "move": _move,
    "mkcalendar": lambda s, h, c: s.create_calendar(h, NewCalendar("more")),
    "delete calendar": lambda s, h, c: s.delete_calendar(h, c.name),
    "proppatch calendar": lambda s, h, c: s.update_properties(h, c, c.id, {"{urn:x}a": "1"},
                                                              ()),
    "proppatch home": lambda s, h, c: s.update_properties(h, None, h.id, {"{urn:x}a": "1"}, ()),
    "plain mkcol": _plain_folder,
    "plain put": lambda s, h, c: s.plain_put(h, "file.txt", b"x", "text/plain"),
}


@pytest.mark.parametrize("name", WRITES)
async def test_every_write_moves_the_token(store: Store, home: Home, cal: Calendar,
                                           name: str) -> None:
    await store.put_object(cal, event("e0"))
    before = await token(store)
    await WRITES[name](store, home, cal)
    assert await token(store) > before


async def test_object_proppatch_moves_the_token(store: Store, home: Home,
                                                cal: Calendar) -> None:
    obj, _ = await store.put_object(cal, event("e0"))
    before = await token(store)
    await store.update_properties(home, None, obj.id, {"{urn:x}p": "v"}, ())
    assert await token(store) > before


async def test_reads_leave_the_token_alone(store: Store, home: Home,
                                           cal: Calendar) -> None:
    await store.put_object(cal, event("e0"))
    before = await token(store)
    await store.calendars(home)
    await store.objects(cal, with_data=True)
    await store.changes_since(cal, 0)
    await store.locate("alice", cal.name, "e0.ics")
    await store.ensure_home("alice")
    assert await token(store) == before


async def test_locate_and_home_carry_the_same_token(store: Store, home: Home,
                                                    cal: Calendar) -> None:
    await store.put_object(cal, event("e0"))
    located, _, _ = await store.locate("alice", cal.name, None)
    assert located is not None
    assert located.change_token == await token(store) > 0


async def test_a_write_in_one_home_leaves_other_homes_alone(store: Store,
                                                            cal: Calendar) -> None:
    bob = await store.ensure_home("bob")
    bob_before = bob.change_token
    await store.put_object(cal, event("e0"))
    assert await token(store, "bob") == bob_before


async def test_move_between_homes_moves_both(store: Store, cal: Calendar) -> None:
    bob = await store.ensure_home("bob")
    bobs = await store.create_calendar(bob, NewCalendar("personal"))
    await store.put_object(cal, event("e0"))
    alice_before, bob_before = await token(store), await token(store, "bob")
    await store.move_object(cal, "e0.ics", bobs, "e0.ics", overwrite=False)
    assert await token(store) > alice_before and await token(store, "bob") > bob_before


async def test_a_refused_write_changes_nothing(store: Store, cal: Calendar) -> None:
    """A refused write (RFC 4791 §5.3.2.1 no-uid-conflict) leaves the token where it was."""
    await store.put_object(cal, event("e0"))
    before = await token(store)
    with pytest.raises(UIDConflict):
        await store.put_object(cal, event("e0", name="other.ics"))
    assert await token(store) == before
