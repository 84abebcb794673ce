"""calcurse with calcurse-caldav (Debian's calcurse package), both ways, events and to-dos.

calcurse-caldav syncs one calendar collection (named in its config file, Basic auth)
with calcurse's own data directory: it lists the calendar with a calendar-query for
ETags, fetches with calendar-multiget and writes with PUT and conditional DELETE.
Every calcurse to-do is a VTODO with no DTSTART, DUE, DURATION, COMPLETED or CREATED,
which RFC 4791 §9.9 says matches every time range.  calcurse writes floating times.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.interop.clients import (
    CalendarServer,
    component,
    ical_value,
    run_client,
    vcalendar,
)
from tests.interop.conftest import LiveServer

CALCURSE_CALDAV = "/usr/bin/calcurse-caldav"
CALCURSE = "/usr/bin/calcurse"
COLLECTION = "calcurse"
SYNC_TIMEOUT = 120

pytestmark = pytest.mark.skipif(
    shutil.which(CALCURSE_CALDAV) is None or shutil.which(CALCURSE) is None,
    reason="calcurse (with calcurse-caldav) is not installed")

# calcurse's own data files: appointments (one recurring weekly, one all-day event) and
# to-dos ("[priority] text", no dates at all).
LOCAL_APTS = (
    "01/12/2027 @ 10:00 -> 01/12/2027 @ 11:00 |Meeting from calcurse\n"
    "01/13/2027 [1] All-day from calcurse\n"
    "01/14/2027 @ 09:00 -> 01/14/2027 @ 09:30 {1W -> 02/25/2027} |Weekly from calcurse\n")
LOCAL_TODOS = "[0] Plain to-do from calcurse\n[3] Urgent to-do from calcurse\n"

SERVER_ITEMS = {
    "srv-event": vcalendar(component(
        "VEVENT", "UID:srv-event", "DTSTAMP:20260101T000000Z", "DTSTART:20270120T090000Z",
        "DTEND:20270120T100000Z", "SUMMARY:Dentist from the server")),
    "srv-weekly": vcalendar(component(
        "VEVENT", "UID:srv-weekly", "DTSTAMP:20260101T000000Z", "DTSTART:20270121T080000Z",
        "DTEND:20270121T083000Z", "RRULE:FREQ=WEEKLY;COUNT=4",
        "SUMMARY:Weekly from the server")),
    "srv-todo": vcalendar(component(
        "VTODO", "UID:srv-todo", "DTSTAMP:20260101T000000Z",
        "SUMMARY:Plain to-do from the server")),
}

ANY_TODO_IN_2027 = ('<C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO">'
                    '<C:time-range start="20270101T000000Z" end="20270201T000000Z"/>'
                    "</C:comp-filter></C:comp-filter>")


class Calcurse:
    """calcurse's data directory and calcurse-caldav's config, sync database and lock."""

    def __init__(self, server: CalendarServer, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.data.mkdir(parents=True)
        self.config = root / "caldav-config"
        self.config.write_text(f"""\
[General]
Binary = {CALCURSE}
Hostname = {urlsplit(server.base_url).netloc}
Path = {server.calendar}
HTTPS = No
DryRun = No
SyncFilter = cal,todo

[Auth]
Username = user01
Password = user01
""")

    def sync(self, init: str | None = None) -> str:
        argv = [CALCURSE_CALDAV, "--config", str(self.config), "--datadir", str(self.data),
                "--syncdb", str(self.root / "sync.db"), "--lockfile", str(self.root / "lock"),
                "--hookdir", str(self.root / "hooks"), "--verbose"]
        output = run_client(argv + (["--init", init] if init else []), self.root,
                            timeout=SYNC_TIMEOUT)
        assert "error" not in output.lower(), output
        return output

    def items(self) -> set[str]:
        """'kind: text' of every appointment, event and to-do calcurse holds."""
        formats = {"apt": "appointment", "recur-apt": "appointment", "event": "event",
                   "recur-event": "event", "todo": "to-do"}
        argv = [CALCURSE, "-D", str(self.data), "-G"]
        argv += [f"--format-{kind}={label}: %m\\n" for kind, label in formats.items()]
        return set(run_client(argv, self.root, timeout=SYNC_TIMEOUT).splitlines())


def summaries(server: CalendarServer) -> dict[str, str]:
    return {uid: ical_value(s.body, "SUMMARY") for uid, s in server.contents().items()}


def test_two_way_sync_of_events_and_todos(live: LiveServer, tmp_path: Path) -> None:
    server = CalendarServer(live.base_url, COLLECTION)
    server.mkcalendar(components=("VEVENT", "VTODO"), displayname="calcurse")
    server.put_many({uid: (ics, None) for uid, ics in SERVER_ITEMS.items()})
    calcurse = Calcurse(server, tmp_path / "calcurse")
    (calcurse.data / "apts").write_text(LOCAL_APTS)
    (calcurse.data / "todo").write_text(LOCAL_TODOS)

    calcurse.sync(init="two-way")
    everything = {
        "appointment: Meeting from calcurse", "event: All-day from calcurse",
        "appointment: Weekly from calcurse", "to-do: Plain to-do from calcurse",
        "to-do: Urgent to-do from calcurse", "appointment: Dentist from the server",
        "appointment: Weekly from the server", "to-do: Plain to-do from the server"}
    assert calcurse.items() == everything
    on_server = server.contents()
    assert {ical_value(s.body, "SUMMARY") for s in on_server.values()} == {
        item.split(": ", 1)[1] for item in everything}
    todos = {uid: s.body for uid, s in on_server.items() if "BEGIN:VTODO" in s.body}
    assert len(todos) == 3
    for body in todos.values():
        assert not any(ical_value(body, p) for p in ("DTSTART", "DUE", "DURATION"))
    weekly = next(s.body for s in on_server.values() if "Weekly from calcurse" in s.body)
    assert ical_value(weekly, "RRULE").startswith("FREQ=WEEKLY")
    # RFC 4791 §9.9: a to-do without dates overlaps every time range.
    assert server.query_uids(ANY_TODO_IN_2027) == set(todos)

    # Round two: calcurse drops a to-do and gains an appointment; the server drops an
    # event and edits a to-do.  Each side must see the other's changes.
    (calcurse.data / "todo").write_text("[3] Urgent to-do from calcurse\n")
    with (calcurse.data / "apts").open("a") as apts:
        apts.write("01/22/2027 @ 14:00 -> 01/22/2027 @ 15:00 |Added in calcurse\n")
    current = server.contents()
    hrefs = server.hrefs_by_uid()
    server.delete_hrefs({hrefs["srv-event"]: current["srv-event"].etag})
    edited = current["srv-todo"].body.replace("SUMMARY:Plain to-do from the server",
                                              "SUMMARY:Edited on the server")
    server.put_hrefs({hrefs["srv-todo"]: (edited, current["srv-todo"].etag)})

    calcurse.sync()
    expected = everything - {"to-do: Plain to-do from calcurse",
                             "appointment: Dentist from the server",
                             "to-do: Plain to-do from the server"} | {
        "appointment: Added in calcurse", "to-do: Edited on the server"}
    assert calcurse.items() == expected
    assert set(summaries(server).values()) == {item.split(": ", 1)[1] for item in expected}
    # Converged: another sync changes nothing on either side.
    output = calcurse.sync()
    assert "Pushing" not in output and "Removing" not in output and "Importing" not in output
    assert live.server_errors() == []

