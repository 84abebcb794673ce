"""A change token per calendar home, moved by every write that changes what it shows.

Revision ID: 0008
Revises: 0007

Caches on every host (the PROPFIND response cache first) are validated against
``calendar_home.change_token``: an entry is served only while the token it was
made under is still the home's.  The token moves in the writer's own
transaction, so it becomes visible at the same instant as the change, on every
host, whatever memcached does: a writer cannot commit and then fail to
invalidate (memcached down, partitioned, or back with old contents), and a
reader that reads the token before it computes an answer never files a new
answer under an old token.

Writes in Python take the home's row lock with an UPDATE of the token (the
same row lock as before, ``FOR NO KEY UPDATE``).  The calendar object writes of
migrations 0005/0006 run server-side and draw revisions; rather than redefine
them, a statement-level trigger on ``revision`` moves the token of every home
the changed collections belong to: the home itself (a home's own revisions, a
calendar made or deleted) or the homes a calendar is bound into.  Values come
from ``revision_seq``, so a token only grows.  Those writers hold the home's
row lock already, so the trigger's update waits for nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from caldavd.store.postgres.definitions import definition

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# One trigger per event: PostgreSQL allows transition tables only on single-event triggers.
_EVENTS = {"insert": "INSERT", "update": "UPDATE"}


def upgrade() -> None:
    op.add_column("calendar_home", sa.Column("change_token", sa.BigInteger, nullable=False,
                                             server_default="0"))
    op.execute(definition("revision_moves_home_token", 1))
    for suffix, event in _EVENTS.items():
        op.execute(f"""
            CREATE TRIGGER revision_home_token_{suffix}
            AFTER {event} ON revision REFERENCING NEW TABLE AS changed
            FOR EACH STATEMENT EXECUTE FUNCTION revision_moves_home_token()
        """)


def downgrade() -> None:
    for suffix in _EVENTS:
        op.execute(f"DROP TRIGGER revision_home_token_{suffix} ON revision")
    op.execute("DROP FUNCTION revision_moves_home_token()")
    op.drop_column("calendar_home", "change_token")
