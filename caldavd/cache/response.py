"""Answers kept for the next identical request, served only while they are still true.

An entry is filed under a key made of everything that shapes an answer (who
asks, what, how: principal, path, depth, body and the headers that change
an answer) and carries a *validator*: what the answer was computed from, as the
caller reads it **before** computing (for a calendar home: its id, its change
token and a digest of its owner's directory record).  ``get`` returns the
answer only when the caller's current validator is byte-for-byte the stored
one.  Since validators are read from the database, whose change token moves in
the writer's own transaction, an entry is never served after a change on any
host, whether memcached missed invalidations, restarted or came back with old
contents: there is nothing to invalidate.  A reader that read the validator
before computing can only file an answer at least as new as its validator.

Entries expire after ``seconds`` anyway (``ResponseCacheTimeout``), which bounds
what a cache holds for answers nobody asks for again.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable

from caldavd import __version__
from caldavd.cache.memcached import PoolStores
from caldavd.cache.stores import CacheStore, MemoryStore
from caldavd.config import Config

# The memcached cache type (Memcached.Pools.<pool>.HandleCacheTypes) for responses.
RESPONSE_CACHE_TYPE = "ResponseCache"
KEY_PREFIX = "caldavd:resp:v1:"
# memcached refuses items over 1 MB by default (-I); larger answers are not cached.
MAX_ENTRY_BYTES = 1024 * 1024 - 1024
_LENGTH = struct.Struct("!H")
# The in-process store, when no memcached pool handles ResponseCache (per worker).
MEMORY_ENTRIES = 5000
MEMORY_BYTES = 64 * 1024 * 1024


def response_key(parts: Iterable[bytes]) -> str:
    """A memcached-safe key for the request ``parts`` (each length-prefixed, then hashed)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(struct.pack("!I", len(part)))
        digest.update(part)
    return KEY_PREFIX + digest.hexdigest()


class ResponseCache:
    """Bodies under request keys, each with the validator it was computed under.

    ``namespace`` goes into every key: what shapes answers besides the data (the
    caldavd version, the limits that live properties report), so hosts of one
    cluster share entries, and a host upgraded or reconfigured during a rolling
    restart never serves what the others rendered differently.
    """

    def __init__(self, store: CacheStore, seconds: float, namespace: bytes = b"") -> None:
        self._store = store
        self._seconds = seconds
        self._namespace = namespace
        self.hits = 0
        self.misses = 0

    def key(self, parts: Iterable[bytes]) -> str:
        return response_key([self._namespace, *parts])

    async def get(self, key: str, validator: bytes) -> bytes | None:
        raw = await self._store.get(key)
        body = _unpack(raw, validator) if raw is not None else None
        if body is None:
            self.misses += 1
        else:
            self.hits += 1
        return body

    async def put(self, key: str, validator: bytes, body: bytes) -> None:
        value = _LENGTH.pack(len(validator)) + validator + body
        if len(value) <= MAX_ENTRY_BYTES:
            await self._store.set(key, value, self._seconds)


def _unpack(raw: bytes, validator: bytes) -> bytes | None:
    """The body of ``raw`` when it was stored under ``validator``; None otherwise."""
    if len(raw) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack_from(raw)
    end = _LENGTH.size + length
    if raw[_LENGTH.size:end] != validator:
        return None
    return raw[end:]


def open_response_cache(config: Config, pools: PoolStores) -> ResponseCache | None:
    """The cache ``config`` asks for: on the pool that handles ResponseCache, else in-process."""
    if not config.EnableResponseCache or config.ResponseCacheTimeout <= 0:
        return None
    store: CacheStore | None = pools.for_type(RESPONSE_CACHE_TYPE)
    if store is None:
        store = MemoryStore(MEMORY_ENTRIES, max_bytes=MEMORY_BYTES)
    return ResponseCache(store, config.ResponseCacheTimeout * 60.0, answer_shaping(config))


def answer_shaping(config: Config) -> bytes:
    """The version and the settings that PROPFIND answers report (RFC 4791 §5.2, RFC 4331)."""
    return " ".join(map(str, (
        __version__, config.MaxResourceSize, config.MaxAllowedInstances,
        config.MaxAttendeesPerInstance, config.UserQuota))).encode()
