"""The access log's aiohttp side: a line for every answered request (the format is
``caldavd.ops.accesslog``'s), and where each finished request is counted for the live
statistics."""

from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from caldavd.http.facts import RequestFacts, elapsed, logged_facts
from caldavd.http.keys import PRINCIPAL
from caldavd.ops.accesslog import UNCOUNTED, AccessLogSink, Clock, quoted, referer
from caldavd.ops.stats import WorkerStats, op_key

# The Depth a request asked for when no handler said which it was answered at (refused
# before: 401, 503): the header, or the method's default (RFC 4918 §9.1, RFC 3253 §3.6).
_DEFAULT_DEPTH = {"PROPFIND": "infinity", "REPORT": "0"}
_DEPTHS = frozenset({"0", "1", "infinity"})


def answered_depth(request: web.BaseRequest, facts: RequestFacts) -> str:
    """The handler's depth, else the one the request asked for."""
    return facts.depth if facts.depth != "-" else requested_depth(request)


def requested_depth(request: web.BaseRequest) -> str:
    default = _DEFAULT_DEPTH.get(request.method)
    if default is None:
        return "-"
    value = request.headers.get("Depth", default).strip().lower()
    return value if value in _DEPTHS else "-"


def format_line(request: web.BaseRequest, response: web.StreamResponse, seconds: float,
                stamp: str, worker: str = "-", depth: str | None = None) -> str:
    """One line; ``worker`` is the ``node=... w=...`` part, the same for every line;
    ``depth`` the one the request was answered at (None: worked out here)."""
    principal = request.get(PRINCIPAL)
    user = principal.short_names[0] if principal is not None and principal.short_names else "-"
    version = request.version
    headers = request.headers
    size = response.content_length
    if size is None:  # streamed: what was written, headers included
        size = response.body_length
    facts = logged_facts(request)
    if depth is None:
        depth = answered_depth(request, facts)
    return (f'{request.remote or "-"} - {user} [{stamp}] '
            f'"{request.method} {quoted(request.raw_path)} HTTP/{version.major}.{version.minor}" '
            f'{response.status} {size} '
            f'"{referer(headers.get("Referer"))}" "{quoted(headers.get("User-Agent"))}" '
            f'{seconds * 1000:.2f} {worker} in={request.content.total_bytes} '
            f'type={facts.kind} depth={depth} cache={facts.cache} '
            f'db={facts.db.seconds * 1000:.2f}\n')


def access_logger_class(sink: AccessLogSink, node: str = "-", worker: int = 0,
                        stats: WorkerStats | None = None) -> type[AbstractAccessLogger]:
    """An aiohttp access logger writing to ``sink`` and counting into ``stats`` (aiohttp
    wants a class; it sees every request once its response is written)."""
    clock = Clock()
    tag = f"node={node.replace(' ', '_') or '-'} w={worker or '-'}"

    class AccessLogger(AbstractAccessLogger):
        def log(self, request: web.BaseRequest, response: web.StreamResponse,
                time: float) -> None:
            facts = logged_facts(request)
            seconds = elapsed(facts, time)
            depth = answered_depth(request, facts)
            sink.write(format_line(request, response, seconds, clock.now(), tag, depth))
            if stats is not None and request.path not in UNCOUNTED:
                stats.record(op_key(request.method, facts.kind, depth), response.status,
                             seconds * 1000, facts.db.seconds * 1000, facts.cache)

        @property
        def enabled(self) -> bool:
            return True

    return AccessLogger
