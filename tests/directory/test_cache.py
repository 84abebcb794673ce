"""The caching wrapper: hits, expiry, negative caching, the login cache, sharing a
store, and what it does for an LDAP directory that goes away."""

from __future__ import annotations

import asyncio
import hashlib
import pickle
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from caldavd.cache.stores import MemoryStore
from caldavd.directory import DirectoryUnavailable, Record
from caldavd.directory.base import MatchType, SearchField
from caldavd.directory.cache import AUTH_SECONDS_MAX, CachingDirectory
from caldavd.directory.ldap import LdapDirectory, LdapSettings
from caldavd.directory.record import RecordType
from caldavd.directory.xml import XmlDirectory
from tests.directory.slapd import Slapd, ldap_params
from tests.tools.helpers import ACCOUNTS

USER01 = "10000000-0000-0000-0000-000000000001"
GROUP01 = "20000000-0000-0000-0000-000000000001"
GROUP02 = "20000000-0000-0000-0000-000000000002"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Counted:
    """The real XML directory, counting the calls that reach it (and able to fail)."""

    def __init__(self, accounts: Path = ACCOUNTS) -> None:
        self.inner = XmlDirectory(accounts)
        self.calls: Counter[str] = Counter()
        self.down = False

    def _count(self, name: str) -> None:
        self.calls[name] += 1
        if self.down:
            raise DirectoryUnavailable("down for the test")

    async def record_by_uid(self, uid: str) -> Record | None:
        self._count("uid")
        return await self.inner.record_by_uid(uid)

    async def record_by_short_name(self, record_type: RecordType,
                                   short_name: str) -> Record | None:
        self._count("name")
        await asyncio.sleep(0.01)  # long enough for concurrent callers to pile up
        return await self.inner.record_by_short_name(record_type, short_name)

    async def record_by_address(self, address: str) -> Record | None:
        self._count("address")
        return await self.inner.record_by_address(address)

    async def records(self, record_type: RecordType) -> list[Record]:
        self._count("records")
        return await self.inner.records(record_type)

    async def search(self, terms: Sequence[tuple[SearchField, str, MatchType]], *,
                     any_of: bool, record_types: Iterable[RecordType] | None = None,
                     limit: int | None = None) -> list[Record]:
        self._count("search")
        return await self.inner.search(terms, any_of=any_of, record_types=record_types,
                                       limit=limit)

    async def authenticate(self, short_name: str, password: str) -> Record | None:
        self._count("authenticate")
        return await self.inner.authenticate(short_name, password)

    async def groups_of(self, uid: str, *, direct: bool = False) -> set[str]:
        self._count("groups")
        return await self.inner.groups_of(uid, direct=direct)

    async def members_of(self, uid: str) -> list[Record]:
        self._count("members")
        return await self.inner.members_of(uid)

    async def close(self) -> None:
        self._count("close")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def backend() -> Counted:
    return Counted()


def cached(backend: Counted, clock: Clock, seconds: float = 60, *,
           negative: bool = False, store: MemoryStore | None = None) -> CachingDirectory:
    return CachingDirectory(backend, seconds, negative=negative, clock=clock,
                            store=store if store is not None else MemoryStore(clock=clock))


async def test_lookups_are_served_from_the_cache_until_they_expire(
        backend: Counted, clock: Clock) -> None:
    directory = cached(backend, clock, seconds=60)
    first = await directory.record_by_uid(USER01)
    assert first is not None and first.short_name == "user01"
    assert await directory.record_by_uid(USER01) == first
    assert await directory.record_by_short_name("user", "user01") == first
    assert await directory.record_by_short_name("user", "user01") == first
    assert await directory.record_by_address("mailto:USER01@example.com") == first
    assert await directory.record_by_address("mailto:user01@example.com") == first
    assert await directory.groups_of(USER01) == {GROUP01, GROUP02}
    assert await directory.groups_of(USER01) == {GROUP01, GROUP02}
    members = await directory.members_of(GROUP02)
    assert await directory.members_of(GROUP02) == members and len(members) == 4
    groups = await directory.records("group")
    assert await directory.records("group") == groups and groups[0].members
    assert backend.calls == Counter(uid=1, name=1, address=1, groups=1, members=1, records=1)

    clock.now += 59
    await directory.record_by_uid(USER01)
    assert backend.calls["uid"] == 1
    clock.now += 2
    assert await directory.record_by_uid(USER01) == first
    assert backend.calls["uid"] == 2, "expired after CachingSeconds"


async def test_search_is_not_cached(backend: Counted, clock: Clock) -> None:
    directory = cached(backend, clock)
    for _ in range(2):
        found = await directory.search([("shortName", "user01", "equals")], any_of=True)
        assert [r.short_name for r in found] == ["user01"]
    assert backend.calls["search"] == 2


async def test_missing_records_are_cached_only_with_negative_caching(
        backend: Counted, clock: Clock) -> None:
    plain = cached(backend, clock)
    for _ in range(3):
        assert await plain.record_by_uid("nobody") is None
    assert backend.calls["uid"] == 3

    backend.calls.clear()
    negative = cached(backend, clock, negative=True)
    for _ in range(3):
        assert await negative.record_by_uid("nobody") is None
        assert await negative.record_by_short_name("user", "nobody") is None
    assert backend.calls == Counter(uid=1, name=1)
    clock.now += 61
    assert await negative.record_by_uid("nobody") is None
    assert backend.calls["uid"] == 2


async def test_zero_seconds_caches_nothing(backend: Counted, clock: Clock) -> None:
    directory = cached(backend, clock, seconds=0, negative=True)
    for _ in range(2):
        assert await directory.record_by_uid(USER01) is not None
        assert await directory.authenticate("user01", "user01") is not None
    assert backend.calls == Counter(uid=2, authenticate=2)


async def test_concurrent_misses_reach_the_backend_once(backend: Counted, clock: Clock) -> None:
    directory = cached(backend, clock)
    found = await asyncio.gather(*(directory.record_by_short_name("user", "user02")
                                   for _ in range(10)))
    assert {r.short_name for r in found if r} == {"user02"} and all(found)
    assert backend.calls["name"] == 1
    assert len({id(r) for r in found}) == 10, "every caller gets its own copy"


async def test_unavailable_is_never_cached(backend: Counted, clock: Clock) -> None:
    directory = cached(backend, clock, negative=True)
    backend.down = True
    with pytest.raises(DirectoryUnavailable):
        await directory.record_by_uid(USER01)
    with pytest.raises(DirectoryUnavailable):
        await directory.authenticate("user01", "user01")
    backend.down = False
    assert await directory.record_by_uid(USER01) is not None
    assert await directory.authenticate("user01", "user01") is not None


async def test_a_shared_store_serves_another_directory(backend: Counted, clock: Clock) -> None:
    """What memcached will do for several hosts: one store, several caching directories."""
    store = MemoryStore(clock=clock)
    host_a = cached(backend, clock, store=store)
    other = Counted()
    host_b = cached(other, clock, store=store)
    record = await host_a.record_by_short_name("location", "location01")
    assert await host_b.record_by_short_name("location", "location01") == record
    assert other.calls["name"] == 0
    assert all(isinstance(value, bytes) for _, value in store._entries.values())


async def test_memory_store_keeps_a_bound(clock: Clock) -> None:
    store = MemoryStore(max_entries=3, clock=clock)
    for n in range(5):
        await store.set(f"k{n}", b"v", 10)
    assert len(store) == 3
    assert await store.get("k0") is None and await store.get("k4") == b"v"


async def test_a_login_is_remembered_briefly_and_only_when_right(
        backend: Counted, clock: Clock) -> None:
    directory = cached(backend, clock, seconds=300)
    assert await directory.authenticate("user03", "wrong") is None
    assert await directory.authenticate("user03", "wrong") is None
    assert backend.calls["authenticate"] == 2, "a failure is never remembered"

    record = await directory.authenticate("user03", "user03")
    assert record is not None and record.short_name == "user03"
    assert await directory.authenticate("user03", "user03") == record
    assert backend.calls["authenticate"] == 3, "the second login came from the cache"
    assert await directory.authenticate("user03", "user04") is None, \
        "another password is checked by the directory, never accepted from the cache"
    assert backend.calls["authenticate"] == 4

    clock.now += AUTH_SECONDS_MAX + 1  # min(60, CachingSeconds), not the 300 s of records
    assert await directory.authenticate("user03", "user03") == record
    assert backend.calls["authenticate"] == 5


async def test_the_login_cache_holds_no_password(clock: Clock, tmp_path: Path) -> None:
    secret = "correct horse battery staple"
    accounts = tmp_path / "accounts.xml"
    accounts.write_text(f"""<directory><record type="user"><uid>u-alice</uid>
        <short-name>alice</short-name><password>{secret}</password></record></directory>""")
    directory = cached(Counted(accounts), clock)
    assert await directory.authenticate("alice", secret) is not None
    remembered = directory._logins["alice"]
    assert len(remembered[1]) == 32, "an HMAC-SHA256 digest"
    everything = pickle.dumps((directory.__dict__.get("_logins"), directory._key))
    assert b"alice" in everything and secret.encode() not in everything
    assert hashlib.sha256(secret.encode()).digest() not in everything, "not a bare hash"
    other = cached(Counted(accounts), clock)
    assert await other.authenticate("alice", secret) is not None
    assert other._logins["alice"][1] != remembered[1], "the key is random per instance"


async def test_the_login_cache_follows_caching_seconds_when_shorter(
        backend: Counted, clock: Clock) -> None:
    directory = cached(backend, clock, seconds=5)
    assert await directory.authenticate("user06", "user06") is not None
    clock.now += 4
    assert await directory.authenticate("user06", "user06") is not None
    assert backend.calls["authenticate"] == 1
    clock.now += 2
    assert await directory.authenticate("user06", "user06") is not None
    assert backend.calls["authenticate"] == 2


async def test_cached_answers_outlive_an_ldap_outage(slapd: Slapd) -> None:
    ldap = LdapDirectory(LdapSettings.from_params(ldap_params(slapd.uri)), retry_seconds=0)
    directory = CachingDirectory(ldap, 60)
    try:
        user = await directory.authenticate("user08", "user08")
        assert user is not None
        groups = await directory.groups_of(user.uid)
        assert len(groups) == 1
        room = await directory.record_by_short_name("location", "location02")
        slapd.stop()
        assert await directory.authenticate("user08", "user08") == user
        assert await directory.groups_of(user.uid) == groups, "cached membership answers"
        assert await directory.record_by_short_name("location", "location02") == room
        with pytest.raises(DirectoryUnavailable):
            await directory.authenticate("user09", "user09")
        with pytest.raises(DirectoryUnavailable):
            await directory.record_by_uid("not-cached")
    finally:
        if not slapd.running:
            slapd.start()
        await directory.close()
