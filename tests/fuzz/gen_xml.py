"""Mutated XML request bodies: PROPFIND, PROPPATCH, the REPORTs, MKCALENDAR, MKCOL, ACL.

Each request starts from a valid body of ``TEMPLATES``; tree operators (drop, repeat,
rename, re-parent, attributes, text, nesting) work on the parsed tree, byte operators
(truncate, insert, encodings) on its serialisation.
"""

from __future__ import annotations

import random

from lxml import etree

from caldavd.dav import names
from tests.fuzz import targets as t
from tests.fuzz.client import Request
from tests.fuzz.mutate import NASTY_DATES, WIDE_DATES, Registry, control_text, nasty_text, pick
from tests.fuzz.server import basic

NS = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" ' \
     'xmlns:CS="http://calendarserver.org/ns/" xmlns:A="http://apple.com/ns/ical/"'
PROPS = ("<D:getetag/><D:resourcetype/><D:displayname/><CS:getctag/><D:sync-token/>"
         "<C:supported-calendar-component-set/><D:current-user-privilege-set/><D:owner/>"
         "<C:calendar-home-set/><D:quota-available-bytes/><D:supported-report-set/>"
         "<C:calendar-timezone/><C:max-resource-size/><D:getcontenttype/><D:acl/>"
         "<D:current-user-principal/><C:calendar-user-address-set/><D:group-membership/>"
         "<A:calendar-color/><C:calendar-description/><D:getlastmodified/>"
         "<C:schedule-inbox-URL/><D:principal-collection-set/><D:supported-privilege-set/>")
RANGE = '<C:time-range start="20260101T000000Z" end="20260201T000000Z"/>'
DATA = "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
SEED_HREFS = "".join(f"<D:href>{h}</D:href>" for h in t.SEEDS)

# (method, path, depth, body)
TEMPLATES: list[tuple[str, str, str, str]] = [
    ("PROPFIND", t.CAL, "1", f"<D:propfind {NS}><D:prop>{PROPS}</D:prop></D:propfind>"),
    ("PROPFIND", t.HOME, "1", f"<D:propfind {NS}><D:allprop/></D:propfind>"),
    ("PROPFIND", t.PRINCIPAL, "0", f"<D:propfind {NS}><D:propname/></D:propfind>"),
    ("PROPFIND", t.CAL, "1", f"<D:propfind {NS}><D:allprop/><D:include><D:acl/>"
                             "<CS:getctag/></D:include></D:propfind>"),
    ("PROPPATCH", t.CAL2, "0", f"<D:propertyupdate {NS}><D:set><D:prop><D:displayname>Fz"
                               "</D:displayname><A:calendar-color>#112233</A:calendar-color>"
                               "<C:calendar-description>d</C:calendar-description></D:prop>"
                               "</D:set><D:remove><D:prop><X:dead xmlns:X='urn:fz'/></D:prop>"
                               "</D:remove></D:propertyupdate>"),
    ("PROPPATCH", t.CAL, "0", f"<D:propertyupdate {NS}><D:set><D:prop><X:dead xmlns:X='urn:fz'>"
                              "value<X:child a='1'>x</X:child></X:dead></D:prop></D:set>"
                              "</D:propertyupdate>"),
    ("PROPPATCH", t.CAL2, "0", f"<D:propertyupdate {NS}><D:set><D:prop><C:calendar-timezone>"
                               f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n{t.TZ}"
                               "END:VCALENDAR\r\n</C:calendar-timezone></D:prop></D:set>"
                               "</D:propertyupdate>"),
    ("PROPPATCH", t.PRINCIPAL + "calendar-proxy-write/", "0",
     f"<D:propertyupdate {NS}><D:set><D:prop><D:group-member-set><D:href>{t.OTHER_PRINCIPAL}"
     "</D:href></D:group-member-set></D:prop></D:set></D:propertyupdate>"),
    ("REPORT", t.CAL, "1", f"<C:calendar-query {NS}>{DATA}<C:filter><C:comp-filter "
                           f"name='VCALENDAR'><C:comp-filter name='VEVENT'>{RANGE}"
                           "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"),
    ("REPORT", t.CAL, "1", f"<C:calendar-query {NS}><D:prop><C:calendar-data><C:expand "
                           'start="20260101T000000Z" end="20260201T000000Z"/></C:calendar-data>'
                           "</D:prop><C:filter><C:comp-filter name='VCALENDAR'><C:comp-filter "
                           f"name='VEVENT'>{RANGE}</C:comp-filter></C:comp-filter></C:filter>"
                           "</C:calendar-query>"),
    ("REPORT", t.CAL, "1", f"<C:calendar-query {NS}><D:prop><D:getetag/></D:prop><C:filter>"
                           "<C:comp-filter name='VCALENDAR'><C:comp-filter name='VEVENT'>"
                           "<C:prop-filter name='SUMMARY'><C:text-match collation='i;ascii-"
                           "casemap' negate-condition='no'>meet</C:text-match></C:prop-filter>"
                           "<C:prop-filter name='ATTENDEE'><C:param-filter name='PARTSTAT'>"
                           "<C:text-match>ACCEPTED</C:text-match></C:param-filter>"
                           "</C:prop-filter><C:prop-filter name='X-NONE'><C:is-not-defined/>"
                           "</C:prop-filter></C:comp-filter></C:comp-filter></C:filter>"
                           '<C:timezone>BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n'
                           f"{t.TZ}END:VCALENDAR\r\n</C:timezone></C:calendar-query>"),
    ("REPORT", t.CAL, "1", f"<C:calendar-query {NS}>{DATA}<C:filter><C:comp-filter "
                           "name='VCALENDAR'><C:comp-filter name='VTODO'><C:time-range "
                           'start="20260101T000000Z"/><C:comp-filter name="VALARM"/>'
                           "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"),
    ("REPORT", t.CAL, "1", f"<C:calendar-multiget {NS}><D:prop><D:getetag/><C:calendar-data>"
                           "<C:comp name='VCALENDAR'><C:prop name='VERSION'/><C:comp "
                           "name='VEVENT'><C:prop name='SUMMARY' novalue='no'/></C:comp>"
                           "</C:comp></C:calendar-data></D:prop>"
                           f"{SEED_HREFS}<D:href>{t.CAL}missing.ics</D:href>"
                           f"<D:href>{t.OTHER_CAL}x.ics</D:href></C:calendar-multiget>"),
    ("REPORT", t.CAL, "1", f"<C:calendar-multiget {NS}>{DATA}{SEED_HREFS}"
                           "<C:limit-recurrence-set start='20260101T000000Z' "
                           "end='20260110T000000Z'/></C:calendar-multiget>"),
    ("REPORT", t.CAL, "0", f"<D:sync-collection {NS}><D:sync-token/><D:sync-level>1"
                           "</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"),
    ("REPORT", t.HOME, "0", f"<D:sync-collection {NS}><D:sync-token>data:,0</D:sync-token>"
                            "<D:sync-level>infinite</D:sync-level><D:limit><D:nresults>2"
                            "</D:nresults></D:limit><D:prop><D:getetag/></D:prop>"
                            "</D:sync-collection>"),
    ("REPORT", t.CAL, "1", f"<C:free-busy-query {NS}>{RANGE}</C:free-busy-query>"),
    ("REPORT", t.CAL, "0", f"<D:sync-collection {NS}><D:sync-token>data:,caldavd/1/1"
                           "</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/>"
                           "<C:calendar-data/></D:prop></D:sync-collection>"),
    ("REPORT", t.CAL2, "1", f"<C:calendar-query {NS}>{DATA}<C:filter><C:comp-filter "
                            "name='VCALENDAR'><C:comp-filter name='VJOURNAL'><C:prop-filter "
                            "name='DESCRIPTION'><C:text-match match-type='starts-with'>Line"
                            "</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter>"
                            "</C:filter></C:calendar-query>"),
    ("PROPFIND", t.SEEDS[1], "0", f"<D:propfind {NS}><D:prop>{PROPS}</D:prop></D:propfind>"),
    ("REPORT", t.SEEDS[2], "0", f"<C:calendar-query {NS}>{DATA}<C:filter><C:comp-filter "
                                f"name='VCALENDAR'><C:comp-filter name='VEVENT'>{RANGE}"
                                "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"),
    ("REPORT", t.PRINCIPAL, "0", f"<D:expand-property {NS}><D:property name='calendar-proxy-"
                                 "write-for' namespace='http://calendarserver.org/ns/'>"
                                 "<D:property name='displayname'/><D:property name='principal-"
                                 "URL'/></D:property><D:property name='owner'/>"
                                 "</D:expand-property>"),
    ("REPORT", "/principals/", "0", f"<D:principal-property-search {NS} test='anyof'>"
                                    "<D:property-search><D:prop><D:displayname/></D:prop>"
                                    "<D:match>Fuzz</D:match></D:property-search>"
                                    "<D:prop><D:displayname/><C:calendar-home-set/></D:prop>"
                                    "<D:apply-to-principal-collection-set/>"
                                    "</D:principal-property-search>"),
    ("REPORT", "/principals/", "0", f"<D:principal-search-property-set {NS}/>"),
    ("REPORT", t.CAL, "0", f"<D:acl-principal-prop-set {NS}><D:prop><D:displayname/></D:prop>"
                           "</D:acl-principal-prop-set>"),
    ("REPORT", t.CAL, "0", f"<D:principal-match {NS}><D:self/><D:prop><D:displayname/>"
                           "</D:prop></D:principal-match>"),
    ("MKCALENDAR", t.HOME + "new-{n}/", "0",
     f"<C:mkcalendar {NS}><D:set><D:prop><D:displayname>New</D:displayname>"
     "<C:supported-calendar-component-set><C:comp name='VEVENT'/><C:comp name='VTODO'/>"
     "</C:supported-calendar-component-set><C:calendar-timezone>BEGIN:VCALENDAR\r\n"
     f"VERSION:2.0\r\nPRODID:x\r\n{t.TZ}END:VCALENDAR\r\n</C:calendar-timezone></D:prop>"
     "</D:set></C:mkcalendar>"),
    ("MKCOL", t.HOME + "col-{n}/", "0",
     f"<D:mkcol {NS}><D:set><D:prop><D:resourcetype><D:collection/><C:calendar/>"
     "</D:resourcetype><D:displayname>Ext</D:displayname></D:prop></D:set></D:mkcol>"),
    ("ACL", t.CAL2, "0", f"<D:acl {NS}><D:ace><D:principal><D:href>{t.OTHER_PRINCIPAL}"
                         "</D:href></D:principal><D:grant><D:privilege><D:read/></D:privilege>"
                         "</D:grant></D:ace></D:acl>"),
]

VOCABULARY = sorted({v for k, v in vars(names).items() if k.isupper() and isinstance(v, str)
                     and v.startswith("{")})
ATTRIBUTES = ["name", "namespace", "start", "end", "collation", "negate-condition",
              "match-type", "test", "novalue", "content-type", "version", "xml:lang"]

tree_ops = Registry()
byte_ops = Registry()


def _elements(root: etree._Element) -> list[etree._Element]:
    return [e for e in root.iter() if isinstance(e.tag, str)]


@tree_ops.register("xml-drop")
def _drop(rng: random.Random, root: etree._Element) -> etree._Element:
    element = pick(rng, _elements(root))
    parent = element.getparent()
    if parent is not None:
        parent.remove(element)
    return root


@tree_ops.register("xml-repeat")
def _repeat(rng: random.Random, root: etree._Element) -> etree._Element:
    element = pick(rng, _elements(root))
    parent = element.getparent()
    for _ in range(rng.choice([1, 2, 10, 60])):
        if parent is not None:
            parent.append(_copy(element))
    return root


@tree_ops.register("xml-rename")
def _rename(rng: random.Random, root: etree._Element) -> etree._Element:
    element = pick(rng, _elements(root))
    element.tag = rng.choice([*VOCABULARY, "{urn:fz}unknown", "{DAV:}Prop", "{}bare",
                              "{http://calendarserver.org/ns/}x"]).replace("{}", "")
    return root


@tree_ops.register("xml-reparent")
def _reparent(rng: random.Random, root: etree._Element) -> etree._Element:
    elements = _elements(root)
    moved, into = pick(rng, elements[1:] or elements), pick(rng, elements)
    if moved is not into and moved not in into.iterancestors():
        into.append(moved)
    return root


@tree_ops.register("xml-attribute")
def _attribute(rng: random.Random, root: etree._Element) -> etree._Element:
    element = pick(rng, _elements(root))
    name = pick(rng, ATTRIBUTES)
    key = "{http://www.w3.org/XML/1998/namespace}lang" if name == "xml:lang" else name
    value = pick(rng, NASTY_DATES) if name in ("start", "end") else nasty_text(rng,
                                                                               controls=False)
    element.set(key, value)
    return root


@tree_ops.register("xml-wide-range")
def _wide(rng: random.Random, root: etree._Element) -> etree._Element:
    for element in _elements(root):
        if element.get("start") or element.tag.endswith("}time-range"):
            element.set("start", pick(rng, WIDE_DATES[:2]))
            element.set("end", pick(rng, WIDE_DATES[2:]))
    return root


@tree_ops.register("xml-text")
def _text(rng: random.Random, root: etree._Element) -> etree._Element:
    element = pick(rng, _elements(root))
    element.text = nasty_text(rng, controls=False)
    return root


@tree_ops.register("xml-nest")
def _nest(rng: random.Random, root: etree._Element) -> etree._Element:
    element = pick(rng, _elements(root))
    for _ in range(rng.choice([5, 50, 200])):
        wrapper = etree.SubElement(element, element.tag)
        element = wrapper
    return root


@tree_ops.register("xml-many-props")
def _many(rng: random.Random, root: etree._Element) -> etree._Element:
    props = [e for e in _elements(root) if e.tag == names.PROP] or [root]
    target = pick(rng, props)
    for n in range(rng.choice([50, 300])):
        etree.SubElement(target, f"{{urn:fz}}p{n}")
    return root


def _copy(element: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(element))


@byte_ops.register("bytes-truncate")
def _truncate(rng: random.Random, body: bytes) -> bytes:
    return body[:rng.randrange(len(body) + 1)]


@byte_ops.register("bytes-insert")
def _insert(rng: random.Random, body: bytes) -> bytes:
    at = rng.randrange(len(body) + 1)
    junk = pick(rng, [b"<", b">", b"&", b"&fz;", b"&#0;", b"&#x1;", b"]]>", b"<!--", b"\xff",
                      b"\xc3", b"\x00", b"<![CDATA[x]]>", b"<?pi x?>", b"'", b'"', b"\r\n"])
    return body[:at] + junk + body[at:]


@byte_ops.register("control-chars-in-xml")
def _control(rng: random.Random, body: bytes) -> bytes:
    at = rng.randrange(len(body) + 1)
    return body[:at] + control_text(rng).encode() + body[at:]


@byte_ops.register("bytes-encoding")
def _encoding(rng: random.Random, body: bytes) -> bytes:
    prolog = pick(rng, [b'<?xml version="1.0" encoding="UTF-16"?>',
                        b'<?xml version="1.0" encoding="fz-unknown"?>',
                        b'<?xml version="1.1"?>', b"\xef\xbb\xbf", b"\xff\xfe",
                        b'<?xml version="1.0" encoding="ISO-8859-1"?>',
                        b'<!DOCTYPE x SYSTEM "http://127.0.0.1:1/x.dtd">',
                        b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'])
    return prolog + body


def body_of(rng: random.Random, template: str, tags: list[str]) -> bytes:
    root = etree.fromstring(template.encode())
    root = tree_ops.apply(rng, root, rng.choice([0, 1, 1, 2, 3]), tags)
    body = bytes(etree.tostring(root, encoding="utf-8"))
    if rng.random() < 0.25:
        body = byte_ops.apply(rng, body, 1, tags)
    return body


def generate(rng: random.Random, index: int) -> Request:
    method, path, depth, template = pick(rng, TEMPLATES)
    tags: list[str] = []
    body = body_of(rng, template.replace("\r\n", "&#13;\n"), tags)
    user = "fuzz02" if rng.random() < 0.05 else "fuzz01"
    headers = [("Authorization", basic(user)), ("Content-Type", b"application/xml")]
    if rng.random() < 0.9:
        headers.append(("Depth", pick(rng, [depth, depth, "0", "1", "infinity"]).encode()))
    target = path.replace("{n}", str(index))
    if rng.random() < 0.1:
        target = pick(rng, t.PATHS)
    return Request(method, target.encode(), headers, body, family="xml", index=index,
                   tags=tags)

