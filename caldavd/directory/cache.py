"""Caching in front of a directory backend (``DirectoryCaching``).

Record lookups are kept for ``CachingSeconds``; "no such record" answers only
when ``NegativeCaching`` is on.  Values are stored as bytes under flat string
keys through a ``CacheStore``, so a shared store (memcached, for several hosts)
can replace the in-process ``MemoryStore`` without changing this module.

A successful authentication is remembered for a short time (at most a minute)
as an HMAC-SHA256 of the password under a key drawn at random per process,
never the password; the key never leaves the process, so this part stays
in-process.  The check runs on every request, so it must be cheap: a slow hash
(PBKDF2, as here before) cost 3.4 ms of CPU per request and a thread hop, and
protected nothing more, since whoever can read this process's memory can read
the key and the passwords of the requests in flight too.  A failed
authentication is never remembered.  Searches (principal-property-search) are
not cached.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from caldavd.cache.stores import CacheStore, MemoryStore
from caldavd.directory.base import Directory, MatchType, SearchField
from caldavd.directory.record import Record, RecordType

T = TypeVar("T")
Clock = Callable[[], float]

KEY_PREFIX = "caldavd:dir:v1:"
AUTH_SECONDS_MAX = 60.0
_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(Record))


def _evict(entries: dict[str, Any], now: float, limit: int) -> None:
    """Drop expired entries, then the oldest, until there is room for one more."""
    for key in [k for k, v in entries.items() if v[0] <= now]:
        del entries[key]
    while len(entries) >= limit:
        del entries[next(iter(entries))]


def encode_record(record: Record | None) -> Any:
    if record is None:
        return None
    return {name: getattr(record, name) for name in _RECORD_FIELDS}


def decode_record(data: Any) -> Record | None:
    if data is None:
        return None
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                              for k, v in data.items() if k in _RECORD_FIELDS}
    return Record(**values)


def _key(kind: str, *parts: str) -> str:
    # Hashed: any text (spaces, non-ASCII, long) becomes a key memcached accepts.
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:40]
    return f"{KEY_PREFIX}{kind}:{digest}"


class CachingDirectory:
    """``caldavd.directory.Directory`` that caches the answers of another one."""

    def __init__(self, inner: Directory, seconds: float, *, negative: bool = False,
                 store: CacheStore | None = None, auth_seconds: float | None = None,
                 clock: Clock = time.monotonic, max_logins: int = 10_000) -> None:
        self.inner = inner
        self._seconds = seconds
        self._negative = negative
        self._clock = clock
        self._store: CacheStore = store if store is not None else MemoryStore(clock=clock)
        self._auth_seconds = (min(AUTH_SECONDS_MAX, seconds) if auth_seconds is None
                              else auth_seconds)
        self._key = os.urandom(32)
        self._logins: dict[str, tuple[float, bytes, Record]] = {}
        self._max_logins = max_logins
        self._loading: dict[str, asyncio.Future[bytes]] = {}

    async def _cached(self, key: str, load: Callable[[], Awaitable[T]],
                      encode: Callable[[T], Any], is_negative: Callable[[T], bool]) -> Any:
        """The JSON-decoded cached answer, loading it (once for concurrent callers) if missing."""
        raw = await self._store.get(key)
        if raw is None:
            pending = self._loading.get(key)
            if pending is None:
                pending = asyncio.ensure_future(self._fill(key, load, encode, is_negative))
                self._loading[key] = pending
                pending.add_done_callback(lambda done: self._done_loading(key, done))
            raw = await asyncio.shield(pending)
        return json.loads(raw)

    def _done_loading(self, key: str, done: asyncio.Future[bytes]) -> None:
        self._loading.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved here too, in case every waiter went away

    async def _fill(self, key: str, load: Callable[[], Awaitable[T]],
                    encode: Callable[[T], Any], is_negative: Callable[[T], bool]) -> bytes:
        value = await load()
        raw = json.dumps(encode(value), separators=(",", ":")).encode()
        if self._seconds > 0 and (self._negative or not is_negative(value)):
            await self._store.set(key, raw, self._seconds)
        return raw

    async def _record(self, key: str, load: Callable[[], Awaitable[Record | None]],
                      ) -> Record | None:
        return decode_record(await self._cached(key, load, encode_record, lambda r: r is None))

    async def _records(self, key: str, load: Callable[[], Awaitable[list[Record]]],
                       ) -> list[Record]:
        data = await self._cached(key, load, lambda rs: [encode_record(r) for r in rs],
                                  lambda rs: False)
        return [r for r in map(decode_record, data) if r is not None]

    async def record_by_uid(self, uid: str) -> Record | None:
        return await self._record(_key("uid", uid), lambda: self.inner.record_by_uid(uid))

    async def record_by_short_name(self, record_type: RecordType,
                                   short_name: str) -> Record | None:
        return await self._record(_key("name", record_type, short_name),
                                  lambda: self.inner.record_by_short_name(record_type, short_name))

    async def record_by_address(self, address: str) -> Record | None:
        return await self._record(_key("address", address.lower()),
                                  lambda: self.inner.record_by_address(address))

    async def records(self, record_type: RecordType) -> list[Record]:
        return await self._records(_key("records", record_type),
                                   lambda: self.inner.records(record_type))

    async def search(self, terms: Sequence[tuple[SearchField, str, MatchType]], *,
                     any_of: bool, record_types: Iterable[RecordType] | None = None,
                     limit: int | None = None) -> list[Record]:
        return await self.inner.search(terms, any_of=any_of, record_types=record_types,
                                       limit=limit)

    async def groups_of(self, uid: str, *, direct: bool = False) -> set[str]:
        kind = "parents" if direct else "groups"
        data = await self._cached(_key(kind, uid),
                                  lambda: self.inner.groups_of(uid, direct=direct),
                                  sorted, lambda groups: False)
        return set(data)

    async def members_of(self, uid: str) -> list[Record]:
        return await self._records(_key("members", uid), lambda: self.inner.members_of(uid))

    def _digest(self, short_name: str, password: str) -> bytes:
        message = short_name.encode() + b"\0" + password.encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    async def authenticate(self, short_name: str, password: str) -> Record | None:
        if self._auth_seconds <= 0:
            return await self.inner.authenticate(short_name, password)
        digest = self._digest(short_name, password)
        remembered = self._logins.get(short_name)
        now = self._clock()
        if (remembered is not None and remembered[0] > now
                and hmac.compare_digest(remembered[1], digest)):
            return remembered[2]
        record = await self.inner.authenticate(short_name, password)
        if record is not None:
            self._logins.pop(short_name, None)
            if len(self._logins) >= self._max_logins:
                _evict(self._logins, now, self._max_logins)
            self._logins[short_name] = (now + self._auth_seconds, digest, record)
        return record

    async def close(self) -> None:
        await self.inner.close()
        close = getattr(self._store, "close", None)
        if close is not None:
            await close()
