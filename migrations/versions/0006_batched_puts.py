"""PUTs to one home that arrive together, written by one statement.

Revision ID: 0006
Revises: 0005

``caldav_put_objects`` runs ``caldav_put_object`` (migration 0005) for each
write of a batch, in order, in the implicit transaction of one statement, and
returns one row per write.  Each write sees the ones before it (the UID check,
the quota), the home's lock is taken once, and the batch commits once: one
round trip and one WAL flush for the batch instead of one per PUT.  Writes to
one home are serialised by its lock anyway, so a batch changes no outcome.

Ragged inputs (If-Match lists, time-range rows) come flattened, each write
naming its slice ``[from:to]`` (``to = from - 1`` for an empty one; If-Match
``from`` NULL when the write has no If-Match at all).
"""

from __future__ import annotations

from alembic import op

from caldavd.store.postgres.definitions import definition

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_SIGNATURE = (
    "caldav_put_objects(bigint, bigint[], bigint[], text[], text[], text[], text[], text[], "
    "integer[], text[], text[], timestamptz[], integer[], integer[], text[], boolean[], "
    "bigint[], integer[], integer[], timestamptz[], timestamptz[], boolean[], boolean[], "
    "text[])"
)


def upgrade() -> None:
    op.execute(definition("caldav_put_objects", 1))


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {_SIGNATURE}")
