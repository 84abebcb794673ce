"""The busy time of many homes in one statement (``QueryStore.busy_time_of_homes``).

Free-busy through the outbox (RFC 6638 §5) asks for the busy time of every recipient
of one request: one statement reads it for all of them, as ``busy_time`` reads one
calendar's.  The calendars are those bound in each home but its scheduling inbox and
outbox (``kind``, migration 0015) and those whose schedule-calendar-transp is
CALDAV:transparent (RFC 6638 §9.1; PROPPATCH stores it as the client's element with one
child, ``writable._check_transp``, so an XPath over the stored value decides).  In each,
the candidates are ``busy_time``'s (``_QUERY_FROM`` of store.py, with the calendar's id
for ``$1``).  An object the index decides gives its opaque rows that are not FREE; a
scheduling object (one with an ORGANIZER) whose data says PARTSTAT=DECLINED, on any
line once unfolded, is not decided here: whether the recipient is the one who declined
is for the caller to find in the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from caldavd.dav import names
from caldavd.store.model import HomeBusyTime

BATCH = 5000  # rows decoded at a time (a free-busy answer may read 100,000)

# Unfolded (RFC 5545 §3.1) and case-insensitive (§3.2): PARTSTAT=DECLINED, quoted or not.
_DECLINED = ("o.organizer IS NOT NULL AND regexp_replace(o.icalendar, E'\\\\r?\\\\n[ \\\\t]', "
             "'', 'g') ~* 'PARTSTAT=\"?DECLINED'")


def homes_busy_sql(query_from: str) -> str:
    """The statement, over ``query_from`` (store.py's candidates of calendar ``$1``).

    $1 owner uids, $2 NULL (any component), $3 start, $4 end, $5 the floating slack,
    $6 at most this many busy rows, $7 calendar-timezone's name, $8
    schedule-calendar-transp's name.  Rows: (home's position in $1 from 1, start, end,
    FBTYPE, NULL, NULL) for a busy row, (position, NULL, NULL, NULL, data, stored
    calendar-timezone) for an object to expand.
    """
    candidates = query_from.replace("$1", "k.calendar_id")
    return f"""
WITH k AS MATERIALIZED (
    SELECT u.i, c.id AS calendar_id,
           (SELECT z.value FROM dead_property z
            WHERE z.resource_id = c.id AND z.name = $7) AS zone
    FROM unnest($1::text[]) WITH ORDINALITY AS u(owner_uid, i)
    JOIN calendar_home h ON h.owner_uid = u.owner_uid
    JOIN calendar_bind b ON b.home_id = h.id
    JOIN calendar c ON c.id = b.calendar_id
    WHERE c.kind = 'calendar' AND NOT EXISTS (
        SELECT 1 FROM dead_property p
        WHERE p.resource_id = c.id AND p.name = $8
          AND xpath_exists('/c:schedule-calendar-transp/c:transparent', p.value::xml,
                           ARRAY[ARRAY['c', '{names.CALDAV_NS}']]))
), q AS MATERIALIZED (
    SELECT k.i, k.zone, k.calendar_id, d.id, d.decided, d.icalendar
    FROM k CROSS JOIN LATERAL (
        SELECT o.id, o.icalendar,
               NOT h.any_floating AND (o.indexed_until IS NULL OR o.indexed_until >= $4)
               AND NOT ({_DECLINED}) AS decided
        {candidates}
        OFFSET 0
    ) AS d
)
(SELECT q.i, t.start_utc, t.end_utc, t.fbtype, NULL::text, NULL::text
 FROM q JOIN time_range t ON t.calendar_id = q.calendar_id AND t.calendar_object_id = q.id
 WHERE q.decided AND t.start_utc < $4 AND t.end_utc > $3 AND NOT t.transparent
   AND t.fbtype <> 'FREE'
 LIMIT $6)
UNION ALL
SELECT q.i, NULL, NULL, NULL, q.icalendar, q.zone FROM q WHERE NOT q.decided
"""


async def homes_busy(conn: asyncpg.Connection, sql: str, owner_uids: Sequence[str],
                     start: datetime, end: datetime, slack: timedelta,
                     limit: int) -> dict[str, HomeBusyTime]:
    """Run ``homes_busy_sql`` through a cursor, ``BATCH`` rows at a time (in the
    caller's transaction)."""
    uids = list(dict.fromkeys(owner_uids))  # once each, or its rows would come twice
    found = {uid: HomeBusyTime() for uid in uids}
    homes = [found[uid] for uid in uids]
    cursor = await conn.cursor(sql, uids, None, start, end, slack, limit + 1,
                               names.CALENDAR_TIMEZONE, names.SCHEDULE_CALENDAR_TRANSP)
    while True:
        batch = await cursor.fetch(BATCH)
        for i, begins, ends, fbtype, data, zone in batch:
            home = homes[i - 1]
            if data is None:
                home.periods.append((begins, ends, fbtype))
            else:
                home.to_expand.append((data, zone))
        if len(batch) < BATCH:
            return found
