"""Functional fixtures: the real app on a real loopback socket, a real database.

``dav`` is a small client that speaks as user01 unless told otherwise.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from aiohttp.web import BaseRunner
from lxml import etree

from caldavd.config import build_config
from caldavd.dav import names
from caldavd.http.keys import CONFIG
from caldavd.server.app import create_app
from caldavd.server.connections import ConnectionLimits, GuardedRunner
from caldavd.store.postgres.migrate import upgrade_to_head
from tests.conftest import PgDatabase
from tests.tools.helpers import ACCOUNTS

NS = {"D": names.DAV_NS, "C": names.CALDAV_NS, "CS": names.CS_NS, "A": names.ICAL_NS}
USER01_UID = "10000000-0000-0000-0000-000000000001"
USER02_UID = "10000000-0000-0000-0000-000000000002"
HOME01 = f"/calendars/__uids__/{USER01_UID}/"
HOME02 = f"/calendars/__uids__/{USER02_UID}/"
CAL01 = HOME01 + "calendar/"


def child(parent: etree._Element, path: str) -> etree._Element:
    """The first element at ``path`` (prefixes of ``NS``) below ``parent``; it must exist."""
    found = parent.find(path, NS)
    assert found is not None, f"no {path} in {etree.tostring(parent)!r}"
    return found


def text_at(parent: etree._Element, path: str) -> str:
    """The text of the first element at ``path`` below ``parent``; it must exist."""
    found = parent.findtext(path, namespaces=NS)
    assert found is not None, f"no {path} in {etree.tostring(parent)!r}"
    return found


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def xml(self) -> etree._Element:
        return etree.fromstring(self.body)

    def find(self, path: str) -> etree._Element | None:
        return self.xml.find(path, NS)

    def findall(self, path: str) -> list[etree._Element]:
        return self.xml.findall(path, NS)

    def texts(self, path: str) -> list[str]:
        return [e.text or "" for e in self.xml.iterfind(path, NS)]

    def error(self) -> str | None:
        """The Clark name of the DAV:error's condition element, if any."""
        if not self.body.strip().startswith(b"<"):
            return None
        root = self.xml
        if root.tag != names.ERROR or len(root) == 0:
            return None
        return str(root[0].tag)

    def responses(self) -> dict[str, etree._Element]:
        return {r.findtext("D:href", namespaces=NS) or "": r
                for r in self.xml.iterfind("D:response", NS)}


class Dav:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def request(self, method: str, path: str, body: bytes | str | None = None, *,
                      user: str | None = "user01", headers: Mapping[str, str] | None = None,
                      ) -> Reply:
        all_headers = dict(headers or {})
        if user is not None:
            token = base64.b64encode(f"{user}:{user}".encode()).decode()
            all_headers["Authorization"] = f"Basic {token}"
        data = body.encode() if isinstance(body, str) else body
        async with self.session.request(method, self.base + path, data=data,
                                        headers=all_headers, allow_redirects=False) as resp:
            return Reply(resp.status, resp.headers.copy(), await resp.read())

    async def propfind(self, path: str, *props: str, depth: str = "0",
                       user: str | None = "user01") -> Reply:
        inner = "".join(f'<{p.split("}")[1]} xmlns="{p[1:].split("}")[0]}"/>' for p in props)
        body = (f'<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>{inner}</D:prop>'
                "</D:propfind>")
        return await self.request("PROPFIND", path, body, user=user, headers={"Depth": depth})

    async def put(self, path: str, ics: str, *, user: str = "user01",
                  headers: Mapping[str, str] | None = None) -> Reply:
        return await self.request("PUT", path, ics, user=user, headers={
            "Content-Type": "text/calendar; charset=utf-8", **(headers or {})})

    async def report(self, path: str, body: str, *, depth: str = "1",
                     user: str = "user01") -> Reply:
        return await self.request("REPORT", path, body, user=user, headers={"Depth": depth})


def config_for(db: PgDatabase, tmp: Path, **overrides: Any) -> Any:
    settings: dict[str, Any] = {
        "ServerRoot": str(tmp), "DBType": "postgres", "DSN": db.url,
        "Memcached": {"Pools": {"Default": {"ClientEnabled": False, "ServerEnabled": False}}},
        "DirectoryService": {"type": "xml", "params": {"xmlFile": str(ACCOUNTS)}},
    }
    settings.update(overrides)
    return build_config(settings, base_dir=tmp)


class GuardedTestServer(TestServer):
    """The app behind a worker's own connection layer (``caldavd.server.connections``)."""

    async def _make_runner(self, **kwargs: Any) -> BaseRunner:
        return GuardedRunner(self.app, ConnectionLimits.of(self.app[CONFIG]), **kwargs)


@contextlib.asynccontextmanager
async def serving(db: PgDatabase, tmp: Path, **overrides: Any) -> AsyncIterator[Dav]:
    """The app with ``overrides`` over the test configuration, on a loopback socket."""
    await upgrade_to_head(db.connect_kwargs)
    app = create_app(config_for(db, tmp, **overrides))
    async with GuardedTestServer(app, host="127.0.0.1") as server, \
            aiohttp.ClientSession() as session:
        yield Dav(session, str(server.make_url("")).rstrip("/"))


@pytest.fixture
async def dav(pg_database: PgDatabase, tmp_path: Path) -> AsyncIterator[Dav]:
    async with serving(pg_database, tmp_path) as client:
        yield client


def event(uid: str, start: str = "20260105T100000Z", end: str = "20260105T110000Z",
          summary: str = "Meeting", extra: str = "") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//caldavd tests//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\n"
        f"DTEND:{end}\r\nSUMMARY:{summary}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n")


def todo(uid: str, due: str = "20260110T120000Z", summary: str = "Task") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//caldavd tests//EN\r\n"
        f"BEGIN:VTODO\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDUE:{due}\r\n"
        f"SUMMARY:{summary}\r\nEND:VTODO\r\nEND:VCALENDAR\r\n")
