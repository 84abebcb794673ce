"""Who holds the scheduling privileges (RFC 6638 §6), as the delivery code asks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from caldavd.dav import names
from caldavd.proxy import Access, ProxyDB
from caldavd.scheduling.privileges import DELIVER, SEND, granted, may_deliver, may_send


class _Proxies:
    """Only ``access``: user02 writes for user01, user03 reads."""

    async def access(self, delegator_uid: str, delegate_uids: Iterable[str]) -> Access | None:
        grants: dict[str, Access] = {"user02": "write", "user03": "read"}
        found = [grants[u] for u in delegate_uids if u in grants and delegator_uid == "user01"]
        return "write" if "write" in found else (found[0] if found else None)


PROXIES = cast(ProxyDB, cast(Any, _Proxies()))


def test_every_calendar_user_may_deliver_and_query_free_busy() -> None:
    assert granted("inbox", "other") == DELIVER == granted("inbox", "owner")
    assert may_deliver(names.SCHEDULE_DELIVER_INVITE)
    assert may_deliver(names.SCHEDULE_QUERY_FREEBUSY)
    assert not may_deliver(names.SCHEDULE_SEND)


def test_the_outbox_sends_for_the_owner_and_write_delegates() -> None:
    assert granted("outbox", "owner") == SEND == granted("outbox", "write")
    assert granted("outbox", "read") == granted("outbox", "other") == frozenset()


async def test_may_send_asks_the_delegations() -> None:
    assert await may_send(PROXIES, frozenset({"user01"}), "user01")
    assert await may_send(PROXIES, frozenset({"user02", "group"}), "user01",
                          names.SCHEDULE_SEND_INVITE)
    assert not await may_send(PROXIES, frozenset({"user03"}), "user01")
    assert not await may_send(PROXIES, frozenset({"user04"}), "user01",
                              names.SCHEDULE_SEND_FREEBUSY)
