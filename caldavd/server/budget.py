"""The database connection budget of one host, checked before any worker starts.

Every worker keeps a pool of up to ``MaxDBConnectionsPerPool`` connections,
so a host may hold MultiProcessCount x MaxDBConnectionsPerPool of them.  A
host that needs more than the server could ever give would fail under load,
long after start-up, with "too many clients": it refuses to start instead.
The server cannot know how many other hosts share it, so the number is
logged per host for the operator to add up.  Database upkeep adds one short-lived
connection per host (only the first worker checks), and the scheduling processor one
per worker (it listens for new work on a connection of its own).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from caldavd.cli.dbcommon import connect
from caldavd.cli.errors import ToolError
from caldavd.config import Config, worker_count

log = logging.getLogger("caldavd")

# The first worker's upkeep check (caldavd.ops.upkeep) uses a connection of its own.
UPKEEP_CONNECTIONS = 1
# Each worker's scheduling processor LISTENs on one (caldavd.store.postgres.notify).
LISTEN_CONNECTIONS_PER_WORKER = 1


async def check_connection_budget(config: Config, kwargs: Mapping[str, object],
                                  target: str) -> None:
    workers, per_pool = worker_count(config), config.MaxDBConnectionsPerPool
    upkeep = UPKEEP_CONNECTIONS if config.Maintenance.Enabled else 0
    listen = workers * LISTEN_CONNECTIONS_PER_WORKER if config.Scheduling.Enabled else 0
    needed = workers * per_pool + upkeep + listen
    cores = " (MultiProcessCount 0: one worker per core)" if config.MultiProcessCount == 0 else ""
    extra = f", plus {upkeep} for database upkeep" if upkeep else ""
    extra += f", plus {listen} for scheduling notifications" if listen else ""
    log.info("MultiProcessCount x MaxDBConnectionsPerPool = %d x %d = %d database "
             "connections per host%s%s", workers, per_pool, workers * per_pool, extra, cores)
    max_connections, reserved = await _server_limits(kwargs, target)
    available = max_connections - reserved
    if needed > available:
        raise ToolError(
            f"MultiProcessCount x MaxDBConnectionsPerPool = {workers} x {per_pool} "
            f"= {workers * per_pool} database connections{extra}, more than PostgreSQL "
            f"({target}) accepts: its max_connections is {max_connections}, {reserved} of "
            f"them reserved for superusers, leaving {available}; lower MultiProcessCount or "
            f"MaxDBConnectionsPerPool, or raise max_connections")


async def _server_limits(kwargs: Mapping[str, object], target: str) -> tuple[int, int]:
    conn = await connect(kwargs, target)
    try:
        max_connections = int(await conn.fetchval("SHOW max_connections"))
        reserved = int(await conn.fetchval("SHOW superuser_reserved_connections"))
    finally:
        await conn.close()
    return max_connections, reserved
