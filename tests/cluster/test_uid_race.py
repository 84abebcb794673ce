"""The same UID PUT through two hosts at once: one wins, the other is refused
with CALDAV:no-uid-conflict naming the winner (RFC 4791 §5.3.2.1)."""

from __future__ import annotations

import asyncio

from caldavd.dav import names
from tests.cluster.conftest import Clients, needs_cluster, new_calendar
from tests.cluster.views import etags
from tests.functional.conftest import event

pytestmark = needs_cluster

ROUNDS = 20


async def test_same_uid_through_two_hosts_at_once(clients: Clients) -> None:
    a, b = clients.a, clients.b
    cal = await new_calendar(a, "race")
    winners = set()
    for n in range(ROUNDS):
        uid = f"race-{n}-{cal[-9:-1]}"
        paths = (f"{cal}{n}-a.ics", f"{cal}{n}-b.ics")
        replies = await asyncio.gather(a.put(paths[0], event(uid)), b.put(paths[1], event(uid)))
        statuses = sorted(r.status for r in replies)
        assert statuses in ([201, 403], [201, 409]), f"round {n}: {statuses}"
        won = 0 if replies[0].status == 201 else 1
        lost = replies[1 - won]
        assert lost.error() == names.NO_UID_CONFLICT, lost.body
        assert lost.texts(".//D:href") == [paths[won]]
        winners.add(paths[won])
    for host in (a, b):
        listed = etags(await host.propfind(cal, names.GETETAG, depth="1"), skip=cal)
        assert set(listed) == winners, "exactly one object per UID"


async def test_same_scheduling_uid_into_two_calendars_through_two_hosts(
        clients: Clients) -> None:
    """A scheduling object's UID is unique in the home (RFC 6638 §3.2.4.1): PUT into two
    calendars through two hosts at once, one wins and the other gets 403
    unique-scheduling-object-resource naming it."""
    a, b = clients.a, clients.b
    cals = (await new_calendar(a, "sched-a"), await new_calendar(a, "sched-b"))
    for n in range(ROUNDS // 2):
        uid = f"sched-{n}-{cals[0][-9:-1]}"
        paths = (f"{cals[0]}{n}.ics", f"{cals[1]}{n}.ics")
        ics = event(uid, extra="ORGANIZER:mailto:user01@example.com\r\n"
                               "ATTENDEE:mailto:user02@example.com\r\n")
        replies = await asyncio.gather(a.put(paths[0], ics), b.put(paths[1], ics))
        assert sorted(r.status for r in replies) == [201, 403], f"round {n}"
        won = 0 if replies[0].status == 201 else 1
        lost = replies[1 - won]
        assert lost.error() == names.UNIQUE_SCHEDULING_OBJECT_RESOURCE, lost.body
        assert lost.texts(".//D:href") == [paths[won]]
