"""A memcached command that timed out must not leave its answer for the next one."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from pathlib import Path

import pytest

from caldavd.cache import memcached
from caldavd.cache.memcached import MemcachedStore
from tests.cache.test_memcached import Memcached

pytestmark = pytest.mark.skipif(shutil.which("memcached") is None,
                                reason="memcached is not installed")



def _state(pid: int) -> str:
    """The process state letter from /proc (a small read of a virtual file)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


async def stopped(pid: int, limit: float = 10.0) -> None:
    """Until the kernel shows ``pid`` stopped (SIGSTOP is delivered asynchronously)."""
    deadline = asyncio.get_running_loop().time() + limit
    while _state(pid) != "T":
        assert asyncio.get_running_loop().time() < deadline, "memcached did not stop"
        await asyncio.sleep(0.01)


async def test_a_timed_out_get_does_not_cross_answers(mc: Memcached,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memcached, "RETRY_SECONDS", 0.0)
    monkeypatch.setattr(memcached, "TIMEOUT", 0.2)
    store = MemcachedStore("127.0.0.1", mc.port, 1)  # one connection: any leftover shows
    try:
        await store.set("k1", b"one", 60)
        await store.set("k2", b"two", 60)
        assert mc.proc is not None
        os.kill(mc.proc.pid, signal.SIGSTOP)
        await stopped(mc.proc.pid)
        try:
            assert await store.get("k1") is None  # timed out: a miss
        finally:
            os.kill(mc.proc.pid, signal.SIGCONT)
        # memcached now answers the abandoned get for k1 too; it must not be read as k2's.
        assert await store.get("k2") == b"two"
        assert await store.get("k1") == b"one"
    finally:
        await store.close()
