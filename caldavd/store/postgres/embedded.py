"""The embedded default (``DBType ""``): caldavd spawns and owns a local cluster.

On first start the cluster is created under ``DataRoot``; it listens on a unix
socket under ``RunRoot`` only; caldavd creates its database and applies the
schema itself, and stops the cluster when it stops.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import asyncpg

from caldavd.config import worker_count
from caldavd.store.postgres.cluster import PostgresCluster, find_pg_bin
from caldavd.store.postgres.params import connect_kwargs_for, embedded_socket_dir

if TYPE_CHECKING:
    from caldavd.config import Config

log = logging.getLogger(__name__)

# Connections beyond the workers' pools: tools, health checks, maintenance.
EXTRA_CONNECTIONS = 10


def cluster_for(config: Config) -> PostgresCluster:
    settings = config.Postgres
    max_connections = settings.MaxConnections or (
        worker_count(config) * config.MaxDBConnectionsPerPool + EXTRA_CONNECTIONS
    )
    return PostgresCluster(
        data_dir=config.DataRoot / settings.ClusterName,
        socket_dir=embedded_socket_dir(config),
        log_file=settings.LogFile,
        bin_dir=find_pg_bin(settings.BinaryDirectory),
        os_user=settings.UserName,
        max_connections=max_connections,
        shared_buffers=settings.SharedBuffers,
        options=settings.Options,
    )


class EmbeddedDatabase:
    """Starts the cluster and makes sure caldavd's database exists."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self.cluster = cluster_for(config)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        created = await loop.run_in_executor(None, self.cluster.ensure_initialised)
        if created:
            log.info("created embedded PostgreSQL cluster in %s", self.cluster.data_dir)
        await loop.run_in_executor(None, self.cluster.start)
        log.info("embedded PostgreSQL listening on %s", self.cluster.socket_dir)
        await self._ensure_database()

    async def stop(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.cluster.stop)
        log.info("embedded PostgreSQL stopped")

    async def _ensure_database(self) -> None:
        name = self._config.Postgres.DatabaseName
        admin = dict(connect_kwargs_for(self._config), database="postgres")
        conn = await asyncpg.connect(**admin)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                await conn.execute(f"CREATE DATABASE {_quote_ident(name)}")
                log.info("created database %s", name)
        finally:
            await conn.close()


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
