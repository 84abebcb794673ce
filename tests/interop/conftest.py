"""Interop fixtures: the real app served on a real loopback TCP port, usable by
other threads and other processes (client libraries, vdirsyncer).

pytest-asyncio gives every test its own event loop, so the server gets a loop
of its own in a background thread; the tests themselves are plain sync tests.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from caldavd.http.errors import Handler
from caldavd.server.app import create_app
from caldavd.store.postgres.migrate import upgrade_to_head
from tests.conftest import PgDatabase
from tests.functional.conftest import USER01_UID, config_for

START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0

HOME01 = f"/calendars/__uids__/{USER01_UID}/"


def basic_auth(user: str) -> str:
    """The Authorization header value for a sample account (password = user name)."""
    return "Basic " + base64.b64encode(f"{user}:{user}".encode()).decode()


@dataclass(frozen=True)
class Seen:
    """One request the server answered."""

    method: str
    path: str
    status: int


class LiveServer:
    """caldavd on 127.0.0.1:<free port>, running in a thread with its own event loop.

    ``seen`` records every request the server answered (method, path, status), so
    a test can check what a client actually asked for and that nothing got a 5xx.
    """

    def __init__(self, db: PgDatabase, config: Any) -> None:
        self._db = db
        self._config = config
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="caldavd-live", daemon=True)
        self._started: Future[str] = Future()
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.seen: list[Seen] = []

    def server_errors(self) -> list[Seen]:
        """Requests answered with a 5xx status so far."""
        return [s for s in list(self.seen) if s.status >= 500]

    def start(self) -> str:
        self._thread.start()
        self.base_url = self._started.result(timeout=START_TIMEOUT)
        return self.base_url

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(STOP_TIMEOUT)
        assert not self._thread.is_alive(), "the server thread did not stop"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            try:
                base = self._loop.run_until_complete(self._serve())
            except BaseException as exc:
                self._started.set_exception(exc)
                return
            self._started.set_result(base)
            self._loop.run_forever()
        finally:
            if self._runner is not None:
                self._loop.run_until_complete(self._runner.cleanup())
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    async def _serve(self) -> str:
        await upgrade_to_head(self._db.connect_kwargs)
        app = create_app(self._config)
        app.middlewares.insert(0, self._record)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}"

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            self.seen.append(Seen(request.method, request.path, status))


@pytest.fixture
def live(pg_database: PgDatabase, tmp_path: Path) -> Iterator[LiveServer]:
    """A started caldavd serving a fresh database; stopped after the test."""
    server_root = tmp_path / "server"
    server_root.mkdir()
    server = LiveServer(pg_database, config_for(pg_database, server_root))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def live_server(live: LiveServer) -> str:
    """The base URL (no trailing slash) of a caldavd serving a fresh database."""
    return live.base_url
