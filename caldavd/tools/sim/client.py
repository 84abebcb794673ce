"""One simulated user of caldavd-sim: a desktop calendar client, request by request.

What the client does, modelled on Apple Calendar against a CalDAV server
without push:

* **discovery** once at start: PROPFIND ``/.well-known/caldav`` (RFC 6764;
  the redirect is followed only to the URL given) for
  ``current-user-principal``, PROPFIND the principal for
  ``calendar-home-set`` and ``calendar-user-address-set``, PROPFIND Depth 1 of
  the home (``getctag``, ``sync-token``, ``resourcetype``,
  ``supported-calendar-component-set``).  It uses the first calendar that
  takes VEVENTs (the one caldavd creates with the home) and fills its cache
  with a sync-collection from no token and multigets of everything;
* **poll** every ``poll_interval`` (jittered, so users are not in step):
  PROPFIND Depth 1 of the home; when the calendar's ctag changed, a
  **sync**-collection report (RFC 6578) from the last token, then
  calendar-**multiget** (RFC 4791 §7.9) of the members whose ETag differs
  from the cached one, ``multiget_batch`` hrefs per report;
* **create**: PUT of a new event with ``If-None-Match: *``, in a window
  around now (so time-range queries meet them), UTC times, no VTIMEZONE;
* **edit**: PUT of a changed event the client has cached, with
  ``If-Match`` its ETag.  A 412 (another device changed it first) is handled
  as a client does: GET it again, retry once.  412s are counted as conflicts,
  not as server failures.

**Invitations are modelled as iMIP would carry them**, because caldavd does
no server-side scheduling (RFC 6638 inbox and outbox are not implemented):
the organizer PUTs an event whose ATTENDEE lines name other simulated users
(their ``mailto:`` calendar-user addresses, as their principals report them),
that PUT is the **invite**; the invitation then travels inside the simulator
(an in-process mailbox standing in for mail) to each invitee, who after
``accept_delay`` (mean, exponential) **accept**\\ s by PUTting the event into
its own calendar with its PARTSTAT=ACCEPTED; the reply travels back the same
way and the organizer applies it as an **edit** (PUT with If-Match, that
attendee's PARTSTAT changed).  So the server sees the writes that scheduling
by mail causes, and none of the scheduling work a server with RFC 6638 would
do itself.

**Another device**: a share (``other_device_fraction``) of a user's creates
and edits are made by another of the user's devices (a phone), whose
answers this desktop client never sees.  It learns of them at its next poll,
through the changed ctag, the sync report and a multiget, as a real desktop
does; and an edit of an event the phone changed since that poll meets a 412.
The phone's own polling is not simulated.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import heapq
import itertools
import math
import random
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from lxml import etree

from caldavd.dav import names
from caldavd.dav.errors import DAVError
from caldavd.dav.xml import parse_xml
from caldavd.tools.sim.profile import Behaviour
from caldavd.tools.sim.report import Recorder

ICAL_TIME = "%Y%m%dT%H%M%SZ"
SUMMARIES = ("Standup", "1:1", "Design review", "Planning", "Lunch", "Customer call",
             "Interview", "Retro", "Focus time", "All hands", "Budget", "Offsite prep")
DURATIONS_MIN = (15, 30, 30, 45, 60, 60, 90, 120)
# The reply to an invitation reaches the organizer this long after the accept (mail).
REPLY_TRANSIT_S = 2.0
# A discovery that failed is tried again after this long (at most the poll interval).
DISCOVERY_RETRY_S = 10.0

PROPFIND_PRINCIPAL = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:propfind xmlns:D="DAV:"><D:prop><D:current-user-principal/></D:prop></D:propfind>')
PROPFIND_ADDRESSES = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" '
    'xmlns:CS="http://calendarserver.org/ns/"><D:prop>'
    "<C:calendar-home-set/><C:calendar-user-address-set/><D:displayname/>"
    "<CS:email-address-set/></D:prop></D:propfind>")
PROPFIND_HOME = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" '
    'xmlns:CS="http://calendarserver.org/ns/"><D:prop>'
    "<D:resourcetype/><D:displayname/><CS:getctag/><D:sync-token/>"
    "<C:supported-calendar-component-set/></D:prop></D:propfind>")
SYNC_COLLECTION = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>'
    "<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>")
MULTIGET = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    "<D:prop><D:getetag/><C:calendar-data/></D:prop>{hrefs}</C:calendar-multiget>")
XML = {"Content-Type": "application/xml; charset=utf-8"}
ICS = {"Content-Type": "text/calendar; charset=utf-8"}


class Stopped(Exception):
    """The run is over: no new request is sent."""


class Unusable(Exception):
    """An answer the client cannot go on with (already counted as a failure)."""


# -- the URL given, and nothing else -------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The server's URL; every request goes to its origin, and an href or redirect that
    points elsewhere is refused, never followed."""

    url: str

    def resolve(self, href: str) -> str | None:
        """``href`` (a path or URL from the server) as a URL on this origin, else None."""
        return _resolve(self.url, href)


@functools.lru_cache(maxsize=65536)
def _resolve(base: str, href: str) -> str | None:
    # Cached: every user's principal, home and calendar URL is resolved at every request.
    absolute = urljoin(base, href)
    parts, origin = urlsplit(absolute), urlsplit(base)
    if (parts.scheme, parts.netloc.lower()) != (origin.scheme, origin.netloc.lower()):
        return None
    return absolute


# -- HTTP with accounting ------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes


class Http:
    """Every request of every simulated user: sent once (never redirected), timed, and
    counted under its operation by the recorder."""

    def __init__(self, session: aiohttp.ClientSession, target: Target, recorder: Recorder,
                 timeout: float, stop_at: float) -> None:
        self.session = session
        self.target = target
        self.recorder = recorder
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.stop_at = stop_at

    def stopping(self) -> bool:
        return time.monotonic() >= self.stop_at

    async def request(self, op: str, method: str, url: str, auth: str, *,
                      body: str | None = None, headers: Mapping[str, str] | None = None,
                      expect: Sequence[int] = (200,), races: Sequence[int] = (),
                      report: str = "") -> Answer | None:
        """The answer when its status is in ``expect`` or ``races`` (a race is counted as
        a conflict), None otherwise (counted as a failure).  Raises Stopped once the run
        is over, before sending."""
        if self.stopping():
            raise Stopped
        self.recorder.in_flight(+1)
        sent = time.perf_counter()
        try:
            async with self.session.request(
                    method, url, data=body.encode() if body is not None else None,
                    headers={"Authorization": auth, **(headers or {})},
                    allow_redirects=False, timeout=self.timeout) as resp:
                data = await resp.read()
                status, answer_headers = resp.status, resp.headers
        except TimeoutError:
            self.recorder.unanswered_request(op, method, _ms_since(sent), "timeout")
            return None
        except (aiohttp.ClientError, OSError) as exc:
            self.recorder.unanswered_request(op, method, _ms_since(sent),
                                             f"connection error ({type(exc).__name__})")
            return None
        finally:
            self.recorder.in_flight(-1)
        ms = _ms_since(sent)
        stats_key = op_key(method, report, (headers or {}).get("Depth", ""))
        if status in expect:
            outcome = "ok"
        elif status in races:
            outcome = "conflict"
        else:
            outcome = f"{method} status {status}"
        self.recorder.answered(op, method, stats_key, status, ms, outcome)
        if outcome.startswith(method):
            return None
        return Answer(status, answer_headers, data)


def op_key(method: str, report: str, depth: str) -> str:
    """The request's key as caldavd's /stats counts it (``totals.ops``): the report's
    name for a REPORT, the depth for a PROPFIND, else the method."""
    if method == "REPORT" and report:
        return f"REPORT {report}"
    if method == "PROPFIND" and depth:
        return f"PROPFIND depth={depth}"
    return method


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000


# -- multistatus --------------------------------------------------------------------------


@dataclass
class Entry:
    href: str
    status: int | None                 # the response's own status (sync: 404 = removed)
    props: dict[str, etree._Element]   # the properties found (propstat 200)


def _status_code(text: str | None) -> int | None:
    parts = (text or "").split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def parse_multistatus(body: bytes) -> tuple[list[Entry], str | None]:
    """The responses of a 207 body and its top-level sync-token; ValueError if it is
    not a multistatus."""
    try:
        root = parse_xml(body)
    except DAVError as exc:
        raise ValueError(str(exc)) from None
    if root.tag != names.MULTISTATUS:
        raise ValueError(f"root element is {root.tag}, not multistatus")
    entries = []
    for response in root.iterfind(names.RESPONSE):
        href = response.findtext(names.HREF)
        if not href:
            continue
        props: dict[str, etree._Element] = {}
        for propstat in response.iterfind(names.PROPSTAT):
            if _status_code(propstat.findtext(names.STATUS)) != 200:
                continue
            prop = propstat.find(names.PROP)
            if prop is not None:
                props.update((child.tag, child) for child in prop if isinstance(child.tag, str))
        entries.append(Entry(href.strip(), _status_code(response.findtext(names.STATUS)),
                             props))
    return entries, root.findtext(names.SYNC_TOKEN)


def _hrefs(element: etree._Element | None) -> list[str]:
    if element is None:
        return []
    return [h.text.strip() for h in element.iterfind(names.HREF) if h.text]


def _text(element: etree._Element | None) -> str | None:
    return element.text.strip() if element is not None and element.text else None


# -- events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimEvent:
    """One event as the simulator writes it; ``attendees`` maps address to PARTSTAT."""

    uid: str
    start: datetime
    minutes: int
    summary: str
    sequence: int = 0
    organizer: str | None = None
    attendees: Mapping[str, str] = field(default_factory=dict)

    def ics(self, now: datetime | None = None) -> str:
        stamp = (now or datetime.now(UTC)).strftime(ICAL_TIME)
        end = self.start + timedelta(minutes=self.minutes)
        lines = [
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//caldavd//caldavd-sim//EN",
            "CALSCALE:GREGORIAN", "BEGIN:VEVENT", f"UID:{self.uid}", f"DTSTAMP:{stamp}",
            f"LAST-MODIFIED:{stamp}", f"DTSTART:{self.start.strftime(ICAL_TIME)}",
            f"DTEND:{end.strftime(ICAL_TIME)}", f"SUMMARY:{self.summary}",
            f"SEQUENCE:{self.sequence}", "TRANSP:OPAQUE",
        ]
        if self.organizer:
            lines.append(f"ORGANIZER:{self.organizer}")
        for address, partstat in self.attendees.items():
            role = "CHAIR" if address == self.organizer else "REQ-PARTICIPANT"
            lines.append(f"ATTENDEE;PARTSTAT={partstat};ROLE={role}:{address}")
        lines += ["END:VEVENT", "END:VCALENDAR"]
        return "\r\n".join(lines) + "\r\n"

    def edited(self, rng: random.Random) -> SimEvent:
        """What a user's edit does: a new title, sometimes moved by half an hour."""
        moved = self.start + timedelta(minutes=30 * rng.choice((-1, 0, 0, 1)))
        return replace(self, summary=rng.choice(SUMMARIES), start=moved,
                       sequence=self.sequence + 1)

    def with_partstat(self, address: str, partstat: str) -> SimEvent:
        return replace(self, attendees={**self.attendees, address: partstat})


def _unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").replace("\r\n\t", "").replace("\n ", "").splitlines()


def parse_event(text: str) -> SimEvent | None:
    """The event in an iCalendar body of the simulator's shape, or None."""
    values: dict[str, str] = {}
    attendees: dict[str, str] = {}
    for line in _unfold(text):
        head, sep, value = line.partition(":")
        if not sep:
            continue
        name, *params = head.split(";")
        name = name.upper()
        if name == "ATTENDEE":
            partstat = next((p.split("=", 1)[1] for p in params
                             if p.upper().startswith("PARTSTAT=")), "NEEDS-ACTION")
            attendees[value] = partstat
        elif name not in values:
            values[name] = value
    try:
        start = datetime.strptime(values["DTSTART"], ICAL_TIME).replace(tzinfo=UTC)
        end = datetime.strptime(values["DTEND"], ICAL_TIME).replace(tzinfo=UTC)
        return SimEvent(uid=values["UID"], start=start,
                        minutes=int((end - start).total_seconds() // 60),
                        summary=values.get("SUMMARY", ""),
                        sequence=int(values.get("SEQUENCE", "0")),
                        organizer=values.get("ORGANIZER"), attendees=attendees)
    except (KeyError, ValueError):
        return None


# -- the population: directory and mail between simulated users ----------------------------


@dataclass(frozen=True)
class Invitation:
    organizer: str            # the organizer's user name
    event: SimEvent


@dataclass(frozen=True)
class Reply:
    uid: str
    attendee: str             # the attendee's address
    partstat: str


Mail = Invitation | Reply


class Population:
    """The simulated users, the addresses they published at discovery (the directory a
    client would search), and the mail between them."""

    def __init__(self) -> None:
        self.users: dict[str, SimUser] = {}
        self.discovered: list[SimUser] = []
        self.counts = {"sent": 0, "accepted": 0, "replies_applied": 0, "pending": 0}

    def add(self, user: SimUser) -> None:
        self.users[user.name] = user

    def published(self, user: SimUser) -> None:
        self.discovered.append(user)

    def invitees(self, organizer: SimUser, count: int, rng: random.Random) -> list[SimUser]:
        """Up to ``count`` other users that completed discovery (their address is known)."""
        others = len(self.discovered) - (1 if organizer.address else 0)
        picked: dict[str, SimUser] = {}
        for _ in range(min(count, others) * 3):
            if len(picked) >= min(count, others):
                break
            candidate = self.discovered[rng.randrange(len(self.discovered))]
            if candidate is not organizer and candidate.address:
                picked[candidate.name] = candidate
        return list(picked.values())

    def send(self, to: SimUser, item: Mail, delay: float) -> None:
        to.deliver(item, delay)

    def pending(self) -> int:
        return sum(len(u.mailbox) for u in self.users.values())


# -- one user ------------------------------------------------------------------------------


@dataclass
class Cached:
    etag: str | None
    event: SimEvent | None    # None: a body the simulator cannot read (never edited)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class SimUser:
    """A desktop client of one user: a coroutine that mostly sleeps until its next poll,
    write or mail."""

    def __init__(self, name: str, password: str, http: Http, population: Population,
                 behaviour: Behaviour, rng: random.Random) -> None:
        self.name = name
        self.auth = basic(name, password)
        self.http = http
        self.population = population
        self.b = behaviour
        self.rng = rng
        self.address: str | None = None
        self.home: str | None = None
        self.calendar: str | None = None       # the calendar's href (a path)
        self.ctag: str | None = None
        self.token = ""
        self.cache: dict[str, Cached] = {}     # this client's copy, by href
        self.latest: dict[str, Cached] = {}    # what the user's devices wrote last, by href
        self.mailbox: list[tuple[float, int, Mail]] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()

    # -- the schedule --

    def deliver(self, item: Mail, delay: float) -> None:
        heapq.heappush(self.mailbox, (time.monotonic() + delay, next(self._seq), item))
        self._wake.set()

    def _after(self, per_hour: float) -> float:
        if per_hour <= 0:
            return math.inf
        return time.monotonic() + self.rng.expovariate(per_hour / 3600)

    async def run(self) -> None:
        """Discovery, then polls, writes and mail until the run's end."""
        try:
            await self._discover_until_done()
            now = time.monotonic()
            next_poll = now + self.rng.uniform(0, self.b.poll_interval)
            next_create = self._after(self.b.events_per_hour)
            next_edit = self._after(self.b.edits_per_hour)
            while True:
                now = time.monotonic()
                mail_due = self.mailbox[0][0] if self.mailbox else math.inf
                due = min(next_poll, next_create, next_edit, mail_due)
                if due > now:
                    await self._sleep(min(due, self.http.stop_at) - now)
                    if self.http.stopping():
                        raise Stopped
                    continue
                if due == mail_due:
                    await self._handle(heapq.heappop(self.mailbox)[2])
                elif due == next_poll:
                    await self.poll()
                    next_poll = time.monotonic() + self.b.poll_interval * self.rng.uniform(
                        0.95, 1.05)
                elif due == next_create:
                    await self.create()
                    next_create = self._after(self.b.events_per_hour)
                else:
                    await self.edit()
                    next_edit = self._after(self.b.edits_per_hour)
        except Stopped:
            return

    async def _sleep(self, seconds: float) -> None:
        """Until ``seconds`` pass or mail arrives."""
        self._wake.clear()
        try:
            async with asyncio.timeout(max(seconds, 0.0)):
                await self._wake.wait()
        except TimeoutError:
            pass

    async def _discover_until_done(self) -> None:
        while True:
            try:
                await self.discover()
                return
            except Unusable:
                await asyncio.sleep(min(DISCOVERY_RETRY_S, self.b.poll_interval)
                                    * self.rng.uniform(0.5, 1.5))
                if self.http.stopping():
                    raise Stopped from None

    # -- requests --

    def _url(self, href: str, op: str) -> str:
        url = self.http.target.resolve(href)
        if url is None:
            self.http.recorder.bad_body(op, "href on another origin refused")
            raise Unusable(href)
        return url

    async def _multistatus(self, op: str, method: str, href: str, body: str,
                           headers: Mapping[str, str], report: str = "",
                           ) -> tuple[list[Entry], str | None]:
        answer = await self.http.request(op, method, self._url(href, op), self.auth,
                                         body=body, headers={**XML, **headers},
                                         expect=(207,), report=report)
        if answer is None:
            raise Unusable(href)
        try:
            return parse_multistatus(answer.body)
        except ValueError:
            self.http.recorder.bad_body(op, "malformed multistatus")
            raise Unusable(href) from None

    async def _principal_url(self) -> str:
        """current-user-principal: through /.well-known/caldav (followed only on this
        origin) or from the root."""
        path = "/.well-known/caldav" if self.b.well_known else "/"
        for _ in range(3):
            url = self._url(path, "discovery")
            answer = await self.http.request(
                "discovery", "PROPFIND", url, self.auth, body=PROPFIND_PRINCIPAL,
                headers={**XML, "Depth": "0"}, expect=(207, 301, 302, 307, 308))
            if answer is None:
                raise Unusable(path)
            if answer.status != 207:
                path = answer.headers.get("Location", "")
                if not path:
                    self.http.recorder.bad_body("discovery", "redirect without Location")
                    raise Unusable(url)
                continue
            try:
                entries, _ = parse_multistatus(answer.body)
            except ValueError:
                self.http.recorder.bad_body("discovery", "malformed multistatus")
                raise Unusable(url) from None
            for entry in entries:
                found = _hrefs(entry.props.get(names.CURRENT_USER_PRINCIPAL))
                if found:
                    return found[0]
            self.http.recorder.bad_body("discovery", "no current-user-principal")
            raise Unusable(url)
        self.http.recorder.bad_body("discovery", "too many redirects")
        raise Unusable(path)

    async def discover(self) -> None:
        principal = await self._principal_url()
        entries, _ = await self._multistatus("discovery", "PROPFIND", principal,
                                             PROPFIND_ADDRESSES, {"Depth": "0"})
        props = entries[0].props if entries else {}
        homes = _hrefs(props.get(names.CALENDAR_HOME_SET))
        addresses = _hrefs(props.get(names.CALENDAR_USER_ADDRESS_SET))
        if not homes:
            self.http.recorder.bad_body("discovery", "no calendar-home-set")
            raise Unusable(principal)
        self.home = homes[0]
        self.address = next((a for a in addresses if a.lower().startswith("mailto:")),
                            addresses[0] if addresses else f"mailto:{self.name}@invalid")
        await self._list_home(initial=True)
        self.population.published(self)

    async def _list_home(self, *, initial: bool) -> None:
        """PROPFIND Depth 1 of the home; a sync when the calendar's ctag moved."""
        if self.home is None:
            raise RuntimeError("self.home is not set")
        op = "discovery" if initial else "poll"
        entries, _ = await self._multistatus(op, "PROPFIND", self.home, PROPFIND_HOME,
                                             {"Depth": "1"})
        chosen = self._choose_calendar(entries)
        if chosen is None:
            self.http.recorder.bad_body(op, "no calendar for events in the home")
            raise Unusable(self.home)
        if self.calendar is None:
            self.calendar = chosen.href
        ctag = _text(chosen.props.get(names.GETCTAG)) or _text(
            chosen.props.get(names.SYNC_TOKEN))
        if initial or ctag != self.ctag:
            await self.sync()
            self.ctag = ctag

    def _choose_calendar(self, entries: Sequence[Entry]) -> Entry | None:
        for entry in entries:
            if self.calendar is not None:
                if entry.href == self.calendar:
                    return entry
                continue
            kinds = entry.props.get(names.RESOURCETYPE)
            if kinds is None or kinds.find(names.CALENDAR) is None:
                continue
            comps = entry.props.get(names.SUPPORTED_CALENDAR_COMPONENT_SET)
            if comps is None or "VEVENT" in {c.get("name") for c in comps.iter(names.COMP)}:
                return entry
        return None

    async def poll(self) -> None:
        with contextlib.suppress(Unusable):  # counted; the next poll tries again
            await self._list_home(initial=False)

    async def sync(self) -> None:
        """sync-collection from the last token, then multiget of what changed."""
        if self.calendar is None:
            raise RuntimeError("self.calendar is not set")
        entries, token = await self._multistatus(
            "sync", "REPORT", self.calendar, SYNC_COLLECTION.format(token=self.token),
            {"Depth": "0"}, report="sync-collection")
        changed = []
        for entry in entries:
            if entry.status == 404:
                self.cache.pop(entry.href, None)
                continue
            etag = _text(entry.props.get(names.GETETAG))
            known = self.cache.get(entry.href)
            if known is None or known.etag != etag:
                changed.append(entry.href)
        for first in range(0, len(changed), self.b.multiget_batch):
            await self.multiget(changed[first:first + self.b.multiget_batch])
        if token:
            self.token = token

    async def multiget(self, hrefs: Sequence[str]) -> None:
        if self.calendar is None:
            raise RuntimeError("self.calendar is not set")
        body = MULTIGET.format(hrefs="".join(f"<D:href>{_xml_text(h)}</D:href>"
                                             for h in hrefs))
        entries, _ = await self._multistatus("multiget", "REPORT", self.calendar, body,
                                             {"Depth": "1"}, report="calendar-multiget")
        for entry in entries:
            data = _text(entry.props.get(names.CALENDAR_DATA))
            if entry.status == 404 or data is None:
                self.cache.pop(entry.href, None)
                continue
            cached = Cached(_text(entry.props.get(names.GETETAG)), parse_event(data))
            self.cache[entry.href] = cached
            self.latest[entry.href] = cached

    # -- writes --

    def _other_device(self) -> bool:
        return self.rng.random() < self.b.other_device_fraction

    def _new_event(self, attendees: Sequence[SimUser]) -> SimEvent:
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        day = self.rng.randint(-self.b.window_days_before, self.b.window_days_after)
        start = today + timedelta(days=day, hours=self.rng.randrange(8, 18),
                                  minutes=self.rng.choice((0, 15, 30, 45)))
        invited: dict[str, str] = {}
        organizer = None
        if attendees and self.address:
            organizer = self.address
            invited = {self.address: "ACCEPTED",
                       **{a.address: "NEEDS-ACTION" for a in attendees if a.address}}
        # Always a new UID (not from the seeded choices): a second run against the same
        # server must not meet the first one's events.
        return SimEvent(uid=str(uuid.uuid4()),
                        start=start, minutes=self.rng.choice(DURATIONS_MIN),
                        summary=self.rng.choice(SUMMARIES), organizer=organizer,
                        attendees=invited)

    async def _put(self, op: str, href: str, event: SimEvent, *, if_match: str | None,
                   races: Sequence[int] = ()) -> Answer | None:
        condition = {"If-Match": if_match} if if_match else {"If-None-Match": "*"}
        return await self.http.request(op, "PUT", self._url(href, op), self.auth,
                                       body=event.ics(), headers={**ICS, **condition},
                                       expect=(201, 204), races=races)

    def _remember(self, href: str, answer: Answer, event: SimEvent, *, here: bool) -> None:
        cached = Cached(answer.headers.get("ETag"), event)
        self.latest[href] = cached
        if here:
            self.cache[href] = cached

    async def create(self) -> None:
        if self.calendar is None:
            return
        invite = self.rng.random() < self.b.invite_fraction
        attendees = self.population.invitees(self, self.b.attendees_per_invite,
                                             self.rng) if invite else []
        event = self._new_event(attendees)
        href = f"{self.calendar}{event.uid}.ics"
        op = "invite" if attendees else "create"
        try:
            answer = await self._put(op, href, event, if_match=None)
        except Unusable:
            return
        if answer is None:
            return
        self._remember(href, answer, event, here=not self._other_device())
        for attendee in attendees:
            self.population.send(attendee, Invitation(self.name, event),
                                 self.rng.expovariate(1 / self.b.accept_delay)
                                 if self.b.accept_delay > 0 else 0.0)
            self.population.counts["sent"] += 1

    def _editable(self) -> list[str]:
        return [href for href, c in self.cache.items()
                if c.event is not None and c.event.organizer in (None, self.address)]

    async def edit(self) -> None:
        hrefs = self._editable()
        if not hrefs:
            return
        href = self.rng.choice(hrefs)
        if self._other_device():
            known = self.latest.get(href) or self.cache[href]
            if known.event is None:
                raise RuntimeError("known.event is not set")
            event = known.event.edited(self.rng)
            answer = await self._put_if_match(href, known, event)
            if answer is not None:
                self._remember(href, answer, event, here=False)
            return
        await self._edit_here(href, lambda e: e.edited(self.rng))

    async def _put_if_match(self, href: str, known: Cached, event: SimEvent,
                            ) -> Answer | None:
        try:
            return await self._put("edit", href, event, if_match=known.etag or "*",
                                   races=(412,))
        except Unusable:
            return None

    async def _edit_here(self, href: str, change: Any) -> bool:
        """PUT ``change(event)`` with If-Match the cached ETag; on 412 GET the event again
        and retry once, as a client does.  True when the edit was stored."""
        known = self.cache.get(href) or self.latest.get(href)
        for attempt in range(2):
            if known is None or known.event is None:
                return False
            event = change(known.event)
            answer = await self._put_if_match(href, known, event)
            if answer is None:
                return False
            if answer.status != 412:
                self._remember(href, answer, event, here=True)
                return True
            if attempt == 0:
                known = await self._refetch(href)
        return False

    async def _refetch(self, href: str) -> Cached | None:
        try:
            answer = await self.http.request("edit", "GET", self._url(href, "edit"), self.auth,
                                             races=(404,))
        except Unusable:
            return None
        if answer is None or answer.status != 200:
            self.cache.pop(href, None)
            return None
        cached = Cached(answer.headers.get("ETag"), parse_event(answer.body.decode(
            "utf-8", "replace")))
        self.cache[href] = self.latest[href] = cached
        return cached

    # -- mail --

    async def _handle(self, item: Mail) -> None:
        if isinstance(item, Invitation):
            await self.accept(item)
        else:
            await self.apply_reply(item)

    async def accept(self, invitation: Invitation) -> None:
        """The invitee's copy: the organizer's event with this user's PARTSTAT=ACCEPTED,
        PUT into its own calendar; then the reply goes back by mail."""
        if self.calendar is None or self.address is None:
            return
        event = invitation.event.with_partstat(self.address, "ACCEPTED")
        href = f"{self.calendar}{event.uid}.ics"
        try:
            answer = await self._put("accept", href, event, if_match=None)
        except Unusable:
            return
        if answer is None:
            return
        self._remember(href, answer, event, here=True)
        self.population.counts["accepted"] += 1
        organizer = self.population.users.get(invitation.organizer)
        if organizer is not None:
            self.population.send(organizer, Reply(event.uid, self.address, "ACCEPTED"),
                                 REPLY_TRANSIT_S * self.rng.uniform(0.5, 1.5))

    async def apply_reply(self, reply: Reply) -> None:
        """The organizer records the attendee's answer: an edit of its own event."""
        if self.calendar is None:
            return
        href = f"{self.calendar}{reply.uid}.ics"
        if href not in self.cache and href not in self.latest:
            return
        if await self._edit_here(href, lambda e: e.with_partstat(reply.attendee,
                                                                 reply.partstat)):
            self.population.counts["replies_applied"] += 1


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
