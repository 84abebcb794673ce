"""What a request did, for the access log and the live statistics.

Handlers fill in what only they know (the REPORT's name, the PROPFIND's kind
and depth, whether the response cache answered); the database time is added
by every pooled connection the request takes (``store.postgres.timing``).  The
access logger reads it all when the response has been sent.
"""

from __future__ import annotations

import time

from aiohttp import web

from caldavd.http.errors import Handler
from caldavd.store.postgres.timing import CURRENT, DBTimer


class RequestFacts:
    __slots__ = ("cache", "db", "depth", "kind", "started")

    def __init__(self) -> None:
        # perf_counter at the handler's start: aiohttp's own request time comes from the
        # loop's clock, which uvloop keeps in whole milliseconds.
        self.started = 0.0
        self.kind = "-"  # REPORT: the report's element name; PROPFIND: prop|allprop|propname
        self.depth = "-"
        self.cache = "-"  # hit | miss: the response cache's answer
        self.db = DBTimer()


FACTS = web.RequestKey("facts", RequestFacts)
_NONE = RequestFacts()


def facts_of(request: web.Request) -> RequestFacts:
    """The request's facts, for a handler to fill in."""
    facts = request.get(FACTS)
    if facts is None:  # a handler reached without ``observed``
        facts = request[FACTS] = RequestFacts()
        facts.started = time.perf_counter()
    return facts


def elapsed(facts: RequestFacts, fallback: float) -> float:
    """Seconds from the handler's start to now (the response is written), or aiohttp's
    ``fallback`` for a request that had no handler of ours."""
    return time.perf_counter() - facts.started if facts.started else fallback


def logged_facts(request: web.BaseRequest) -> RequestFacts:
    """The request's facts as the access log reads them (a blank one when none were kept:
    never changed, so one is shared)."""
    facts = request.get(FACTS)
    return facts if isinstance(facts, RequestFacts) else _NONE


def observed(handler: Handler) -> Handler:
    """``handler`` with a ``RequestFacts`` of its own and its database time counted."""

    async def observed_handler(request: web.Request) -> web.StreamResponse:
        facts = request[FACTS] = RequestFacts()
        facts.started = time.perf_counter()
        token = CURRENT.set(facts.db)
        try:
            return await handler(request)
        finally:
            CURRENT.reset(token)

    return observed_handler
