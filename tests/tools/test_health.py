"""GET /health follows the database: 503 while it is down, 200 again after (issue #2)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import asyncpg
from aiohttp.test_utils import TestServer

from caldavd.config import build_config
from caldavd.server.app import create_app
from caldavd.store.postgres.cluster import SUPERUSER, PostgresCluster
from caldavd.store.postgres.migrate import upgrade_to_head
from tests.conftest import free_port
from tests.tools.helpers import (
    ACCOUNTS,
    external_db_plist,
    reachable_tempdir,
    remove_tree,
    run_tool,
    start_tool,
)
from tests.tools.test_serve import _terminate, _wait_for_health


def _health(url: str) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=15) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_health_is_503_while_database_is_down() -> None:
    root = reachable_tempdir()
    cluster = PostgresCluster(data_dir=root / "pg", socket_dir=root / "s",
                              log_file=root / "pg.log", port=free_port())
    try:
        cluster.ensure_initialised()
        cluster.start()
        dsn = f"postgresql://caldav@/caldav?host={cluster.socket_dir}&port={cluster.port}"
        async def create() -> None:
            conn = await asyncpg.connect(**cluster.connect_kwargs("postgres"))
            await conn.execute("CREATE DATABASE caldav")
            await conn.close()

        asyncio.run(create())
        port = free_port()
        plist = external_db_plist(root, dsn, HTTPPort=port, BindAddresses=["127.0.0.1"])
        assert run_tool("caldavd-bootstrap-db", "-f", str(plist)).returncode == 0
        log = root / "caldavd.out"
        proc = start_tool("caldavd", ["-f", str(plist)], log)
        url = f"http://127.0.0.1:{port}/"
        try:
            _wait_for_health(proc, url, log)
            cluster.stop(mode="immediate")
            status, body = _health(url + "health")
            assert status == 503 and body["status"] == "unavailable"
            cluster.start()
            deadline = time.monotonic() + 30
            while _health(url + "health")[0] != 200:
                assert time.monotonic() < deadline, "health did not recover"
                time.sleep(0.3)
        finally:
            assert _terminate(proc, log) == 0, log.read_text()
    finally:
        cluster.stop(mode="immediate")
        remove_tree(root)


async def test_a_worker_started_while_the_database_is_away_serves_503_then_recovers(
        tmp_path: Path) -> None:
    """With several workers, one may start after the database went away (the master saw it
    when it checked the schema): it must answer 503, not exit, and recover."""
    root = reachable_tempdir()
    cluster = PostgresCluster(data_dir=root / "pg", socket_dir=root / "s",
                              log_file=root / "pg.log", port=free_port())
    try:
        await asyncio.to_thread(cluster.ensure_initialised)
        await asyncio.to_thread(cluster.start)
        await upgrade_to_head(cluster.connect_kwargs("postgres"))
        await asyncio.to_thread(cluster.stop, mode="immediate")
        config = build_config({
            "ServerRoot": str(tmp_path), "DBType": "postgres",
            "DSN": f"postgresql://{SUPERUSER}@/postgres?host={cluster.socket_dir}"
                   f"&port={cluster.port}",
            "Memcached": {"Pools": {"Default": {"ClientEnabled": False,
                                                "ServerEnabled": False}}},
            "DirectoryService": {"type": "xml", "params": {"xmlFile": str(ACCOUNTS)}}},
            base_dir=tmp_path)
        async with TestServer(create_app(config), host="127.0.0.1") as server, \
                aiohttp.ClientSession() as session:
            async with session.get(server.make_url("/health")) as resp:
                assert resp.status == 503 and resp.headers["Retry-After"]
            auth = aiohttp.BasicAuth("user01", "user01")
            async with session.request("PROPFIND", server.make_url("/calendars/users/user01/"),
                                       auth=auth) as resp:
                assert resp.status == 503
            await asyncio.to_thread(cluster.start)
            deadline = asyncio.get_running_loop().time() + 30
            while True:
                async with session.get(server.make_url("/health")) as resp:
                    if resp.status == 200:
                        break
                assert asyncio.get_running_loop().time() < deadline, "health did not recover"
                await asyncio.sleep(0.3)
    finally:
        await asyncio.to_thread(cluster.stop, mode="immediate")
        remove_tree(root)
