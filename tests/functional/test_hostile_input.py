"""Hostile and broken input never gets a 500 and never leaves anything behind."""

from __future__ import annotations

import pytest

from tests.functional.conftest import CAL01, HOME01, Dav, event

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
    b"<C:calendar-multiget xmlns:D='DAV:' xmlns:C='urn:ietf:params:xml:ns:caldav'><D:href>"
    b"%zz</D:href></C:calendar-multiget>",
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
