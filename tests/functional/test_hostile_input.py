"""Hostile and broken input never gets a 500 and never leaves anything behind."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import asyncpg
import pytest

from caldavd.dav import names
from tests.conftest import PgDatabase
from tests.functional.conftest import (
    CAL01,
    HOME01,
    NS,
    USER01_UID,
    Dav,
    Reply,
    event,
    serving,
)

PRINCIPAL01 = f"/principals/__uids__/{USER01_UID}/"

BROKEN_CALENDARS = [
    "",
    "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n",
    event("x").replace("DTSTART:20260105T100000Z", "DTSTART:2026-01-05"),
    event("x").replace("DTSTART:20260105T100000Z", "DTSTART;TZID=Nowhere/City:20260105T100000"),
    event("x", extra="RRULE:FREQ=SOMETIMES\r\n"),
    event("x", extra="RRULE:FREQ=DAILY;BYMONTHDAY=99\r\n"),
    event("x", extra="RRULE:FREQ=SECONDLY;BYSETPOS=2\r\n"),
    event("x", extra="RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30\r\n"),
    event("x", extra="RRULE:FREQ=DAILY;UNTIL=garbage\r\n"),
    event("x", extra="EXDATE:notadate\r\n"),
    event("x", extra="RDATE;VALUE=PERIOD:20260101T000000Z/garbage\r\n"),
    event("x", extra="DURATION:PT1H\r\n"),
    event("x").replace("DTEND:20260105T110000Z", "DTEND:20260105T090000Z"),
    event("x").replace("UID:x\r\n", ""),
    event("x", extra="METHOD:REQUEST\r\n"),
    event("x").replace("VERSION:2.0", "VERSION:3.0"),
    "\x00\x01\x02 binary junk \xff",
    "BEGIN:VCALENDAR\r\n" * 5000,
    event("x", extra="ATTENDEE;CN=\"unterminated:mailto:a@b\r\n"),
    event("x", extra="X-LONG:" + "é" * 5000 + "\r\n"),
]


@pytest.mark.parametrize("body", BROKEN_CALENDARS, ids=range(len(BROKEN_CALENDARS)))
async def test_broken_calendar_data_is_a_4xx_and_stores_nothing(dav: Dav, body: str) -> None:
    reply = await dav.put(CAL01 + "broken.ics", body)
    assert reply.status < 500, reply.body
    if reply.status >= 400:
        assert reply.error() is not None, reply.body
        assert (await dav.request("GET", CAL01 + "broken.ics")).status == 404


BROKEN_XML = [
    b"",
    b"<",
    b"<D:propfind xmlns:D='DAV:'><D:prop><D:getetag/></D:propfind>",
    b"<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 "
    b"'&lol;&lol;&lol;&lol;'>]><D:propfind xmlns:D='DAV:'><D:prop>&lol2;</D:prop></D:propfind>",
    b"<propfind><prop><getetag/></prop></propfind>",
    b"\xff\xfe<\x00",
    b"<D:calendar-query xmlns:D='DAV:' xmlns:C='urn:ietf:params:xml:ns:caldav'><C:filter>"
    b"<C:comp-filter name='VCALENDAR'><C:comp-filter name='VEVENT'><C:time-range "
    b"start='yesterday'/></C:comp-filter></C:comp-filter></C:filter></D:calendar-query>",
    b"<C:calendar-query xmlns:C='urn:ietf:params:xml:ns:caldav'/>",
    b"<D:sync-collection xmlns:D='DAV:'><D:sync-token>x</D:sync-token></D:sync-collection>",
    b"<D:expand-property xmlns:D='DAV:'><D:property/></D:expand-property>",
    b"<x:unknown-report xmlns:x='urn:x'/>",
]


@pytest.mark.parametrize("method", ["PROPFIND", "REPORT", "PROPPATCH", "MKCALENDAR"])
@pytest.mark.parametrize("body", BROKEN_XML, ids=range(len(BROKEN_XML)))
async def test_broken_xml_is_a_4xx(dav: Dav, method: str, body: bytes) -> None:
    target = HOME01 + "newcal/" if method == "MKCALENDAR" else CAL01
    reply = await dav.request(method, target, body, headers={"Depth": "1"})
    assert 400 <= reply.status < 500 or (method in ("PROPFIND", "MKCALENDAR")
                                         and reply.status in (201, 207)), reply.body
    if method == "MKCALENDAR" and reply.status >= 400:
        assert (await dav.propfind(target, "{DAV:}resourcetype")).status == 404


@pytest.mark.parametrize("path", ["/calendars/__uids__/%ff/", "/calendars/../etc/passwd",
                                  "/principals/users/%00/", "/calendars/__uids__/x/y/z/w/",
                                  CAL01 + "a%2Fb.ics"])
async def test_odd_paths_are_4xx(dav: Dav, path: str) -> None:
    reply = await dav.request("PROPFIND", path, headers={"Depth": "0"})
    assert 400 <= reply.status < 500


# -- control characters (RFC 5545 §3.1, §3.3.11; XML 1.0 §2.2) --------------------------

CONTROLS = ["\x0b", "\x01", "\x1f", "\x7f", "\ufffe"]


@pytest.mark.parametrize("char", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
async def test_a_control_character_in_a_value_is_refused_at_put(dav: Dav, char: str) -> None:
    """RFC 5545 §3.3.11: TEXT excludes CONTROL (all but HTAB): valid-calendar-data, and a
    DAV:error body that parses although the message names the character."""
    reply = await dav.put(CAL01 + "ctl.ics", event("ctl", extra=f"DESCRIPTION:a{char}b\r\n"))
    assert 400 <= reply.status < 500, reply.body
    assert reply.error() == names.VALID_CALENDAR_DATA
    assert (await dav.request("GET", CAL01 + "ctl.ics")).status == 404


async def test_a_control_character_echoed_into_an_error_is_still_xml(dav: Dav) -> None:
    """The 500 of the hostile-input run: END:VCAL\\x01 came back in the error's comment."""
    body = event("ctl").replace("END:VCALENDAR", "END:VCAL\x01")
    reply = await dav.put(CAL01 + "ctl.ics", body)
    assert reply.status == 403 and reply.error() == names.VALID_CALENDAR_DATA


async def test_a_tab_in_a_value_is_fine(dav: Dav) -> None:
    reply = await dav.put(CAL01 + "tab.ics", event("tab", extra="DESCRIPTION:a\tb\r\n"))
    assert reply.status == 201, reply.body


NAME_CONTROLS = ["%01", "%0A", "%0D", "%1F", "%7F", "%C2%85", "%EF%BF%BE"]


async def _create_named(dav: Dav, method: str, name: str) -> tuple[Reply, str]:
    """``method`` making a resource called ``name`` (percent-encoded); (reply, its path)."""
    if method == "MKCALENDAR":
        return await dav.request("MKCALENDAR", HOME01 + name + "/"), HOME01 + name + "/"
    if method == "MKCOL":
        return await dav.request("MKCOL", HOME01 + name + "/"), HOME01 + name + "/"
    if method == "PUT file":
        path = HOME01 + "folder/" + name
        return await dav.request("PUT", path, "text", headers={"Content-Type": "text/plain"}), path
    if method == "PUT":
        return await dav.put(CAL01 + name + ".ics", event("named")), CAL01 + name + ".ics"
    verb, source = method.split()
    source_path = {"object": CAL01 + "source.ics", "folder": HOME01 + "folder/"}[source]
    dest = HOME01 + ("other/" + name + ".ics" if source == "object" else name + "/")
    reply = await dav.request(verb, source_path, headers={"Destination": dav.base + dest})
    return reply, dest


@pytest.mark.parametrize("method", ["PUT", "PUT file", "MKCOL", "MKCALENDAR", "COPY object",
                                    "MOVE object", "COPY folder", "MOVE folder"])
async def test_a_name_with_a_control_character_is_refused_by_every_method(
        dav: Dav, method: str) -> None:
    """One rule for every method that creates or renames a resource: no C0 or C1 control
    in its name, nor U+FFFE (XML 1.0 §2.2), 403 caldavd:valid-resource-name, nothing made;
    a space or an accented letter is fine (RFC 3986 §2.1 only says how they are sent)."""
    assert (await dav.request("MKCOL", HOME01 + "folder/")).status == 201
    assert (await dav.request("MKCALENDAR", HOME01 + "other/")).status == 201
    assert (await dav.put(CAL01 + "source.ics", event("source"))).status == 201
    for char in NAME_CONTROLS:
        reply, path = await _create_named(dav, method, f"a{char}b")
        assert reply.status == 403, (char, reply.status, reply.body)
        assert reply.error() == names.VALID_RESOURCE_NAME, (char, reply.body)
        assert (await dav.propfind(path, names.RESOURCETYPE)).status == 404, char
    reply, path = await _create_named(dav, method, "a%20%C3%A9b")
    assert reply.status == 201, reply.body
    assert (await dav.propfind(path, names.RESOURCETYPE)).status == 207


@pytest.mark.parametrize("method", ["PROPPATCH", "MKCALENDAR"])
async def test_a_property_value_with_a_control_character_is_a_400(dav: Dav, method: str) -> None:
    """XML 1.0 §2.2: a character reference to a control is not well-formed, so a
    displayname or dead property can never hold one; C1 controls (U+0085) are characters."""
    wrap = ("<D:propertyupdate xmlns:D='DAV:' xmlns:x='urn:x'><D:set><D:prop>{}</D:prop>"
            "</D:set></D:propertyupdate>") if method == "PROPPATCH" else (
            "<C:mkcalendar xmlns:D='DAV:' xmlns:C='urn:ietf:params:xml:ns:caldav' "
            "xmlns:x='urn:x'><D:set><D:prop>{}</D:prop></D:set></C:mkcalendar>")
    for n, (value, status) in enumerate([("a&#x0B;b", 400), ("a&#xFFFE;b", 400),
                                         ("a&#x85;b", 201 if method == "MKCALENDAR" else 207)]):
        target = HOME01 + f"ctl{n}/" if method == "MKCALENDAR" else CAL01
        body = wrap.format(f"<D:displayname>{value}</D:displayname><x:note>{value}</x:note>")
        reply = await dav.request(method, target, body)
        assert reply.status == status, (value, reply.body)
    names_back = (await dav.propfind(CAL01 if method == "PROPPATCH" else HOME01 + "ctl2/",
                                     names.DISPLAYNAME)).texts(".//D:displayname")
    assert names_back == ["a\x85b"]


MULTIGET = (
    "<C:calendar-multiget xmlns:D='DAV:' xmlns:C='urn:ietf:params:xml:ns:caldav'>"
    "<D:prop><D:getetag/><C:calendar-data/></D:prop><D:href>{href}</D:href>"
    "</C:calendar-multiget>")
QUERY = (
    "<C:calendar-query xmlns:D='DAV:' xmlns:C='urn:ietf:params:xml:ns:caldav'>"
    "<D:prop><D:getetag/><C:calendar-data>{data}</C:calendar-data></D:prop><C:filter>"
    "<C:comp-filter name='VCALENDAR'><C:comp-filter name='VEVENT'>{range}</C:comp-filter>"
    "</C:comp-filter></C:filter></C:calendar-query>")
SYNC = ("<D:sync-collection xmlns:D='DAV:' xmlns:C='urn:ietf:params:xml:ns:caldav'>"
        "<D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/><C:calendar-data/>"
        "</D:prop></D:sync-collection>")
RANGE = "<C:time-range start='20260101T000000Z' end='20270101T000000Z'/>"
SUBSET = "<C:comp name='VCALENDAR'><C:allprop/><C:comp name='VEVENT'><C:allprop/></C:comp></C:comp>"


async def test_an_object_stored_with_a_control_character_never_fails_a_report(
        pg_database: PgDatabase, tmp_path: Path) -> None:
    """Objects stored before PUT refused them: every REPORT still answers 207, the
    character replaced by U+FFFD in calendar-data (XML 1.0 cannot carry it)."""
    async with serving(pg_database, tmp_path) as dav:
        assert (await dav.put(CAL01 + "old.ics", event("old", summary="a~b"))).status == 201
        conn = await asyncpg.connect(**pg_database.connect_kwargs)
        try:
            await conn.execute("UPDATE calendar_object SET icalendar = "
                               "replace(icalendar, 'a~b', E'a\\x0bb') WHERE uid = 'old'")
        finally:
            await conn.close()
        bodies = [MULTIGET.format(href=CAL01 + "old.ics"), SYNC,
                  QUERY.format(data="", range=""), QUERY.format(data="", range=RANGE),
                  QUERY.format(data=SUBSET, range=RANGE)]
        for body in bodies:
            reply = await dav.report(CAL01, body)
            assert reply.status == 207, (body, reply.body)
            assert "SUMMARY:a\ufffdb" in reply.texts(".//C:calendar-data")[0], body
        depth1 = await dav.propfind(CAL01, names.CALENDAR_DATA, depth="1")
        assert depth1.status == 207
        assert (await dav.request("GET", CAL01 + "old.ics")).status == 200


async def test_a_sync_token_past_any_revision_is_valid_sync_token(dav: Dav) -> None:
    """A revision no database column can hold is a token from the future, not a 500; and
    the next sync on the same connections still works (a failed argument once left
    asyncpg's connection inside an implicit transaction)."""
    for target in (CAL01, HOME01):
        token = (await dav.report(target, SYNC)).texts("D:sync-token")[0]
        collection = token.rsplit("/", 2)[1]
        for revision in (2**63, 10**30):
            forged = SYNC.replace("<D:sync-token/>", "<D:sync-token>data:,caldavd/"
                                  f"{collection}/{revision}</D:sync-token>")
            reply = await dav.report(target, forged)
            assert reply.status == 403, reply.body
            assert reply.error() == names.VALID_SYNC_TOKEN
        assert (await dav.report(target, SYNC)).status == 207
        free = await dav.report(CAL01, QUERY.format(data="", range=RANGE))
        assert free.status == 207


# -- Content-Encoding (RFC 9110 §8.4, §15.5.16) ------------------------------------------

PROPFIND_BODY = (b"<?xml version='1.0'?><D:propfind xmlns:D='DAV:'><D:prop><D:getetag/>"
                 b"</D:prop></D:propfind>")


@pytest.mark.parametrize("coding", ["gzip", "deflate", "x-gzip"])
async def test_a_body_that_is_not_in_its_coding_is_a_400(dav: Dav, coding: str) -> None:
    reply = await dav.request("PROPFIND", CAL01, PROPFIND_BODY,
                              headers={"Depth": "0", "Content-Encoding": coding})
    assert reply.status == 400, reply.body


@pytest.mark.parametrize("coding", ["br", "zstd", "compress", "x-compress", "gzip, gzip",
                                    "nonsense"])
async def test_an_unsupported_coding_is_a_415_naming_the_supported(dav: Dav, coding: str) -> None:
    for method, path, body in [("PROPFIND", CAL01, PROPFIND_BODY),
                               ("PUT", CAL01 + "coded.ics", event("coded").encode())]:
        reply = await dav.request(method, path, body,
                                  headers={"Depth": "0", "Content-Encoding": coding})
        assert reply.status == 415, reply.body
        assert reply.headers["Accept-Encoding"] == "gzip, deflate"


async def test_a_gzip_body_is_read(dav: Dav) -> None:
    reply = await dav.request("PUT", CAL01 + "gz.ics", gzip.compress(event("gz").encode()),
                              headers={"Content-Encoding": "gzip",
                                       "Content-Type": "text/calendar"})
    assert reply.status == 201, reply.body
    for coding, body in [("deflate", zlib.compress(PROPFIND_BODY)),
                         ("deflate", zlib.compress(PROPFIND_BODY)[2:-4]),  # raw, as some send
                         ("x-gzip", gzip.compress(PROPFIND_BODY))]:  # RFC 9110 §8.4.1.3
        reply = await dav.request("PROPFIND", CAL01, body,
                                  headers={"Depth": "0", "Content-Encoding": coding})
        assert reply.status == 207, (coding, reply.body)


async def test_a_body_that_decodes_past_the_limit_is_refused_without_decoding_it_all(
        dav: Dav) -> None:
    """50 KB of gzip that would be 50 MB: 413 once the decoded bytes pass the XML limit."""
    bomb = gzip.compress(PROPFIND_BODY[:-len(b"</D:propfind>")] + b" " * 50_000_000
                         + b"</D:propfind>", compresslevel=9)
    assert len(bomb) < 100_000
    reply = await dav.request("PROPFIND", CAL01, bomb,
                              headers={"Depth": "0", "Content-Encoding": "gzip"})
    assert reply.status == 413


# -- names a client spells (RFC 3253 §3.8) ------------------------------------------------

@pytest.mark.parametrize("attributes", ["name='-1'", "name='a b'", "name='x:y'",
                                        "name='ok' namespace='a b'"])
async def test_an_expand_property_name_that_is_no_xml_name_is_a_400(
        dav: Dav, attributes: str) -> None:
    body = (f"<D:expand-property xmlns:D='DAV:'><D:property {attributes}/>"
            "</D:expand-property>")
    reply = await dav.report(PRINCIPAL01, body, depth="0")
    assert reply.status == 400, reply.body


# -- bounded answers (README "Security and limits") ---------------------------------------

def _propfind(count: int) -> str:
    inner = "".join(f"<x:p{i}/>" for i in range(count))
    return f"<D:propfind xmlns:D='DAV:' xmlns:x='urn:x'><D:prop>{inner}</D:prop></D:propfind>"


async def test_property_names_per_request_are_bounded(pg_database: PgDatabase,
                                                      tmp_path: Path) -> None:
    """A PROPFIND Depth 1 naming 40,000 properties answered 10.7 MB: at most
    MaxPropertiesPerRequest distinct names, else 403 max-properties-per-request."""
    async with serving(pg_database, tmp_path, MaxPropertiesPerRequest=20) as dav:
        assert (await dav.request("PROPFIND", CAL01, _propfind(20),
                                  headers={"Depth": "1"})).status == 207
        repeated = _propfind(20).replace("</D:prop>", "<x:p0/>" * 500 + "</D:prop>")
        assert (await dav.request("PROPFIND", CAL01, repeated,
                                  headers={"Depth": "1"})).status == 207
        too_many = [("PROPFIND", _propfind(21)),
                    ("REPORT", SYNC.replace("<D:getetag/>", _names(21))),
                    ("REPORT", MULTIGET.format(href=CAL01 + "x.ics").replace(
                        "<D:getetag/>", _names(21))),
                    ("PROPPATCH", "<D:propertyupdate xmlns:D='DAV:' xmlns:x='urn:x'><D:set>"
                                  f"<D:prop>{_names(21)}</D:prop></D:set></D:propertyupdate>")]
        for method, body in too_many:
            reply = await dav.request(method, CAL01, body, headers={"Depth": "1"})
            assert reply.status == 403, (method, reply.body)
            assert reply.error() == names.MAX_PROPERTIES_PER_REQUEST, reply.body


def _names(count: int) -> str:
    return "".join(f"<x:n{i} xmlns:x='urn:x'/>" for i in range(count))


def _expand(inner: str) -> str:
    return f"<D:expand-property xmlns:D='DAV:'>{inner}</D:expand-property>"


async def test_expand_property_elements_and_depth_are_bounded(dav: Dav) -> None:
    """5,000 repeated elements answered 8.7 MB in 18 s: at most MaxExpandPropertyElements
    (100) DAV:property elements nested at most MaxExpandPropertyDepth (4) deep."""
    member = "<D:property name='displayname'/>"
    fine = _expand("<D:property name='group-member-set'>" + member * 99 + "</D:property>")
    assert (await dav.report(PRINCIPAL01, fine, depth="0")).status == 207
    deep = member
    for _ in range(4):
        deep = f"<D:property name='calendar-proxy-read-for' namespace='{names.CS_NS}'>" \
               f"{deep}</D:property>"
    for body in (_expand(member * 101), _expand(deep)):
        reply = await dav.report(PRINCIPAL01, body, depth="0")
        assert reply.status == 403, reply.body
        assert reply.error() == names.MAX_EXPAND_PROPERTY


# -- dead properties: bounded and in the quota (RFC 4918 §9.2, RFC 4331) -------------------

def _proppatch(count: int, size: int = 1, start: int = 0, remove: str = "") -> str:
    props = "".join(f"<x:p{i}>{'v' * size}</x:p{i}>" for i in range(start, start + count))
    removal = f"<D:remove><D:prop>{remove}</D:prop></D:remove>" if remove else ""
    return (f"<D:propertyupdate xmlns:D='DAV:' xmlns:x='urn:x'>{removal}<D:set><D:prop>{props}"
            "</D:prop></D:set></D:propertyupdate>")


def _statuses(reply: Reply) -> dict[str, str]:
    """Each property's propstat status (local name: status code)."""
    return {prop.tag.split("}")[1]: (stat.findtext("D:status", namespaces=NS) or "").split()[1]
            for stat in reply.findall("D:response/D:propstat")
            for prop in stat.iterfind("D:prop/*", NS)}


async def test_dead_properties_per_resource_are_bounded(pg_database: PgDatabase,
                                                        tmp_path: Path) -> None:
    """Three PROPPATCHes of 20,000 properties were accepted: at most
    MaxDeadPropertiesPerResource properties and MaxDeadPropertyBytesPerResource bytes; past
    either, 507 with caldavd:max-dead-properties for the sets, 424 for the rest, nothing
    applied (RFC 4918 §9.2, §9.2.1)."""
    async with serving(pg_database, tmp_path, MaxDeadPropertiesPerResource=5,
                       MaxDeadPropertyBytesPerResource=2000) as dav:
        assert set(_statuses(await dav.request("PROPPATCH", CAL01, _proppatch(4))).values()) \
            == {"200"}
        reply = await dav.request("PROPPATCH", CAL01,
                                  _proppatch(2, start=10, remove="<x:p0/>"))
        assert reply.status == 207
        assert _statuses(reply) == {"p0": "424", "p10": "507", "p11": "507"}
        stat = reply.find("D:response/D:propstat[D:status='HTTP/1.1 507 Insufficient Storage']")
        assert stat is not None and stat.find(
            f"D:error/{{{names.CALDAVD_NS}}}max-dead-properties", NS) is not None
        too_big = await dav.request("PROPPATCH", CAL01, _proppatch(1, size=2000, start=20))
        assert _statuses(too_big) == {"p20": "507"}
        found = await dav.propfind(CAL01, "{urn:x}p0", "{urn:x}p10", "{urn:x}p20")
        assert [s for s in _statuses(found).items()] == [
            ("p0", "200"), ("p10", "404"), ("p20", "404")]
        many = ("<C:mkcalendar xmlns:D='DAV:' xmlns:C='urn:ietf:params:xml:ns:caldav' "
                "xmlns:x='urn:x'><D:set><D:prop>"
                + "".join(f"<x:p{i}/>" for i in range(6)) + "</D:prop></D:set></C:mkcalendar>")
        reply = await dav.request("MKCALENDAR", HOME01 + "many/", many)
        assert reply.status == 507 and reply.error() == names.MAX_DEAD_PROPERTIES
        assert (await dav.propfind(HOME01 + "many/", names.RESOURCETYPE)).status == 404


async def test_dead_properties_count_in_the_quota(pg_database: PgDatabase,
                                                  tmp_path: Path) -> None:
    """RFC 4331 §6 quota-not-exceeded: dead properties take room like calendar data, and
    quota-used-bytes says so."""
    async with serving(pg_database, tmp_path, UserQuota=20000,
                       MaxDeadPropertyBytesPerResource=0) as dav:
        used = await _quota_used(dav)
        assert set(_statuses(await dav.request(
            "PROPPATCH", CAL01, _proppatch(1, size=5000))).values()) == {"200"}
        assert await _quota_used(dav) >= used + 5000
        reply = await dav.request("PROPPATCH", CAL01, _proppatch(1, size=20000, start=1))
        assert _statuses(reply) == {"p1": "507"}
        assert reply.find("D:response/D:propstat/D:error/D:quota-not-exceeded") is not None
        reply = await dav.request("PROPPATCH", CAL01, "<D:propertyupdate xmlns:D='DAV:' "
                                  "xmlns:x='urn:x'><D:remove><D:prop><x:p0/></D:prop>"
                                  "</D:remove></D:propertyupdate>")
        assert _statuses(reply) == {"p0": "200"}
        assert await _quota_used(dav) == used


async def test_copying_a_folder_holds_its_properties_to_the_bounds_and_quota(
        pg_database: PgDatabase, tmp_path: Path) -> None:
    """A COPY copies dead properties (RFC 4918 §9.8.2): each copy is held to
    MaxDeadPropertiesPerResource and MaxDeadPropertyBytesPerResource, the home to its
    quota (507, RFC 4918 §9.8.5; RFC 4331 §6), and nothing is copied when refused.
    Before, copying a folder doubled its properties' bytes past any quota."""
    async with serving(pg_database, tmp_path, UserQuota=30000,
                       MaxDeadPropertyBytesPerResource=0) as dav:
        assert (await dav.request("MKCOL", HOME01 + "folder/")).status == 201
        assert set(_statuses(await dav.request(
            "PROPPATCH", HOME01 + "folder/", _proppatch(1, size=12000))).values()) == {"200"}
        assert set(_statuses(await dav.request(
            "PROPPATCH", HOME01 + "folder/", _proppatch(1, start=1))).values()) == {"200"}
        used = await _quota_used(dav)
        copy = await dav.request("COPY", HOME01 + "folder/",
                                 headers={"Destination": dav.base + HOME01 + "one/"})
        assert copy.status == 201, copy.body
        assert await _quota_used(dav) >= used + 12000
        reply = await dav.request("COPY", HOME01 + "folder/",
                                  headers={"Destination": dav.base + HOME01 + "two/"})
        assert reply.status == 507 and reply.error() == names.QUOTA_NOT_EXCEEDED, reply.body
        assert (await dav.propfind(HOME01 + "two/", names.RESOURCETYPE)).status == 404
    async with serving(pg_database, tmp_path, MaxDeadPropertiesPerResource=1) as dav:
        reply = await dav.request("COPY", HOME01 + "folder/",
                                  headers={"Destination": dav.base + HOME01 + "three/"})
        assert reply.status == 507 and reply.error() == names.MAX_DEAD_PROPERTIES, reply.body
        assert (await dav.propfind(HOME01 + "three/", names.RESOURCETYPE)).status == 404


async def _quota_used(dav: Dav) -> int:
    reply = await dav.propfind(HOME01, names.QUOTA_USED_BYTES)
    return int(reply.texts(".//D:quota-used-bytes")[0])


async def test_a_home_full_of_dead_properties_answers_propfind(dav: Dav) -> None:
    """Stored values are written into the answer as they are, with their own namespace
    declarations: every value reads back as set."""
    body = ("<D:propertyupdate xmlns:D='DAV:' xmlns:x='urn:x' xmlns:y='urn:y'><D:set>"
            "<D:prop><x:a xml:lang='de'>Straße &amp; <y:b>nested</y:b></x:a>"
            "<D:displayname>Work</D:displayname></D:prop></D:set></D:propertyupdate>")
    assert (await dav.request("PROPPATCH", CAL01, body)).status == 207
    reply = await dav.request("PROPFIND", HOME01, headers={"Depth": "1"})
    response = reply.responses()[CAL01]
    a = response.find(".//{urn:x}a")
    assert a is not None and a.get("{http://www.w3.org/XML/1998/namespace}lang") == "de"
    assert a.text == "Straße & " and a.findtext("{urn:y}b") == "nested"
    assert response.findtext(".//D:displayname", namespaces=NS) == "Work"


async def test_a_large_multistatus_goes_out_in_pieces_and_reads_the_same(dav: Dav) -> None:
    """A PROPFIND answer over a MiB is sent chunked (RFC 9112 §7.1) rather than joined at
    once on the loop; it is the same document: every resource, every missing name 404."""
    for n in range(60):
        assert (await dav.request("MKCOL", HOME01 + f"f{n:02d}/")).status == 201
    wanted = "".join(f"<x:p{n:04d}/>" for n in range(900))
    body = (f"<D:propfind xmlns:D='DAV:' xmlns:x='urn:x'><D:prop><D:displayname/>{wanted}"
            "</D:prop></D:propfind>")
    reply = await dav.request("PROPFIND", HOME01, body, headers={"Depth": "1"})
    assert reply.status == 207
    assert reply.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in reply.headers
    responses = reply.responses()
    assert {HOME01 + f"f{n:02d}/" for n in range(60)} <= set(responses)
    for response in responses.values():
        missing = response.findall(".//{urn:x}*")
        assert len(missing) == 900
    small = await dav.request("PROPFIND", HOME01 + "f00/", body, headers={"Depth": "0"})
    assert small.status == 207 and "Content-Length" in small.headers
