"""The scheduling privileges (RFC 6638 §6) and who holds them.

On a scheduling inbox: ``schedule-deliver`` (aggregating ``schedule-deliver-invite``,
``schedule-deliver-reply`` and ``schedule-query-freebusy``), which decides whether a
calendar user may deliver to the inbox's owner or ask for their free-busy.  On a
scheduling outbox: ``schedule-send`` (``schedule-send-invite``, ``schedule-send-reply``,
``schedule-send-freebusy``), whether a calendar user may schedule as the owner.

As Apple's server grants them: the owner holds all; every authenticated calendar user
may deliver to any inbox and query its owner's free-busy; a write delegate
(calendar-proxy-write) sends as the owner; a read delegate sends nothing.
"""

from __future__ import annotations

from typing import Literal

from caldavd.dav import names
from caldavd.proxy import ProxyDB

DELIVER = frozenset({names.SCHEDULE_DELIVER, names.SCHEDULE_DELIVER_INVITE,
                     names.SCHEDULE_DELIVER_REPLY, names.SCHEDULE_QUERY_FREEBUSY})
SEND = frozenset({names.SCHEDULE_SEND, names.SCHEDULE_SEND_INVITE, names.SCHEDULE_SEND_REPLY,
                  names.SCHEDULE_SEND_FREEBUSY})
# RFC 6638 §6.1.1, §6.2.1: the aggregates and what they contain, under DAV:all.
TREE: tuple[tuple[str, tuple[str, ...]], ...] = (
    (names.SCHEDULE_DELIVER, (names.SCHEDULE_DELIVER_INVITE, names.SCHEDULE_DELIVER_REPLY,
                              names.SCHEDULE_QUERY_FREEBUSY)),
    (names.SCHEDULE_SEND, (names.SCHEDULE_SEND_INVITE, names.SCHEDULE_SEND_REPLY,
                           names.SCHEDULE_SEND_FREEBUSY)),
)

# How a principal stands to a home's owner.
Standing = Literal["owner", "write", "read", "other"]
Box = Literal["inbox", "outbox"]


def granted(box: Box, standing: Standing) -> frozenset[str]:
    """The scheduling privileges ``standing`` holds on the owner's ``box``."""
    if box == "inbox":
        return DELIVER  # the owner and every authenticated calendar user
    return SEND if standing in ("owner", "write") else frozenset()


def may_deliver(privilege: str = names.SCHEDULE_DELIVER) -> bool:
    """Whether a local calendar user may deliver to another's inbox (``privilege``:
    ``schedule-deliver-invite``, ``-reply`` or ``schedule-query-freebusy``): every
    authenticated calendar user may (the delivery code calls this for each recipient,
    so a stricter policy is one place)."""
    return privilege in granted("inbox", "other")


async def may_send(proxies: ProxyDB, actor_uids: frozenset[str], owner_uid: str,
                   privilege: str = names.SCHEDULE_SEND) -> bool:
    """Whether the principal (``actor_uids``: its uid and its groups', as
    ``http.context.uids_acting_as``) may schedule as ``owner_uid`` (``privilege``:
    ``schedule-send-invite``, ``-reply`` or ``-freebusy``): the owner, or a write
    delegate."""
    if owner_uid in actor_uids:
        return privilege in granted("outbox", "owner")
    access = await proxies.access(owner_uid, actor_uids)
    standing: Standing = "write" if access == "write" else "read" if access else "other"
    return privilege in granted("outbox", standing)
