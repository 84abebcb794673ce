"""Client connections of one worker: deadlines, a bound, and quiet refusals.

aiohttp alone keeps a connection that trickles its request head a byte at a
time open for an hour, and holds any number of them.  Here, per worker:

- ``ReadHeaderTimeOut``: once the first byte of a request arrives, the whole
  head (request line and header fields) must follow within this many seconds
  (a deadline for the head, not a per-byte timer that a trickle keeps
  resetting); otherwise the answer is 408 (RFC 9110 §15.5.9) and the
  connection is closed.
- ``IdleConnectionTimeOut``: a connection with no request for this long (new,
  or kept alive after a response) is closed (RFC 9112 §9.3: either side may
  close an idle connection; clients retry on a new one).
- ``MaxConnectionsPerWorker``: at the bound, a new connection first closes the
  oldest connection that is idle or still sending its head (so a slow or idle
  crowd cannot lock out newcomers such as the load balancer's ``/health``);
  a connection whose request is in progress is never closed for this.  When
  every connection has a request in progress, the new one is answered 503 with
  ``Retry-After`` and closed.

Requests the parser refuses (a malformed request line or header field, a
header over 8,190 bytes) get their 400 with a fixed text, and one INFO line
each in the log, at most ``REFUSALS_PER_SECOND`` a second (then one line says
how many were left out).  No header value reaches the log or the answer:
aiohttp's own report is a traceback at ERROR that quotes the first 100 bytes
of the offending line, e.g. a Base64 password.

Built on aiohttp's ``RequestHandler`` and ``Server``; the parts of them used
here that are not public API are named in ``GuardedHandler``'s docstring.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import http_exceptions, web, web_protocol
from aiohttp.web_request import BaseRequest

from caldavd.config import Config

log = logging.getLogger(__name__)

REFUSALS_PER_SECOND = 5
REFUSAL_LINGER_SECONDS = 2.0
RETRY_AFTER = "5"


def _raw_answer(status: str, text: str, *headers: str) -> bytes:
    """A whole HTTP/1.1 response, for a connection that has no request object."""
    body = text.encode()
    head = [f"HTTP/1.1 {status}", "Connection: close", *headers,
            "Content-Type: text/plain", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


_TIMEOUT_ANSWER = _raw_answer("408 Request Timeout", "request head not sent in time\n")
_BUSY_ANSWER = _raw_answer("503 Service Unavailable", "too many connections; retry later\n",
                           f"Retry-After: {RETRY_AFTER}")
# What a refused request was, in words that quote nothing the client sent.
_KINDS: tuple[tuple[type[Exception], str], ...] = (
    (http_exceptions.LineTooLong, "a request line or header field too long"),
    (http_exceptions.BadHttpMethod, "an unknown method or not HTTP"),
    (http_exceptions.BadStatusLine, "a malformed request line"),
    (http_exceptions.InvalidHeader, "a malformed header field"),
    (http_exceptions.InvalidURLError, "a malformed request target"),
    (http_exceptions.PayloadEncodingError, "a malformed body encoding"),
)


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int
    header_seconds: float
    idle_seconds: float

    @classmethod
    def of(cls, config: Config) -> ConnectionLimits:
        return cls(config.MaxConnectionsPerWorker, config.ReadHeaderTimeOut,
                   config.IdleConnectionTimeOut)


class RefusalLog:
    """INFO lines about refused requests and connections, at most ``per_second`` a second;
    the ones left out are counted in one line when the second is over."""

    def __init__(self, per_second: int = REFUSALS_PER_SECOND) -> None:
        self._per_second = per_second
        self._window_end = 0.0
        self._logged = 0
        self._suppressed = 0
        self._summary: asyncio.TimerHandle | None = None

    def note(self, message: str, *args: object) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if now >= self._window_end:
            self._flush()
            self._window_end, self._logged = now + 1.0, 0
        if self._logged < self._per_second:
            self._logged += 1
            log.info(message, *args)
            return
        self._suppressed += 1
        if self._summary is None:
            self._summary = loop.call_at(self._window_end, self._flush)

    def _flush(self) -> None:
        if self._summary is not None:
            self._summary.cancel()
            self._summary = None
        if self._suppressed:
            log.info("%d more refused request(s) or connection(s) in the last second, "
                     "not logged one by one", self._suppressed)
            self._suppressed = 0


def refusal_kind(exc: BaseException | None) -> str:
    for cls, words in _KINDS:
        if isinstance(exc, cls):
            return words
    return "a malformed request"


class GuardedHandler(web_protocol.RequestHandler):
    """aiohttp's connection protocol with a head deadline, quiet refusals, and a
    refusing mode (the worker is full).

    Uses these non-public parts of aiohttp's ``RequestHandler``: ``_messages`` (parsed
    heads not yet handled), ``_request_in_progress``, ``_keepalive_handle`` and
    ``_process_keepalive`` (its idle timer), ``_loop``; and of ``Server``: ``_kwargs``,
    ``_connections``, ``_loop``.  tests/tools/test_connections.py covers each use.
    """

    def __init__(self, manager: GuardedServer, *, refuse: bool = False, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._guard = manager
        self._refusing = refuse
        self._head_timer: asyncio.TimerHandle | None = None

    def waiting_for_request(self) -> bool:
        """Idle, or receiving a request head: nothing to lose by closing it."""
        return not self._messages and not self._request_in_progress

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._refusing:
            super().connection_made(transport)
            return
        transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport = transport
        self._guard.refusals.note("refused a connection from %s: %d connections open "
                                  "(MaxConnectionsPerWorker), each with a request in progress",
                                  _peer(transport), self._guard.limits.max_connections)
        transport.write(_BUSY_ANSWER)
        if transport.can_write_eof():
            transport.write_eof()
        # Read (and drop) what the client already sent before closing, so the kernel
        # does not reset the connection and lose the answer.
        self._loop.call_later(REFUSAL_LINGER_SECONDS, transport.close)

    def data_received(self, data: bytes) -> None:
        if self._refusing:
            return
        if data and self._head_timer is None and self.waiting_for_request():
            self._head_timer = self._loop.call_later(self._guard.limits.header_seconds,
                                                     self._head_timed_out)
        super().data_received(data)
        if self._head_timer is not None and self._messages:
            self._stop_head_timer()

    def eof_received(self) -> None:
        if self._refusing and self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._stop_head_timer()
        if not self._refusing:
            super().connection_lost(exc)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport is None or not self.waiting_for_request():
            return
        self._guard.refusals.note("closed a connection from %s: request head not complete "
                                  "within %g s (ReadHeaderTimeOut)", _peer(self.transport),
                                  self._guard.limits.header_seconds)
        self.transport.write(_TIMEOUT_ANSWER)
        self.force_close()

    def _process_keepalive(self) -> None:
        if self._head_timer is not None:  # a head is arriving: its own deadline decides
            self._keepalive_handle = None
            return
        super()._process_keepalive()

    def handle_error(self, request: BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        """The parser's refusals: one rate-limited INFO line, a fixed text.  Anything
        else (a bug: 500) keeps aiohttp's traceback."""
        if status >= 500 or not isinstance(exc, http_exceptions.HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        kind = refusal_kind(exc)
        self._guard.refusals.note("refused a request from %s: %d, %s", request.remote,
                                  status, kind)
        if request.writer.output_size > 0:
            raise ConnectionError("an answer was already under way")
        resp = web.Response(status=status, text=f"{status} Bad Request: {kind}\n")
        resp.force_close()
        return resp


class GuardedServer(web.Server):
    """The protocol factory: at most ``limits.max_connections`` connections."""

    def __init__(self, plain: web.Server, limits: ConnectionLimits) -> None:
        super().__init__(plain.request_handler, request_factory=plain.request_factory,
                         handler_cancellation=plain.handler_cancellation,
                         **plain._kwargs)  # the handler arguments aiohttp gathered
        self.limits = limits
        self.refusals = RefusalLog()

    def __call__(self) -> GuardedHandler:
        """Counted are the connections made: one the loop has accepted but not yet handed
        over (a burst of accepts, a TLS handshake under way) is not, so a burst can go
        over by what the loop accepts at once, and a slow handshake blocks nobody."""
        refuse = (len(self._connections) >= self.limits.max_connections
                  and not self._close_one_waiting())
        return GuardedHandler(self, refuse=refuse, loop=self._loop, **self._kwargs)

    def _close_one_waiting(self) -> bool:
        """Close the oldest connection that is idle or still sending its head."""
        for handler in self._connections:  # in the order they were made
            if isinstance(handler, GuardedHandler) and handler.waiting_for_request():
                self._connections.pop(handler)
                if handler.transport is not None:
                    self.refusals.note("closed a waiting connection from %s to make room "
                                       "(MaxConnectionsPerWorker %d)",
                                       _peer(handler.transport), self.limits.max_connections)
                handler.force_close()
                return True
        return False


class GuardedRunner(web.AppRunner):
    """``web.AppRunner`` whose connections are ``GuardedHandler``s under ``limits``."""

    def __init__(self, app: web.Application, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(app, keepalive_timeout=limits.idle_seconds, **kwargs)
        self._limits = limits

    async def _make_server(self) -> web.Server:
        return GuardedServer(await super()._make_server(), self._limits)


def _peer(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else "?"
