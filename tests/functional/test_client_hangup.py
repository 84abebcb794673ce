"""A client that hangs up in the middle of its request body breaks nothing and is
not reported as a server error."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from caldavd.server.app import create_app
from caldavd.store.postgres.migrate import upgrade_to_head
from tests.conftest import PgDatabase, free_port
from tests.functional.conftest import CAL01, config_for

AUTH = "Authorization: Basic dXNlcjAxOnVzZXIwMQ==\r\n"  # user01:user01


@contextlib.asynccontextmanager
async def _served(db: PgDatabase, tmp: Path) -> AsyncIterator[int]:
    """The app on a real port, as caldavd serves it (aiohttp's TestServer would cancel
    the handler of a client that hangs up instead); its port."""
    await upgrade_to_head(db.connect_kwargs)
    runner = web.AppRunner(create_app(config_for(db, tmp)))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield port
    finally:
        await runner.cleanup()


async def test_a_body_cut_short_is_one_info_line(pg_database: PgDatabase, tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    async with _served(pg_database, tmp_path) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        with caplog.at_level(logging.INFO, logger="caldavd"):
            writer.write((f"PUT {CAL01}cut.ics HTTP/1.1\r\nHost: x\r\n{AUTH}"
                          "Content-Type: text/calendar\r\nContent-Length: 5000\r\n\r\n"
                          "BEGIN:VCALENDAR\r\n").encode())
            await writer.drain()
            writer.close()
            await writer.wait_closed()
            for _ in range(200):  # until the server has noticed (bounded)
                if any("closed the connection" in r.getMessage() for r in caplog.records):
                    break
                await asyncio.sleep(0.01)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert any("closed the connection" in r.getMessage() for r in caplog.records)
        reader2, writer2 = await asyncio.open_connection("127.0.0.1", port)
        writer2.write(f"GET {CAL01}cut.ics HTTP/1.1\r\nHost: x\r\n{AUTH}\r\n".encode())
        status = await reader2.readline()
        writer2.close()
        assert status.split()[1] == b"404", "nothing half-written"
        del reader


async def test_a_client_gone_before_100_continue_is_no_error(
        pg_database: PgDatabase, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """``Expect: 100-continue`` from a client that has already half-closed: the interim
    answer (RFC 9110 §10.1.1) cannot be written, which aiohttp's own handler logged as an
    ERROR traceback (found by the fuzz suite).  Now it is the hang-up it is."""
    async with _served(pg_database, tmp_path) as port:
        with caplog.at_level(logging.INFO):
            for _ in range(5):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write((f"PUT {CAL01}expect.ics HTTP/1.1\r\nHost: x\r\n{AUTH}"
                              "Content-Type: text/calendar\r\nExpect: 100-continue\r\n"
                              "Content-Length: 5000\r\n\r\n").encode())
                writer.write_eof()
                await reader.read()
                writer.close()
            await asyncio.sleep(0.2)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        # A client that waits for the interim answer still gets it, then stores.
        body = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:e\r\n"
                b"DTSTAMP:20260101T000000Z\r\nDTSTART:20260105T100000Z\r\nEND:VEVENT\r\n"
                b"END:VCALENDAR\r\n")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write((f"PUT {CAL01}expect.ics HTTP/1.1\r\nHost: x\r\n{AUTH}"
                      "Content-Type: text/calendar\r\nExpect: 100-continue\r\n"
                      f"Content-Length: {len(body)}\r\n\r\n").encode())
        assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(body)
        assert (await reader.readline()).split()[1] == b"201"
        writer.close()
