"""What every method handler starts with: the context, the resource, the body."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

from aiohttp import web

from caldavd.dav.errors import (
    BadRequest,
    NotFound,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
)
from caldavd.dav.hrefs import decode_path
from caldavd.http.context import Context, context_of
from caldavd.http.keys import CONFIG
from caldavd.http.resources import Resource, resolve

# Bodies of XML requests (PROPFIND, REPORT, PROPPATCH, MKCALENDAR).
MAX_XML_BODY = 2 * 1024 * 1024

# Content codings of request bodies, decoded here (aiohttp's own decoding is off, see
# ``app``: it refuses br and zstd inside its parser, before any handler could answer).
CONTENT_CODINGS = frozenset({"identity", "gzip", "x-gzip", "deflate"})  # x-gzip: §8.4.1.3
ACCEPT_ENCODING = "gzip, deflate"
_CHUNK = 65536
# Slowest pace a body may arrive at, after ReadBodyTimeOut's grace (64 kbit/s).
MIN_BODY_RATE = 8192


def request_path(request: web.Request) -> str:
    return decode_path(request.raw_path.split("?", 1)[0])


async def target(request: web.Request) -> tuple[Context, Resource]:
    ctx = context_of(request)
    return ctx, await resolve(ctx, request_path(request))


async def existing(request: web.Request) -> tuple[Context, Resource]:
    ctx, resource = await target(request)
    if not resource.exists:
        raise NotFound(f"nothing at {resource.path}")
    return ctx, resource


def check_content_coding(request: web.Request) -> None:
    """A body in a coding that is not decoded here is refused with 415 and Accept-Encoding
    (RFC 9110 §8.4, §12.5.3, §15.5.16), before any of it is read."""
    coding = request.headers.get("Content-Encoding")
    if coding is None or not request.body_exists:
        return
    if coding.strip().lower() not in CONTENT_CODINGS:
        raise UnsupportedMediaType(
            f"Content-Encoding {coding!r} is not supported; use {ACCEPT_ENCODING} or none",
            headers={"Accept-Encoding": ACCEPT_ENCODING})


async def body_chunks(request: web.Request) -> AsyncIterator[bytes]:
    """The body as sent, decoded from gzip or deflate (RFC 9110 §8.4.1), a bounded piece at
    a time (a small body that decodes to gigabytes is read no further than its reader's
    limit); a body that is not in its coding is a 400."""
    coding = (request.headers.get("Content-Encoding") or "identity").strip().lower()
    if coding == "identity":
        async for chunk in _paced(request):
            yield chunk
        return
    decoder = _Decoder(coding)
    async for chunk in _paced(request):
        for piece in decoder.feed(chunk):
            yield piece
    decoder.finish()


async def _paced(request: web.Request) -> AsyncIterator[bytes]:
    """The body as it arrives, while it keeps coming: within ``ReadBodyTimeOut`` plus a
    second for every ``MIN_BODY_RATE`` bytes received so far, else 408 (RFC 9110
    §15.5.9).  A body trickled a byte at a time would otherwise hold one of the
    worker's MaxRequests slots for as long as the client likes."""
    loop = asyncio.get_running_loop()
    grace = request.app[CONFIG].ReadBodyTimeOut
    started, received = loop.time(), 0
    while True:
        try:
            async with asyncio.timeout_at(started + grace + received / MIN_BODY_RATE):
                chunk = await request.content.read(_CHUNK)
        except TimeoutError:
            raise RequestTimeout(f"the request body stopped coming ({received} bytes in "
                                 f"{loop.time() - started:.0f} s)") from None
        if not chunk:
            return
        received += len(chunk)
        yield chunk


class _Decoder:
    """gzip (RFC 1952) or deflate: zlib (RFC 1950), or raw deflate (RFC 1951) as some
    clients send it."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._zlib: Any = None

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:
            if not data:
                return
            gzipped = self.coding in ("gzip", "x-gzip")
            self._zlib = zlib.decompressobj(
                16 + zlib.MAX_WBITS if gzipped
                else zlib.MAX_WBITS if data[0] & 0x0F == 8 else -zlib.MAX_WBITS)
        while data:
            try:
                piece = self._zlib.decompress(data, _CHUNK)
            except zlib.error:
                raise self._broken() from None
            if piece:
                yield piece
            data = self._zlib.unconsumed_tail
            if self._zlib.eof and (data or self._zlib.unused_data):
                raise self._broken()

    def finish(self) -> None:
        if self._zlib is not None and not self._zlib.eof:
            raise self._broken()

    def _broken(self) -> BadRequest:
        return BadRequest(f"the body is not in its Content-Encoding {self.coding}")


async def read_body(request: web.Request, limit: int = MAX_XML_BODY) -> bytes:
    """The body (decoded, see ``body_chunks``), refused with 413 beyond ``limit`` before
    more is read."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"request body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in body_chunks(request):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
