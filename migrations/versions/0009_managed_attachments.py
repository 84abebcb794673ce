"""Managed attachments (RFC 8607): quota, links kept in step with the data, a trash.

Revision ID: 0009
Revises: 0008

The ``attachment`` and ``attachment_link`` tables are from 0001.  This adds
what keeps them honest without the writers' help:

- ``calendar_home.quota_used`` (0004) also counts attachment bytes: a trigger
  on ``attachment`` adds and subtracts them, in the writer's transaction.  An
  attachment counts once, in the home that uploaded it, however many events
  share it.
- A calendar object whose data no longer names an attachment's MANAGED-ID
  loses its link to it (a PUT that dropped the ATTACH property, whichever path
  wrote it); the test is on the unfolded text (RFC 5545 §3.1), the ids being
  long random tokens that appear nowhere else.
- An attachment left without links (its events deleted, or updated away) is
  deleted, and a deleted attachment's file goes to ``attachment_trash``: the
  files live outside the database, so a committed row always has its file and
  a deleted row leaves a path to unlink after commit.  If nobody gets to it
  (a crash after commit), the cleanup pass does.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from caldavd.store.postgres.definitions import definition

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

def upgrade() -> None:
    op.create_table(
        "attachment_trash",
        sa.Column("path", sa.Text, primary_key=True),
        sa.Column("deleted", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
    )
    op.execute("""
        UPDATE calendar_home h SET quota_used = quota_used + coalesce(
            (SELECT sum(size) FROM attachment a WHERE a.home_id = h.id), 0)
    """)
    op.execute(definition("attachment_accounting", 1))
    op.execute("""
        CREATE TRIGGER attachment_accounting
        AFTER INSERT OR DELETE OR UPDATE OF size, home_id ON attachment
        FOR EACH ROW EXECUTE FUNCTION attachment_accounting()
    """)
    op.execute(definition("calendar_object_drops_attachments", 1))
    op.execute("""
        CREATE TRIGGER calendar_object_drops_attachments
        AFTER UPDATE OF icalendar ON calendar_object
        FOR EACH ROW EXECUTE FUNCTION calendar_object_drops_attachments()
    """)
    op.execute(definition("attachment_link_collect", 1))
    op.execute("""
        CREATE TRIGGER attachment_link_collect
        AFTER DELETE ON attachment_link REFERENCING OLD TABLE AS gone
        FOR EACH STATEMENT EXECUTE FUNCTION attachment_link_collect()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER attachment_link_collect ON attachment_link")
    op.execute("DROP FUNCTION attachment_link_collect()")
    op.execute("DROP TRIGGER calendar_object_drops_attachments ON calendar_object")
    op.execute("DROP FUNCTION calendar_object_drops_attachments()")
    op.execute("DROP TRIGGER attachment_accounting ON attachment")
    op.execute("DROP FUNCTION attachment_accounting()")
    op.execute("""
        UPDATE calendar_home h SET quota_used = quota_used - coalesce(
            (SELECT sum(size) FROM attachment a WHERE a.home_id = h.id), 0)
    """)
    op.drop_table("attachment_trash")
