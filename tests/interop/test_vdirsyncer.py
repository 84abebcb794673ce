"""vdirsyncer (Debian's /usr/bin/vdirsyncer, a separate program) syncing a calendar of
500 events, 10% of them recurring, both ways between caldavd and a local directory.

vdirsyncer finds the calendar itself (current-user-principal, calendar-home-set,
PROPFIND Depth 1 on the home), lists it with PROPFIND, fetches with
calendar-multiget and writes with conditional PUT and DELETE.  After edits,
deletions and additions on both sides the two must hold exactly the same
objects, and a further sync must find nothing to do.
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from caldavd.dav import names
from tests.interop.clients import (
    PARIS_TZ,
    VDIRSYNCER,
    CalendarServer,
    Vdirsyncer,
    ical_value,
    read_file,
    write_file,
)
from tests.interop.conftest import LiveServer

COLLECTION = "interop-sync"
EVENTS = 500

pytestmark = pytest.mark.skipif(shutil.which(VDIRSYNCER) is None,
                                reason="vdirsyncer is not installed")

CHANGE_LINE = re.compile(r"Copying \((uploading|updating)\) item|Deleting item")


def uid_of(n: int) -> str:
    return f"interop-{n:03d}"


def event_ics(uid: str, n: int, summary: str) -> str:
    """Event ``n``: every tenth recurs (some with an exception, an override or a
    TZID); a few of the others are all-day; the rest are one-hour meetings."""
    day = 1 + n % 28
    month = 1 + (n // 28) % 12
    start = f"2026{month:02d}{day:02d}T{8 + n % 9:02d}0000"
    end = f"2026{month:02d}{day:02d}T{9 + n % 9:02d}0000"
    lines = [f"UID:{uid}", "DTSTAMP:20260101T000000Z", f"SUMMARY:{summary}"]
    extra = ""
    tz = ""
    if n % 10 == 0:
        if n % 30 == 0:
            tz = PARIS_TZ
            lines += [f"DTSTART;TZID=Europe/Paris:{start}", f"DTEND;TZID=Europe/Paris:{end}"]
        else:
            lines += [f"DTSTART:{start}Z", f"DTEND:{end}Z"]
        lines.append("RRULE:FREQ=WEEKLY;COUNT=12")
        if n % 20 == 0 and not tz:
            lines.append(f"EXDATE:{_plus_weeks(start, 1)}Z")
        if n % 50 == 0 and not tz:
            moved = _plus_weeks(start, 2)
            extra = "".join(f"{line}\r\n" for line in (
                "BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z",
                f"RECURRENCE-ID:{moved}Z", f"DTSTART:{moved[:9]}200000Z",
                f"DTEND:{moved[:9]}210000Z", f"SUMMARY:{summary} (moved)", "END:VEVENT"))
    elif n % 7 == 0:
        lines += [f"DTSTART;VALUE=DATE:{start[:8]}", f"DTEND;VALUE=DATE:{_next_day(start[:8])}"]
    else:
        lines += [f"DTSTART:{start}Z", f"DTEND:{end}Z"]
    body = "".join(f"{line}\r\n" for line in ["BEGIN:VEVENT", *lines, "END:VEVENT"])
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//caldavd interop//EN\r\n"
            f"{tz}{body}{extra}END:VCALENDAR\r\n")


def _plus_weeks(stamp: str, weeks: int) -> str:
    moved = datetime.strptime(stamp, "%Y%m%dT%H%M%S") + timedelta(weeks=weeks)
    return moved.strftime("%Y%m%dT%H%M%S")


def _next_day(day: str) -> str:
    return (datetime.strptime(day, "%Y%m%d") + timedelta(days=1)).strftime("%Y%m%d")



def changes(output: str) -> list[str]:
    return [line for line in output.splitlines() if CHANGE_LINE.search(line)]


def test_metasync_of_calendar_properties(live: LiveServer, tmp_path: Path) -> None:
    """Display name, Apple colour and description: server -> disk, then disk -> server
    (PROPPATCH set and remove)."""
    server = CalendarServer(live.base_url, COLLECTION)
    server.mkcalendar("<A:calendar-color>#FF0000FF</A:calendar-color>"
                      "<C:calendar-description>Synced by vdirsyncer</C:calendar-description>")
    # Configured with the RFC 6764 well-known URL: vdirsyncer follows the redirect.
    vds = Vdirsyncer(live.base_url + "/.well-known/caldav", tmp_path / "vdirsyncer",
                     COLLECTION)
    vds.run("discover", answers="y\n" * 4)
    # vdirsyncer asks for the URL with a slash appended; both forms redirect (RFC 6764 §5).
    assert any(s.path.rstrip("/") == "/.well-known/caldav" and s.status == 307
               for s in live.seen)

    vds.run("metasync")
    meta = {key: read_file(vds.collection / key).strip()
            for key in ("displayname", "color", "description")}
    assert meta == {"displayname": "Interop sync", "color": "#FF0000FF",
                    "description": "Synced by vdirsyncer"}

    write_file(vds.collection / "displayname", "Renamed on disk")
    write_file(vds.collection / "color", "#00FF00FF")
    (vds.collection / "description").unlink()
    vds.run("metasync")
    assert server.props(names.DISPLAYNAME, names.CALENDAR_COLOR, names.CALENDAR_DESCRIPTION) == {
        names.DISPLAYNAME: "Renamed on disk", names.CALENDAR_COLOR: "#00FF00FF",
        names.CALENDAR_DESCRIPTION: None}
    # Both sides agree now: another metasync changes nothing.
    assert "Copying" not in vds.run("metasync")
    assert live.server_errors() == []


@pytest.mark.slow
def test_two_way_sync_of_500_events(live: LiveServer, tmp_path: Path) -> None:
    server = CalendarServer(live.base_url, COLLECTION)
    server.mkcalendar()
    originals = {uid_of(n): event_ics(uid_of(n), n, f"Event {n}") for n in range(EVENTS)}
    server.put_many({uid: (ics, None) for uid, ics in originals.items()})
    on_server = server.contents()
    assert set(on_server) == set(originals)
    assert sum("RRULE:" in s.body for s in on_server.values()) == EVENTS // 10

    vds = Vdirsyncer(live.base_url + "/", tmp_path / "vdirsyncer", COLLECTION)
    vds.run("discover", answers="y\n" * 4)
    assert vds.collection.is_dir()

    # Initial sync: everything comes down, byte for byte what GET serves.
    first = vds.run("sync")
    assert len(changes(first)) == EVENTS, first
    local = vds.local_contents()
    assert set(local) == set(originals)
    for uid, stored in on_server.items():
        assert local[uid] == stored.body, f"{uid} differs between disk and server"
    # Nothing changed since: nothing to do (ETags are stable, listings agree).
    assert changes(vds.run("sync")) == []

    # Changes on both sides, on disjoint sets of events (no conflicts).
    # Every tenth event recurs, so each set holds a recurring one (index divisible by 10).
    edit_local = [uid_of(n) for n in (1, 2, 3, 4, 10)]
    edit_server = [uid_of(n) for n in (11, 12, 13, 14, 20)]
    delete_local = [uid_of(n) for n in (100, 101, 30)]       # 30: recurring, with a TZID
    delete_server = [uid_of(n) for n in (200, 201, 50)]      # 50: recurring, with an override
    add_local = {"interop-new-local-1": event_ics("interop-new-local-1", 501, "Added on disk"),
                 "interop-new-local-2": event_ics("interop-new-local-2", 510, "Added on disk")}
    add_server = {"interop-new-server-1": event_ics("interop-new-server-1", 503, "Added on server"),
                  "interop-new-server-2": event_ics("interop-new-server-2", 520,
                                                    "Added on server")}
    assert all("RRULE:" in originals[uid] for uid in (edit_local[-1], edit_server[-1]))
    assert "RRULE:" in add_local["interop-new-local-2"]

    for uid in edit_local:
        path = vds.path_of(uid)
        text = read_file(path)
        write_file(path, text.replace(f"SUMMARY:{ical_value(text, 'SUMMARY')}",
                                      f"SUMMARY:Edited on disk {uid}", 1))
    for uid in delete_local:
        vds.path_of(uid).unlink()
    for uid, ics in add_local.items():
        write_file(vds.collection / f"{uid}.ics", ics)

    server.put_many({
        **{uid: (on_server[uid].body.replace(f"SUMMARY:Event {int(uid[-3:])}",
                                             f"SUMMARY:Edited on server {uid}", 1),
                 on_server[uid].etag) for uid in edit_server},
        **{uid: (ics, None) for uid, ics in add_server.items()},
    })
    server.delete_many({uid: on_server[uid].etag for uid in delete_server})

    second = vds.run("sync")
    assert len(changes(second)) == 2 * (5 + 3 + 2), second
    # Converged: a further sync has nothing to do, in either direction.
    assert changes(vds.run("sync")) == []

    expected = (set(originals) - set(delete_local) - set(delete_server)
                | set(add_local) | set(add_server))
    assert len(expected) == EVENTS - 6 + 4
    on_server = server.contents()
    local = vds.local_contents()
    assert set(on_server) == expected
    assert set(local) == expected

    summaries = {uid: ical_value(s.body, "SUMMARY") for uid, s in on_server.items()}
    assert summaries == {uid: ical_value(text, "SUMMARY") for uid, text in local.items()}
    for uid in edit_local:
        assert summaries[uid] == f"Edited on disk {uid}"
    for uid in edit_server:
        assert summaries[uid] == f"Edited on server {uid}"
    for uid in add_local:
        assert summaries[uid] == "Added on disk"
    for uid in add_server:
        assert summaries[uid] == "Added on server"
    untouched = expected - set(edit_local) - set(edit_server) - set(add_local) - set(add_server)
    for uid in untouched:
        assert summaries[uid] == f"Event {int(uid[-3:])}"
    # Recurrence survived the round trip both ways (RRULE, and overrides as a second VEVENT).
    for uid in (*edit_local, *edit_server, *add_local, *add_server):
        assert ("RRULE:" in on_server[uid].body) == ("RRULE:" in local[uid]), uid
    assert on_server[uid_of(250)].body.count("BEGIN:VEVENT") == 2
    assert local[uid_of(250)].count("BEGIN:VEVENT") == 2

    assert live.server_errors() == []
