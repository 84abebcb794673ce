"""The access log: its line format, and the file its lines go to in batches
(``caldavd.http.accesslog`` makes a line of each answered request).

    127.0.0.1 - user01 [01/Dec/2026:20:48:08 +0000] "REPORT /calendars/__uids__/u1/calendar/
    HTTP/1.1" 207 1234 "-" "DAVx5/4.3" 12.84 node=host1 w=2 in=345 type=calendar-multiget
    depth=1 cache=miss db=3.10                                      (one line, wrapped here)

Combined Log Format, then the response time in milliseconds, then ``key=value``
fields (parsers must accept them in any order and ignore unknown ones):
``node`` (NodeName), ``w`` (worker index), ``in`` (request body bytes read),
``type`` (REPORT: the report's element name; PROPFIND: prop, allprop or
propname), ``depth``, ``cache`` (hit or miss: the response cache), ``db``
(milliseconds holding or waiting for database connections).  ``-`` = does not apply.
``caldavd.ops.logparse`` reads it back.

Lines are buffered and written at most every ``FLUSH_SECONDS`` (or when 64 KiB
have piled up), each batch in one ``write()`` to a file opened for appending,
instead of one write per request through ``logging``: at thousands of requests
a second that write and the logging machinery cost a sixth of a GET.  The
workers of a host append to one file, so lines of different workers can be out
of order by up to ``FLUSH_SECONDS``; a crash loses at most that much, never a
request.  Rotation: ``reopen()`` on SIGHUP lets logrotate move the file away;
with ``AccessLogMaxBytes`` the worker that finds the file full renames it to
``.1`` (``.1`` to ``.2``, ..., up to ``AccessLogBackups``) under a lock file,
and every worker reopens when it sees the name point at a new file.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from caldavd.dav.chars import log_text

FLUSH_SECONDS = 0.2
FLUSH_BYTES = 64 * 1024
# Answered without being counted in the statistics: polled by monitors, not clients.
UNCOUNTED = frozenset({"/health", "/stats", "/metrics"})


@dataclass(frozen=True)
class Rotation:
    max_bytes: int  # 0: never by size
    backups: int


class AccessLogSink:
    """Where the lines go: a file (appended to) or standard error."""

    def __init__(self, path: Path | None, rotation: Rotation = Rotation(0, 1)) -> None:
        self.path = path
        self.rotation = rotation
        self._fd = self._open()
        self._lines: list[str] = []
        self._pending = 0
        self._timer: asyncio.TimerHandle | None = None

    def _open(self) -> int:
        if self.path is None:
            return sys.stderr.fileno()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)

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
        if not self._lines:
            return
        data = "".join(self._lines).encode("utf-8", "backslashreplace")
        self._lines.clear()
        self._pending = 0
        if self.path is None:
            sys.stderr.flush()
        _write_all(self._fd, data)
        if self.path is not None and self.rotation.max_bytes:
            self._rotate_if_full()

    def _rotate_if_full(self) -> None:
        """Rename a full file away (one worker does, under the lock), or follow a
        rename another worker made."""
        if self.path is None:
            raise RuntimeError("self.path is not set")
        if not self._moved() and os.fstat(self._fd).st_size < self.rotation.max_bytes:
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not self._moved() and os.fstat(self._fd).st_size >= self.rotation.max_bytes:
                _shift(self.path, self.rotation.backups)
        self.reopen()

    def _moved(self) -> bool:
        """The log's name no longer names the file this worker writes."""
        if self.path is None:
            raise RuntimeError("self.path is not set")
        try:
            named = os.stat(self.path)
        except FileNotFoundError:
            return True
        mine = os.fstat(self._fd)
        return (named.st_ino, named.st_dev) != (mine.st_ino, mine.st_dev)

    def reopen(self) -> None:
        """After logrotate (or another worker) moved the file: flush, then append to a new one."""
        self.flush()
        if self.path is not None:
            os.close(self._fd)
            self._fd = self._open()

    def close(self) -> None:
        self.flush()
        if self.path is not None:
            os.close(self._fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _shift(path: Path, backups: int) -> None:
    """path.N-1 -> path.N, ..., path -> path.1; the oldest beyond ``backups`` goes."""
    for n in range(backups, 0, -1):
        older = path.with_name(f"{path.name}.{n - 1}") if n > 1 else path
        if older.exists():
            os.replace(older, path.with_name(f"{path.name}.{n}"))


# The user:password@ of a URL (RFC 3986 §3.2.1): never written to the log.
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@]*@")


def referer(value: str | None) -> str:
    return quoted(_USERINFO.sub(r"\1", value) if value and "@" in value else value)


def quoted(value: str | None) -> str:
    if not value:
        return "-"
    return log_text(value).replace('"', '\\"')


class Clock:
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
