"""Bodies whose HTTP framing is broken: a 400, never a 500 with a traceback."""

from __future__ import annotations

import asyncio
import base64
import logging
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import PgDatabase
from tests.functional.conftest import CAL01, serving

AUTH = "Basic " + base64.b64encode(b"user01:user01").decode()


async def _raw(base: str, data: bytes) -> bytes:
    where = urlsplit(base)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    writer.write(data)
    try:
        return await asyncio.wait_for(reader.read(65536), 10)
    finally:
        writer.close()


@pytest.mark.parametrize("body", [
    b"zz\r\nBEGIN\r\n0\r\n\r\n",  # not a chunk size
    b"5\r\nBEGINXX\r\n0\r\n\r\n",  # a chunk longer than its size
])
async def test_broken_chunked_body_is_400(pg_database: PgDatabase, tmp_path: Path,
                                          caplog: pytest.LogCaptureFixture,
                                          body: bytes) -> None:
    async with serving(pg_database, tmp_path) as dav:
        with caplog.at_level(logging.INFO):
            answer = await _raw(dav.base, (
                f"PUT {CAL01}c.ics HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH}\r\n"
                "Content-Type: text/calendar\r\nTransfer-Encoding: chunked\r\n\r\n"
            ).encode() + body)
        assert answer.split(b" ", 2)[1] == b"400", answer
        assert "Traceback" not in caplog.text and "ERROR" not in caplog.text, caplog.text
