"""caldavd-logstats' reading: log files, gzip or plain or standard input, with progress."""

from __future__ import annotations

import gzip
import io
import os
import stat
import sys
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

from caldavd.cli.common import fail
from caldavd.ops.logparse import UnparsableLine, parse_line
from caldavd.tools.logstats.tally import GZIP_MAGIC, PROGRESS_SECONDS, Stats, host_of_path

# -- reading -------------------------------------------------------------------

class _CountingReader(io.RawIOBase):
    """The bytes read from the file so far: for a gzipped log, the compressed
    offset, which is what progress can compare with the file's size."""

    def __init__(self, raw: io.FileIO) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        got = self._raw.readinto(buffer)
        if got:
            self.count += got
        return got

    def close(self) -> None:
        self._raw.close()
        super().close()


@dataclass(frozen=True, slots=True)
class Source:
    path: str
    host: str
    size: int | None


def check_sources(paths: Sequence[str]) -> list[Source]:
    """Every log readable before any is read: a typo should not cost an hour."""
    sources = []
    for path in paths:
        try:
            size = _size(sys.stdin.fileno()) if path == "-" else _size_of(path)
        except OSError as exc:
            fail(f"{path}: {exc.strerror or exc}")
        sources.append(Source(path, host_of_path(path), size))
    return sources


def _size_of(path: str) -> int | None:
    with open(path, "rb") as probe:
        return _size(probe.fileno())


def _size(fd: int) -> int | None:
    info = os.fstat(fd)
    return info.st_size if stat.S_ISREG(info.st_mode) else None


@contextmanager
def open_log(source: Source) -> Iterator[tuple[TextIO, _CountingReader]]:
    """The log's lines (gunzipped if it starts like gzip) and its byte counter."""
    raw = (io.FileIO(sys.stdin.fileno(), closefd=False) if source.path == "-"
           else io.FileIO(source.path))
    counter = _CountingReader(raw)
    buffered = io.BufferedReader(counter, buffer_size=1 << 16)
    binary: io.BufferedReader[_CountingReader] | gzip.GzipFile = buffered
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        binary = gzip.GzipFile(fileobj=buffered, mode="rb")
    text = io.TextIOWrapper(binary, encoding="utf-8", errors="replace", newline="\n")
    try:
        yield text, counter
    finally:
        text.close()


class Progress:
    """One line on standard error, rewritten at most four times a second."""

    def __init__(self, stream: TextIO, total: int | None, enabled: bool) -> None:
        self.stream = stream
        self.total = total
        self.enabled = enabled
        self.started = time.monotonic()
        self._shown = self.started - PROGRESS_SECONDS
        self._width = 0

    def update(self, done: int, lines: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._shown < PROGRESS_SECONDS:
            return
        self._shown = now
        rate = lines / max(now - self.started, 1e-6)
        text = f"{_bytes_text(done)}"
        if self.total:
            text += f" / {_bytes_text(self.total)}  {min(done / self.total, 1.0):6.1%}"
        text += f"  {lines:,} lines  {rate:,.0f} lines/s"
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
        self._width = len(text)

    def finish(self, done: int, lines: int) -> None:
        if self.enabled:
            self.update(done, lines, force=True)
            self.stream.write("\n")
            self.stream.flush()


def _bytes_text(count: int) -> str:
    """Bytes in the unit that keeps a progress line short and still moving."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            return f"{count / size:,.1f} {unit}"
    return f"{count} B"


def read_all(sources: Sequence[Source], stats: Stats, progress: Progress) -> None:
    done = 0
    for source in sources:
        try:
            done += read_one(source, stats, progress, done)
        except (OSError, EOFError, zlib.error) as exc:
            progress.finish(done, stats.lines)
            fail(f"{source.path}: {getattr(exc, 'strerror', None) or exc}")
    progress.finish(done, stats.lines)
    stats.finish()


def read_one(source: Source, stats: Stats, progress: Progress, before: int) -> int:
    """Feed one log to ``stats``; the bytes it took."""
    with open_log(source) as (lines, counter):
        for number, line in enumerate(lines, 1):
            if not number & 0x3FF:
                progress.update(before + counter.count, stats.lines)
            try:
                record = parse_line(line)
            except UnparsableLine:
                if line.strip():
                    stats.add_unparsed(source.path, number, line)
                continue
            stats.add(record, record.node or source.host)
        return counter.count
