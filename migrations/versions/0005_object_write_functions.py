"""Calendar object writes as one statement each: PUT, DELETE and MOVE functions.

Revision ID: 0005
Revises: 0004

A PUT used to be about ten statements in one transaction holding the home's
row lock; on a VM every round trip costs hundreds of microseconds, and PUTs to
one home are serialised by that lock, so its hold time was PUT throughput.
These functions do the whole write server-side, called as one statement in
an implicit transaction (no BEGIN/COMMIT round trips either).

The guarantees are those of the statements they replace: each takes the owning
home's row lock (``FOR NO KEY UPDATE``) first, so writes to one home are
serialised, the UID check and the insert that follows cannot race, and
revisions of one home commit in the order they were drawn.  Each statement in
a (volatile) PL/pgSQL function takes a fresh snapshot, so what the checks read
after the lock includes every write committed before it was granted.

Refusals are returned as a ``status`` rather than raised, and every check runs
before the first write, so a refusal changes nothing.  Statuses:

- ``created``, ``replaced``, ``deleted``, ``moved``: done;
- ``no-home``, ``unbound``, ``missing``: the home, the calendar's binding, or
  the object (DELETE, MOVE source) does not exist;
- ``read-only``: the calendar is bound read-only;
- ``exists`` (If-None-Match: * on an existing object), ``no-match`` (If-Match
  on a missing object), ``etag-differs`` (If-Match lists other ETags);
- ``target-exists``: a MOVE target exists and Overwrite is false;
- ``uid-changed``: the PUT would change the UID of the object it replaces;
- ``uid-conflict``: another object of the home holds the UID
  (``holder_calendar``/``holder_name`` name it);
- ``quota``: the home would exceed the quota (``used`` is the home's usage
  without the object being replaced).

The functions are version 1 of their files in ``caldavd/store/postgres/sql``.
"""

from __future__ import annotations

from alembic import op

from caldavd.store.postgres.definitions import definition

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_FUNCTIONS = (
    "caldav_move_object(bigint, bigint, text, bigint, bigint, bigint, text, boolean)",
    "caldav_delete_object(bigint, bigint, bigint, text, text[])",
    "caldav_put_object(bigint, bigint, bigint, text, text, text, text, text, integer, text, "
    "text, timestamptz, text[], boolean, bigint, timestamptz[], timestamptz[], boolean[], "
    "boolean[], text[])",
    "caldav_etag_status(text, text[], boolean)",
)


def upgrade() -> None:
    for name in ("caldav_etag_status", "caldav_put_object", "caldav_delete_object",
                 "caldav_move_object"):
        op.execute(definition(name, 1))


def downgrade() -> None:
    for signature in _FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
