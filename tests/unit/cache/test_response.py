"""The response cache's entries: served only under the validator they were filed with."""

from __future__ import annotations

from pathlib import Path
from types import MethodType

from caldavd.cache.memcached import PoolStores, SharedStore
from caldavd.cache.response import (
    MAX_ENTRY_BYTES,
    ResponseCache,
    answer_shaping,
    response_key,
)
from caldavd.cache.stores import MemoryStore
from caldavd.config import build_config


async def test_an_entry_is_served_only_under_its_validator() -> None:
    cache = ResponseCache(MemoryStore(), 60)
    key = response_key([b"PROPFIND", b"user01", b"/calendars/", b"1", b"<body/>"])
    await cache.put(key, b"7:41:abc", b"<answer/>")
    assert await cache.get(key, b"7:41:abc") == b"<answer/>"
    assert await cache.get(key, b"7:42:abc") is None, "the home changed"
    assert await cache.get(key, b"7:41:abd") is None, "the owner's record changed"
    assert await cache.get(key, b"7:41:ab") is None, "a prefix is not a match"
    assert (cache.hits, cache.misses) == (1, 3)


def test_keys_separate_their_parts() -> None:
    """('ab', 'c') and ('a', 'bc') are different requests."""
    assert response_key([b"ab", b"c"]) != response_key([b"a", b"bc"])
    assert response_key([b"a", b"b"]) == response_key([b"a", b"b"])
    assert len(response_key([b"x" * 10_000])) < 250  # memcached's key limit


async def test_answers_too_big_for_memcached_are_not_kept() -> None:
    store = MemoryStore()
    cache = ResponseCache(store, 60)
    await cache.put("big", b"v", b"x" * MAX_ENTRY_BYTES)
    assert len(store) == 0
    await cache.put("small", b"v", b"x" * 1000)
    assert await cache.get("small", b"v") == b"x" * 1000


async def test_memory_store_is_bounded_in_bytes() -> None:
    store = MemoryStore(max_entries=100, max_bytes=250)
    for i in range(5):
        await store.set(f"k{i}", bytes(100), 60)
    assert len(store) == 2, "only what fits in 250 bytes, the newest"
    assert await store.get("k4") is not None and await store.get("k0") is None
    await store.set("huge", bytes(251), 60)
    assert await store.get("huge") is None and len(store) == 2
    await store.set("k4", bytes(10), 60)  # replacing frees the old value's bytes
    await store.set("k5", bytes(100), 60)
    assert len(store) == 3


def _store_of(shared: SharedStore) -> object:
    """The store whose connections a pool's view uses."""
    assert isinstance(shared.get, MethodType)
    return shared.get.__self__


async def test_cache_types_on_one_pool_share_its_connections(tmp_path: Path) -> None:
    """MaxClients is per pool per worker, however many caches use the pool."""
    config = build_config({"Memcached": {"MaxClients": 3, "Pools": {
        "Default": {"ServerEnabled": False, "Port": 11311},
        "Directory": {"ServerEnabled": False, "Port": 11312,
                      "HandleCacheTypes": ["DirectoryCache"]}}}}, base_dir=tmp_path)
    pools = PoolStores(config)
    try:
        responses, other = pools.for_type("ResponseCache"), pools.for_type("Other")
        directory = pools.for_type("DirectoryCache")
        assert responses is not None and other is not None and directory is not None
        assert _store_of(responses) is _store_of(other), "one store for the Default pool"
        assert _store_of(directory) is not _store_of(responses)
        assert not hasattr(responses, "close"), "a cache cannot close the pool's connections"
    finally:
        await pools.close()


def test_settings_that_answers_report_separate_the_entries(tmp_path: Path) -> None:
    """A host restarted with another UserQuota must not serve the others' quota answers."""
    def key(**settings: object) -> str:
        cache = ResponseCache(MemoryStore(), 60, answer_shaping(
            build_config(dict(settings), base_dir=tmp_path)))
        return cache.key([b"PROPFIND", b"/calendars/"])
    assert key() == key(BindAddresses=["127.0.0.2"]), "per-host settings do not matter"
    assert key() != key(UserQuota=1000)
    assert key() != key(MaxResourceSize=1000)

