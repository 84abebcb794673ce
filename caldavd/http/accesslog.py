"""The access log: one line per request, written in batches.

    127.0.0.1 - user01 [01/Dec/2026:20:48:08 +0000] "GET /c/x.ics HTTP/1.1" 200 612 "-" "DAVx5" 1.84

Combined Log Format with the response time in milliseconds appended.  Lines
are buffered and written at most once a second (or when 64 KiB have piled
up) instead of one ``write()`` per request through ``logging``: at thousands of
requests a second that write and the logging machinery cost a sixth of a
GET.  A crash loses at most the last second of lines, never a request.
``reopen()`` (on SIGHUP) lets logrotate move the file away.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import IO

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from caldavd.http.keys import PRINCIPAL

FLUSH_SECONDS = 1.0
FLUSH_BYTES = 64 * 1024


class AccessLogSink:
    """Where the lines go: a file (appended to) or standard error."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._file: IO[str] = self._open()
        self._lines: list[str] = []
        self._pending = 0
        self._timer: asyncio.TimerHandle | None = None

    def _open(self) -> IO[str]:
        if self.path is None:
            return sys.stderr
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self.path.open("a", encoding="utf-8", errors="backslashreplace")

    def write(self, line: str) -> None:
        self._lines.append(line)
        self._pending += len(line)
        if self._pending >= FLUSH_BYTES:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._lines:
            self._file.write("".join(self._lines))
            self._file.flush()
            self._lines.clear()
            self._pending = 0

    def reopen(self) -> None:
        """After logrotate moved the file: flush, then append to a new one."""
        self.flush()
        if self.path is not None:
            self._file.close()
            self._file = self._open()

    def close(self) -> None:
        self.flush()
        if self.path is not None:
            self._file.close()


def _quoted(value: str | None) -> str:
    if not value:
        return "-"
    return value.replace("\\", "\\\\").replace('"', '\\"')


class _Clock:
    """The log's timestamp text, formatted once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._text = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(second))
        return self._text


def format_line(request: web.BaseRequest, response: web.StreamResponse, seconds: float,
                stamp: str) -> str:
    principal = request.get(PRINCIPAL)
    user = principal.short_names[0] if principal is not None and principal.short_names else "-"
    version = request.version
    headers = request.headers
    size = response.content_length
    if size is None:  # streamed: what was written, headers included
        size = response.body_length
    return (f'{request.remote or "-"} - {user} [{stamp}] '
            f'"{request.method} {_quoted(request.raw_path)} HTTP/{version.major}.{version.minor}" '
            f'{response.status} {size} '
            f'"{_quoted(headers.get("Referer"))}" "{_quoted(headers.get("User-Agent"))}" '
            f'{seconds * 1000:.2f}\n')


def access_logger_class(sink: AccessLogSink) -> type[AbstractAccessLogger]:
    """An aiohttp access logger writing to ``sink`` (aiohttp wants a class)."""
    clock = _Clock()

    class AccessLogger(AbstractAccessLogger):
        def log(self, request: web.BaseRequest, response: web.StreamResponse,
                time: float) -> None:
            sink.write(format_line(request, response, time, clock.now()))

        @property
        def enabled(self) -> bool:
            return True

    return AccessLogger
