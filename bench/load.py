"""Talking to caldavd from the harness: discovery, loading events by PUT, probes.

Loading goes through HTTP PUT like any client's, so the time-range index and
every validation run exactly as they do in production.
"""

from __future__ import annotations

import asyncio
import base64
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import aiohttp
from lxml import etree

from bench.data import Event
from bench.server import BenchError

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
NS = {"D": DAV, "C": CALDAV}

HOME_SET_BODY = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    "<D:prop><C:calendar-home-set/></D:prop></D:propfind>"
)


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass
class Reply:
    status: int
    body: bytes

    def xml(self) -> etree._Element:
        return etree.fromstring(self.body)


@dataclass
class LoadStats:
    count: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


class Client:
    """An aiohttp session that speaks as one user."""

    def __init__(self, base_url: str, user: str, password: str | None = None,
                 concurrency: int = 16) -> None:
        self.base_url = base_url
        self.user = user
        self.auth = basic_auth(user, password if password is not None else user)
        self._concurrency = concurrency
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Client:
        connector = aiohttp.TCPConnector(limit=self._concurrency)
        self._session = aiohttp.ClientSession(connector=connector,
                                              timeout=aiohttp.ClientTimeout(total=300))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(self, method: str, path: str, body: str | bytes | None = None,
                      headers: Mapping[str, str] | None = None) -> Reply:
        assert self._session is not None
        all_headers = {"Authorization": self.auth, **(headers or {})}
        data = body.encode() if isinstance(body, str) else body
        async with self._session.request(method, self.base_url + path, data=data,
                                         headers=all_headers, allow_redirects=False) as resp:
            return Reply(resp.status, await resp.read())

    async def calendar_path(self) -> str:
        """The user's default calendar, found as a client does (principal → home)."""
        reply = await self.request("PROPFIND", f"/principals/users/{self.user}/", HOME_SET_BODY,
                                   {"Depth": "0", "Content-Type": "application/xml"})
        if reply.status != 207:
            raise BenchError(f"PROPFIND of {self.user}'s principal answered {reply.status} "
                             f"(wrong password or directory?)")
        home = reply.xml().findtext(".//C:calendar-home-set/D:href", namespaces=NS)
        if not home:
            raise BenchError(f"no calendar-home-set for {self.user}")
        calendar = home.rstrip("/") + "/calendar/"
        probe = await self.request("PROPFIND", calendar, None, {"Depth": "0"})
        if probe.status != 207:
            raise BenchError(f"PROPFIND {calendar} answered {probe.status}")
        return calendar

    async def put_events(self, calendar: str, events: Iterable[Event], *,
                         label: str = "loading", report_every: float = 10.0) -> LoadStats:
        """PUT every event (If-None-Match: *) with bounded concurrency; 201 or fail."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=self._concurrency * 4)
        done = 0
        started = time.monotonic()
        last_report = started
        failures: list[str] = []

        async def worker() -> None:
            nonlocal done, last_report
            while (event := await queue.get()) is not None:
                if failures:
                    continue
                reply = await self.request("PUT", calendar + event.name, event.ics, {
                    "Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"})
                if reply.status != 201:
                    failures.append(f"PUT {event.name}: {reply.status} "
                                    f"{reply.body[:300].decode(errors='replace')}")
                    continue
                done += 1
                now = time.monotonic()
                if now - last_report >= report_every:
                    last_report = now
                    print(f"bench: {label}: {done} events, {done / (now - started):.0f}/s",
                          file=sys.stderr)

        workers = [asyncio.create_task(worker()) for _ in range(self._concurrency)]
        for event in events:
            await queue.put(event)
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
        if failures:
            raise BenchError(f"{label} failed: {failures[0]}")
        return LoadStats(done, time.monotonic() - started)


def response_count(body: bytes) -> int:
    """Number of DAV:response elements in a multistatus."""
    return len(etree.fromstring(body).findall("D:response", NS))


def data_count(body: bytes) -> int:
    """Number of non-empty CALDAV:calendar-data elements in a multistatus."""
    root = etree.fromstring(body)
    return sum(1 for e in root.iterfind(".//C:calendar-data", NS) if (e.text or "").strip())


def sync_token(body: bytes) -> str:
    token = etree.fromstring(body).findtext("D:sync-token", namespaces=NS)
    if not token:
        raise BenchError("sync-collection answered without a DAV:sync-token")
    return token
