"""Multistatus bodies over HTTP: Depth 1 listings from listing rows against the full
path, tricky names and data, sync-collection from rows, and the calendar's
calendar-timezone applied to floating times (RFC 4918 §9.1, RFC 6578, RFC 4791 §7.3)."""

from __future__ import annotations

from urllib.parse import quote

from lxml import etree

from caldavd.dav import names
from tests.functional.conftest import CAL01, HOME01, NS, Dav, Reply, event

NAMES = ["plain.ics", "a&b.ics", "Jo Smith é.ics", "x'y(1).ics", "日本😀.ics"]
TRICKY_SUMMARY = 'Café & <tea> ]]> "quoted"'


def href(name: str) -> str:
    return CAL01 + quote(name, safe="/:@!$&'()*+,;=")


async def _fill(dav: Dav) -> dict[str, str]:
    """The objects, by href, with the ETag each GET returns."""
    etags = {}
    for i, name in enumerate(NAMES):
        assert (await dav.put(href(name), event(f"uid-{i}", summary=TRICKY_SUMMARY))).status \
            == 201
        etags[href(name)] = (await dav.request("GET", href(name))).headers["ETag"]
    return etags


def etags_of(reply: Reply) -> dict[str, str]:
    return {h: r.findtext(".//D:getetag", namespaces=NS) or ""
            for h, r in reply.responses().items() if h != CAL01}


async def test_depth1_listing_matches_the_full_path(dav: Dav) -> None:
    etags = await _fill(dav)
    listed = await dav.propfind(CAL01, names.RESOURCETYPE, names.GETETAG, depth="1")
    full = await dav.propfind(CAL01, names.RESOURCETYPE, names.GETETAG, names.GETLASTMODIFIED,
                              depth="1")
    assert listed.status == full.status == 207
    assert etags_of(listed) == etags_of(full) == etags
    for reply in (listed, full):
        responses = reply.responses()
        assert responses[CAL01].find(".//D:resourcetype/C:calendar", NS) is not None
        for name in NAMES:
            resourcetype = responses[href(name)].find(".//D:resourcetype", NS)
            assert resourcetype is not None and len(resourcetype) == 0


async def test_depth1_listing_with_content_type_length_and_missing(dav: Dav) -> None:
    await _fill(dav)
    reply = await dav.propfind(CAL01, names.GETETAG, names.GETCONTENTTYPE,
                               names.GETCONTENTLENGTH, names.GETCTAG, "{urn:x}unknown",
                               depth="1")
    responses = reply.responses()
    for name in NAMES:
        response = responses[href(name)]
        ok, missing = response.findall("D:propstat", NS)
        assert ok.findtext("D:status", namespaces=NS) == "HTTP/1.1 200 OK"
        assert ok.findtext(".//D:getcontenttype", namespaces=NS) == \
            "text/calendar; charset=utf-8; component=vevent"
        length = int(ok.findtext(".//D:getcontentlength", namespaces=NS) or "0")
        get = await dav.request("GET", href(name))
        assert length == len(get.body)
        assert missing.findtext("D:status", namespaces=NS) == "HTTP/1.1 404 Not Found"
        prop = missing.find("D:prop", NS)
        assert prop is not None and [c.tag for c in prop] == [names.GETCTAG, "{urn:x}unknown"]
    assert responses[CAL01].findtext(".//CS:getctag", namespaces=NS)


async def test_calendar_data_keeps_crlf_and_tricky_text(dav: Dav) -> None:
    await _fill(dav)
    hrefs = "".join(f"<D:href>{etree_escape(href(n))}</D:href>" for n in NAMES)
    body = ('<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            f"<D:prop><D:getetag/><C:calendar-data/></D:prop>{hrefs}</C:calendar-multiget>")
    reply = await dav.report(CAL01, body)
    assert set(reply.responses()) == {href(n) for n in NAMES}
    for name in NAMES:
        data = reply.responses()[href(name)].findtext(".//C:calendar-data", namespaces=NS)
        assert data == (await dav.request("GET", href(name))).body.decode()
        assert f"SUMMARY:{TRICKY_SUMMARY}\r\n" in (data or "")


def etree_escape(text: str) -> str:
    node = etree.Element("x")
    node.text = text
    return etree.tostring(node, encoding="unicode")[3:-4]


SYNC = """<D:sync-collection xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level>
  <D:prop>{props}</D:prop></D:sync-collection>"""


async def test_sync_from_listing_rows_matches_the_full_path(dav: Dav) -> None:
    etags = await _fill(dav)
    rows = await dav.report(CAL01, SYNC.format(token="", props="<D:getetag/>"))
    full = await dav.report(CAL01, SYNC.format(token="", props="<D:getetag/><C:calendar-data/>"))
    assert etags_of(rows) == etags_of(full) == etags
    token = rows.texts("D:sync-token")[0]
    assert (await dav.request("DELETE", href("a&b.ics"))).status == 204
    assert (await dav.put(href("plain.ics"), event("uid-0", summary="changed"))).status == 204
    changed = await dav.report(CAL01, SYNC.format(token=token, props="<D:getetag/>"))
    responses = changed.responses()
    assert set(responses) == {href("a&b.ics"), href("plain.ics")}
    assert responses[href("a&b.ics")].findtext("D:status", namespaces=NS) == \
        "HTTP/1.1 404 Not Found"
    assert responses[href("plain.ics")].findtext(".//D:getetag", namespaces=NS) == \
        (await dav.request("GET", href("plain.ics"))).headers["ETag"]


# UTC+10 all year: a floating 10:00 there is 00:00 UTC.
ZONE = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//caldavd tests//EN\r\n"
        "BEGIN:VTIMEZONE\r\nTZID:Plus10\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
        "TZOFFSETFROM:+1000\r\nTZOFFSETTO:+1000\r\nTZNAME:P10\r\nEND:STANDARD\r\n"
        "END:VTIMEZONE\r\nEND:VCALENDAR\r\n")
QUERY = """<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="{start}" end="{end}"/>
  </C:comp-filter></C:comp-filter></C:filter>{zone}</C:calendar-query>"""


async def test_floating_times_follow_the_calendar_timezone(dav: Dav) -> None:
    mkcalendar = ('<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
                  f"<D:set><D:prop><C:calendar-timezone>{etree_escape(ZONE)}"
                  "</C:calendar-timezone></D:prop></D:set></C:mkcalendar>")
    cal = HOME01 + "zoned/"
    assert (await dav.request("MKCALENDAR", cal, mkcalendar)).status == 201
    assert (await dav.put(cal + "floating.ics", event(
        "floating", start="20260105T100000", end="20260105T110000"))).status == 201
    assert (await dav.put(cal + "utc.ics", event(
        "utc", start="20260105T100000Z", end="20260105T110000Z"))).status == 201

    early = await dav.report(cal, QUERY.format(start="20260105T000000Z",
                                               end="20260105T010000Z", zone=""))
    assert set(early.responses()) == {cal + "floating.ics"}
    late = await dav.report(cal, QUERY.format(start="20260105T100000Z",
                                              end="20260105T110000Z", zone=""))
    assert set(late.responses()) == {cal + "utc.ics"}
    utc_zone = ("<C:timezone>BEGIN:VCALENDAR&#13;\nVERSION:2.0&#13;\nPRODID:x&#13;\n"
                "BEGIN:VTIMEZONE&#13;\nTZID:UTC&#13;\nBEGIN:STANDARD&#13;\n"
                "DTSTART:19700101T000000&#13;\nTZOFFSETFROM:+0000&#13;\nTZOFFSETTO:+0000&#13;\n"
                "END:STANDARD&#13;\nEND:VTIMEZONE&#13;\nEND:VCALENDAR&#13;\n</C:timezone>")
    asked = await dav.report(cal, QUERY.format(start="20260105T100000Z",
                                               end="20260105T110000Z", zone=utc_zone))
    assert set(asked.responses()) == {cal + "floating.ics", cal + "utc.ics"}
