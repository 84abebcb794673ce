"""Time-range rows with unbounded instances, and a recheck for objects indexed as whole.

Revision ID: 0011
Revises: 0012 (landed first)

A to-do with no DTSTART, DUE, DURATION, COMPLETED or CREATED matches every time
range (RFC 4791 §9.9).  Its row was sent as -infinity (asyncpg's encoding of
``datetime.min``), and the predicate of ``time_range_long`` (migration 0007),
``end_utc - start_utc``, cannot be computed for an infinite value, so the PUT
failed.  The store now keeps every bound within 0001-01-02 .. 9999-12-30
(``caldavd.store.postgres.timerange``); rows written before that are held to the
same bounds here, and the index is made again with the predicate 0007 now has,
which counts an infinite bound as long instead of failing (the query repeats it
word for word).

An object without ``indexed_until`` is indexed whole as far as queries know,
though some were not: a recurrence with no instance in the year after the
horizon (yearly from 2030, every five years from now) was stored with the
instances before the horizon only, or none; an instance whose end overflowed (a
huge DURATION) had no row.  Queries never looked at them again.  The
``indexed_until`` of every such object that recurs (an RRULE line) or has no row
is set to the distant past: the next time-range query rechecks it in memory and
writes its index anew, after which it is settled.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0012"
branch_labels = None
depends_on = None

_PAST = "timestamptz '0001-01-02 00:00+00'"
_FUTURE = "timestamptz '9999-12-30 00:00+00'"
LONG = ("CASE WHEN isfinite(start_utc) AND isfinite(end_utc)"
        " THEN (end_utc - start_utc) > interval '7 days' ELSE true END")
OLD_LONG = "(end_utc - start_utc) > interval '7 days'"


def _long_index(predicate: str) -> None:
    op.drop_index("time_range_long", table_name="time_range")
    op.create_index("time_range_long", "time_range", ["calendar_id", "end_utc"],
                    postgresql_where=sa.text(predicate))


def upgrade() -> None:
    op.execute(f"""
        UPDATE time_range SET start_utc = least(greatest(start_utc, {_PAST}), {_FUTURE}),
                              end_utc = least(greatest(end_utc, {_PAST}), {_FUTURE})
        WHERE NOT (isfinite(start_utc) AND isfinite(end_utc))""")
    _long_index(LONG)
    op.execute(f"""
        UPDATE calendar_object o SET indexed_until = {_PAST}
        WHERE o.indexed_until IS NULL
          AND (strpos(upper(o.icalendar), E'\\nRRULE') > 0
               OR NOT EXISTS (SELECT FROM time_range t WHERE t.calendar_object_id = o.id))
        """)


def downgrade() -> None:
    _long_index(OLD_LONG)
