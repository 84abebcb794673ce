"""GET /health follows the database: 503 while it is down, 200 again after (issue #2)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request

import asyncpg

from caldavd.store.postgres.cluster import PostgresCluster
from tests.conftest import free_port
from tests.tools.helpers import (
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
