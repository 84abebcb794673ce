"""Alembic environment: runs on a connection handed in by ``caldavd.store.postgres.migrate``.

caldavd never lets alembic open its own connections: the caller holds the
advisory lock on the very connection the migrations run on.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection


def _run(connection: Connection) -> None:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("caldavd migrations run only through caldavd-bootstrap-db or caldavd")
_run(connection)
