"""How to reach the database from configuration: the one place that decides.

``DBType ""``: the embedded cluster's unix socket in ``RunRoot/pg``, as its
superuser, database ``Postgres.DatabaseName``.
``DBType "postgres"``: whatever ``DSN`` says; an empty DSN host means the
local socket directory, which for an external server is ``RunRoot`` (seed:
"found in the directory defined by the RunRoot config key").
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from caldavd.store.postgres.cluster import DEFAULT_PORT, SUPERUSER

if TYPE_CHECKING:
    from caldavd.config import Config

EMBEDDED_SOCKET_SUBDIR = "pg"


def embedded_socket_dir(config: Config) -> Path:
    return config.RunRoot / EMBEDDED_SOCKET_SUBDIR


def connect_kwargs_for(config: Config) -> dict[str, object]:
    """Keyword arguments for ``asyncpg.connect``/``asyncpg.create_pool``."""
    if config.DBType == "":
        return {
            "host": str(embedded_socket_dir(config)),
            "port": DEFAULT_PORT,
            "user": SUPERUSER,
            "database": config.Postgres.DatabaseName,
        }
    if config.dsn is None:  # validation rejects this; keep mypy and callers honest
        raise ValueError("DBType is 'postgres' but DSN is empty")
    return config.dsn.connect_kwargs(config.RunRoot)


def describe_target(config: Config) -> str:
    """'host H, database D, user U' for error lines; never the password."""
    if config.DBType == "":
        return (f"embedded cluster at {embedded_socket_dir(config)}, "
                f"database {config.Postgres.DatabaseName}, user {SUPERUSER}")
    if config.dsn is None:
        return "no DSN configured"
    return config.dsn.describe()
