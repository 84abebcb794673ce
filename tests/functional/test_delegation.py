"""Delegation: calendar-proxy-read/write group principals, their membership set by the
delegator with PROPPATCH, and what delegates may then do (RFC 3744 groups and
privileges, Apple's calendar user proxy extension)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import PgDatabase
from tests.functional.conftest import (
    CAL01,
    HOME01,
    NS,
    USER01_UID,
    USER02_UID,
    Dav,
    Reply,
    child,
    event,
    serving,
    text_at,
)

P01 = f"/principals/__uids__/{USER01_UID}/"
P02 = f"/principals/__uids__/{USER02_UID}/"
WRITE_GROUP = P01 + "calendar-proxy-write/"
READ_GROUP = P01 + "calendar-proxy-read/"
GROUP01 = "/principals/__uids__/20000000-0000-0000-0000-000000000001/"
GROUP02 = "/principals/__uids__/20000000-0000-0000-0000-000000000002/"
P06 = "/principals/__uids__/10000000-0000-0000-0000-000000000006/"
CAL06 = "/calendars/__uids__/10000000-0000-0000-0000-000000000006/calendar/"
CS = "http://calendarserver.org/ns/"

APPLE_EXPAND = """<?xml version="1.0" encoding="UTF-8"?>
<A:expand-property xmlns:A="DAV:">
  <A:property name="calendar-proxy-write-for" namespace="http://calendarserver.org/ns/">
    <A:property name="displayname" namespace="DAV:"/>
    <A:property name="principal-URL" namespace="DAV:"/>
    <A:property name="calendar-user-address-set" namespace="urn:ietf:params:xml:ns:caldav"/>
  </A:property>
  <A:property name="calendar-proxy-read-for" namespace="http://calendarserver.org/ns/">
    <A:property name="displayname" namespace="DAV:"/>
    <A:property name="principal-URL" namespace="DAV:"/>
    <A:property name="calendar-user-address-set" namespace="urn:ietf:params:xml:ns:caldav"/>
  </A:property>
</A:expand-property>"""


def members_body(*hrefs: str) -> str:
    inner = "".join(f"<D:href>{h}</D:href>" for h in hrefs)
    return ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
            f"<D:group-member-set>{inner}</D:group-member-set></D:prop></D:set>"
            "</D:propertyupdate>")


async def set_members(dav: Dav, group: str, *hrefs: str, user: str = "user01") -> int:
    reply = await dav.request("PROPPATCH", group, members_body(*hrefs), user=user)
    assert reply.status == 207
    return int(text_at(reply.xml, ".//D:status").split()[1])


async def members(dav: Dav, group: str) -> list[str]:
    reply = await dav.propfind(group, "{DAV:}group-member-set")
    return reply.texts(".//D:group-member-set/D:href")


async def privileges(dav: Dav, path: str, user: str) -> set[str]:
    reply = await dav.propfind(path, "{DAV:}current-user-privilege-set", user=user)
    assert reply.status == 207
    return {p.tag.split("}")[1]
            for p in reply.xml.iterfind(".//D:current-user-privilege-set/D:privilege/*", NS)}


@pytest.fixture
async def seeded(dav: Dav) -> Dav:
    assert (await dav.put(CAL01 + "e1.ics", event("e1"))).status == 201
    return dav


async def test_a_principal_lists_its_two_proxy_groups(dav: Dav) -> None:
    reply = await dav.propfind(P01, "{DAV:}resourcetype", "{DAV:}displayname", depth="1")
    found = reply.responses()
    assert set(found) == {P01, READ_GROUP, WRITE_GROUP}
    write_type = found[WRITE_GROUP].find(".//D:resourcetype", NS)
    assert write_type is not None
    assert {c.tag for c in write_type} >= {"{DAV:}principal", f"{{{CS}}}calendar-proxy-write"}
    assert found[READ_GROUP].findtext(".//D:displayname", namespaces=NS) == \
        "User 01: read delegates"


async def test_the_owner_sets_the_membership(seeded: Dav) -> None:
    assert await members(seeded, WRITE_GROUP) == []
    assert await set_members(seeded, WRITE_GROUP, P02) == 200
    assert await members(seeded, WRITE_GROUP) == [P02]
    assert await set_members(seeded, WRITE_GROUP) == 200
    assert await members(seeded, WRITE_GROUP) == []


async def test_someone_else_may_not_change_the_membership(seeded: Dav) -> None:
    """RFC 3744 §7.1.1: write-properties on the group is the delegator's."""
    reply = await seeded.request("PROPPATCH", WRITE_GROUP, members_body(P02), user="user02")
    assert reply.status == 403
    assert reply.error() == "{DAV:}need-privileges"
    assert await members(seeded, WRITE_GROUP) == []


@pytest.mark.parametrize("bad", ["/principals/__uids__/nobody/", "relative/path",
                                 P01, "/calendars/", "http://elsewhere.example" + P02])
async def test_bad_members_change_nothing(seeded: Dav, bad: str) -> None:
    await set_members(seeded, WRITE_GROUP, P02)
    assert await set_members(seeded, WRITE_GROUP, P02, bad) == 409
    assert await members(seeded, WRITE_GROUP) == [P02], "all or nothing (RFC 4918 §9.2)"


async def test_a_member_may_be_named_by_this_servers_url(seeded: Dav) -> None:
    """RFC 4918 §8.3: an absolute URL of this server names the same principal (another
    server's is a 409 above: it names no principal here)."""
    assert await set_members(seeded, WRITE_GROUP, seeded.base + P02) == 200
    assert await members(seeded, WRITE_GROUP) == [P02]


async def test_other_properties_cannot_be_stored_on_a_proxy_group(seeded: Dav) -> None:
    body = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
            '<X:color xmlns:X="urn:x">red</X:color></D:prop></D:set></D:propertyupdate>')
    reply = await seeded.request("PROPPATCH", WRITE_GROUP, body)
    assert reply.status == 207 and b"409" in reply.body


async def test_a_write_delegate_reads_and_writes(seeded: Dav) -> None:
    await set_members(seeded, WRITE_GROUP, P02)
    dav = seeded
    assert (await dav.request("GET", CAL01 + "e1.ics", user="user02")).status == 200
    assert (await dav.propfind(CAL01, "{DAV:}getetag", depth="1", user="user02")).status == 207
    query = ('<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
             '<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"/>'
             "</C:filter></C:calendar-query>")
    assert (await dav.report(CAL01, query, user="user02")).status == 207
    assert (await dav.put(CAL01 + "by02.ics", event("by02"), user="user02")).status == 201
    assert (await dav.request("DELETE", CAL01 + "e1.ics", user="user02")).status == 204
    granted = await privileges(dav, CAL01, "user02")
    assert {"read", "write", "write-content", "bind", "unbind"} <= granted
    assert "all" not in granted and "read-acl" not in granted


async def test_a_read_delegate_only_reads(seeded: Dav) -> None:
    await set_members(seeded, READ_GROUP, P02)
    dav = seeded
    assert (await dav.request("GET", CAL01 + "e1.ics", user="user02")).status == 200
    assert (await dav.propfind(HOME01, "{DAV:}displayname", depth="1",
                               user="user02")).status == 207
    assert (await dav.put(CAL01 + "by02.ics", event("by02"), user="user02")).status == 403
    assert (await dav.request("DELETE", CAL01 + "e1.ics", user="user02")).status == 403
    proppatch = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
                 "<D:displayname>Mine</D:displayname></D:prop></D:set></D:propertyupdate>")
    assert (await dav.request("PROPPATCH", CAL01, proppatch, user="user02")).status == 403
    assert await privileges(dav, CAL01, "user02") == {"read", "read-current-user-privilege-set"}


async def test_nobody_else_gains_anything(seeded: Dav) -> None:
    await set_members(seeded, WRITE_GROUP, P02)
    dav = seeded
    assert (await dav.request("GET", CAL01 + "e1.ics", user="user03")).status == 403
    assert (await dav.propfind(CAL01, "{DAV:}getetag", depth="1", user="user03")).status == 403
    assert (await dav.put(CAL01 + "x.ics", event("x"), user="user03")).status == 403


async def test_revocation_counts_at_the_next_request(seeded: Dav) -> None:
    await set_members(seeded, WRITE_GROUP, P02)
    assert (await seeded.put(CAL01 + "a.ics", event("a"), user="user02")).status == 201
    await set_members(seeded, WRITE_GROUP)
    assert (await seeded.put(CAL01 + "b.ics", event("b"), user="user02")).status == 403
    assert (await seeded.request("GET", CAL01 + "a.ics", user="user02")).status == 403


async def test_a_group_delegate_grants_its_members_nested_ones_too(dav: Dav) -> None:
    """user06 delegates to group02 (user06-08 and group01, which holds user01-05)."""
    assert await set_members(dav, P06 + "calendar-proxy-write/", GROUP02, user="user06") == 200
    assert (await dav.put(CAL06 + "by07.ics", event("by07"), user="user07")).status == 201
    assert (await dav.put(CAL06 + "by01.ics", event("by01"), user="user01")).status == 201
    assert (await dav.put(CAL06 + "by09.ics", event("by09"), user="user09")).status == 403


async def test_proxy_for_properties_and_membership(seeded: Dav) -> None:
    await set_members(seeded, WRITE_GROUP, P02)
    reply = await seeded.propfind(P02, f"{{{CS}}}calendar-proxy-write-for",
                                  f"{{{CS}}}calendar-proxy-read-for",
                                  "{DAV:}group-membership", user="user02")
    assert reply.texts(".//CS:calendar-proxy-write-for/D:href") == [P01]
    assert reply.texts(".//CS:calendar-proxy-read-for/D:href") == []
    assert WRITE_GROUP in reply.texts(".//D:group-membership/D:href")


async def test_expand_property_as_apple_calendar_sends_it(seeded: Dav) -> None:
    """How Apple clients find whose calendars they may open (RFC 3253 §3.8)."""
    await set_members(seeded, WRITE_GROUP, P02)
    await set_members(seeded, P06 + "calendar-proxy-read/", P02, user="user06")
    reply = await seeded.report(P02, APPLE_EXPAND, depth="0", user="user02")
    assert reply.status == 207
    write_for = reply.find(".//CS:calendar-proxy-write-for")
    read_for = reply.find(".//CS:calendar-proxy-read-for")
    assert write_for is not None and read_for is not None
    assert write_for.findtext(".//D:displayname", namespaces=NS) == "User 01"
    assert write_for.findtext(".//D:principal-URL/D:href", namespaces=NS) == P01
    assert read_for.findtext(".//D:displayname", namespaces=NS) == "User 06"
    addresses = write_for.findall(".//C:calendar-user-address-set/D:href", NS)
    assert f"urn:uuid:{USER01_UID}" in [a.text for a in addresses]


async def test_the_acl_names_the_proxy_groups(seeded: Dav) -> None:
    reply = await seeded.propfind(CAL01, "{DAV:}acl")
    principals = reply.texts(".//D:ace/D:principal/D:href")
    assert WRITE_GROUP in principals and READ_GROUP in principals


def _statuses(reply: Reply, path: str) -> dict[str, int]:
    """Each property of the response for ``path``: the status of its propstat."""
    found = {}
    response = reply.responses()[path]
    for propstat in response.iterfind("D:propstat", NS):
        status = int(text_at(propstat, "D:status").split()[1])
        for prop in child(propstat, "D:prop"):
            found[prop.tag] = status
    return found


async def test_delegates_do_not_read_the_acl(seeded: Dav) -> None:
    """RFC 3744 §5.5: DAV:acl needs DAV:read-acl, which delegates do not hold (their
    current-user-privilege-set says so): 403 in its propstat, the rest answered."""
    await set_members(seeded, READ_GROUP, P02)
    await set_members(seeded, WRITE_GROUP, "/principals/__uids__/"
                      "10000000-0000-0000-0000-000000000003/")
    asked = ("{DAV:}acl", "{DAV:}owner", "{DAV:}current-user-privilege-set",
             "{DAV:}supported-privilege-set", "{DAV:}displayname")
    for user in ("user02", "user03"):
        for path in (HOME01, CAL01, CAL01 + "e1.ics"):
            reply = await seeded.propfind(path, *asked, user=user)
            assert reply.status == 207
            statuses = _statuses(reply, path)
            assert statuses.pop("{DAV:}acl") == 403, (user, path)
            assert reply.find(".//D:ace") is None
            assert statuses["{DAV:}owner"] == 200
            assert statuses["{DAV:}current-user-privilege-set"] == 200
            assert statuses["{DAV:}supported-privilege-set"] == 200
        listing = await seeded.propfind(CAL01, "{DAV:}acl", "{DAV:}getetag", depth="1",
                                        user=user)
        assert all(_statuses(listing, href)["{DAV:}acl"] == 403
                   for href in listing.responses()), user
    owner = await seeded.propfind(CAL01, *asked)
    assert _statuses(owner, CAL01)["{DAV:}acl"] == 200


@pytest.fixture
async def with_admin(pg_database: PgDatabase, tmp_path: Path) -> AsyncIterator[Dav]:
    admin = "/principals/users/user10/"
    async with serving(pg_database, tmp_path, AdminPrincipals=[admin]) as client:
        yield client


async def test_an_administrator_may_delegate_for_anyone(with_admin: Dav) -> None:
    assert await set_members(with_admin, WRITE_GROUP, P02, user="user10") == 200
    assert await members(with_admin, WRITE_GROUP) == [P02]
    assert (await with_admin.put(CAL01 + "by10.ics", event("by10"), user="user10")).status == 201


P10 = "/principals/__uids__/10000000-0000-0000-0000-000000000010/"
ADMIN = "/principals/users/user10/"
AGGREGATES = {"all": {"read", "write", "read-acl", "read-current-user-privilege-set",
                      "write-properties", "write-content", "bind", "unbind"},
              "write": {"write-properties", "write-content", "bind", "unbind"}}
ACL_ASKED = ("{DAV:}acl", "{DAV:}current-user-privilege-set")


def _granted_to(reply: Reply, mine: set[str]) -> set[str]:
    """What the DAV:acl in ``reply`` grants a principal known by the paths ``mine``
    (DAV:authenticated matches anyone signed in), aggregates expanded (RFC 3744 §3.12)."""
    granted: set[str] = set()
    for ace in reply.xml.iterfind(".//D:acl/D:ace", NS):
        who = ace.find("D:principal/*", NS)
        assert who is not None
        if who.tag == "{DAV:}authenticated" or (who.text or "") in mine:
            for privilege in ace.iterfind("D:grant/D:privilege/*", NS):
                name = privilege.tag.split("}")[1]
                granted |= {name, *AGGREGATES.get(name, ())}
    return granted


async def _acl_agrees(dav: Dav, path: str, user: str, mine: set[str]) -> bool:
    """Whether ``user`` reads DAV:acl on ``path``; asserts that it may exactly when its
    current-user-privilege-set has read-acl (RFC 3744 §5.5), and then that the ACL
    grants it what that set claims."""
    reply = await dav.propfind(path, *ACL_ASKED, user=user)
    assert reply.status == 207, reply.body
    readable = _statuses(reply, path)["{DAV:}acl"] == 200
    held = await privileges(dav, path, user)
    assert readable == ("read-acl" in held), (path, user, held)
    if readable:
        assert _granted_to(reply, mine) == held, (path, user, reply.body)
    return readable


async def test_principals_read_their_own_acl_and_administrators_every_acl(
        with_admin: Dav) -> None:
    """RFC 3744 §5.5: DAV:acl needs read-acl, so somebody must hold it: a principal on its
    own principal resource and proxy groups, an administrator (AdminPrincipals) on every
    resource, the root and principal collections included; the ACL shown there names
    those grants, and says what DAV:current-user-privilege-set says."""
    dav = with_admin
    user01 = {P01, "/principals/users/user01/"}
    for path in (P01, WRITE_GROUP, READ_GROUP, HOME01, CAL01):
        assert await _acl_agrees(dav, path, "user01", user01), path
    for path in ("/", "/principals/", "/principals/users/", "/calendars/", P02):
        assert not await _acl_agrees(dav, path, "user01", user01), path
    assert await _acl_agrees(dav, P02, "user02", {P02})
    assert not await _acl_agrees(dav, WRITE_GROUP, "user02", {P02})
    for path in ("/", "/principals/", "/principals/__uids__/", "/calendars/__uids__/", P01,
                 WRITE_GROUP, P02, HOME01, CAL01):
        assert await _acl_agrees(dav, path, "user10", {ADMIN, P10}), path


async def test_a_move_into_another_home_counts_in_its_quota(pg_database: PgDatabase,
                                                            tmp_path: Path) -> None:
    """RFC 4331 §6 (quota-not-exceeded), RFC 4918 §9.9.4 (507): an object moved into a
    calendar of another home (an administrator's or a write delegate's MOVE) counts in
    that home's quota, as a PUT there would; refused, nothing moves.  Before, only PUT and
    COPY checked it."""
    home10 = "/calendars/__uids__/10000000-0000-0000-0000-000000000010/calendar/"
    async with serving(pg_database, tmp_path, AdminPrincipals=[ADMIN], UserQuota=1500) as dav:
        big = event("big", extra="DESCRIPTION:" + "x" * 900 + "\r\n")
        assert (await dav.put(CAL01 + "big.ics", big)).status == 201
        bulky = event("bulky", extra="DESCRIPTION:" + "y" * 600 + "\r\n")
        assert (await dav.put(home10 + "bulky.ics", bulky, user="user10")).status == 201
        assert (await dav.put(home10 + "small.ics", event("small"), user="user10")).status == 201
        reply = await dav.request("MOVE", home10 + "bulky.ics", user="user10",
                                  headers={"Destination": dav.base + CAL01 + "bulky.ics"})
        assert reply.status == 507 and reply.error() == "{DAV:}quota-not-exceeded", reply.body
        assert (await dav.request("GET", home10 + "bulky.ics", user="user10")).status == 200
        assert (await dav.request("GET", CAL01 + "bulky.ics")).status == 404
        reply = await dav.request("MOVE", home10 + "small.ics", user="user10",
                                  headers={"Destination": dav.base + CAL01 + "small.ics"})
        assert reply.status == 201, reply.body
