"""Time-range queries and free-busy over HTTP for objects whose instances are
unbounded or lie far from now (RFC 4791 §9.9, §7.8, §7.10; issue #15 items 3-4).

Every object must PUT (201) and be found by every calendar-query whose range its
instances overlap, and by no other: to-dos of each row of the §9.9 table (one with
no date at all matches every range), journals, events with DTSTART only, huge
durations, open-ended RRULEs whose instances start years ahead, RDATEs, overrides
and EXDATEs far out, and recurrences from the distant past.  Each query runs twice:
the first rechecks objects past their index's horizon and extends it, the second
answers from the extended index.
"""

from __future__ import annotations

from tests.conftest import PgDatabase
from tests.functional.conftest import HOME01, Dav

ALL = HOME01 + "all/"  # MKCALENDAR without a component set: every component type

T = "20260105T100000Z"
RANGES = {
    "jan5": ("20260105T000000Z", "20260106T000000Z"),
    "dec": ("20251201T000000Z", "20251202T000000Z"),
    "y1950": ("19500101T000000Z", "19500102T000000Z"),
    "y2030": ("20300105T000000Z", "20300106T000000Z"),
    "y2031": ("20310105T000000Z", "20310106T000000Z"),
    "y2040": ("20400105T000000Z", "20400106T000000Z"),
    "from2029": ("20290101T000000Z", None),
    "until1951": (None, "19510101T000000Z"),
}
EVERY = set(RANGES)
AHEAD = {"y2030", "y2031", "y2040", "from2029"}  # ranges a never-ending instance reaches


def _comp(name: str, uid: str, lines: str, inner: str = "") -> str:
    return f"BEGIN:{name}\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n{lines}{inner}END:{name}\r\n"


def _ics(*components: str) -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//caldavd tests//EN\r\n"
            + "".join(components) + "END:VCALENDAR\r\n")


def _one(name: str, uid: str, lines: str) -> str:
    return _ics(_comp(name, uid, lines))


# name -> (iCalendar, the ranges it matches)
OBJECTS: dict[str, tuple[str, set[str]]] = {
    # VTODO, RFC 4791 §9.9 table row by row
    "todo-start-duration": (_one("VTODO", "t1", f"DTSTART:{T}\r\nDURATION:PT1H\r\n"), {"jan5"}),
    "todo-start-due": (_one("VTODO", "t2", f"DTSTART:{T}\r\nDUE:20260105T110000Z\r\n"),
                       {"jan5"}),
    "todo-start": (_one("VTODO", "t3", f"DTSTART:{T}\r\n"), {"jan5"}),
    "todo-due": (_one("VTODO", "t4", f"DUE:{T}\r\n"), {"jan5"}),
    "todo-completed-created": (_one("VTODO", "t5", "CREATED:20260105T090000Z\r\n"
                                    "COMPLETED:20260105T110000Z\r\n"), {"jan5"}),
    "todo-completed": (_one("VTODO", "t6", f"COMPLETED:{T}\r\n"), {"jan5"}),
    "todo-created": (_one("VTODO", "t7", f"CREATED:{T}\r\n"), {"jan5"} | AHEAD),
    "todo-undated": (_one("VTODO", "t8", "SUMMARY:plain to-do\r\n"), EVERY),
    "todo-yearly": (_one("VTODO", "t9", f"DTSTART:{T}\r\nRRULE:FREQ=YEARLY\r\n"),
                    {"jan5"} | AHEAD),
    "todo-huge": (_one("VTODO", "t10", f"DTSTART:{T}\r\nDURATION:P99999W\r\n"),
                  {"jan5"} | AHEAD),
    # VJOURNAL: without DTSTART it matches no time range
    "journal-undated": (_one("VJOURNAL", "j1", "SUMMARY:note\r\n"), set()),
    "journal-date": (_one("VJOURNAL", "j2", "DTSTART;VALUE=DATE:20260105\r\n"), {"jan5"}),
    "journal-datetime": (_one("VJOURNAL", "j3", f"DTSTART:{T}\r\n"), {"jan5"}),
    # VEVENT with DTSTART only: a whole day (DATE) or a moment (DATE-TIME)
    "event-date": (_one("VEVENT", "e1", "DTSTART;VALUE=DATE:20260105\r\n"), {"jan5"}),
    "event-datetime": (_one("VEVENT", "e2", f"DTSTART:{T}\r\n"), {"jan5"}),
    # an end past what a date-time holds runs to the end of time
    "event-huge": (_one("VEVENT", "e3", f"DTSTART:{T}\r\nDURATION:P999999W\r\n"),
                   {"jan5"} | AHEAD),
    "event-forever": (_one("VEVENT", "e4", f"DTSTART:{T}\r\nDURATION:PT9999999999H\r\n"),
                      {"jan5"} | AHEAD),
    # recurrences whose instances lie far from now
    "yearly-2030": (_one("VEVENT", "r1", "DTSTART:20300105T100000Z\r\nDURATION:PT1H\r\n"
                         "RRULE:FREQ=YEARLY\r\n"), AHEAD),
    "every-5-years": (_one("VEVENT", "r2", f"DTSTART:{T}\r\nDURATION:PT1H\r\n"
                           "RRULE:FREQ=YEARLY;INTERVAL=5\r\n"), {"jan5", "y2031", "from2029"}),
    "count-from-2030": (_one("VEVENT", "r3", "DTSTART:20300105T100000Z\r\nDURATION:PT1H\r\n"
                             "RRULE:FREQ=YEARLY;COUNT=2\r\n"), {"y2030", "y2031", "from2029"}),
    "rdate-2040": (_one("VEVENT", "r4", f"DTSTART:{T}\r\nDURATION:PT1H\r\n"
                        "RDATE:20400105T100000Z\r\n"), {"jan5", "y2040", "from2029"}),
    "exdate-first": (_one("VEVENT", "r5", "DTSTART:20300105T100000Z\r\nDURATION:PT1H\r\n"
                          "RRULE:FREQ=YEARLY\r\nEXDATE:20300105T100000Z\r\n"),
                     AHEAD - {"y2030"}),
    "moved-to-2040": (_ics(
        _comp("VEVENT", "r6", f"DTSTART:{T}\r\nDURATION:PT1H\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\n"),
        _comp("VEVENT", "r6", "RECURRENCE-ID:20260112T100000Z\r\n"
              "DTSTART:20400105T100000Z\r\nDURATION:PT1H\r\n")), {"jan5", "y2040", "from2029"}),
    "daily-since-1950": (_one("VEVENT", "r7", "DTSTART:19500101T100000Z\r\nDURATION:PT1H\r\n"
                              "RRULE:FREQ=DAILY\r\n"), EVERY),
}

QUERY = """<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="{comp}">
    <C:time-range {bounds}/>
  </C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"""
ALARM_QUERY = """<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="{comp}">
    <C:comp-filter name="VALARM"><C:time-range start="{start}" end="{end}"/></C:comp-filter>
  </C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"""
FREEBUSY = """<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">
  <C:time-range start="{start}" end="{end}"/></C:free-busy-query>"""


def _bounds(start: str | None, end: str | None) -> str:
    return " ".join(f'{k}="{v}"' for k, v in (("start", start), ("end", end)) if v)


async def _found(dav: Dav, start: str | None, end: str | None) -> set[str]:
    """Names of the objects of ALL that a time-range query on each component finds."""
    names = set()
    for comp in ("VEVENT", "VTODO", "VJOURNAL"):
        reply = await dav.report(ALL, QUERY.format(comp=comp, bounds=_bounds(start, end)))
        assert reply.status == 207, reply.body
        names |= {href.removeprefix(ALL).removesuffix(".ics") for href in reply.responses()}
    return names


async def _fill(dav: Dav, objects: dict[str, tuple[str, set[str]]]) -> None:
    assert (await dav.request("MKCALENDAR", ALL)).status == 201
    for name, (ics, _ranges) in objects.items():
        reply = await dav.put(f"{ALL}{name}.ics", ics)
        assert reply.status == 201, (name, reply.status, reply.body)


async def test_every_object_is_found_by_the_ranges_it_overlaps(dav: Dav) -> None:
    """RFC 4791 §9.9: each row of the tables, wherever the instances lie."""
    await _fill(dav, OBJECTS)
    for attempt in ("rechecked and extended", "from the extended index"):
        for label, (start, end) in RANGES.items():
            expected = {name for name, (_ics, ranges) in OBJECTS.items() if label in ranges}
            assert await _found(dav, start, end) == expected, (label, attempt)


async def test_unbounded_objects_are_listed_without_a_time_range(dav: Dav) -> None:
    """A journal with no DTSTART matches no time range but is still a VJOURNAL."""
    await _fill(dav, {k: OBJECTS[k] for k in ("journal-undated", "todo-undated")})
    reply = await dav.report(ALL, QUERY.format(comp="VJOURNAL", bounds="").replace(
        "<C:time-range />", ""))
    assert reply.status == 207
    assert set(reply.responses()) == {ALL + "journal-undated.ics"}


async def test_free_busy_finds_far_instances_and_endless_events(dav: Dav) -> None:
    """RFC 4791 §7.10: busy time of instances years ahead; an event that never ends is
    busy over the whole range; to-dos are never busy."""
    await _fill(dav, {k: OBJECTS[k] for k in ("yearly-2030", "rdate-2040", "todo-undated",
                                              "todo-yearly")})
    y2030 = await dav.report(ALL, FREEBUSY.format(start="20300101T000000Z",
                                                  end="20300201T000000Z"))
    assert y2030.status == 200
    assert "FREEBUSY;FBTYPE=BUSY:20300105T100000Z/20300105T110000Z" in y2030.body.decode()
    y2040 = await dav.report(ALL, FREEBUSY.format(start="20400101T000000Z",
                                                  end="20400201T000000Z"))
    periods = [line for line in y2040.body.decode().splitlines() if "FREEBUSY" in line]
    assert periods == ["BEGIN:VFREEBUSY", "FREEBUSY;FBTYPE=BUSY:20400105T100000Z/"
                       "20400105T110000Z", "END:VFREEBUSY"]
    forever = OBJECTS["event-forever"][0]
    assert (await dav.put(ALL + "forever.ics", forever)).status == 201
    busy = await dav.report(ALL, FREEBUSY.format(start="20400101T000000Z",
                                                 end="20400201T000000Z"))
    assert "FREEBUSY;FBTYPE=BUSY:20400101T000000Z/20400201T000000Z" in busy.body.decode()


ALARM = "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:x\r\nTRIGGER{trigger}\r\nEND:VALARM\r\n"


async def test_alarm_time_ranges_of_unbounded_and_far_objects(dav: Dav) -> None:
    """RFC 4791 §9.9 VALARM: trigger times of instances years ahead, an absolute trigger
    on a to-do without dates; a relative trigger there has nothing to fire from."""
    objects = {
        "alarm-2030": _ics(_comp("VEVENT", "a1", "DTSTART:20300105T100000Z\r\n"
                                 "DURATION:PT1H\r\nRRULE:FREQ=YEARLY\r\n",
                                 ALARM.format(trigger=":-PT15M"))),
        "alarm-absolute": _ics(_comp("VTODO", "a2", "", ALARM.format(
            trigger=";VALUE=DATE-TIME:20260105T100000Z"))),
        "alarm-relative": _ics(_comp("VTODO", "a3", "", ALARM.format(trigger=":-PT15M"))),
    }
    await _fill(dav, {name: (ics, set()) for name, ics in objects.items()})
    cases = [("VEVENT", "20320105T094000Z", "20320105T095000Z", {"alarm-2030"}),
             ("VEVENT", "20260105T094000Z", "20260105T095000Z", set()),
             ("VTODO", "20260105T000000Z", "20260106T000000Z", {"alarm-absolute"}),
             ("VTODO", "20250105T000000Z", "20250106T000000Z", set())]
    for comp, start, end, expected in cases:
        reply = await dav.report(ALL, ALARM_QUERY.format(comp=comp, start=start, end=end))
        assert reply.status == 207
        found = {h.removeprefix(ALL).removesuffix(".ics") for h in reply.responses()}
        assert found == expected, (comp, start)


async def test_undated_todo_is_indexed_with_finite_bounds(dav: Dav,
                                                          pg_database: PgDatabase) -> None:
    """The to-do that matches every range is one row from the store's distant past to its
    distant future (no infinity, which the long-instance index cannot subtract)."""
    await _fill(dav, {"todo-undated": OBJECTS["todo-undated"]})
    conn = await pg_database.connect()
    try:
        row = await conn.fetchrow("SELECT isfinite(start_utc) AND isfinite(end_utc) AS finite,"
                                  " end_utc - start_utc > interval '7 days' AS long"
                                  " FROM time_range")
    finally:
        await conn.close()
    assert row is not None and row["finite"] and row["long"]
    data = await dav.request("GET", ALL + "todo-undated.ics")
    assert data.status == 200 and b"SUMMARY:plain to-do" in data.body


async def test_a_long_running_daily_event_is_indexed_past_now_by_its_first_query(
        dav: Dav, pg_database: PgDatabase) -> None:
    """Daily since 2010: the PUT indexes 5,000 instances (to 2023); the first query about
    now finds it and extends its index past now, so the next one is answered by the index."""
    daily = _one("VEVENT", "d1", "DTSTART:20100104T090000Z\r\nDURATION:PT15M\r\n"
                 "RRULE:FREQ=DAILY\r\n")
    await _fill(dav, {"standup": (daily, EVERY)})
    conn = await pg_database.connect()
    try:
        before = await conn.fetchval("SELECT indexed_until FROM calendar_object")
        assert await _found(dav, *RANGES["jan5"]) == {"standup"}
        after = await conn.fetchval("SELECT indexed_until FROM calendar_object")
        now = await conn.fetchval("SELECT now()")
    finally:
        await conn.close()
    assert before < now < after
