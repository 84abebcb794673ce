"""Initial schema: homes, calendars and binds, objects, time ranges, revisions,
dead properties, delegates, attachments.

Revision ID: 0001
Revises:

Ids of homes, calendars and calendar objects come from one sequence
(``resource_id_seq``), so ``dead_property`` and ``revision`` can name any of
them by id alone.  Revisions come from one global sequence; a collection's
sync token and CTag derive from its highest revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NOW = sa.text("now()")
RESOURCE_ID = sa.text("nextval('resource_id_seq')")


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger, primary_key=True, server_default=RESOURCE_ID)


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    ]


def upgrade() -> None:
    op.execute("CREATE SEQUENCE resource_id_seq")
    op.execute("CREATE SEQUENCE revision_seq")
    op.create_table(
        "calendar_home", _id(),
        sa.Column("owner_uid", sa.Text, nullable=False, unique=True),
        # Sync tokens at or below this revision are refused (tombstones purged).
        sa.Column("purged_revision", sa.BigInteger, nullable=False, server_default="0"),
        *_stamps(),
    )
    op.create_table(
        "calendar", _id(),
        sa.Column("owner_home_id", sa.BigInteger,
                  sa.ForeignKey("calendar_home.id", ondelete="CASCADE"), nullable=False),
        # NULL: every component type; otherwise e.g. {VEVENT} (RFC 4791 §5.2.3).
        sa.Column("supported_components", sa.ARRAY(sa.Text), nullable=True),
        sa.Column("purged_revision", sa.BigInteger, nullable=False, server_default="0"),
        *_stamps(),
    )
    op.create_index("calendar_owner", "calendar", ["owner_home_id"])
    op.create_table(
        "calendar_bind",
        sa.Column("home_id", sa.BigInteger,
                  sa.ForeignKey("calendar_home.id", ondelete="CASCADE"), nullable=False),
        sa.Column("calendar_id", sa.BigInteger,
                  sa.ForeignKey("calendar.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("mode", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("home_id", "name"),
        sa.UniqueConstraint("home_id", "calendar_id"),
        sa.CheckConstraint("mode IN ('own', 'read', 'write')", name="calendar_bind_mode"),
    )
    op.create_index("calendar_bind_calendar", "calendar_bind", ["calendar_id"])
    op.create_table(
        "calendar_object", _id(),
        sa.Column("calendar_id", sa.BigInteger,
                  sa.ForeignKey("calendar.id", ondelete="CASCADE"), nullable=False),
        # The owning home, denormalised so that a UID is unique per home in the database
        # itself, whatever races between hosts (RFC 4791 §5.3.2.1 no-uid-conflict).
        sa.Column("home_id", sa.BigInteger,
                  sa.ForeignKey("calendar_home.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("uid", sa.Text, nullable=False),
        sa.Column("component_type", sa.Text, nullable=False),
        sa.Column("icalendar", sa.Text, nullable=False),
        sa.Column("etag", sa.Text, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("organizer", sa.Text, nullable=True),
        sa.Column("schedule_tag", sa.Text, nullable=True),
        # Instances are in time_range up to this moment; NULL = all of them.
        sa.Column("indexed_until", sa.DateTime(timezone=True), nullable=True),
        *_stamps(),
        sa.UniqueConstraint("calendar_id", "name"),
        sa.UniqueConstraint("home_id", "uid"),
    )
    op.create_index("calendar_object_calendar_type", "calendar_object",
                    ["calendar_id", "component_type"])
    op.create_table(
        "time_range",
        sa.Column("calendar_object_id", sa.BigInteger,
                  sa.ForeignKey("calendar_object.id", ondelete="CASCADE"), nullable=False),
        sa.Column("calendar_id", sa.BigInteger, nullable=False),
        sa.Column("start_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("floating", sa.Boolean, nullable=False),
        sa.Column("transparent", sa.Boolean, nullable=False),
        sa.Column("fbtype", sa.Text, nullable=False),
    )
    op.create_index("time_range_calendar_start", "time_range",
                    ["calendar_id", "start_utc", "end_utc"])
    op.create_index("time_range_object", "time_range", ["calendar_object_id"])
    op.create_table(
        "revision",
        # A calendar's or a home's id (resource_id_seq); name '' is the collection itself.
        sa.Column("collection_id", sa.BigInteger, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("collection_id", "name"),
    )
    op.create_index("revision_collection_revision", "revision", ["collection_id", "revision"])
    op.create_index("revision_tombstones", "revision", ["modified"],
                    postgresql_where=sa.text("deleted"))
    op.create_table(
        "dead_property",
        sa.Column("resource_id", sa.BigInteger, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("resource_id", "name"),
    )
    op.create_table(
        "delegate",
        sa.Column("delegator_uid", sa.Text, nullable=False),
        sa.Column("delegate_uid", sa.Text, nullable=False),
        sa.Column("read_write", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("delegator_uid", "delegate_uid", "read_write"),
    )
    op.create_index("delegate_by_delegate", "delegate", ["delegate_uid"])
    op.create_table(
        "attachment",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("managed_id", sa.Text, nullable=False, unique=True),
        sa.Column("home_id", sa.BigInteger,
                  sa.ForeignKey("calendar_home.id", ondelete="CASCADE"), nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("digest", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        *_stamps(),
    )
    op.create_index("attachment_home", "attachment", ["home_id"])
    op.create_table(
        "attachment_link",
        sa.Column("attachment_id", sa.BigInteger,
                  sa.ForeignKey("attachment.id", ondelete="CASCADE"), nullable=False),
        sa.Column("calendar_object_id", sa.BigInteger,
                  sa.ForeignKey("calendar_object.id", ondelete="CASCADE"), nullable=False),
        sa.PrimaryKeyConstraint("attachment_id", "calendar_object_id"),
    )
    op.create_index("attachment_link_object", "attachment_link", ["calendar_object_id"])


def downgrade() -> None:
    for table in ("attachment_link", "attachment", "delegate", "dead_property", "revision",
                  "time_range", "calendar_object", "calendar_bind", "calendar",
                  "calendar_home"):
        op.drop_table(table)
    op.execute("DROP SEQUENCE revision_seq")
    op.execute("DROP SEQUENCE resource_id_seq")
