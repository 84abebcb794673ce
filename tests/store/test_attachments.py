"""Managed attachment rows and links in the store (migration 0009): quota, sharing
between objects and homes, links following the data whatever wrote it, the trash."""

from __future__ import annotations

import dataclasses

import asyncpg
import pytest

from caldavd.attachments.files import new_managed_id, path_for
from caldavd.store import NewAttachment, QuotaExceeded, UnknownManagedId
from caldavd.store.interface import Store
from caldavd.store.model import Calendar, CalendarObject, Home, NewCalendar, ObjectWrite
from tests.store.builders import count, event


def attachment(home: Home, size: int = 1000) -> NewAttachment:
    managed_id = new_managed_id()
    return NewAttachment(managed_id, home.id, "text/plain", "a.txt", size, "0" * 64,
                         path_for(managed_id))


def carrying(write: ObjectWrite, *managed_ids: str, fold: bool = False) -> ObjectWrite:
    """``write`` with an ATTACH per managed id (``fold``: the line folded inside the id)."""
    lines = ""
    for managed_id in managed_ids:
        line = f"ATTACH;MANAGED-ID={managed_id};FILENAME=a.txt:https://h/attachments/{managed_id}"
        if fold:
            line = line[:30] + "\r\n " + line[30:]
        lines += line + "\r\n"
    text = write.icalendar.replace("END:VEVENT", lines + "END:VEVENT")
    return dataclasses.replace(write, icalendar=text, managed_ids=frozenset(managed_ids))


async def usage(store: Store, home: Home) -> int:
    return await store.home_usage(home)


async def _with_one(store: Store, home: Home, cal: Calendar,
                    size: int = 1000) -> tuple[NewAttachment, CalendarObject]:
    new = attachment(home, size)
    obj, created = await store.put_linked(cal, carrying(event("one"), new.managed_id), new=[new])
    assert created
    return new, obj


async def test_quota_counts_an_attachment_once(store: Store, home: Home,
                                               cal: Calendar) -> None:
    new, first = await _with_one(store, home, cal)
    assert await usage(store, home) == first.size + 1000
    second, _ = await store.put_linked(cal, carrying(event("two"), new.managed_id))
    assert await usage(store, home) == first.size + second.size + 1000


async def test_a_refused_write_leaves_no_row(store: Store, home: Home, cal: Calendar,
                                             db: asyncpg.Connection) -> None:
    new = attachment(home, 5000)
    with pytest.raises(QuotaExceeded):
        await store.put_linked(cal, carrying(event("big"), new.managed_id), new=[new],
                               quota=4000)
    assert await count(db, "attachment") == 0
    assert await count(db, "calendar_object") == 0
    assert await usage(store, home) == 0


async def test_unknown_managed_id_is_refused(store: Store, cal: Calendar,
                                             db: asyncpg.Connection) -> None:
    with pytest.raises(UnknownManagedId):
        await store.put_linked(cal, carrying(event("forged"), "f" * 32))
    assert await count(db, "calendar_object") == 0


async def test_copy_into_another_home_shares(store: Store, home: Home, cal: Calendar,
                                             db: asyncpg.Connection) -> None:
    """Another home may link an attachment only from the objects it was copied from."""
    new, original = await _with_one(store, home, cal)
    bob = await store.ensure_home("bob")
    bobs = await store.create_calendar(bob, NewCalendar("b"))
    write = carrying(event("one"), new.managed_id)
    with pytest.raises(UnknownManagedId):
        await store.put_linked(bobs, write)
    copy, _ = await store.put_linked(bobs, write, sources=[original.id])
    found = await store.attachment(new.managed_id)
    assert found is not None and found.reader_uids == {"alice", "bob"}
    # The bytes stay the uploader's.
    assert await usage(store, bob) == copy.size

    await store.delete_object(cal, original.name)
    assert await store.attachment(new.managed_id) is not None
    assert await store.take_trash() == []
    await store.delete_object(bobs, copy.name)
    assert await store.attachment(new.managed_id) is None
    assert await store.take_trash() == [new.path]
    assert await store.take_trash() == []
    assert await usage(store, home) == 0


async def test_links_follow_the_data_on_every_write_path(store: Store, home: Home,
                                                         cal: Calendar) -> None:
    """A plain PUT (the batched server-side one) that drops the ATTACH unlinks it; one
    that keeps it, even folded inside the id, keeps it."""
    new, obj = await _with_one(store, home, cal)
    folded = carrying(event("one", summary="moved"), new.managed_id, fold=True)
    await store.put_object(cal, dataclasses.replace(folded, managed_ids=frozenset()))
    assert await store.attachment(new.managed_id) is not None
    await store.put_object(cal, event("one", summary="no attachment"))
    assert await store.attachment(new.managed_id) is None
    assert await store.take_trash() == [new.path]
    current = await store.object(cal, obj.name)
    assert current is not None and await usage(store, home) == current.size


async def test_editing_moves_the_change_token(store: Store, home: Home,
                                              cal: Calendar) -> None:
    first, obj = await _with_one(store, home, cal)
    before = await store.home(home.owner_uid)
    new = attachment(home, 10)
    async with store.editing(cal, obj.name) as edit:
        assert edit.current is not None and edit.current.etag == obj.etag
        write = carrying(event("one"), first.managed_id, new.managed_id)
        await edit.put(write, new=[new])
    after = await store.home(home.owner_uid)
    assert before is not None and after is not None
    assert after.change_token > before.change_token
    assert await store.attachment(new.managed_id) is not None
    assert await store.attachment(first.managed_id) is not None
