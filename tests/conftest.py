"""Shared fixtures: a real, throwaway PostgreSQL cluster (never a mock).

One cluster per test session lives in a short temporary directory under /tmp
(reachable by the unprivileged user PostgreSQL runs as when tests run as root).
Each test that needs a database gets a fresh, empty one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import pytest

from caldavd.store.postgres.cluster import SUPERUSER, PostgresCluster
from tests import logscan

if TYPE_CHECKING:
    from tests.cache.test_memcached import Memcached

_db_counter = itertools.count()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session", autouse=True)
def no_password_in_any_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """At the end of the run: no test password in a log any test's server wrote."""
    yield
    logscan.scan(tmp_path_factory.getbasetemp())
    assert not logscan.FOUND, "passwords in logs:\n" + "\n".join(logscan.FOUND)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    root = Path(tempfile.mkdtemp(prefix="cdt-", dir="/tmp"))
    root.chmod(0o755)
    cluster = PostgresCluster(
        data_dir=root / "data",
        socket_dir=root / "s",
        log_file=root / "postgres.log",
        max_connections=200,
        port=free_port(),
        listen_address="127.0.0.1",
        options=("fsync=off", "synchronous_commit=off", "full_page_writes=off"),
    )
    cluster.ensure_initialised()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop(mode="immediate")
        shutil.rmtree(root, ignore_errors=True)


class PgDatabase:
    """A fresh database in the session cluster, plus ways to reach it."""

    def __init__(self, cluster: PostgresCluster, name: str) -> None:
        self.cluster = cluster
        self.name = name

    @property
    def connect_kwargs(self) -> dict[str, object]:
        return self.cluster.connect_kwargs(self.name)

    @property
    def url(self) -> str:
        """A postgresql:// URL (socket directory as the host query parameter)."""
        return (f"postgresql://{SUPERUSER}@/{self.name}"
                f"?host={self.cluster.socket_dir}&port={self.cluster.port}")

    def tcp_url(self, user: str, password: str) -> str:
        """A URL over TCP with password authentication (the cluster accepts SCRAM there)."""
        return f"postgresql://{user}:{password}@127.0.0.1:{self.cluster.port}/{self.name}"

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(**self.connect_kwargs)


async def admin(cluster: PostgresCluster, sql: str) -> None:
    conn = await asyncpg.connect(**cluster.connect_kwargs("postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def _throwaway(cluster: PostgresCluster, prefix: str) -> AsyncIterator[PgDatabase]:
    name = f"{prefix}{next(_db_counter)}_{id(asyncio.get_running_loop()) % 10_000}"
    await admin(cluster, f'CREATE DATABASE "{name}"')
    try:
        yield PgDatabase(cluster, name)
    finally:
        await admin(cluster, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def pg_database(pg_cluster: PostgresCluster) -> AsyncIterator[PgDatabase]:
    async with _throwaway(pg_cluster, "t") as db:
        yield db


@pytest.fixture
async def db(pg_database: PgDatabase) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to ``pg_database`` (tests/store's asks for the store first,
    so that the database is migrated)."""
    conn = await pg_database.connect()
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def empty_database(pg_cluster: PostgresCluster) -> AsyncIterator[PgDatabase]:
    """A second, empty database in the session cluster (e.g. a delegation database)."""
    async with _throwaway(pg_cluster, "e") as db:
        yield db


@pytest.fixture
def mc() -> Iterator[Memcached]:
    """A throwaway real memcached on a free loopback port (``tests.cache.test_memcached``)."""
    from tests.cache.test_memcached import Memcached

    server = Memcached(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
