"""A request body trickled to hold a request slot (issue #16, item 5's sibling).

RFC 9110 §15.5.9: 408 when the request did not arrive in time.  The body has
ReadBodyTimeOut plus a second per 8 KiB received; a byte now and then does not
keep it alive, and the slot it held serves the next request.  Before: the PUT
stayed in its handler for as long as the client kept sending.
"""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path
from urllib.parse import urlsplit

from tests.conftest import PgDatabase
from tests.functional.conftest import CAL01, event, serving

AUTH = "Basic " + base64.b64encode(b"user01:user01").decode()


async def _status_of_trickled_put(base: str, body: bytes, seconds: float) -> tuple[int, float]:
    """PUT ``body`` a byte every 0.2 s; the answer's status and when it came."""
    where = urlsplit(base)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    started = time.monotonic()
    writer.write(f"PUT {CAL01}slow.ics HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH}\r\n"
                 f"Content-Type: text/calendar\r\nContent-Length: {len(body)}\r\n\r\n".encode())

    async def trickle() -> None:
        for byte in body:
            writer.write(bytes([byte]))
            await asyncio.sleep(0.2)

    sending = asyncio.create_task(trickle())
    try:
        line = await asyncio.wait_for(reader.readline(), seconds)
    finally:
        sending.cancel()
        writer.close()
    return int(line.split()[1]), time.monotonic() - started


async def test_a_trickled_body_gets_408_and_frees_its_slot(pg_database: PgDatabase,
                                                           tmp_path: Path) -> None:
    async with serving(pg_database, tmp_path, ReadBodyTimeOut=1, MaxRequests=1) as dav:
        status, took = await _status_of_trickled_put(dav.base, event("slow-1").encode(), 20)
        assert status == 408 and took < 1 + 3, (status, took)
        assert (await dav.put(CAL01 + "fast.ics", event("fast-1"))).status == 201
        assert (await dav.request("GET", CAL01 + "slow.ics")).status == 404
