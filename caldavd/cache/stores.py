"""Where cached bytes live: the ``CacheStore`` protocol and its in-process form.

``MemcachedStore`` (``caldavd.cache.memcached``) is the shared form, for several
hosts; ``MemoryStore`` serves one process when no memcached pool handles a
cache type.  Neither is ever a source of truth.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

Clock = Callable[[], float]


class CacheStore(Protocol):
    """Bytes under keys, each with a lifetime."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, seconds: float) -> None: ...


class MemoryStore:
    """An in-process ``CacheStore`` bounded in entries and in bytes (oldest go first)."""

    def __init__(self, max_entries: int = 10_000, clock: Clock = time.monotonic, *,
                 max_bytes: int | None = None) -> None:
        self._entries: dict[str, tuple[float, bytes]] = {}
        self._max = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0
        self._clock = clock

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            self._drop(key)
            return None
        return entry[1]

    async def set(self, key: str, value: bytes, seconds: float) -> None:
        if self._max_bytes is not None and len(value) > self._max_bytes:
            return
        if key in self._entries:
            self._drop(key)
        self._make_room(len(value))
        self._entries[key] = (self._clock() + seconds, value)
        self._bytes += len(value)

    def _make_room(self, size: int) -> None:
        """Drop expired entries, then the oldest, until one more of ``size`` fits."""
        if not self._full(size):
            return
        now = self._clock()
        for key in [k for k, v in self._entries.items() if v[0] <= now]:
            self._drop(key)
        while self._entries and self._full(size):
            self._drop(next(iter(self._entries)))

    def _full(self, size: int) -> bool:
        return len(self._entries) >= self._max or (
            self._max_bytes is not None and self._bytes + size > self._max_bytes)

    def _drop(self, key: str) -> None:
        self._bytes -= len(self._entries.pop(key)[1])
