"""A raw HTTP/1.1 client: the fuzzer's bytes go on the wire exactly as generated.

aiohttp's client would normalise the URL, refuse odd header values and compute
Content-Length itself; the fuzzer wants none of that.  Each ``Connection`` keeps
one keep-alive socket and reopens it when the server closed it.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

READ_LIMIT = 64 * 1024 * 1024


@dataclass
class Request:
    """One fuzzed request; ``family`` and ``index`` name it for a rerun."""

    method: str
    target: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    body: bytes = b""
    family: str = ""
    index: int = -1
    # None: the client sends a correct Content-Length; otherwise this value, and the
    # request goes on a connection of its own that is half-closed after it.
    content_length: bytes | None = None
    tags: list[str] = field(default_factory=list)

    def wire(self) -> bytes:
        lines = [self.method.encode("latin-1") + b" " + self.target + b" HTTP/1.1"]
        lines += [name.encode("latin-1") + b": " + value for name, value in self.headers]
        length = self.content_length
        if length is None:
            length = str(len(self.body)).encode()
        if length != b"-":
            lines.append(b"Content-Length: " + length)
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body

    def describe(self, limit: int = 2000) -> str:
        text = self.wire()
        shown = text[:limit] + (b"..." if len(text) > limit else b"")
        return f"{self.family}#{self.index} {self.tags}:\n{shown!r}"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class ConnectionClosed(Exception):
    """The server closed the connection without an answer."""


async def read_response(reader: asyncio.StreamReader, method: str) -> Response:
    """The final answer: interim 1xx answers (100 Continue to an Expect) are skipped."""
    while True:
        response = await _read_one(reader, method)
        if not 100 <= response.status < 200:
            return response


async def _read_one(reader: asyncio.StreamReader, method: str) -> Response:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        raise ConnectionClosed(exc.partial[:200].decode("latin-1")) from None
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return Response(status, headers, await _read_body(reader, method, status, headers))


async def _read_body(reader: asyncio.StreamReader, method: str, status: int,
                     headers: dict[str, str]) -> bytes:
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return b""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        return await _read_chunked(reader)
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    return await reader.read(READ_LIMIT)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readline()).split(b";")[0].strip(), 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readline()


class Connection:
    """A keep-alive connection to ``host:port`` that reconnects when needed."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def send(self, request: Request) -> Response | None:
        """The answer, or None when the server closed the connection without one
        (allowed only for requests whose framing is broken on purpose)."""
        if request.content_length is not None:
            return await self._send_alone(request)
        for attempt in range(2):
            reader, writer = await self._open()
            try:
                writer.write(request.wire())
                await writer.drain()
                response = await asyncio.wait_for(read_response(reader, request.method),
                                                  self.timeout)
            except (ConnectionClosed, ConnectionResetError, BrokenPipeError):
                await self.close()
                if attempt:
                    raise
                continue
            if response.header("connection") == "close":
                await self.close()
            return response
        raise AssertionError("unreachable")

    async def _send_alone(self, request: Request) -> Response | None:
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=READ_LIMIT)
        try:
            writer.write(request.wire())
            await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
            return await asyncio.wait_for(read_response(reader, request.method), self.timeout)
        except (ConnectionClosed, ConnectionResetError, BrokenPipeError):
            return None
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port,
                                                          limit=READ_LIMIT)
        return self._streams

    async def close(self) -> None:
        if self._streams is not None:
            writer = self._streams[1]
            self._streams = None
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
