"""Plain WebDAV resources and collections inside a calendar home.

Revision ID: 0002
Revises: 0001

Not calendar data: files and folders any WebDAV client (or litmus) may keep
next to the calendars.  ``path`` is relative to the home, without a leading
or trailing slash ("litmus/sub/file.txt"); ids come from resource_id_seq so
dead properties attach to them like to anything else.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dav_resource",
        sa.Column("id", sa.BigInteger, primary_key=True,
                  server_default=sa.text("nextval('resource_id_seq')")),
        sa.Column("home_id", sa.BigInteger,
                  sa.ForeignKey("calendar_home.id", ondelete="CASCADE"), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("is_collection", sa.Boolean, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=True),
        sa.Column("content_type", sa.Text, nullable=True),
        sa.Column("etag", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
        sa.UniqueConstraint("home_id", "path"),
    )
    # Prefix scans (a collection's members, recursive copy/move/delete).
    op.execute("CREATE INDEX dav_resource_prefix ON dav_resource "
               "(home_id, path text_pattern_ops)")


def downgrade() -> None:
    op.execute("DELETE FROM dead_property WHERE resource_id IN (SELECT id FROM dav_resource)")
    op.drop_table("dav_resource")
