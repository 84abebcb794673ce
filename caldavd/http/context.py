"""Per-request context: the app's services, the authenticated principal, and
small per-request memos so one request never looks the same thing up twice."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from caldavd.config import Config
from caldavd.dav import names
from caldavd.directory import Directory, Record
from caldavd.http.keys import CONFIG, DIRECTORY, STORE, principal_of
from caldavd.http.propvalues import text_property
from caldavd.http.resources import DEFAULT_CALENDARS, DEFAULT_NAMES
from caldavd.store import Home, NewCalendar, Store


@dataclass
class Context:
    request: web.Request
    config: Config
    store: Store
    directory: Directory
    principal: Record
    _homes: dict[str, Home] = field(default_factory=dict)

    async def home_of(self, record: Record) -> Home:
        """The record's home, created with the default calendars on first access.

        Created whoever asks (access is checked afterwards), so a delegate or a
        403 answer looks the same whether or not the owner ever logged in.
        """
        if record.uid not in self._homes:
            self._homes[record.uid] = await self.store.ensure_home(record.uid, _defaults())
        return self._homes[record.uid]


def _defaults() -> list[NewCalendar]:
    return [NewCalendar(c.name, c.supported_components,
                        {names.DISPLAYNAME: text_property(names.DISPLAYNAME,
                                                          DEFAULT_NAMES[c.name])})
            for c in DEFAULT_CALENDARS]


CONTEXT = web.RequestKey("context", Context)


def context_of(request: web.Request) -> Context:
    """The request's context; ``attach_context`` made it when the request authenticated
    (``in`` on a request that lacks the key costs a raised KeyError, ~3% of a GET)."""
    try:
        return request[CONTEXT]
    except KeyError:
        return attach_context(request, principal_of(request))


def attach_context(request: web.Request, principal: Record) -> Context:
    app = request.app
    ctx = Context(request=request, config=app[CONFIG], store=app[STORE],
                  directory=app[DIRECTORY], principal=principal)
    request[CONTEXT] = ctx
    return ctx
