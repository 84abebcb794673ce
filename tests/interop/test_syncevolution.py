"""SyncEvolution (Debian) syncing a caldavd calendar with a local directory of .ics files.

SyncEvolution's CalDAV backend is the "target" side of a local sync (``local://``); the
client side is its file backend.  It runs headless and without D-Bus: ``--daemon=no``
keeps the sync in-process, ``keyring=no`` keeps the password in the config, and
``SYNCEVOLUTION_BACKEND_DIR`` loads only the two backends used here (the GNOME/EDS ones
want a session bus and fail without one).  The CalDAV backend discovers nothing here: it
is given the calendar's URL, lists it (PROPFIND Depth 1, calendar-query for ETags),
fetches with calendar-multiget and writes with conditional PUT and DELETE, and it splits
a recurring event with an override into one item per VEVENT and joins them on upload.
"""

from __future__ import annotations

import os
import time
from glob import glob
from pathlib import Path

import pytest

from tests.interop.clients import (
    CalendarServer,
    component,
    ical_value,
    ical_values,
    read_file,
    run_client,
    vcalendar,
    write_file,
)
from tests.interop.conftest import LiveServer

SYNCEVOLUTION = "/usr/bin/syncevolution"
BACKENDS = ("syncdav.so", "syncfile.so")
COLLECTION = "syncevolution"
SYNC_TIMEOUT = 120

BACKEND_DIRS = glob("/usr/lib/*/syncevolution/backends")
pytestmark = pytest.mark.skipif(not os.path.exists(SYNCEVOLUTION) or not BACKEND_DIRS,
                                reason="syncevolution is not installed")


def event(uid: str, summary: str, start: str, *extra: str) -> str:
    return component("VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z",
                     f"DTSTART:{start}", f"DTEND:{start[:9]}235900Z", f"SUMMARY:{summary}",
                     *extra)


SERVER_ITEMS = {
    "se-server-1": vcalendar(event("se-server-1", "From the server", "20270105T100000Z")),
    "se-server-2": vcalendar(event("se-server-2", "Deleted on the server", "20270106T100000Z")),
    "se-server-weekly": vcalendar(
        event("se-server-weekly", "Weekly from the server", "20270104T090000Z",
              "RRULE:FREQ=WEEKLY;COUNT=6"),
        event("se-server-weekly", "Moved instance", "20270118T140000Z",
              "RECURRENCE-ID:20270118T090000Z")),
}
LOCAL_ITEMS = {
    "se-local-1": vcalendar(event("se-local-1", "From the directory", "20270107T100000Z",
                                  "RRULE:FREQ=DAILY;COUNT=3")),
    "se-local-2": vcalendar(event("se-local-2", "Deleted in the directory",
                                  "20270108T100000Z")),
}


class SyncEvolution:
    """A target config (@caldavd, CalDAV backend) and a client config (file backend)."""

    def __init__(self, server: CalendarServer, root: Path) -> None:
        self.root = root
        self.local = root / "local"
        self.local.mkdir(parents=True)
        backends = root / "backends"
        backends.mkdir()
        for name in BACKENDS:
            (backends / name).symlink_to(Path(BACKEND_DIRS[0]) / name)
        self.env = {"XDG_CONFIG_HOME": str(root / "config"), "XDG_DATA_HOME": str(root / "data"),
                    "XDG_CACHE_HOME": str(root / "cache"),
                    "SYNCEVOLUTION_BACKEND_DIR": str(backends)}
        self.run("--configure", "--template", "webdav", f"syncURL={server.base_url}/",
                 "username=user01", "password=user01", "keyring=no", "backend=caldav",
                 f"database={server.url}", "target-config@caldavd", "calendar")
        self.run("--configure", "--template", "SyncEvolution_Client",
                 "syncURL=local://@caldavd", "keyring=no", "sync=two-way", "backend=file",
                 f"database=file://{self.local}", "databaseFormat=text/calendar",
                 "caldavd", "calendar")

    def run(self, *args: str) -> str:
        output = run_client([SYNCEVOLUTION, "--daemon=no", *args], self.root, env=self.env,
                            timeout=SYNC_TIMEOUT)
        assert "[ERROR" not in output, output
        return output

    def sync(self, mode: str = "two-way") -> str:
        output = self.run("--sync", mode, "caldavd", "calendar")
        assert "Synchronization successful." in output, output
        return output

    def local_items(self) -> dict[str, list[str]]:
        """UID -> the bodies of the directory's files holding it (one per VEVENT here)."""
        found: dict[str, list[str]] = {}
        for path in sorted(self.local.iterdir()):
            text = read_file(path)
            found.setdefault(ical_value(text, "UID"), []).append(text)
        return found

    def path_of(self, uid: str, recurrence_id: str = "") -> Path:
        [path] = [p for p in self.local.iterdir()
                  if ical_value(read_file(p), "UID") == uid
                  and ical_value(read_file(p), "RECURRENCE-ID") == recurrence_id]
        return path

    def touch(self, path: Path, text: str) -> None:
        """Write a file so the file backend sees a new revision (whole-second mtimes)."""
        write_file(path, text)
        later = time.time() + 5
        os.utime(path, (later, later))


def local_summaries(syncevo: SyncEvolution) -> set[str]:
    return {summary for texts in syncevo.local_items().values() for text in texts
            for summary in ical_values(text, "SUMMARY")}


def test_two_way_sync_with_the_file_backend(live: LiveServer, tmp_path: Path) -> None:
    server = CalendarServer(live.base_url, COLLECTION)
    server.mkcalendar(displayname="SyncEvolution")
    server.put_many({uid: (ics, None) for uid, ics in SERVER_ITEMS.items()})
    syncevo = SyncEvolution(server, tmp_path / "syncevolution")
    for uid, ics in LOCAL_ITEMS.items():
        write_file(syncevo.local / f"{uid}.ics", ics)

    syncevo.sync("slow")
    everything = set(SERVER_ITEMS) | set(LOCAL_ITEMS)
    on_server = server.contents()
    assert set(on_server) == everything
    # The Synthesis engine under SyncEvolution turns COUNT into the equivalent UNTIL.
    assert ical_value(on_server["se-local-1"].body, "RRULE") in (
        "FREQ=DAILY;COUNT=3", "FREQ=DAILY;UNTIL=20270109T100000Z")
    assert set(syncevo.local_items()) == everything
    assert local_summaries(syncevo) == {
        summary for ics in (*SERVER_ITEMS.values(), *LOCAL_ITEMS.values())
        for summary in ical_values(ics, "SUMMARY")}
    weekly = "".join(syncevo.local_items()["se-server-weekly"])
    assert ical_values(weekly, "RECURRENCE-ID") == ["20270118T090000Z"]

    # Changes on both sides: an edit, a deletion and an addition each, and the directory
    # edits the override of the weekly series.
    hrefs = server.hrefs_by_uid()
    server.put_many({"se-server-3": (vcalendar(event("se-server-3", "Added on the server",
                                                     "20270109T100000Z")), None)})
    server.put_hrefs({hrefs["se-server-1"]: (
        on_server["se-server-1"].body.replace("SUMMARY:From the server",
                                              "SUMMARY:Edited on the server"),
        on_server["se-server-1"].etag)})
    server.delete_hrefs({hrefs["se-server-2"]: on_server["se-server-2"].etag})
    path = syncevo.path_of("se-local-1")
    syncevo.touch(path, read_file(path).replace("SUMMARY:From the directory",
                                                "SUMMARY:Edited in the directory"))
    syncevo.path_of("se-local-2").unlink()
    path = syncevo.path_of("se-server-weekly", "20270118T090000Z")
    syncevo.touch(path, read_file(path).replace("SUMMARY:Moved instance",
                                                "SUMMARY:Moved and edited"))
    syncevo.touch(syncevo.local / "se-local-3.ics",
                  vcalendar(event("se-local-3", "Added in the directory", "20270110T100000Z")))

    syncevo.sync()
    expected = everything - {"se-server-2", "se-local-2"} | {"se-server-3", "se-local-3"}
    on_server = server.contents()
    assert set(on_server) == expected
    assert set(syncevo.local_items()) == expected
    summaries = {"Edited on the server", "Edited in the directory", "Added on the server",
                 "Added in the directory", "Weekly from the server", "Moved and edited"}
    assert {s for body in on_server.values()
            for s in ical_values(body.body, "SUMMARY")} == summaries
    assert local_summaries(syncevo) == summaries
    # The override went back as part of its series, not as an object of its own.
    weekly = on_server["se-server-weekly"].body
    assert weekly.count("BEGIN:VEVENT") == 2
    assert ical_values(weekly, "RECURRENCE-ID") == ["20270118T090000Z"]
    assert ical_value(weekly, "RRULE") == "FREQ=WEEKLY;COUNT=6"

    # Converged: another sync changes nothing on the server.
    etags = {uid: s.etag for uid, s in on_server.items()}
    syncevo.sync()
    assert {uid: s.etag for uid, s in server.contents().items()} == etags
    assert live.server_errors() == []
