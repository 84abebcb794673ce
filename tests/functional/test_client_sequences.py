"""Request sequences as real clients send them, end to end.

Apple Calendar: well-known → current-user-principal → principal (home set,
addresses) → home Depth 1 with getctag/sync-token → sync-collection →
multiget of what changed.  Thunderbird: calendar-query for a window with
etags, then multiget.
"""

from __future__ import annotations

from tests.functional.conftest import NS, Dav, event

PRINCIPAL_PROPS = """<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"
    xmlns:CS="http://calendarserver.org/ns/"><D:prop>
  <C:calendar-home-set/><C:calendar-user-address-set/><D:displayname/>
  <D:principal-URL/><CS:email-address-set/><D:supported-report-set/>
</D:prop></D:propfind>"""

HOME_PROPS = """<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"
    xmlns:CS="http://calendarserver.org/ns/" xmlns:A="http://apple.com/ns/ical/"><D:prop>
  <D:resourcetype/><D:displayname/><CS:getctag/><D:sync-token/><A:calendar-color/>
  <C:supported-calendar-component-set/><D:current-user-privilege-set/>
</D:prop></D:propfind>"""

SYNC = """<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>
  <D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"""

MULTIGET = """<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>{hrefs}</C:calendar-multiget>"""


async def test_apple_calendar_discovery_and_sync(dav: Dav) -> None:
    redirect = await dav.request("PROPFIND", "/.well-known/caldav", user=None)
    assert redirect.status == 307
    root = await dav.propfind(redirect.headers["Location"],
                              "{DAV:}current-user-principal")
    principal = root.texts(".//D:current-user-principal/D:href")[0]

    props = await dav.request("PROPFIND", principal, PRINCIPAL_PROPS, headers={"Depth": "0"})
    home = props.texts(".//C:calendar-home-set/D:href")[0]
    reports = {e.tag for e in props.findall(".//D:supported-report/D:report/*")}
    assert "{DAV:}expand-property" in reports

    listing = await dav.request("PROPFIND", home, HOME_PROPS, headers={"Depth": "1"})
    calendars = {href: r for href, r in listing.responses().items()
                 if r.find(".//D:resourcetype/C:calendar", NS) is not None}
    event_calendar = next(h for h, r in calendars.items()
                          if [c.get("name") for c in r.iterfind(".//C:comp", NS)] == ["VEVENT"])
    privileges = calendars[event_calendar].findall(
        ".//D:current-user-privilege-set/D:privilege/*", NS)
    assert "{DAV:}write-content" in {p.tag for p in privileges}

    first = await dav.report(event_calendar, SYNC.format(token=""))
    token = first.texts("D:sync-token")[0]
    for n in range(3):
        assert (await dav.put(f"{event_calendar}apple{n}.ics", event(f"apple-{n}"))).status \
            == 201
    changes = await dav.report(event_calendar, SYNC.format(token=token))
    changed = sorted(changes.responses())
    assert changed == [f"{event_calendar}apple{n}.ics" for n in range(3)]

    hrefs = "".join(f"<D:href>{h}</D:href>" for h in changed)
    fetched = await dav.report(event_calendar, MULTIGET.format(hrefs=hrefs))
    datas = fetched.texts(".//C:calendar-data")
    assert len(datas) == 3 and all("BEGIN:VEVENT" in d for d in datas)

    ctag_before = calendars[event_calendar].findtext(".//CS:getctag", namespaces=NS)
    again = await dav.request("PROPFIND", home, HOME_PROPS, headers={"Depth": "1"})
    ctag_after = again.responses()[event_calendar].findtext(".//CS:getctag", namespaces=NS)
    assert ctag_after != ctag_before
