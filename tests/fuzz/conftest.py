"""One caldavd process and database for the whole fuzz run (module scope: the families
share the state the earlier ones leave, as a server in use does)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from caldavd.store.postgres.cluster import PostgresCluster
from tests.conftest import PgDatabase, admin, free_port
from tests.fuzz import readback, server
from tests.tools.helpers import reachable_tempdir, remove_tree


@pytest.fixture(scope="module")
def fuzz_server(pg_cluster: PostgresCluster) -> Iterator[server.Server]:
    database = PgDatabase(pg_cluster, "fuzz_run")
    asyncio.run(admin(pg_cluster, 'DROP DATABASE IF EXISTS "fuzz_run" WITH (FORCE)'))
    asyncio.run(admin(pg_cluster, 'CREATE DATABASE "fuzz_run"'))
    root = reachable_tempdir()
    running = server.start(database.url, root, free_port())
    try:
        asyncio.run(readback.set_up(running.host, running.port))
        yield running
    finally:
        server.stop(running)
        asyncio.run(admin(pg_cluster, 'DROP DATABASE IF EXISTS "fuzz_run" WITH (FORCE)'))
        remove_tree(root)
