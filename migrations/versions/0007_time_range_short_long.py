"""Time-range lookups bounded on both sides by one index, whatever the plan.

Revision ID: 0007
Revises: 0006

An instance overlaps [S, E) when it starts before E and ends after S.  A btree
on (calendar_id, start_utc, ...) bounds only "starts before E" (every past
instance), one on end_utc only "ends after S" (every future one); migration
0003 let the planner pick the narrower of the two for each query's values,
which costs a plan per call (about a quarter of a week query's database time)
and still reads one whole side of the calendar.

Instances no longer than SHORT (seven days: meetings, all-day and multi-day
events) that end after S start after S - SHORT, so for them the start index is
a range bounded on both sides: [S - SHORT, E).  The few longer ones are found
through ``time_range_long``, a partial index over them alone, by "ends after
S".  The query (``caldavd.store.postgres.store``) reads both, so its cost
follows the answer and one generic plan serves every range.  The end index of
0003 is no longer read and is dropped (one index less to write per instance).

The predicate is written as in the query, ``(end_utc - start_utc) > '7 days'``:
PostgreSQL uses a partial index only for a query whose condition implies it,
and timestamptz minus timestamptz is immutable where timestamptz plus interval
is not (time zones).  An infinite bound (rows written before the store kept them
finite, a to-do without dates) counts as long rather than failing the
subtraction: see migration 0011, which gave indexes made by the first version of
this revision the same predicate.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

LONG = ("CASE WHEN isfinite(start_utc) AND isfinite(end_utc)"
        " THEN (end_utc - start_utc) > interval '7 days' ELSE true END")


def upgrade() -> None:
    op.create_index("time_range_long", "time_range", ["calendar_id", "end_utc"],
                    postgresql_where=sa.text(LONG))
    op.drop_index("time_range_calendar_end", table_name="time_range")


def downgrade() -> None:
    op.create_index("time_range_calendar_end", "time_range",
                    ["calendar_id", "end_utc", "start_utc"])
    op.drop_index("time_range_long", table_name="time_range")
