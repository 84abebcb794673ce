"""One line of caldavd's access log, parsed into an ``AccessRecord``.

    127.0.0.1 - user01 [01/Dec/2026:20:48:08 +0000] "REPORT /c/u1/cal/ HTTP/1.1" 207 1234
    "-" "DAVx5/4.3 (dav4jvm)" 12.84 node=host1 w=2 in=345 type=calendar-multiget depth=1
    cache=miss db=3.10                                              (one line, wrapped here)

The Combined Log Format (remote, ident, user, ``[timestamp]``, quoted request
line, status, response bytes, quoted referer and user-agent; ``"`` and ``\\``
inside quotes backslash-escaped), then the response time in milliseconds, then
``key=value`` extras in any order.  Older lines stop after the milliseconds,
the oldest after the user-agent, so everything from the milliseconds on may be
missing.  Known extras become typed fields (``node``, ``w`` -> ``worker``,
``in`` -> ``body_bytes``, ``type``, ``depth``, ``cache``, ``db`` -> ``db_ms``);
an unknown key lands in ``extras`` (a later server may add keys this parser has
not heard of); a known key whose value does not fit its type is dropped rather
than failing the line, because one odd field should not cost the whole request
its count.

Kept deliberately cheap -- one precompiled regular expression for the fixed
prefix, a ``split`` for the extras, timestamps parsed by hand and cached (a
busy log repeats each second many times) -- since ``caldavd-logstats`` runs it
over whole days of logs.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

_QUOTED = r'"([^"\\]*(?:\\.[^"\\]*)*)"'
_LINE = re.compile(
    r"(\S+) (\S+) (\S+) \[([^\]]+)\] "
    + _QUOTED
    + r" (\d{3}) (\d+|-) "
    + _QUOTED
    + " "
    + _QUOTED
    + r"(?: (\d+(?:\.\d*)?)(?: (.*))?)?\Z"
)
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|[\\\"nrt])")
_NAMED_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}
_KNOWN = frozenset({"node", "w", "in", "type", "depth", "cache", "db"})
_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


# Paths that monitors poll (the server logs them but does not count them in its live
# statistics: caldavd.http.accesslog.UNCOUNTED, which a test keeps equal).
MONITORING = frozenset({"/health", "/stats", "/metrics"})


class UnparsableLine(ValueError):
    """The line is not an access-log line (the message says which part failed)."""


@dataclass(slots=True)
class AccessRecord:
    """One request as the access log tells it; ``None`` where the line says ``-``
    or does not say at all."""

    remote: str
    user: str | None
    time: datetime
    request: str
    method: str
    target: str
    protocol: str
    status: int
    size: int | None
    referer: str | None
    agent: str | None
    ms: float | None
    node: str | None = None
    worker: int | None = None
    body_bytes: int | None = None
    type: str | None = None
    depth: str | None = None
    cache: str | None = None
    db_ms: float | None = None
    extras: dict[str, str] = field(default_factory=dict)


def parse_line(line: str) -> AccessRecord:
    """The record of one access-log line (a trailing newline is fine)."""
    match = _LINE.match(line.rstrip("\r\n"))
    if match is None:
        raise UnparsableLine("not in the access-log format")
    (remote, _ident, user, stamp, request, status, size, referer, agent, ms,
     extras) = match.groups()
    request = _unescape(request)
    method, target, protocol = _split_request(request)
    record = AccessRecord(
        remote, None if user == "-" else user, parse_time(stamp), request, method, target,
        protocol, int(status), None if size == "-" else int(size),
        None if referer == "-" else _unescape(referer),
        None if agent == "-" else _unescape(agent),
        None if ms is None else float(ms))
    if extras:
        _apply_extras(record, extras)
    return record


@functools.lru_cache(maxsize=4096)
def parse_time(stamp: str) -> datetime:
    """``01/Dec/2026:20:48:08 +0000`` (strftime ``%d/%b/%Y:%H:%M:%S %z``), by hand:
    ``strptime`` would cost more than all the rest of the line."""
    try:
        if (len(stamp) != 26 or stamp[2] != "/" or stamp[6] != "/" or stamp[11] != ":"
                or stamp[14] != ":" or stamp[17] != ":" or stamp[20] != " "):
            raise ValueError(stamp)
        return datetime(int(stamp[7:11]), _MONTHS[stamp[3:6]], int(stamp[0:2]),
                        int(stamp[12:14]), int(stamp[15:17]), int(stamp[18:20]),
                        tzinfo=_offset(stamp[21:]))
    except (KeyError, ValueError) as exc:
        raise UnparsableLine(f"bad timestamp [{stamp}]") from exc


@functools.lru_cache(maxsize=64)
def _offset(text: str) -> timezone:
    if len(text) != 5 or text[0] not in "+-" or not text[1:].isdigit():
        raise ValueError(text)
    minutes = int(text[1:3]) * 60 + int(text[3:5])
    return timezone(timedelta(minutes=-minutes if text[0] == "-" else minutes))


def _unescape(text: str) -> str:
    """Undo the log's backslash escapes (``\\"``, ``\\\\``, and Apache's ``\\xhh``,
    ``\\n``, ``\\r``, ``\\t``); any other backslash stays as it is."""
    if "\\" not in text:
        return text
    return _ESCAPE.sub(_unescaped, text)


def _unescaped(match: re.Match[str]) -> str:
    code = match.group(1)
    if code[0] == "x":
        return chr(int(code[1:], 16))
    return _NAMED_ESCAPES.get(code, code)


def _split_request(request: str) -> tuple[str, str, str]:
    """Method, target and protocol; a request line that is not three words
    (``-``, or bytes from a client that does not speak HTTP) has method ``-``."""
    parts = request.split(" ")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    return "-", request, ""


def _apply_extras(record: AccessRecord, text: str) -> None:
    """Known keys to typed fields; ``-``, an empty value or one of the wrong type
    is as if absent.  Inline rather than a table of converters: this runs for
    every line."""
    for item in text.split():
        key, _, value = item.partition("=")
        if key not in _KNOWN:
            record.extras[key] = value
        elif value == "-" or not value:
            continue
        elif key == "node":
            record.node = value
        elif key == "type":
            record.type = value
        elif key == "depth":
            record.depth = value
        elif key == "cache":
            record.cache = value
        elif key == "db":
            record.db_ms = _milliseconds(value)
        elif value.isascii() and value.isdigit():
            if key == "w":
                record.worker = int(value)
            else:
                record.body_bytes = int(value)


def _milliseconds(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None
