"""calendar-multiget, calendar-query and sync-collection over HTTP
(RFC 4791 §7.8-7.9, §9.9; RFC 6578)."""

from __future__ import annotations

import pytest

from caldavd.dav import names
from tests.conftest import PgDatabase
from tests.functional import conftest
from tests.functional.conftest import (
    CAL01,
    HOME01,
    HOME02,
    NS,
    Dav,
    Reply,
    event,
    text_at,
    todo,
)

MULTIGET = """<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>{hrefs}</C:calendar-multiget>"""

QUERY = """<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/>{data}</D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="{start}" end="{end}"/>
  </C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"""

SYNC = """<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>
  <D:sync-level>1</D:sync-level>{limit}<D:prop><D:getetag/></D:prop></D:sync-collection>"""

WEEKLY = event("weekly-1", start="20260105T090000Z", end="20260105T100000Z",
               summary="Standup", extra="RRULE:FREQ=WEEKLY;COUNT=10\r\n")


async def _fill(dav: Dav) -> None:
    assert (await dav.put(CAL01 + "jan.ics", event("jan", "20260110T100000Z",
                                                   "20260110T110000Z"))).status == 201
    assert (await dav.put(CAL01 + "mar.ics", event("mar", "20260310T100000Z",
                                                   "20260310T110000Z"))).status == 201
    assert (await dav.put(CAL01 + "weekly.ics", WEEKLY)).status == 201


async def test_multiget_returns_data_and_404_for_missing(dav: Dav) -> None:
    await _fill(dav)
    hrefs = "".join(f"<D:href>{CAL01}{n}</D:href>" for n in ("jan.ics", "mar.ics", "nope.ics"))
    reply = await dav.report(CAL01, MULTIGET.format(hrefs=hrefs))
    assert reply.status == 207
    responses = reply.responses()
    assert "UID:jan" in (responses[CAL01 + "jan.ics"].findtext(".//C:calendar-data",
                                                               namespaces=NS) or "")
    assert responses[CAL01 + "mar.ics"].findtext(".//D:getetag", namespaces=NS)
    assert responses[CAL01 + "nope.ics"].findtext("D:status", namespaces=NS) == \
        "HTTP/1.1 404 Not Found"


async def test_multiget_on_the_home_reaches_objects_in_its_calendars(dav: Dav) -> None:
    """RFC 4791 §7.9: on a collection the hrefs "MAY refer to calendar object resources
    at any depth within the collection" (it was 403 supported-report on a home).  Hrefs
    outside the Request-URI, into another user's home or to nothing are 404."""
    await _fill(dav)
    tasks = HOME01 + "tasks/"
    assert (await dav.put(tasks + "t.ics", todo("t-1"))).status == 201
    assert (await dav.put(HOME02 + "calendar/other.ics", event("other-1"),
                          user="user02")).status == 201
    wanted = (CAL01 + "jan.ics", tasks + "t.ics", CAL01 + "nope.ics", HOME01 + "nope/x.ics",
              HOME02 + "calendar/other.ics")
    reply = await dav.report(HOME01, MULTIGET.format(
        hrefs="".join(f"<D:href>{h}</D:href>" for h in wanted)))
    assert reply.status == 207
    responses = reply.responses()
    assert set(responses) == set(wanted)
    assert "UID:jan" in (responses[CAL01 + "jan.ics"].findtext(".//C:calendar-data",
                                                               namespaces=NS) or "")
    assert "UID:t-1" in (responses[tasks + "t.ics"].findtext(".//C:calendar-data",
                                                            namespaces=NS) or "")
    for href in wanted[2:]:
        assert responses[href].findtext("D:status", namespaces=NS) == \
            "HTTP/1.1 404 Not Found", href
    # A plain folder of the home is a collection too: nothing of the calendars is below it.
    assert (await dav.request("MKCOL", HOME01 + "folder/")).status == 201
    below = await dav.report(HOME01 + "folder/", MULTIGET.format(
        hrefs=f"<D:href>{CAL01}jan.ics</D:href>"))
    assert below.responses()[CAL01 + "jan.ics"].findtext("D:status", namespaces=NS) == \
        "HTTP/1.1 404 Not Found"


ZONE_MINUS5 = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//caldavd tests//EN\r\n"
               "BEGIN:VTIMEZONE\r\nTZID:Test/Minus5\r\nBEGIN:STANDARD\r\n"
               "DTSTART:19700101T000000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0500\r\n"
               "END:STANDARD\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n")
READ_GROUP01 = f"/principals/__uids__/{conftest.USER01_UID}/calendar-proxy-read/"
P02 = f"/principals/__uids__/{conftest.USER02_UID}/"


def _query_paths(reply: Reply) -> set[str]:
    assert reply.status == 207, reply.body
    return set(reply.responses())


async def test_query_on_the_home_reaches_objects_in_its_calendars(dav: Dav) -> None:
    """RFC 4791 §7.8 on a collection that is no calendar: with Depth infinity the objects
    of the calendars below match (it was 403 supported-report on a home), each calendar's
    floating times in its own calendar-timezone (§5.2.2). Objects lie at depth 2, so
    Depth 1 (the home's calendars, no calendar objects) and 0 answer none, and a plain
    folder holds no calendar. A read delegate (calendar-proxy-read) gets the same; someone
    without read gets 403 (RFC 3744 §7.1.1)."""
    floating = event("float", start="20260105T090000", end="20260105T100000")
    work = HOME01 + "work/"
    assert (await dav.request("MKCALENDAR", work)).status == 201
    zone = ('<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            f"<D:set><D:prop><C:calendar-timezone><![CDATA[{ZONE_MINUS5}]]>"
            "</C:calendar-timezone></D:prop></D:set></D:propertyupdate>")
    assert (await dav.request("PROPPATCH", CAL01, zone)).status == 207
    for calendar in (CAL01, work):
        assert (await dav.put(calendar + "float.ics", floating)).status == 201
    assert (await dav.put(CAL01 + "utc.ics", event("utc"))).status == 201  # 10:00Z
    at_14z = QUERY.format(data="", start="20260105T140000Z", end="20260105T143000Z")
    at_09z = QUERY.format(data="<C:calendar-data/>", start="20260105T090000Z",
                          end="20260105T103000Z")
    assert _query_paths(await dav.report(HOME01, at_14z, depth="infinity")) == {
        CAL01 + "float.ics"}
    nine = await dav.report(HOME01, at_09z, depth="infinity")
    assert _query_paths(nine) == {work + "float.ics", CAL01 + "utc.ics"}
    assert "UID:utc" in (nine.responses()[CAL01 + "utc.ics"].findtext(
        ".//C:calendar-data", namespaces=NS) or "")
    for depth in ("0", "1"):
        assert _query_paths(await dav.report(HOME01, at_09z, depth=depth)) == set(), depth
    assert (await dav.request("MKCOL", HOME01 + "folder/")).status == 201
    assert _query_paths(await dav.report(HOME01 + "folder/", at_09z,
                                         depth="infinity")) == set()
    members = ('<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:group-member-set>'
               f"<D:href>{P02}</D:href></D:group-member-set></D:prop></D:set>"
               "</D:propertyupdate>")
    assert (await dav.request("PROPPATCH", READ_GROUP01, members)).status == 207
    delegate = await dav.report(HOME01, at_09z, depth="infinity", user="user02")
    assert _query_paths(delegate) == {work + "float.ics", CAL01 + "utc.ics"}
    assert (await dav.report(HOME01, at_09z, depth="infinity", user="user03")).status == 403


BAD_HREFS = {
    CAL01 + "%ED%A0%80.ics": 400,  # a surrogate once decoded: no UTF-8
    CAL01 + "%ff.ics": 400,
    "http://elsewhere.example/calendars/x.ics": 400,  # another server (RFC 4918 §8.3)
    "relative.ics": 400,
    "/calendars/../../x.ics": 400,
    HOME01 + "other/jan.ics": 404,  # outside the collection
    CAL01 + "sub/jan.ics": 404,
}


@pytest.mark.parametrize("target", [CAL01, HOME01])
async def test_multiget_answers_each_bad_href_on_its_own(dav: Dav, target: str) -> None:
    """RFC 4791 §7.9, RFC 4918 §9.1.2/§13: a 207 with a DAV:response for every href, each
    refused one with its own status (400: no path of this server; 404: no member); the
    good ones still answered, by an absolute URL naming this server too."""
    await _fill(dav)
    good = [CAL01 + "jan.ics", dav.base + CAL01 + "mar.ics"]
    hrefs = "".join(f"<D:href>{h}</D:href>" for h in [good[0], *BAD_HREFS, good[1]])
    reply = await dav.report(target, MULTIGET.format(hrefs=hrefs))
    assert reply.status == 207, reply.body
    responses = reply.responses()
    assert set(responses) == {CAL01 + "jan.ics", CAL01 + "mar.ics", *BAD_HREFS}
    for href in (CAL01 + "jan.ics", CAL01 + "mar.ics"):
        assert responses[href].findtext(".//D:propstat/D:status", namespaces=NS) == \
            "HTTP/1.1 200 OK", href
        assert "BEGIN:VCALENDAR" in (responses[href].findtext(".//C:calendar-data",
                                                              namespaces=NS) or "")
    for href, status in BAD_HREFS.items():
        assert (responses[href].findtext("D:status", namespaces=NS) or "").startswith(
            f"HTTP/1.1 {status} "), (href, responses[href].findtext("D:status", namespaces=NS))


async def test_time_range_query_finds_events_and_recurrences(dav: Dav) -> None:
    await _fill(dav)
    january = await dav.report(CAL01, QUERY.format(data="", start="20260101T000000Z",
                                                   end="20260201T000000Z"))
    assert set(january.responses()) == {CAL01 + "jan.ics", CAL01 + "weekly.ics"}
    # The 9th weekly instance (2026-03-02) is the only thing in that week.
    week = await dav.report(CAL01, QUERY.format(data="", start="20260302T000000Z",
                                                end="20260308T000000Z"))
    assert set(week.responses()) == {CAL01 + "weekly.ics"}
    # After COUNT=10 runs out (last 2026-03-09) only the March event remains.
    april = await dav.report(CAL01, QUERY.format(data="", start="20260310T000000Z",
                                                 end="20260401T000000Z"))
    assert set(april.responses()) == {CAL01 + "mar.ics"}


async def _expanded(dav: Dav, href: str, start: str, end: str) -> str:
    """``href``'s calendar-data from a calendar-query of [start, end) expanding that range."""
    data = f'<C:calendar-data><C:expand start="{start}" end="{end}"/></C:calendar-data>'
    reply = await dav.report(CAL01, QUERY.format(data=data, start=start, end=end))
    return reply.responses()[href].findtext(".//C:calendar-data", namespaces=NS) or ""


async def test_query_with_expand_returns_instances(dav: Dav) -> None:
    await _fill(dav)
    text = await _expanded(dav, CAL01 + "weekly.ics", "20260101T000000Z", "20260120T000000Z")
    assert text.count("BEGIN:VEVENT") == 3
    assert "RRULE" not in text and text.count("RECURRENCE-ID") == 3


# Daily from Monday 2026-01-05 09:00 for ten days; from the 8th on it is moved two
# days later and to 14:00, so the last instance (the 14th) now lies on the 16th.
MOVED_FROM_THE_8TH = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//caldavd tests//EN\r\n"
    "BEGIN:VEVENT\r\nUID:daily-moved\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\nSUMMARY:Daily\r\n"
    "RRULE:FREQ=DAILY;COUNT=10\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:daily-moved\r\nDTSTAMP:20260101T000000Z\r\n"
    "RECURRENCE-ID;RANGE=THISANDFUTURE:20260108T090000Z\r\n"
    "DTSTART:20260110T140000Z\r\nDTEND:20260110T150000Z\r\nSUMMARY:Moved\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n")


async def test_thisandfuture_moves_later_instances_for_queries_and_expand(dav: Dav) -> None:
    """RFC 5545 §3.8.4.4 with RFC 4791 §9.9: the index and the expansion see every
    instance after a THISANDFUTURE override where it moved."""
    assert (await dav.put(CAL01 + "moved.ics", MOVED_FROM_THE_8TH)).status == 201
    late = await dav.report(CAL01, QUERY.format(data="", start="20260116T000000Z",
                                                end="20260117T000000Z"))
    assert set(late.responses()) == {CAL01 + "moved.ics"}, "the last instance moved here"
    gap = await dav.report(CAL01, QUERY.format(data="", start="20260108T000000Z",
                                               end="20260110T000000Z"))
    assert gap.responses() == {}, "nothing is left on the 8th and 9th"
    text = await _expanded(dav, CAL01 + "moved.ics", "20260112T000000Z", "20260113T000000Z")
    assert text.count("BEGIN:VEVENT") == 1
    assert "SUMMARY:Moved" in text and "DTSTART:20260112T140000Z" in text
    assert "RECURRENCE-ID:20260110T090000Z" in text


async def test_invalid_filter_is_valid_filter_error(dav: Dav) -> None:
    """RFC 4791 §7.8 valid-filter: a condition of the request, so 403 (RFC 4791 §1.3)."""
    body = """<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
      <D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VEVENT"/></C:filter>
      </C:calendar-query>"""
    reply = await dav.report(CAL01, body)
    assert reply.status == 403
    assert reply.error() == names.VALID_FILTER


async def test_unsupported_report_is_refused(dav: Dav) -> None:
    search = ('<D:principal-property-search xmlns:D="DAV:"><D:property-search><D:prop>'
              "<D:displayname/></D:prop><D:match>x</D:match></D:property-search>"
              "</D:principal-property-search>")
    reply = await dav.report(HOME01, search, depth="0")
    assert reply.status == 403
    assert reply.error() == names.SUPPORTED_REPORT_ERROR


async def test_reports_on_resources_they_do_not_apply_to(dav: Dav) -> None:
    """403 supported-report (RFC 3253 §3.6), and supported-report-set does not claim
    them: sync-collection and free-busy-query on a calendar object or a plain folder (a
    folder used to answer for the whole home), calendar-query on an object (it was
    valid-filter, and sync-collection 400) or a plain file."""
    assert (await dav.put(CAL01 + "r.ics", event("r-1"))).status == 201
    assert (await dav.request("MKCOL", HOME01 + "folder/")).status == 201
    sync = SYNC.format(token="", limit="")
    busy = FREEBUSY.format(start="20260101T000000Z", end="20260201T000000Z")
    query = QUERY.format(data="", start="20260101T000000Z", end="20260201T000000Z")
    for path, body in ((CAL01 + "r.ics", sync), (CAL01 + "r.ics", busy),
                       (CAL01 + "r.ics", query), (HOME01 + "folder/", sync),
                       (HOME01 + "folder/", busy)):
        reply = await dav.report(path, body, depth="0" if body is busy else "1")
        assert (reply.status, reply.error()) == (403, names.SUPPORTED_REPORT_ERROR), (
            path, body[:30])
    assert (await dav.request("PUT", HOME01 + "folder/f.txt", "text",
                              headers={"Content-Type": "text/plain"})).status == 201
    reply = await dav.report(HOME01 + "folder/f.txt", query)
    assert (reply.status, reply.error()) == (403, names.SUPPORTED_REPORT_ERROR)
    for path, refused in ((CAL01 + "r.ics", {names.CALENDAR_QUERY}),
                          (HOME01 + "folder/", set()),
                          (HOME01 + "folder/f.txt", {names.CALENDAR_QUERY})):
        props = await dav.propfind(path, names.SUPPORTED_REPORT_SET)
        claimed = {e.tag for e in props.findall(".//D:supported-report/D:report/*")}
        assert claimed.isdisjoint({names.SYNC_COLLECTION, names.FREE_BUSY_QUERY, *refused}), (
            path, claimed)


async def test_sync_collection_initial_then_changes_then_deletions(dav: Dav) -> None:
    await _fill(dav)
    first = await dav.report(CAL01, SYNC.format(token="", limit=""))
    assert first.status == 207
    assert set(first.responses()) == {CAL01 + n for n in ("jan.ics", "mar.ics", "weekly.ics")}
    token = first.texts("D:sync-token")[0]

    same = await dav.report(CAL01, SYNC.format(token=token, limit=""))
    assert same.responses() == {} and same.texts("D:sync-token") == [token]

    assert (await dav.put(CAL01 + "jan.ics", event("jan", summary="moved"))).status == 204
    assert (await dav.request("DELETE", CAL01 + "mar.ics")).status == 204
    changed = await dav.report(CAL01, SYNC.format(token=token, limit=""))
    responses = changed.responses()
    assert set(responses) == {CAL01 + "jan.ics", CAL01 + "mar.ics"}
    assert responses[CAL01 + "mar.ics"].findtext("D:status", namespaces=NS) == \
        "HTTP/1.1 404 Not Found"
    assert responses[CAL01 + "jan.ics"].findtext(".//D:getetag", namespaces=NS)
    assert changed.texts("D:sync-token") != [token]


async def test_sync_with_foreign_token_is_valid_sync_token(dav: Dav) -> None:
    reply = await dav.report(CAL01, SYNC.format(token="data:,caldavd/999999/1", limit=""))
    assert reply.status == 403
    assert reply.error() == names.VALID_SYNC_TOKEN
    garbage = await dav.report(CAL01, SYNC.format(token="http://example.com/x", limit=""))
    assert garbage.error() == names.VALID_SYNC_TOKEN


async def test_sync_limit_truncates_with_507(dav: Dav) -> None:
    """RFC 6578 §3.6."""
    await _fill(dav)
    reply = await dav.report(CAL01, SYNC.format(
        token="", limit="<D:limit><D:nresults>2</D:nresults></D:limit>"))
    responses = reply.responses()
    assert responses[CAL01].findtext("D:status", namespaces=NS) == \
        "HTTP/1.1 507 Insufficient Storage"
    assert len([h for h in responses if h != CAL01]) == 2
    rest = await dav.report(CAL01, SYNC.format(token=reply.texts("D:sync-token")[0], limit=""))
    assert len(rest.responses()) == 1


async def test_home_sync_reports_changed_calendars(dav: Dav) -> None:
    first = await dav.report(HOME01, SYNC.format(token="", limit=""))
    token = first.texts("D:sync-token")[0]
    assert (await dav.put(CAL01 + "x.ics", event("home-sync"))).status == 201
    changed = await dav.report(HOME01, SYNC.format(token=token, limit=""))
    assert set(changed.responses()) == {CAL01}


async def test_ctag_and_sync_token_change_on_every_change(dav: Dav) -> None:
    async def tags() -> tuple[list[str], list[str]]:
        reply = await dav.propfind(CAL01, names.GETCTAG, names.SYNC_TOKEN)
        return reply.texts(".//CS:getctag"), reply.texts(".//D:sync-token")

    before = await tags()
    assert (await dav.put(CAL01 + "t.ics", event("tags-1"))).status == 201
    after_put = await tags()
    assert (await dav.request("DELETE", CAL01 + "t.ics")).status == 204
    after_delete = await tags()
    assert len({str(before), str(after_put), str(after_delete)}) == 3


FREEBUSY = """<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">
  <C:time-range start="{start}" end="{end}"/></C:free-busy-query>"""


async def test_free_busy_query_merges_busy_time(dav: Dav) -> None:
    """RFC 4791 §7.10: busy periods, transparent events left out."""
    await _fill(dav)
    transparent = event("free-1", "20260112T120000Z", "20260112T130000Z",
                        extra="TRANSP:TRANSPARENT\r\n")
    assert (await dav.put(CAL01 + "free.ics", transparent)).status == 201
    reply = await dav.report(CAL01, FREEBUSY.format(start="20260110T000000Z",
                                                    end="20260113T000000Z"))
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/calendar")
    text = reply.body.decode()
    assert "BEGIN:VFREEBUSY" in text
    assert "20260110T100000Z/20260110T110000Z" in text
    assert "20260112T120000Z" not in text, "transparent events are not busy"


async def test_free_busy_query_without_range_is_400(dav: Dav) -> None:
    reply = await dav.report(CAL01, '<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"/>')
    assert reply.status == 400


async def test_free_busy_of_another_user_is_forbidden(dav: Dav) -> None:
    await _fill(dav)
    reply = await dav.report(CAL01, FREEBUSY.format(start="20260110T000000Z",
                                                    end="20260113T000000Z"), user="user02")
    assert reply.status == 403


async def test_query_past_the_horizon_finds_and_then_indexes(dav: Dav,
                                                             pg_database: PgDatabase) -> None:
    """Instances beyond the indexed horizon are found, and the index is extended."""
    daily = event("daily-1", "20260101T080000Z", "20260101T083000Z",
                  extra="RRULE:FREQ=DAILY\r\n")
    assert (await dav.put(CAL01 + "daily.ics", daily)).status == 201
    conn = await pg_database.connect()
    try:
        before = await conn.fetchval("SELECT indexed_until FROM calendar_object")
        far = await dav.report(CAL01, QUERY.format(data="", start="20300601T000000Z",
                                                   end="20300602T000000Z"))
        assert set(far.responses()) == {CAL01 + "daily.ics"}
        after = await conn.fetchval("SELECT indexed_until FROM calendar_object")
        rows = await conn.fetchval(
            "SELECT count(*) FROM time_range WHERE start_utc >= '2030-06-01'"
            " AND start_utc < '2030-06-02'")
    finally:
        await conn.close()
    assert before is not None and after is not None and after > before
    assert rows == 1


TEXT_QUERY = """<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR">
  <C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY">
  <C:text-match collation="{collation}" negate-condition="{negate}">{text}</C:text-match>
  </C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"""


async def test_text_match_and_negation(dav: Dav) -> None:
    """RFC 4791 §9.7.5: case-insensitive by default, negate-condition inverts."""
    await _fill(dav)
    found = await dav.report(CAL01, TEXT_QUERY.format(collation="i;ascii-casemap",
                                                      negate="no", text="STANDUP"))
    assert set(found.responses()) == {CAL01 + "weekly.ics"}
    others = await dav.report(CAL01, TEXT_QUERY.format(collation="i;ascii-casemap",
                                                       negate="yes", text="standup"))
    assert set(others.responses()) == {CAL01 + "jan.ics", CAL01 + "mar.ics"}
    octet = await dav.report(CAL01, TEXT_QUERY.format(collation="i;octet", negate="no",
                                                      text="STANDUP"))
    assert octet.responses() == {}


async def test_unknown_collation_is_supported_collation(dav: Dav) -> None:
    reply = await dav.report(CAL01, TEXT_QUERY.format(collation="i;klingon", negate="no",
                                                      text="x"))
    assert reply.status == 403
    assert reply.error() == names.SUPPORTED_COLLATION


IMPOSSIBLE_FILTERS = {
    "time-range on SUMMARY": '<C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY">'
    '<C:time-range start="20260101T000000Z"/></C:prop-filter></C:comp-filter>',
    "VEVENT in VEVENT": '<C:comp-filter name="VEVENT"><C:comp-filter name="VEVENT"/>'
    "</C:comp-filter>",
    "VALARM in VCALENDAR": '<C:comp-filter name="VALARM"/>',
    "VEVENT in VALARM": '<C:comp-filter name="VTODO"><C:comp-filter name="VALARM">'
    '<C:comp-filter name="VEVENT"/></C:comp-filter></C:comp-filter>',
}


async def test_impossible_filters_are_valid_filter(dav: Dav) -> None:
    """RFC 4791 §7.8 (CALDAV:valid-filter, 403 by §1.3): "a CALDAV:filter cannot nest a
    VEVENT comp-filter in a VEVENT comp-filter" nor "a time-range in a prop-filter
    SUMMARY" (§9.9: time-ranges apply to date and date-time values). They answered 207
    with no match (found by CalDAVTester's errors.xml)."""
    await _fill(dav)
    for why, inner in IMPOSSIBLE_FILTERS.items():
        body = ('<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
                '<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR">'
                f"{inner}</C:comp-filter></C:filter></C:calendar-query>")
        reply = await dav.report(CAL01, body)
        assert reply.status == 403, (why, reply.body)
        assert reply.error() == names.VALID_FILTER, why


async def test_time_range_on_unsupported_component_is_supported_filter(dav: Dav) -> None:
    body = """<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
      <D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR">
      <C:comp-filter name="VTIMEZONE"><C:time-range start="20260101T000000Z"
      end="20260201T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"""
    reply = await dav.report(CAL01, body)
    assert reply.status == 403
    assert reply.error() == names.SUPPORTED_FILTER


async def test_current_token_at_or_below_the_purge_floor_is_invalid(
        dav: Dav, pg_database: PgDatabase) -> None:
    """RFC 6578 §3.2: once its tombstones are purged a token is refused, current or not."""
    await _fill(dav)
    token = (await dav.report(CAL01, SYNC.format(token="", limit=""))).texts("D:sync-token")[0]
    revision = int(token.rsplit("/", 1)[1])
    db = await pg_database.connect()
    try:
        await db.execute("UPDATE calendar SET purged_revision = $1 WHERE purged_revision < $1",
                         revision)
    finally:
        await db.close()
    reply = await dav.report(CAL01, SYNC.format(token=token, limit=""))
    assert reply.status == 403
    assert reply.error() == names.VALID_SYNC_TOKEN



ANY_QUERY = """<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop>{props}</D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="{component}">
    <C:time-range start="20260101T000000Z" end="20260201T000000Z"/>
  </C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"""
TASKS = HOME01 + "tasks/"
ROW_PROPS = ("D:getetag", "C:calendar-data", "D:getcontenttype")


def _answers(reply: Reply) -> dict[str, list[str]]:
    """href -> the texts of ROW_PROPS, then the propstat statuses."""
    return {href: [response.findtext(f".//{p}", namespaces=NS) or "" for p in ROW_PROPS]
            + [text_at(s, ".") for s in response.iterfind(".//D:status", NS)]
            for href, response in reply.responses().items()}


async def test_answers_from_rows_agree_with_the_general_answer(dav: Dav) -> None:
    """getetag, getcontenttype and calendar-data are written from the candidate rows;
    with getlastmodified as well, the objects go through the general property path.
    Both give the same answers, rechecked candidates (floating, to-do) and a selection
    of the data included."""
    await _fill(dav)
    for name, ics in (("floating.ics", event("floating", "20260112T100000",
                                             "20260112T110000")),
                      ("outside.ics", event("outside", "20260301T100000",
                                            "20260301T110000")),
                      ("chore.ics", todo("chore", due="20260115T120000Z"))):
        where = TASKS if name == "chore.ics" else CAL01
        assert (await dav.put(where + name, ics)).status == 201
    selected = ('<C:calendar-data><C:comp name="VCALENDAR"><C:comp name="VEVENT">'
                '<C:prop name="UID"/></C:comp></C:comp></C:calendar-data>')
    events = {CAL01 + n for n in ("jan.ics", "weekly.ics", "floating.ics")}
    for where, component, data, expected in (
            (CAL01, "VEVENT", "<C:calendar-data/>", events),
            (CAL01, "VEVENT", selected, events),
            (TASKS, "VTODO", "<C:calendar-data/>", {TASKS + "chore.ics"})):
        props = f"<D:getetag/>{data}<D:getcontenttype/>"
        rows = _answers(await dav.report(where, ANY_QUERY.format(
            component=component, props=props)))
        objects = _answers(await dav.report(where, ANY_QUERY.format(
            component=component, props=props + "<D:getlastmodified/>")))
        assert rows == objects
        assert set(rows) == expected
        assert all(texts[0] and texts[1] for texts in rows.values())


async def test_repeated_query_answers_changed_data(dav: Dav) -> None:
    """The second query takes the whole data from the ETag-keyed fragments; an object
    changed in between has a new ETag, so its new data is fetched."""
    await _fill(dav)
    query = QUERY.format(data="<C:calendar-data/>", start="20260101T000000Z",
                         end="20260201T000000Z")
    first = _answers(await dav.report(CAL01, query))
    assert first == _answers(await dav.report(CAL01, query))
    assert (await dav.put(CAL01 + "jan.ics", event("jan", "20260110T100000Z",
                                                   "20260110T110000Z",
                                                   summary="Moved"))).status == 204
    again = (await dav.report(CAL01, query)).responses()[CAL01 + "jan.ics"]
    assert "SUMMARY:Moved" in (again.findtext(".//C:calendar-data", namespaces=NS) or "")
    etag = (await dav.request("GET", CAL01 + "jan.ics")).headers["ETag"]
    assert again.findtext(".//D:getetag", namespaces=NS) == etag
    assert first[CAL01 + "weekly.ics"] == _answers(
        await dav.report(CAL01, query))[CAL01 + "weekly.ics"]
