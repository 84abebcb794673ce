"""The measured operations: what each one sends, what it must answer, its target.

Every operation is first sent once by the harness and its answer checked for
substance (the right status and the right number of results), so a fast run of
empty or failing responses cannot pass for a result.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bench.data import Event, ical_time, vevent
from bench.load import Client, data_count, response_count, sync_token
from bench.server import BenchError
from bench.wrk import PutTemplate, Script

# (name, label, target requests/s) in the order they run; PUT last, since it
# adds events that would change what the others see.  propfind0 and propfind1
# are answered with the response cache off (the targets of issue 3 are for
# computing the answer); their *_cached (in-process cache) and *_memcached
# twins send the same request to a caldavd with the cache on, where every
# request after the first is a hit.
OPERATIONS: tuple[tuple[str, str, float], ...] = (
    ("get", "GET event", 5000),
    ("propfind0", "PROPFIND Depth 0 (getctag)", 3000),
    ("propfind0_cached", "PROPFIND Depth 0, cached in-process", 3000),
    ("propfind0_memcached", "PROPFIND Depth 0, cached in memcached", 3000),
    ("propfind1", "PROPFIND Depth 1 (getetag of all)", 100),
    ("propfind1_cached", "PROPFIND Depth 1, cached in-process", 100),
    ("propfind1_memcached", "PROPFIND Depth 1, cached in memcached", 100),
    ("query_week", "calendar-query, one week, calendar-data", 800),
    ("multiget20", "calendar-multiget of 20", 800),
    ("sync_nochange", "sync-collection, no changes", 2000),
    ("put", "PUT new event", 500),
)
NAMES = tuple(name for name, _, _ in OPERATIONS)
LABELS = {name: label for name, label, _ in OPERATIONS}
TARGETS = {name: target for name, _, target in OPERATIONS}
# The week query at 50,000 events may take at most this times its time at 2,000.
SCALE_TARGET = 1.5

# name -> (the operation whose request it repeats, the caldavd it needs: a
# ``bench.server.VARIANTS`` entry).  Operations not listed repeat themselves and
# run against any caldavd; the cache affects only PROPFIND.
CACHED: dict[str, tuple[str, str]] = {
    "propfind0": ("propfind0", "uncached"),
    "propfind1": ("propfind1", "uncached"),
    "propfind0_cached": ("propfind0", "local"),
    "propfind1_cached": ("propfind1", "local"),
    "propfind0_memcached": ("propfind0", "memcached"),
    "propfind1_memcached": ("propfind1", "memcached"),
}
# Issue 5: a PROPFIND answered from a valid cache entry runs at least this many
# times the uncached rate.
CACHE_RATIO_TARGET = 3.0


def request_of(name: str) -> str:
    """The operation whose request ``name`` sends."""
    return CACHED[name][0] if name in CACHED else name


def variant_of(name: str) -> str | None:
    """The caldavd variant ``name`` must be measured against; None: any."""
    return CACHED[name][1] if name in CACHED else None


def as_variant(name: str, variant: str) -> str:
    """The operation sending ``name``'s request to the ``variant`` caldavd (``name``
    itself when any caldavd will do)."""
    if variant_of(name) is None:
        return name
    request = request_of(name)
    for other, (repeats, needs) in CACHED.items():
        if repeats == request and needs == variant:
            return other
    raise BenchError(f"no {variant} variant of {name}")


def cache_ratio(cached_rps: float, uncached_rps: float) -> float:
    """Cached over uncached requests/s (inf when the uncached run served nothing)."""
    return cached_rps / uncached_rps if uncached_rps else float("inf")

XML = "application/xml; charset=utf-8"

CTAG_BODY = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">'
    "<D:prop><CS:getctag/><D:sync-token/></D:prop></D:propfind>"
)
ETAGS_BODY = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getetag/></D:prop></D:propfind>'
)
QUERY_BODY = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
    '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
    '<C:time-range start="{start}" end="{end}"/>'
    "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
)
MULTIGET_BODY = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    "<D:prop><D:getetag/><C:calendar-data/></D:prop>{hrefs}</C:calendar-multiget>"
)
SYNC_BODY = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>'
    "<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"
)


@dataclass
class Prepared:
    """An operation ready for wrk, plus what the harness learned checking it."""

    name: str
    script: Script
    facts: dict[str, int | str]


Check = Callable[[bytes], dict[str, int | str]]


async def _probe(client: Client, script: Script, check: Check | None = None,
                 ) -> dict[str, int | str]:
    """Send the script's first request once; its status and substance must be right."""
    path = script.paths[0] if script.paths else "/"
    body = script.bodies[0] if script.bodies else None
    reply = await client.request(script.method, path, body, script.headers)
    if reply.status != script.expect:
        raise BenchError(f"{script.method} {path} answered {reply.status}, expected "
                         f"{script.expect}: {reply.body[:300].decode(errors='replace')}")
    return check(reply.body) if check else {"bytes": len(reply.body)}


def _expect_responses(expected: int, what: str) -> Check:
    def check(body: bytes) -> dict[str, int | str]:
        found = response_count(body)
        if found != expected:
            raise BenchError(f"{what}: {found} DAV:response elements, expected {expected}")
        return {"responses": found, "bytes": len(body)}
    return check


def query_body(start: datetime, end: datetime) -> str:
    return QUERY_BODY.format(start=ical_time(start), end=ical_time(end))


async def prepare(name: str, client: Client, calendar: str, events: Sequence[Event],
                  week: tuple[datetime, datetime], run_id: str) -> Prepared:
    prepared = await _prepare_request(request_of(name), client, calendar, events, week, run_id)
    return Prepared(name, prepared.script, prepared.facts)


async def _prepare_request(name: str, client: Client, calendar: str, events: Sequence[Event],
                           week: tuple[datetime, datetime], run_id: str) -> Prepared:
    auth = {"Authorization": client.auth}
    total = len(events)
    rng = random.Random(7)
    if name == "get":
        sample = rng.sample(list(events), min(200, total))
        script = Script("GET", auth, 200, paths=[calendar + e.name for e in sample])
        facts = await _probe(client, script)
    elif name == "propfind0":
        script = Script("PROPFIND", {**auth, "Depth": "0", "Content-Type": XML}, 207,
                        paths=[calendar], bodies=[CTAG_BODY])
        facts = await _probe(client, script, _expect_responses(1, "PROPFIND Depth 0"))
    elif name == "propfind1":
        script = Script("PROPFIND", {**auth, "Depth": "1", "Content-Type": XML}, 207,
                        paths=[calendar], bodies=[ETAGS_BODY])
        facts = await _probe(client, script,
                             _expect_responses(total + 1, "PROPFIND Depth 1"))
    elif name == "query_week":
        script = Script("REPORT", {**auth, "Depth": "1", "Content-Type": XML}, 207,
                        paths=[calendar], bodies=[query_body(*week)])
        facts = await _probe(client, script, _query_check)
    elif name == "multiget20":
        bodies = []
        for _ in range(10):
            chosen = rng.sample(list(events), min(20, total))
            hrefs = "".join(f"<D:href>{calendar}{e.name}</D:href>" for e in chosen)
            bodies.append(MULTIGET_BODY.format(hrefs=hrefs))
        script = Script("REPORT", {**auth, "Depth": "1", "Content-Type": XML}, 207,
                        paths=[calendar], bodies=bodies)
        facts = await _probe(client, script, _multiget_check(min(20, total)))
    elif name == "sync_nochange":
        first = await client.request("REPORT", calendar, SYNC_BODY.format(token=""),
                                     {"Depth": "0", "Content-Type": XML})
        if first.status != 207:
            raise BenchError(f"initial sync-collection answered {first.status}")
        if response_count(first.body) != total:
            raise BenchError(f"initial sync-collection listed {response_count(first.body)} "
                             f"members, expected {total}")
        token = sync_token(first.body)
        script = Script("REPORT", {**auth, "Depth": "0", "Content-Type": XML}, 207,
                        paths=[calendar], bodies=[SYNC_BODY.format(token=token)])
        facts = await _probe(client, script, _expect_responses(0, "sync-collection no-change"))
        facts["token"] = token
    elif name == "put":
        script = Script("PUT", {**auth, "Content-Type": "text/calendar; charset=utf-8",
                                "If-None-Match": "*"}, 201,
                        put=put_template(calendar, week[0], run_id))
        facts = {}
    else:
        raise BenchError(f"unknown operation {name!r}; known: {', '.join(NAMES)}")
    return Prepared(name, script, facts)


def _query_check(body: bytes) -> dict[str, int | str]:
    found = response_count(body)
    with_data = data_count(body)
    if found == 0 or with_data != found:
        raise BenchError(f"week query: {found} responses, {with_data} with calendar-data; "
                         "expected a non-empty week with data in every response")
    return {"responses": found, "bytes": len(body)}


def _multiget_check(expected: int) -> Check:
    def check(body: bytes) -> dict[str, int | str]:
        found = data_count(body)
        if found != expected:
            raise BenchError(f"multiget: {found} calendar-data elements, expected {expected}")
        return {"responses": found, "bytes": len(body)}
    return check


def put_template(calendar: str, week_start: datetime, run_id: str) -> PutTemplate:
    """New single events over the coming year, each with its own UID and name."""
    start = week_start + timedelta(hours=9)
    body = vevent("@UID@", start, 60, "New meeting", location="Room 1")
    body = body.replace("%", "%%").replace("@UID@", "%s")
    body = body.replace(f"DTSTART:{ical_time(start)}", "DTSTART:%s", 1)
    body = body.replace(f"DTEND:{ical_time(start + timedelta(minutes=60))}", "DTEND:%s", 1)
    if body.count("%s") != 3:
        raise BenchError("PUT template: could not place UID, DTSTART and DTEND")
    return PutTemplate(directory=calendar, body=body, run_id=run_id,
                       base_epoch=int(week_start.timestamp()))
