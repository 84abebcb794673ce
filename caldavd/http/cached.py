"""Which PROPFINDs the response cache answers, and what validates their answers.

Requests inside a calendar home made by the home's owner qualify: that is
what clients poll (the home at Depth 1 for CTags and sync tokens, calendars at
Depth 1 for ETags).  Their answers follow from the home's rows and the owner's
directory record, so the validator is the home's id and change token, read
when the request resolved its target (before anything is computed), and a
digest of the record.  Requests by others (administrators, and delegates once
delegation grants rights) are not cached: their rights can change without the
home changing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from aiohttp import web

from caldavd.cache.response import ResponseCache
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
    record = hashlib.sha256(repr(owner).encode()).hexdigest()[:32]
    return f"{home.id}:{home.change_token}:{record}".encode()


def propfind_slot(request: web.Request, ctx: Context, resource: Resource, depth: str,
                  body: bytes) -> CacheSlot | None:
    cache = request.app[RESPONSE_CACHE]
    if cache is None:
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
