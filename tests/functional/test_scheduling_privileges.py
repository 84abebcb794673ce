"""The scheduling privileges (RFC 6638 §6) and the inbox's schedule-default-calendar-URL
(§9.2) over HTTP."""

from __future__ import annotations

from caldavd.dav import names
from tests.functional.conftest import CAL01, HOME01, NS, USER01_UID, Dav
from tests.functional.test_delegation import privileges, set_members

P01 = f"/principals/__uids__/{USER01_UID}/"
P02 = "/principals/__uids__/10000000-0000-0000-0000-000000000002/"
P03 = "/principals/__uids__/10000000-0000-0000-0000-000000000003/"
INBOX01 = HOME01 + "inbox/"
OUTBOX01 = HOME01 + "outbox/"
DELIVER = {"schedule-deliver", "schedule-deliver-invite", "schedule-deliver-reply",
           "schedule-query-freebusy"}
SEND = {"schedule-send", "schedule-send-invite", "schedule-send-reply",
        "schedule-send-freebusy"}


async def _supported_names(dav: Dav, path: str) -> set[str]:
    reply = await dav.propfind(path, names.SUPPORTED_PRIVILEGE_SET)
    return {p.tag.split("}")[1] for p in reply.xml.iterfind(".//D:privilege/*", NS)}


async def test_owner_holds_every_scheduling_privilege(dav: Dav) -> None:
    await dav.propfind(HOME01, names.RESOURCETYPE)
    assert await privileges(dav, INBOX01, "user01") >= DELIVER
    assert await privileges(dav, OUTBOX01, "user01") >= SEND
    assert not (DELIVER | SEND) & await privileges(dav, CAL01, "user01")


async def test_supported_privileges_name_them_where_they_apply(dav: Dav) -> None:
    """§6.1, §6.2: the deliver privileges on the inbox, the send ones on the outbox."""
    await dav.propfind(HOME01, names.RESOURCETYPE)
    inbox = await _supported_names(dav, INBOX01)
    outbox = await _supported_names(dav, OUTBOX01)
    assert inbox >= DELIVER and not SEND & inbox
    assert outbox >= SEND and not DELIVER & outbox
    assert not (DELIVER | SEND) & await _supported_names(dav, CAL01)


async def test_anyone_may_deliver_but_not_read_or_send(dav: Dav) -> None:
    """As Apple's server grants: every authenticated user may deliver to an inbox and ask
    its owner's free-busy, but reads nothing there and sends nothing as the owner."""
    await dav.propfind(HOME01, names.RESOURCETYPE)
    reply = await dav.propfind(INBOX01, names.CURRENT_USER_PRIVILEGE_SET, user="user02")
    assert reply.status == 403  # no DAV:read on someone's inbox
    acl = await dav.propfind(INBOX01, names.ACL)
    grants = {ace.find("D:principal/*", NS).tag: {  # type: ignore[union-attr]
        p.tag for p in ace.iterfind("D:grant/D:privilege/*", NS)}
        for ace in acl.xml.iterfind(".//D:ace", NS)}
    assert grants["{DAV:}authenticated"] == {names.SCHEDULE_DELIVER}
    assert (await dav.request("GET", OUTBOX01, user="user02")).status == 403


async def test_a_write_delegate_sends_a_read_delegate_does_not(dav: Dav) -> None:
    await set_members(dav, P01 + "calendar-proxy-write/", P02)
    await set_members(dav, P01 + "calendar-proxy-read/", P03)
    assert await privileges(dav, OUTBOX01, "user02") >= SEND
    assert not SEND & await privileges(dav, OUTBOX01, "user03")
    assert "read" in await privileges(dav, OUTBOX01, "user03")


def _default_body(href: str | None) -> str:
    value = f"<D:href>{href}</D:href>" if href is not None else ""
    return ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" '
            'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
            f"<C:schedule-default-calendar-URL>{value}</C:schedule-default-calendar-URL>"
            "</D:prop></D:set></D:propertyupdate>")


async def _default(dav: Dav) -> list[str]:
    reply = await dav.propfind(INBOX01, names.SCHEDULE_DEFAULT_CALENDAR_URL)
    return reply.texts(".//C:schedule-default-calendar-URL/D:href")


async def test_default_calendar_url_is_live_and_settable(dav: Dav) -> None:
    """§9.2: the first calendar that takes VEVENTs until the owner names another."""
    assert await _default(dav) == [CAL01]
    assert (await dav.request("MKCALENDAR", HOME01 + "work/")).status == 201
    reply = await dav.request("PROPPATCH", INBOX01, _default_body(HOME01 + "work/"))
    assert reply.status == 207 and "200" in reply.texts(".//D:status")[0]
    assert await _default(dav) == [HOME01 + "work/"]
    assert (await dav.request("PROPPATCH", INBOX01, _default_body(
        dav.base + CAL01))).status == 207
    assert await _default(dav) == [CAL01]


async def test_default_calendar_url_names_only_an_event_calendar_of_the_home(dav: Dav) -> None:
    await dav.propfind(HOME01, names.RESOURCETYPE)
    for bad in (HOME01 + "tasks/", INBOX01, "/calendars/__uids__/nobody/calendar/",
                "/calendars/__uids__/10000000-0000-0000-0000-000000000002/calendar/",
                HOME01 + "missing/", CAL01 + "x.ics"):
        reply = await dav.request("PROPPATCH", INBOX01, _default_body(bad))
        assert reply.status == 207, bad
        assert reply.texts(".//D:status") == ["HTTP/1.1 409 Conflict"], bad
        assert reply.xml.find(".//D:error/C:valid-schedule-default-calendar-URL", NS) \
            is not None, bad
    assert await _default(dav) == [CAL01]
    on_calendar = await dav.request("PROPPATCH", CAL01, _default_body(CAL01))
    assert "403" in on_calendar.texts(".//D:status")[0]  # protected on a calendar


async def test_the_last_default_calendar_cannot_be_deleted(dav: Dav) -> None:
    """§9.2.1: the only calendar that could take deliveries stays (default-calendar-
    needed); with another one, the default moves there."""
    await dav.propfind(HOME01, names.RESOURCETYPE)
    refused = await dav.request("DELETE", CAL01)
    assert refused.status == 403 and refused.error() == names.DEFAULT_CALENDAR_NEEDED
    assert (await dav.request("MKCALENDAR", HOME01 + "work/")).status == 201
    assert (await dav.request("DELETE", CAL01)).status == 204
    assert await _default(dav) == [HOME01 + "work/"]
    assert (await dav.request("DELETE", HOME01 + "tasks/")).status == 204
