"""khal (Debian) on top of vdirsyncer: events made and edited in khal reach caldavd, and a
second vdirsyncer directory fetched from caldavd shows khal the same calendar.

khal writes each event as one file of the vdir that vdirsyncer syncs.  When it edits an
event with overridden instances, khal writes one VTIMEZONE per VEVENT (identical copies
of one TZID), which the server must take (issue 15 item 5).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.interop.clients import (
    CalendarServer,
    Vdirsyncer,
    component,
    ical_value,
    ical_values,
    read_file,
    run_client,
)
from tests.interop.conftest import LiveServer

KHAL = "/usr/bin/khal"
COLLECTION = "khal"
KHAL_TIMEOUT = 60

pytestmark = pytest.mark.skipif(shutil.which(KHAL) is None or shutil.which("vdirsyncer") is None,
                                reason="khal or vdirsyncer is not installed")


class Khal:
    """khal with its own config and database, over the vdir of one vdirsyncer pair."""

    def __init__(self, vdir: Path, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True)
        self.config = root / "khal.conf"
        self.config.write_text(f"""\
[calendars]
[[interop]]
path = {vdir}/

[locale]
timeformat = %H:%M
dateformat = %Y-%m-%d
longdateformat = %Y-%m-%d
datetimeformat = %Y-%m-%d %H:%M
longdatetimeformat = %Y-%m-%d %H:%M
local_timezone = Europe/Berlin
default_timezone = Europe/Berlin

[sqlite]
path = {root / 'khal.db'}

[default]
default_calendar = interop
""")

    def run(self, *args: str, answers: str = "") -> str:
        return run_client([KHAL, "-c", str(self.config), *args], self.root, answers=answers,
                          timeout=KHAL_TIMEOUT)

    def listing(self) -> list[str]:
        """Every instance khal shows in January-March 2027, one line each."""
        out = self.run("list", "--format", "{start} {end} {title} [{repeat-symbol}]",
                       "--day-format", "", "2027-01-01", "2027-03-31")
        return [line for line in out.splitlines() if line.strip()]


def override(uid: str, summary: str) -> str:
    """The weekly standup's third instance moved two hours later, as another client would."""
    return component(
        "VEVENT", f"UID:{uid}", "DTSTAMP:20261201T000000Z",
        "RECURRENCE-ID;TZID=Europe/Berlin:20270127T090000",
        "DTSTART;TZID=Europe/Berlin:20270127T110000", "DTEND;TZID=Europe/Berlin:20270127T111500",
        f"SUMMARY:{summary}")


def vevents(ics: str) -> set[tuple[str, str, str]]:
    """(RECURRENCE-ID, DTSTART, SUMMARY) of each VEVENT: what must survive a round trip."""
    parts = ics.split("BEGIN:VEVENT")[1:]
    return {(ical_value(p, "RECURRENCE-ID"), ical_value(p, "DTSTART"), ical_value(p, "SUMMARY"))
            for p in parts}


def make_events(khal: Khal) -> None:
    khal.run("new", "2027-01-12", "10:00", "11:00", "Team meeting", "::", "made in khal")
    khal.run("new", "-r", "weekly", "-u", "2027-03-01", "2027-01-13", "09:00", "09:15",
             "Weekly standup")
    khal.run("new", "2027-01-15", "Offsite day")


def test_khal_edits_a_recurring_event_with_an_override(live: LiveServer, tmp_path: Path) -> None:
    server = CalendarServer(live.base_url, COLLECTION)
    server.mkcalendar(displayname="khal")
    first = Vdirsyncer(live.base_url + "/", tmp_path / "vds-a", COLLECTION)
    first.run("discover", answers="y\n" * 4)
    khal = Khal(first.collection, tmp_path / "khal-a")
    make_events(khal)
    first.run("sync")
    on_server = {ical_value(s.body, "SUMMARY"): s for s in server.contents().values()}
    assert set(on_server) == {"Team meeting", "Weekly standup", "Offsite day"}
    standup = on_server["Weekly standup"]
    assert ical_value(standup.body, "RRULE").startswith("FREQ=WEEKLY;UNTIL=")
    assert "DTSTART;TZID=Europe/Berlin" in standup.body
    assert "DTSTART;VALUE=DATE:20270115" in on_server["Offsite day"].body
    assert ical_value(on_server["Team meeting"].body, "DESCRIPTION") == "made in khal"

    # Another client moves one instance of the standup: an override, synced down to khal.
    uid = ical_value(standup.body, "UID")
    moved = standup.body.replace("END:VCALENDAR", override(uid, "Standup (moved)")
                                 + "END:VCALENDAR")
    server.put_hrefs({server.hrefs_by_uid()[uid]: (moved, standup.etag)})
    first.run("sync")
    assert any("Standup (moved)" in line for line in khal.listing())

    # khal edits the series (first instance: the master) and then the override (the third
    # instance), each in its own run of its line editor, and writes the event back.
    khal.run("edit", "--show-past", "standup", answers="s\nStandup (edited in khal)\nq\n")
    khal.run("edit", "--show-past", "standup",
             answers="n\nn\ns\nStandup moved (edited in khal)\nq\n")
    local = read_file(first.path_of(uid))
    assert local.count("BEGIN:VTIMEZONE") >= 2, "khal no longer repeats VTIMEZONE"
    assert {e[2] for e in vevents(local)} == {"Standup (edited in khal)",
                                              "Standup moved (edited in khal)"}

    assert "Copying (updating) item" in first.run("sync")
    stored = server.contents()[uid].body
    assert vevents(stored) == vevents(local)
    assert ical_values(stored, "RECURRENCE-ID") == ["20270127T090000"]
    # The server keeps one copy of the VTIMEZONE, so its PUT answer had no ETag (RFC 4791
    # §5.3.4): vdirsyncer's next sync downloads what the server stored, once.
    assert stored.count("BEGIN:VTIMEZONE") == 1
    assert "to local" in first.run("sync")
    assert read_file(first.path_of(uid)).count("BEGIN:VTIMEZONE") == 1

    # A second directory, synced down from the server, holds what the first one does, and
    # khal over it shows the same instances.
    second = Vdirsyncer(live.base_url + "/", tmp_path / "vds-b", COLLECTION)
    second.run("discover", answers="y\n" * 4)
    second.run("sync")
    copies = second.local_contents()
    originals = first.local_contents()
    assert set(copies) == set(originals) == set(server.contents())
    for item_uid, text in copies.items():
        assert vevents(text) == vevents(originals[item_uid]), item_uid
    khal_b = Khal(second.collection, tmp_path / "khal-b")
    assert khal_b.listing() == khal.listing()
    assert "Copying" not in first.run("sync")
    assert live.server_errors() == []
