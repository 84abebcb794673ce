"""Plain WebDAV files count in their home's quota (migration 0014; a sibling of issue 16
item 2): RFC 4331 §1, the bytes a user's files take are the user's like the data."""

from __future__ import annotations

import asyncpg
import pytest

from caldavd.store.errors import QuotaExceeded
from caldavd.store.interface import Store
from caldavd.store.model import Calendar, Home, PropertyLimits
from tests.store.builders import event


async def test_files_count_and_give_their_space_back(store: Store, home: Home,
                                                      cal: Calendar) -> None:
    obj, _ = await store.put_object(cal, event("a"))
    await store.plain_mkcol(home, "f")
    await store.plain_put(home, "f/one", b"x" * 500, "text/plain")
    await store.plain_put(home, "f/two", b"y" * 300, "text/plain")
    assert await store.home_usage(home) == obj.size + 800
    await store.plain_put(home, "f/one", b"z" * 100, "text/plain")
    assert await store.home_usage(home) == obj.size + 400
    await store.plain_copy(home, "f", "g", recursive=True, overwrite=False, move=False)
    assert await store.home_usage(home) == obj.size + 800
    await store.plain_copy(home, "g", "h", recursive=True, overwrite=False, move=True)
    assert await store.home_usage(home) == obj.size + 800
    await store.plain_delete(home, "f/two")
    assert await store.home_usage(home) == obj.size + 500
    await store.plain_delete(home, "h")
    assert await store.home_usage(home) == obj.size + 100


async def test_a_put_past_the_quota_writes_nothing(store: Store, home: Home) -> None:
    await store.plain_mkcol(home, "f")
    await store.plain_put(home, "f/a", b"x" * 600, "text/plain", quota=1000)
    with pytest.raises(QuotaExceeded):
        await store.plain_put(home, "f/b", b"y" * 500, "text/plain", quota=1000)
    with pytest.raises(QuotaExceeded):
        await store.plain_put(home, "f/a", b"z" * 1001, "text/plain", quota=1000)
    assert await store.plain(home, "f/b") is None
    stored = await store.plain(home, "f/a", with_content=True)
    assert stored is not None and stored.content == b"x" * 600
    assert await store.home_usage(home) == 600
    # Within the quota, and a home over a lowered quota may still shrink.
    await store.plain_put(home, "f/b", b"y" * 400, "text/plain", quota=1000)
    await store.plain_put(home, "f/a", b"x" * 10, "text/plain", quota=100)
    assert await store.home_usage(home) == 410


async def test_a_folder_copied_past_the_quota_is_refused_whole(store: Store,
                                                               home: Home) -> None:
    await store.plain_mkcol(home, "f")
    for name in ("a", "b", "c"):
        await store.plain_put(home, f"f/{name}", b"x" * 300, "text/plain")
    with pytest.raises(QuotaExceeded):
        await store.plain_copy(home, "f", "g", recursive=True, overwrite=False, move=False,
                               limits=PropertyLimits(quota=1500))
    assert await store.plain(home, "g") is None
    assert await store.home_usage(home) == 900
    with pytest.raises(QuotaExceeded):
        await store.plain_copy(home, "f/a", "f/d", recursive=False, overwrite=False,
                               move=False, limits=PropertyLimits(quota=1000))
    assert await store.plain(home, "f/d") is None
    # A move adds nothing and is never refused.
    await store.plain_copy(home, "f", "g", recursive=True, overwrite=False, move=True,
                           limits=PropertyLimits(quota=500))
    assert await store.home_usage(home) == 900


async def test_a_file_moved_to_another_home_takes_its_bytes_along(
        store: Store, home: Home, db: asyncpg.Connection) -> None:
    """No write path does this today; the trigger keeps both homes right if one does, and
    the file's dead properties go along as an object's do (0013)."""
    bob = await store.ensure_home("bob")
    await store.plain_mkcol(home, "f")
    await store.plain_put(home, "f/a", b"x" * 700, "text/plain")
    item = await store.plain(home, "f/a")
    assert item is not None
    name, stored = "{urn:x}n", '<ns0:n xmlns:ns0="urn:x">v</ns0:n>'
    await store.update_properties(home, None, item.id, {name: stored}, ())
    await db.execute("UPDATE dav_resource SET home_id = $1 WHERE id = $2", bob.id, item.id)
    assert await store.home_usage(home) == 0
    assert await store.home_usage(bob) == 700 + len(name) + len(stored)
    # A home's deletion cascades to its files without tripping over its own row.
    await db.execute("DELETE FROM calendar_home WHERE id = $1", bob.id)
    assert await db.fetchval("SELECT count(*) FROM dav_resource WHERE home_id = $1",
                             bob.id) == 0
