"""A byte cache on one memcached pool (aiomcache) that fails open.

memcached is never a source of truth: when it is down or slow, ``get`` is a
miss and ``set`` does nothing, one line is logged per outage, and after
``RETRY_SECONDS`` the pool is tried again.  Values carry their own lifetime
(memcached's exptime), so an old entry never outlives what its writer allowed.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any

import aiomcache

from caldavd.config import Config, MemcachedPool

log = logging.getLogger(__name__)

TIMEOUT = 0.5  # seconds for one memcached call; slower counts as down
RETRY_SECONDS = 5.0
_FAILURES = (OSError, TimeoutError, asyncio.IncompleteReadError, aiomcache.ClientException,
             ConnectionError, EOFError)


class _Client(aiomcache.Client):
    """aiomcache, minus two hazards.

    A busy loop: its storage commands read lines until one ends in CRLF, and a
    connection memcached closed answers b"" forever without ever yielding to
    the event loop.  Here end of stream is an error instead.

    Crossed answers: a command cancelled mid-way (our timeout) leaves its answer
    unread on the connection, and aiomcache put that connection back in its
    pool (it marks a connection broken on ``Exception``, which cancellation is
    not), so the next command on it read the previous command's answer, the
    value of another key.  Here a connection released by a cancelled task is
    marked broken, and the pool closes it.
    """

    def __init__(self, host: str, port: int, *, pool_size: int) -> None:
        super().__init__(host, port, pool_size=pool_size)
        release = self._pool.release

        def release_or_close(conn: Any) -> None:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                conn.reader.set_exception(ConnectionAbortedError("command cancelled"))
            release(conn)

        self._pool.release = release_or_close  # type: ignore[method-assign]

    async def _execute_simple_command(self, conn: Any, raw_command: bytes) -> bytes:
        response, line = bytearray(), b""
        conn.writer.write(raw_command)
        await conn.writer.drain()
        while not line.endswith(b"\r\n"):
            line = await conn.reader.readline()
            if not line:
                raise ConnectionResetError("memcached closed the connection")
            response.extend(line)
        return bytes(response[:-2])


class MemcachedStore:
    """``get``/``set`` of bytes with a lifetime, as the directory cache needs."""

    def __init__(self, host: str, port: int, pool_size: int) -> None:
        self._client = _Client(host, port, pool_size=pool_size)
        self._where = f"{host}:{port}"
        self._down_until = 0.0
        self._down = False

    async def get(self, key: str) -> bytes | None:
        if self._resting():
            return None
        try:
            value: bytes | None = await asyncio.wait_for(self._client.get(key.encode()),
                                                         TIMEOUT)
        except _FAILURES as exc:
            self._failed(exc)
            return None
        self._recovered()
        return value

    async def set(self, key: str, value: bytes, seconds: float) -> None:
        if self._resting():
            return
        try:
            await asyncio.wait_for(
                self._client.set(key.encode(), value, exptime=max(1, math.ceil(seconds))),
                TIMEOUT)
        except _FAILURES as exc:
            self._failed(exc)
            return
        self._recovered()

    async def close(self) -> None:
        await self._client.close()

    def _resting(self) -> bool:
        return self._down and time.monotonic() < self._down_until

    def _failed(self, exc: BaseException) -> None:
        if not self._down:
            log.error("memcached %s unavailable (%s); caching off until it answers",
                      self._where, type(exc).__name__)
        self._down = True
        self._down_until = time.monotonic() + RETRY_SECONDS

    def _recovered(self) -> None:
        if self._down:
            log.info("memcached %s answers again; caching on", self._where)
        self._down = False


def pool_for(config: Config, cache_type: str) -> MemcachedPool | None:
    """The client-enabled pool for ``cache_type``: the one that lists it, else 'Default'.

    ServerEnabled pools are used too: the caldavd master starts their memcached
    (``caldavd.cache.servers``) before any worker, the pool's client, starts.
    """
    pools = {name: p for name, p in config.Memcached.Pools.items() if p.ClientEnabled}
    for pool in pools.values():
        if cache_type in pool.HandleCacheTypes:
            return pool
    for name, pool in pools.items():
        if name == "Default" or "Default" in pool.HandleCacheTypes:
            return pool
    return None


def store_for(config: Config, cache_type: str) -> MemcachedStore | None:
    """A store of its own on the pool for ``cache_type`` (tools, tests); servers share
    theirs through ``PoolStores``."""
    pool = pool_for(config, cache_type)
    if pool is None:
        return None
    return MemcachedStore(pool.BindAddress, pool.Port, config.Memcached.MaxClients)


class SharedStore:
    """A cache's view of a pool's store: ``get`` and ``set``, and no ``close``, since
    the pool's connections outlive any one cache."""

    def __init__(self, store: MemcachedStore) -> None:
        self.get = store.get
        self.set = store.set


class PoolStores:
    """The memcached stores of one worker, one per pool: the cache types a pool handles
    share its ``MaxClients`` connections (directory records, responses, ...)."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._stores: dict[tuple[str, int], MemcachedStore] = {}

    def for_type(self, cache_type: str) -> SharedStore | None:
        pool = pool_for(self._config, cache_type)
        if pool is None:
            return None
        where = (pool.BindAddress, pool.Port)
        store = self._stores.get(where)
        if store is None:
            store = self._stores[where] = MemcachedStore(*where, self._config.Memcached.MaxClients)
        return SharedStore(store)

    async def close(self) -> None:
        for store in self._stores.values():
            await store.close()
        self._stores.clear()
