"""Which PROPFINDs the response cache answers, and what validates their answers.

Depth 1 requests inside a calendar home made by the home's owner qualify: that
is what clients poll (the home for CTags and sync tokens, calendars for ETags),
and what costs: a calendar's listing is 3.6-5.1 ms of caldavd CPU and 2.6 ms of
PostgreSQL at 2,000 events, a hit 0.6-0.9 ms (bench/README.md, Findings).  A
Depth 0 answer costs less to compute than to fetch from memcached, so it is
not cached.  Their answers follow from the home's rows and the owner's
directory record, so the validator is the home's id and change token, read
when the request resolved its target (before anything is computed), and a
digest of the record.  Requests by others (delegates, administrators) are not
cached: their rights can change without the home changing.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from aiohttp import web

from caldavd.cache.response import ResponseCache
from caldavd.directory import Record
from caldavd.http.context import Context
from caldavd.http.keys import RESPONSE_CACHE
from caldavd.http.resources import HomeResource, Resource

# Request headers that change a PROPFIND answer (RFC 8144 Prefer, Microsoft's Brief).
_SHAPING_HEADERS = ("Prefer", "Brief")


@dataclass(frozen=True)
class CacheSlot:
    """Where one request's answer is looked up and filed."""

    cache: ResponseCache
    key: str
    validator: bytes

    async def get(self) -> bytes | None:
        return await self.cache.get(self.key, self.validator)

    async def put(self, body: bytes) -> None:
        await self.cache.put(self.key, self.validator, body)


def home_validator(ctx: Context, resource: Resource) -> bytes | None:
    """What an answer about ``resource`` was computed from, or None when it may not be cached."""
    if not isinstance(resource, HomeResource) or resource.home is None:
        return None
    owner = resource.record
    if owner is None or owner.uid != ctx.principal.uid:
        return None
    home = resource.home
    return f"{home.id}:{home.change_token}:{record_digest(owner)}".encode()


@functools.lru_cache(maxsize=4096)
def record_digest(record: Record) -> str:
    """A digest of everything a directory record says (the same on every host); records
    are frozen, so one digest per record value is kept rather than made per request."""
    return hashlib.sha256(repr(record).encode()).hexdigest()[:32]


def propfind_slot(request: web.Request, ctx: Context, resource: Resource, depth: str,
                  body: bytes) -> CacheSlot | None:
    cache = request.app[RESPONSE_CACHE]
    if cache is None or depth != "1":
        return None
    validator = home_validator(ctx, resource)
    if validator is None:
        return None
    # No Host: answers hold paths, never this host's name, so every host behind one
    # load balancer shares each entry.
    parts = [b"PROPFIND", ctx.principal.uid.encode(), request.raw_path.encode(),
             depth.encode(), body]
    parts.extend(request.headers.get(h, "").encode() for h in _SHAPING_HEADERS)
    return CacheSlot(cache, cache.key(parts), validator)
