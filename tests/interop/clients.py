"""What the client tests share: a calendar seen from the server side over plain HTTP,
external client programs run with a clean environment and a time limit, and vdirsyncer.

Every client test checks both sides: the server's state by PROPFIND and GET (never
through the client under test), and the client's own state (its files or its listing).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import aiohttp
from lxml import etree

from caldavd.dav import names
from tests.interop.conftest import HOME01, basic_auth

RUN_TIMEOUT = 240
CONCURRENCY = 16
VDIRSYNCER = "/usr/bin/vdirsyncer"

T = TypeVar("T")

# Europe/Paris (CET/CEST, the EU rules since 1996), as clients write it.
PARIS_TZ = (
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\n"
    "BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\n"
    "DTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n"
    "BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\n"
    "DTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n"
    "END:VTIMEZONE\r\n")


def ical_value(ics: str, name: str) -> str:
    """The value of the first ``name`` property (unfolded), or '' if absent."""
    unfolded = re.sub(r"\r?\n[ \t]", "", ics)
    match = re.search(rf"^{name}(?:;[^:\r\n]*)?:(.*?)\r?$", unfolded, re.MULTILINE)
    return match.group(1) if match else ""


def ical_values(ics: str, name: str) -> list[str]:
    """The values of every ``name`` property (unfolded), in order."""
    unfolded = re.sub(r"\r?\n[ \t]", "", ics)
    return re.findall(rf"^{name}(?:;[^:\r\n]*)?:(.*?)\r?$", unfolded, re.MULTILINE)


def read_file(path: Path) -> str:
    """A file's text with its line endings as they are (iCalendar uses CRLF)."""
    return path.read_bytes().decode("utf-8")


def write_file(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8"))


def vcalendar(*components: str) -> str:
    body = "".join(components)
    return (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//caldavd interop//EN\r\n{body}"
            "END:VCALENDAR\r\n")


def component(kind: str, *lines: str) -> str:
    return "".join(f"{line}\r\n" for line in (f"BEGIN:{kind}", *lines, f"END:{kind}"))


def run_client(argv: list[str], home: Path, *, answers: str = "",
               env: Mapping[str, str] | None = None, timeout: float = RUN_TIMEOUT) -> str:
    """Run an external client to completion (bounded by ``timeout``) with a clean
    environment rooted at ``home``; fail the test, with its output, if it fails."""
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
             "LC_ALL": "C.UTF-8", "NO_PROXY": "127.0.0.1,localhost", "TZ": "UTC",
             **(env or {})}
    proc = subprocess.run(argv, input=answers, capture_output=True, text=True, env=clean,
                          timeout=timeout, check=False, cwd=home)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(argv)} failed ({proc.returncode}):\n{output}"
    return output


# -- the server side, over plain HTTP ----------------------------------------------------------


@dataclass
class Stored:
    etag: str
    body: str


class CalendarServer:
    """Just enough HTTP to prepare and inspect one of user01's calendars."""

    def __init__(self, base_url: str, collection: str) -> None:
        self.base_url = base_url
        self.calendar = f"{HOME01}{collection}/"
        self.headers = {"Authorization": basic_auth("user01")}

    @property
    def url(self) -> str:
        return self.base_url + self.calendar

    def run(self, coro_fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``coro_fn(session, *args)`` to completion with a fresh session."""
        async def main() -> T:
            timeout = aiohttp.ClientTimeout(total=RUN_TIMEOUT)
            async with aiohttp.ClientSession(headers=self.headers, timeout=timeout) as session:
                return await coro_fn(session, *args)
        return asyncio.run(main())

    async def _mkcalendar(self, session: aiohttp.ClientSession, extra: str,
                          components: tuple[str, ...], displayname: str) -> None:
        comps = "".join(f'<C:comp name="{c}"/>' for c in components)
        body = ('<?xml version="1.0" encoding="utf-8"?>'
                f'<C:mkcalendar xmlns:D="DAV:" xmlns:C="{names.CALDAV_NS}" '
                f'xmlns:A="{names.ICAL_NS}"><D:set><D:prop>'
                f"<D:displayname>{displayname}</D:displayname>"
                f"<C:supported-calendar-component-set>{comps}"
                f"</C:supported-calendar-component-set>{extra}</D:prop></D:set></C:mkcalendar>")
        async with session.request("MKCALENDAR", self.url, data=body) as resp:
            assert resp.status == 201, await resp.text()

    def mkcalendar(self, extra: str = "", components: tuple[str, ...] = ("VEVENT",),
                   displayname: str = "Interop sync") -> None:
        """Make the calendar; ``extra``: more props (A:, C:, D: prefixes)."""
        self.run(self._mkcalendar, extra, components, displayname)

    async def _props(self, session: aiohttp.ClientSession,
                     props: tuple[str, ...]) -> dict[str, str | None]:
        inner = "".join(f'<x:{n.split("}")[1]} xmlns:x="{n[1:].split("}")[0]}"/>'
                        for n in props)
        body = (f'<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>{inner}</D:prop>'
                "</D:propfind>")
        async with session.request("PROPFIND", self.url, data=body,
                                   headers={"Depth": "0"}) as resp:
            assert resp.status == 207
            root = etree.fromstring(await resp.read())
        found: dict[str, str | None] = dict.fromkeys(props)
        for propstat in root.iterfind("{DAV:}response/{DAV:}propstat"):
            if " 200 " not in (propstat.findtext("{DAV:}status") or ""):
                continue
            for prop in propstat.iterfind("{DAV:}prop/*"):
                found[prop.tag] = prop.text
        return found

    def props(self, *props: str) -> dict[str, str | None]:
        """Clark name -> text of the calendar's properties (None where not found)."""
        return self.run(self._props, props)

    async def _put_many(self, session: aiohttp.ClientSession,
                        items: dict[str, tuple[str, str | None]]) -> None:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def put(href: str, ics: str, etag: str | None) -> None:
            headers = {"Content-Type": "text/calendar; charset=utf-8",
                       **({"If-Match": etag} if etag else {"If-None-Match": "*"})}
            async with gate, session.put(self.base_url + href,
                                         data=ics.encode(), headers=headers) as resp:
                assert resp.status in (201, 204), (href, resp.status, await resp.text())
                assert resp.headers.get("ETag"), f"no ETag on PUT of {href}"

        await asyncio.gather(*(put(href, ics, etag) for href, (ics, etag) in items.items()))

    def put_many(self, items: dict[str, tuple[str, str | None]]) -> None:
        """PUT each uid -> (ics, If-Match etag or None for create-only), as <uid>.ics."""
        self.run(self._put_many, {self.calendar + f"{uid}.ics": item
                                  for uid, item in items.items()})

    def put_hrefs(self, items: dict[str, tuple[str, str | None]]) -> None:
        """PUT each href -> (ics, If-Match etag or None for create-only)."""
        self.run(self._put_many, items)

    async def _delete(self, session: aiohttp.ClientSession, href: str, etag: str) -> None:
        async with session.delete(self.base_url + href, headers={"If-Match": etag}) as resp:
            assert resp.status == 204, (href, resp.status, await resp.text())

    async def _delete_many(self, session: aiohttp.ClientSession,
                           items: dict[str, str]) -> None:
        for href, etag in items.items():
            await self._delete(session, href, etag)

    def delete_many(self, items: dict[str, str]) -> None:
        """DELETE each uid (stored as <uid>.ics) -> If-Match etag."""
        self.run(self._delete_many, {self.calendar + f"{uid}.ics": etag
                                     for uid, etag in items.items()})

    def delete_hrefs(self, items: dict[str, str]) -> None:
        """DELETE each href -> If-Match etag."""
        self.run(self._delete_many, items)

    async def _hrefs(self, session: aiohttp.ClientSession) -> list[str]:
        body = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/>'
                "</D:prop></D:propfind>")
        async with session.request("PROPFIND", self.url, data=body,
                                   headers={"Depth": "1"}) as resp:
            assert resp.status == 207
            root = etree.fromstring(await resp.read())
        hrefs = [unquote(urlsplit(h.text or "").path)
                 for h in root.iterfind("{DAV:}response/{DAV:}href")]
        return [h for h in hrefs if h != self.calendar]

    async def _contents(self, session: aiohttp.ClientSession) -> dict[str, tuple[str, Stored]]:
        hrefs = await self._hrefs(session)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def get(href: str) -> tuple[str, tuple[str, Stored]]:
            async with gate, session.get(self.base_url + href) as resp:
                assert resp.status == 200, (href, resp.status)
                text = await resp.text()
                return ical_value(text, "UID"), (href, Stored(resp.headers["ETag"], text))

        found = dict(await asyncio.gather(*(get(h) for h in hrefs)))
        assert len(found) == len(hrefs), "two resources hold the same UID"
        return found

    def contents(self) -> dict[str, Stored]:
        """UID -> (ETag, body) of every object, by PROPFIND Depth 1 and GET."""
        return {uid: stored for uid, (_, stored) in self.run(self._contents).items()}

    def hrefs_by_uid(self) -> dict[str, str]:
        """UID -> href of every object (clients choose their own resource names)."""
        return {uid: href for uid, (href, _) in self.run(self._contents).items()}

    async def _query(self, session: aiohttp.ClientSession, filter_xml: str) -> set[str]:
        body = ('<?xml version="1.0"?>'
                f'<C:calendar-query xmlns:D="DAV:" xmlns:C="{names.CALDAV_NS}">'
                f"<D:prop><C:calendar-data/></D:prop><C:filter>{filter_xml}</C:filter>"
                "</C:calendar-query>")
        async with session.request("REPORT", self.url, data=body,
                                   headers={"Depth": "1"}) as resp:
            assert resp.status == 207, await resp.text()
            root = etree.fromstring(await resp.read())
        return {ical_value(data.text or "", "UID")
                for data in root.iter(f"{{{names.CALDAV_NS}}}calendar-data")}

    def query_uids(self, filter_xml: str) -> set[str]:
        """The UIDs a calendar-query with this ``<C:filter>`` content answers."""
        return self.run(self._query, filter_xml)


# -- vdirsyncer ---------------------------------------------------------------------------------


class Vdirsyncer:
    """Debian's vdirsyncer syncing one collection between caldavd and a local directory."""

    def __init__(self, server_url: str, root: Path, collection: str) -> None:
        self.root = root
        self.local = root / "local"
        self.local.mkdir(parents=True)
        self.collection_name = collection
        self.config = root / "config"
        self.config.write_text(f"""\
[general]
status_path = "{root / 'status'}/"

[pair interop]
a = "server"
b = "local"
collections = ["{collection}"]
metadata = ["displayname", "color", "description"]

[storage server]
type = "caldav"
url = "{server_url}"
username = "user01"
password = "user01"

[storage local]
type = "filesystem"
path = "{self.local}/"
fileext = ".ics"
""")

    @property
    def collection(self) -> Path:
        return self.local / self.collection_name

    def run(self, *args: str, answers: str = "") -> str:
        output = run_client([VDIRSYNCER, "--config", str(self.config), *args], self.root,
                            answers=answers)
        assert "error" not in output.lower(), output
        return output

    def local_contents(self) -> dict[str, str]:
        found = {}
        for path in self.collection.glob("*.ics"):
            text = read_file(path)
            found[ical_value(text, "UID")] = text
        return found

    def path_of(self, uid: str) -> Path:
        [path] = [p for p in self.collection.glob("*.ics")
                  if ical_value(read_file(p), "UID") == uid]
        return path
