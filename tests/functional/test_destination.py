"""Destination URLs that name this server by any of its names (issue #16, item 10).

RFC 4918 §10.3: Destination is an absolute URI (or path); §9.8.5/§9.9.4: 502 only
when it is on another server.  Before: only the request's Host header counted, so a
MOVE naming ``ServerHostName`` and its port (what the server itself puts in URLs)
from a client that reached the host at another name got 502.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PgDatabase
from tests.functional.conftest import CAL01, HOME01, event, serving

DIR = HOME01 + "litmus/"


@pytest.mark.parametrize(("origin", "headers"), [
    ("http://cal.example.com:8008", {}),  # ServerHostName and HTTPPort
    ("https://cal.example.com:8443", {}),  # ... and SSLPort
    ("https://cal.example.com", {}),  # ... behind a load balancer on a default port
    ("http://CAL.example.com:80", {}),
    ("https://proxy.example.org", {"X-Forwarded-Host": "proxy.example.org"}),
    ("http://front.example.org:8080", {"Forwarded": 'for=10.0.0.1;host="front.example.org:8080"'}),
])
async def test_move_and_copy_to_this_servers_names(pg_database: PgDatabase, tmp_path: Path,
                                                   origin: str, headers: dict[str, str]) -> None:
    async with serving(pg_database, tmp_path, ServerHostName="cal.example.com", HTTPPort=8008,
                       SSLPort=8443, SSLCertificate="unused.pem",
                       SSLPrivateKey="unused.key") as dav:  # the app reads neither
        assert (await dav.put(CAL01 + "a.ics", event("dest-1"))).status == 201
        moved = await dav.request("MOVE", CAL01 + "a.ics",
                                  headers={"Destination": origin + CAL01 + "b.ics", **headers})
        assert moved.status == 201, moved.body
        assert (await dav.request("GET", CAL01 + "b.ics")).status == 200
        assert (await dav.request("MKCOL", DIR)).status == 201
        assert (await dav.request("PUT", DIR + "f.txt", "x")).status == 201
        copied = await dav.request("COPY", DIR + "f.txt",
                                   headers={"Destination": origin + DIR + "g.txt", **headers})
        assert copied.status == 201, copied.body


@pytest.mark.parametrize("destination", [
    "http://other.example.net:8008",
    "http://cal.example.com:9999",
    "ftp://cal.example.com",
])
async def test_another_server_is_still_502(pg_database: PgDatabase, tmp_path: Path,
                                           destination: str) -> None:
    async with serving(pg_database, tmp_path, ServerHostName="cal.example.com",
                       HTTPPort=8008) as dav:
        assert (await dav.put(CAL01 + "a.ics", event("dest-2"))).status == 201
        moved = await dav.request("MOVE", CAL01 + "a.ics", headers={
            "Destination": destination + CAL01 + "b.ics", "X-Forwarded-Host": "bad:host:x"})
        assert moved.status == 502, moved.body
        assert (await dav.request("GET", CAL01 + "a.ics")).status == 200
