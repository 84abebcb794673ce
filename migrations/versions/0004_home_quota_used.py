"""Bytes used per home, kept by a trigger instead of summed on every PUT.

Revision ID: 0004
Revises: 0003

Every change to calendar_object (insert, update, delete, cascades and moves
between homes included) adjusts ``calendar_home.quota_used`` in the same
transaction, so the quota check and the quota properties read one column.
Writers already hold the home's row lock, so the updates do not contend.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from caldavd.store.postgres.definitions import definition

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("calendar_home", sa.Column("quota_used", sa.BigInteger, nullable=False,
                                             server_default="0"))
    op.execute("""
        UPDATE calendar_home h SET quota_used = coalesce(
            (SELECT sum(size) FROM calendar_object o WHERE o.home_id = h.id), 0)
    """)
    op.execute(definition("calendar_object_quota", 1))
    op.execute("""
        CREATE TRIGGER calendar_object_quota
        AFTER INSERT OR DELETE OR UPDATE OF size, home_id ON calendar_object
        FOR EACH ROW EXECUTE FUNCTION calendar_object_quota()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER calendar_object_quota ON calendar_object")
    op.execute("DROP FUNCTION calendar_object_quota()")
    op.drop_column("calendar_home", "quota_used")
