"""Discovery as clients do it: well-known, current-user-principal, home, calendars
(RFC 6764 §5, RFC 5397, RFC 4791 §6)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest

from caldavd.dav import names
from tests.functional.conftest import CAL01, HOME01, NS, USER01_UID, Dav


async def test_anonymous_requests_get_401_with_a_challenge(dav: Dav) -> None:
    reply = await dav.propfind("/", names.CURRENT_USER_PRINCIPAL, user=None)
    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"].startswith("Basic")


async def test_only_health_and_well_known_answer_anonymously(dav: Dav) -> None:
    """Everything but the exact paths needs credentials, near misses included."""
    assert (await dav.request("GET", "/health", user=None)).status == 200
    assert (await dav.request("PROPFIND", "/.well-known/caldav", user=None)).status == 307
    assert (await dav.request("PROPFIND", "/.well-known/caldav/", user=None)).status == 307
    for method, path in (("GET", "/health/"), ("GET", "/health/x"), ("GET", "/nowhere"),
                         ("PROPFIND", "/.well-known/caldav/x"), ("OPTIONS", "/"),
                         ("PROPFIND", "/.well-known/carddav"), ("GET", HOME01),
                         ("DELETE", CAL01)):
        reply = await dav.request(method, path, user=None)
        assert reply.status == 401, (method, path)
        assert reply.headers["WWW-Authenticate"].startswith("Basic"), (method, path)


async def test_wrong_password_is_401(dav: Dav) -> None:
    reply = await dav.request("PROPFIND", "/", user=None,
                              headers={"Authorization": "Basic dXNlcjAxOndyb25n"})
    assert reply.status == 401


@pytest.mark.parametrize("credentials", ["Basic \u00e9".encode(), b"Basic \xff\xfe",
                                         "Basic dXNlcjAx\u00e9".encode(), b"Basic \x80"])
async def test_credentials_that_are_not_base64_text_are_401(dav: Dav, credentials: bytes,
                                                             ) -> None:
    """RFC 7617 §2: a token that is not Base64 is no credentials, so 401 with the
    challenge; non-ASCII bytes in it answered 500 (found by the fuzz suite).  Raw bytes on
    a socket: aiohttp's client would not send them."""
    url = urlsplit(dav.base)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(b"PROPFIND / HTTP/1.1\r\nHost: x\r\nDepth: 0\r\nAuthorization: "
                 + credentials + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:300]
    assert b"WWW-Authenticate: Basic" in answer


async def test_well_known_redirects_to_root(dav: Dav) -> None:
    reply = await dav.request("GET", "/.well-known/caldav")
    assert reply.status in (301, 302, 307, 308)
    assert reply.headers["Location"] in ("/", dav.base + "/")


async def test_well_known_with_a_trailing_slash_redirects_too(dav: Dav) -> None:
    """RFC 6764 §5: Apple's Calendar asks for /.well-known/caldav/ (with the slash), with
    or without credentials, by PROPFIND; GET and OPTIONS get the same redirect.
    /.well-known/carddav is not this server's: 404 once authenticated."""
    for user in (None, "user01"):
        for method in ("PROPFIND", "GET", "OPTIONS"):
            for path in ("/.well-known/caldav", "/.well-known/caldav/"):
                reply = await dav.request(method, path, user=user)
                assert reply.status == 307, (user, method, path)
                assert reply.headers["Location"] == "/", (user, method, path)
    assert (await dav.request("PROPFIND", "/.well-known/carddav")).status == 404
    assert (await dav.request("PROPFIND", "/.well-known/carddav/")).status == 404


async def test_options_claims_what_works(dav: Dav) -> None:
    reply = await dav.request("OPTIONS", "/")
    tokens = [t.strip() for t in reply.headers["DAV"].split(",")]
    assert "calendar-access" in tokens and "1" in tokens
    assert "2" not in tokens, "no LOCK support, so no class 2"
    # Apple's caldav-proxy §5.1 (a MUST, delegation is served) and default alarms
    # (stored as properties of the home and calendars).
    assert "calendar-proxy" in tokens and "calendar-default-alarms" in tokens
    allow = reply.headers["Allow"]
    for verb in ("PROPFIND", "REPORT", "MKCALENDAR", "PUT", "DELETE", "MOVE"):
        assert verb in allow


async def test_current_user_principal_then_home_then_calendars(dav: Dav) -> None:
    root = await dav.propfind("/", names.CURRENT_USER_PRINCIPAL)
    assert root.status == 207
    principal = root.texts(".//D:current-user-principal/D:href")
    assert principal == [f"/principals/__uids__/{USER01_UID}/"]

    props = await dav.propfind(principal[0], names.CALENDAR_HOME_SET,
                               names.CALENDAR_USER_ADDRESS_SET, names.DISPLAYNAME,
                               names.PRINCIPAL_URL, names.CALENDAR_USER_TYPE)
    assert props.texts(".//C:calendar-home-set/D:href") == [HOME01]
    addresses = props.texts(".//C:calendar-user-address-set/D:href")
    assert "mailto:user01@example.com" in addresses and f"urn:uuid:{USER01_UID}" in addresses
    assert props.texts(".//D:displayname") == ["User 01"]
    assert props.texts(".//C:calendar-user-type") == ["INDIVIDUAL"]

    listing = await dav.propfind(HOME01, names.RESOURCETYPE, names.GETCTAG,
                                 names.SUPPORTED_CALENDAR_COMPONENT_SET, names.DISPLAYNAME,
                                 depth="1")
    responses = listing.responses()
    assert set(responses) == {HOME01, CAL01, HOME01 + "tasks/", HOME01 + "inbox/",
                              HOME01 + "outbox/"}
    calendar = responses[CAL01]
    assert calendar.find(".//D:resourcetype/C:calendar", NS) is not None
    assert calendar.findtext(".//D:displayname", namespaces=NS) == "Calendar"
    assert calendar.findtext(".//CS:getctag", namespaces=NS)
    comps = [c.get("name") for c in calendar.iterfind(".//C:comp", NS)]
    assert comps == ["VEVENT"]
    tasks = [c.get("name") for c in responses[HOME01 + "tasks/"].iterfind(".//C:comp", NS)]
    assert tasks == ["VTODO"]


async def test_principal_by_short_name_is_the_same_principal(dav: Dav) -> None:
    reply = await dav.propfind("/principals/users/user01/", names.PRINCIPAL_URL,
                               names.ALTERNATE_URI_SET, names.GROUP_MEMBERSHIP)
    assert reply.texts(".//D:principal-URL/D:href") == [f"/principals/__uids__/{USER01_UID}/"]
    assert "/principals/users/user01/" in reply.texts(".//D:alternate-URI-set/D:href")
    assert len(reply.texts(".//D:group-membership/D:href")) == 1  # group01 directly


async def test_propfind_depth_infinity_is_refused(dav: Dav) -> None:
    reply = await dav.propfind(HOME01, names.RESOURCETYPE, depth="infinity")
    assert reply.status == 403
    assert reply.error() == names.PROPFIND_FINITE_DEPTH


async def test_unknown_property_is_404_in_its_propstat(dav: Dav) -> None:
    reply = await dav.propfind(CAL01, names.RESOURCETYPE, "{urn:example}nothing")
    statuses = {ps.findtext("D:status", namespaces=NS): ps for ps in
                reply.findall(".//D:propstat")}
    assert "HTTP/1.1 404 Not Found" in statuses
    assert statuses["HTTP/1.1 404 Not Found"].find(".//{urn:example}nothing") is not None


async def test_another_users_home_is_forbidden(dav: Dav) -> None:
    reply = await dav.propfind(HOME01, names.RESOURCETYPE, user="user02")
    assert reply.status == 403
    assert reply.error() == names.NEED_PRIVILEGES


async def test_malformed_propfind_body_is_400(dav: Dav) -> None:
    reply = await dav.request("PROPFIND", HOME01, "<D:propfind xmlns:D='DAV:'><D:prop>",
                              headers={"Depth": "0"})
    assert reply.status == 400


async def test_entity_expansion_is_refused(dav: Dav) -> None:
    body = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            '<D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&e;</D:displayname></D:prop>'
            "</D:propfind>")
    reply = await dav.request("PROPFIND", HOME01, body, headers={"Depth": "0"})
    assert reply.status == 400
    assert b"root:" not in reply.body


async def test_default_alarms_are_kept_on_home_and_calendar(dav: Dav) -> None:
    """What calendar-default-alarms in the DAV header promises (Apple's
    caldav-defaultalarms): CALDAV:default-alarm-vevent-datetime set on the home and on a
    calendar comes back as set."""
    alarm = ("BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDESCRIPTION:x\r\n"
             "END:VALARM\r\n")
    prop = "{urn:ietf:params:xml:ns:caldav}default-alarm-vevent-datetime"
    body = ('<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            f"<D:set><D:prop><C:default-alarm-vevent-datetime>{alarm}"
            "</C:default-alarm-vevent-datetime></D:prop></D:set></D:propertyupdate>")
    for path in (HOME01, CAL01):
        assert (await dav.request("PROPPATCH", path, body)).status == 207
        got = await dav.propfind(path, prop)
        # XML parsing turns the CRLFs into LFs (XML 1.0 §2.11).
        assert got.texts(".//C:default-alarm-vevent-datetime") == [
            alarm.replace("\r\n", "\n")], path


async def test_default_alarms_must_be_valarms(dav: Dav) -> None:
    """A default-alarm property holds VALARM components (each with ACTION and TRIGGER,
    RFC 5545 §3.6.6) or nothing: clients copy it into the events they make, so anything
    else is 409 in its propstat and nothing changes (it was stored; CalDAVTester's
    default-alarms.xml).  Every one of the four properties is checked, on homes and
    calendars alike."""
    body = ('<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            "<D:set><D:prop><C:{name}>{value}</C:{name}></D:prop></D:set></D:propertyupdate>")
    no_trigger = "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:x\r\nEND:VALARM\r\n"
    for kind in ("vevent-datetime", "vevent-date", "vtodo-datetime", "vtodo-date"):
        name = f"default-alarm-{kind}"
        for path in (HOME01, CAL01):
            for value in ("Not\nCalendar\nData", no_trigger,
                          "BEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\n"):
                reply = await dav.request("PROPPATCH", path, body.format(name=name,
                                                                         value=value))
                assert reply.texts(".//D:status") == ["HTTP/1.1 409 Conflict"], (path, name)
            got = await dav.propfind(path, "{urn:ietf:params:xml:ns:caldav}" + name)
            assert got.texts(".//D:status") == ["HTTP/1.1 404 Not Found"], (path, name)
            cleared = await dav.request("PROPPATCH", path, body.format(name=name, value=""))
            assert cleared.texts(".//D:status") == ["HTTP/1.1 200 OK"], (path, name)
