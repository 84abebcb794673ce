"""Database upkeep: when each task last ran, where, and what it did.

Revision ID: 0010
Revises: 0009

Upkeep (``caldavd.store.postgres.maintenance``) is run by one host at a time,
chosen by a session-level advisory lock; whether a task is due is decided from
its row here, so its interval holds for the whole deployment rather than per
host.  ``last_complete`` is when the last complete, successful run started: the
interval counts from it (a partial ANALYZE of the tables that changed, or a
failed run, leaves it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "maintenance_task",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("last_started", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_finished", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_node", sa.Text, nullable=True),
        sa.Column("last_result", postgresql.JSONB, nullable=True),
        # NULL when the last run succeeded.
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("last_complete", sa.DateTime(timezone=True), nullable=True),
        sa.Column("runs", sa.BigInteger, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("maintenance_task")
