"""The memcached byte store against a real memcached: sharing, expiry, failing open."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from caldavd.cache import memcached
from caldavd.cache.memcached import MemcachedStore, pool_for
from caldavd.config import build_config
from caldavd.directory.cache import CachingDirectory
from tests.directory.test_cache import Counted

pytestmark = pytest.mark.skipif(shutil.which("memcached") is None,
                                reason="memcached is not installed")


class Memcached:
    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        self.proc = subprocess.Popen(
            ["memcached", "-l", "127.0.0.1", "-p", str(self.port), "-U", "0", "-m", "16",
             *user], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("memcached did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def server(mc: Memcached) -> Memcached:
    return mc


async def test_set_get_and_expiry(server: Memcached) -> None:
    store = MemcachedStore("127.0.0.1", server.port, 2)
    try:
        assert await store.get("k1") is None
        await store.set("k1", b"value", 1)
        assert await store.get("k1") == b"value"
        await asyncio.sleep(2.1)
        assert await store.get("k1") is None, "memcached exptime bounds the entry"
    finally:
        await store.close()


async def test_two_hosts_share_directory_answers(server: Memcached) -> None:
    """What host A looked up, host B answers from memcached without asking LDAP."""
    inner_a, inner_b = Counted(), Counted()
    host_a = CachingDirectory(inner_a, 60, store=MemcachedStore("127.0.0.1", server.port, 2))
    host_b = CachingDirectory(inner_b, 60, store=MemcachedStore("127.0.0.1", server.port, 2))
    try:
        record = await host_a.record_by_short_name("user", "user01")
        assert record is not None
        assert await host_b.record_by_short_name("user", "user01") == record
        assert sum(inner_b.calls.values()) == 0
    finally:
        await host_a.close()
        await host_b.close()


async def test_fails_open_and_recovers(server: Memcached, monkeypatch: pytest.MonkeyPatch,
                                       caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(memcached, "RETRY_SECONDS", 0.2)
    inner = Counted()
    store = MemcachedStore("127.0.0.1", server.port, 2)
    directory = CachingDirectory(inner, 60, store=store)
    try:
        assert await directory.record_by_short_name("user", "user02") is not None
        server.stop()
        with caplog.at_level(logging.ERROR, logger="caldavd.cache.memcached"):
            for _ in range(3):
                await store.set("x", b"y", 5)
                assert await store.get("x") is None
                assert await directory.record_by_short_name("user", "user03") is not None
        outages = [r for r in caplog.records if "unavailable" in r.getMessage()]
        assert len(outages) == 1, "one log line per outage"
        server.start()
        await asyncio.sleep(0.3)
        for _ in range(20):  # the pool may still hold a dead connection or two
            await store.set("back", b"again", 5)
            if await store.get("back") == b"again":
                break
            await asyncio.sleep(0.25)
        assert await store.get("back") == b"again"
    finally:
        await directory.close()


def test_pool_routing(tmp_path: Path) -> None:
    config = build_config({"Memcached": {"Pools": {
        "Default": {"ClientEnabled": True, "ServerEnabled": False, "Port": 11311},
        "Dir": {"ClientEnabled": True, "ServerEnabled": False, "Port": 11312,
                "HandleCacheTypes": ["DirectoryCache"]},
        "Local": {"ClientEnabled": True, "ServerEnabled": True, "Port": 11313,
                  "HandleCacheTypes": ["Other"]},
    }}}, base_dir=tmp_path)
    dir_pool = pool_for(config, "DirectoryCache")
    assert dir_pool is not None and dir_pool.Port == 11312
    fallback = pool_for(config, "ResponseCache")
    assert fallback is not None and fallback.Port == 11311
    local = pool_for(config, "Other")
    assert local is not None and local.Port == 11313, "caldavd starts it, and uses it"
    off = build_config({"Memcached": {"Pools": {"Default": {"ClientEnabled": False}}}},
                       base_dir=tmp_path)
    assert pool_for(off, "DirectoryCache") is None
