"""Indexes that keep a time-range query's cost independent of the calendar's history.

Revision ID: 0003
Revises: 0002

``time_range_calendar_start`` (calendar_id, start_utc, end_utc) can only bound
``start_utc < end of range``: for a query about this week that bound matches
every instance that ever started, so a calendar with years of history is read
almost whole.  ``time_range_calendar_end`` bounds ``end_utc >= start of range``
first, which matches only what has not ended yet; the planner picks whichever
of the two is narrower.  ``calendar_object_indexed_until`` finds the objects
whose index stops before the range (they need a recheck) without reading every
object of the calendar.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("time_range_calendar_end", "time_range",
                    ["calendar_id", "end_utc", "start_utc"])
    op.create_index("calendar_object_indexed_until", "calendar_object",
                    ["calendar_id", "indexed_until"],
                    postgresql_where=sa.text("indexed_until IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("calendar_object_indexed_until", table_name="calendar_object")
    op.drop_index("time_range_calendar_end", table_name="time_range")
