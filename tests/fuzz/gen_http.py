"""Mutated headers (Depth, Destination, Overwrite, If, If-Match, Content-Type,
Content-Encoding, Content-Length, Range, Authorization, ...) and mutated URLs
(percent-encoding, dot segments, Unicode, very long, odd request targets), each on a
valid request of the kinds a client sends.
"""

from __future__ import annotations

import gzip
import random

from tests.fuzz import targets as t
from tests.fuzz.client import Request
from tests.fuzz.mutate import Registry, nasty_text, pick
from tests.fuzz.server import WRONG_PASSWORD, basic

AUTHORITY = b"@AUTHORITY@"  # the runner puts the server's host:port here
header_ops = Registry()
url_ops = Registry()

PROPFIND0 = (b'<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop>'
             b"<D:getetag/><CS:getctag/></D:prop></D:propfind>")
MULTIGET = (b'<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            b"<D:prop><D:getetag/><C:calendar-data/></D:prop>"
            + b"".join(b"<D:href>" + h.encode() + b"</D:href>" for h in t.SEEDS)
            + b"</C:calendar-multiget>")
DISPOSITIONS = [b'attachment; filename="a.txt"', b"", b"attachment; filename*=UTF-8''%C3%A9",
                b'inline; filename="../../x"', b"attachment; filename=" + b"n" * 3000]
PROPPATCH = (b'<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>h'
             b"</D:displayname></D:prop></D:set></D:propertyupdate>")


def _base(rng: random.Random, index: int) -> Request:
    event = t.calendars(f"fzh-{index}")[0].encode()
    kinds = [
        ("PROPFIND", t.CAL, [("Depth", b"0")], PROPFIND0),
        ("GET", pick(rng, t.SEEDS), [], b""),
        ("HEAD", pick(rng, t.SEEDS), [], b""),
        ("PUT", f"{t.CAL}fzh-{index}.ics", [("Content-Type", b"text/calendar")], event),
        ("DELETE", f"{t.CAL}fz-{rng.randrange(index + 1)}.ics", [], b""),
        ("COPY", pick(rng, t.SEEDS), [("Destination", _dest(f"{t.CAL}cp-{index}.ics"))], b""),
        ("MOVE", f"{t.CAL}fz-{rng.randrange(index + 1)}.ics",
         [("Destination", _dest(f"{t.CAL2}mv-{index}.ics"))], b""),
        ("REPORT", t.CAL, [("Depth", b"1"), ("Content-Type", b"application/xml")], MULTIGET),
        ("PROPPATCH", t.CAL2, [("Content-Type", b"application/xml")], PROPPATCH),
        ("MKCALENDAR", f"{t.HOME}h-{index}/", [], b""),
        ("OPTIONS", "/", [], b""),
        ("POST", pick(rng, t.SEEDS) + _attachment_query(rng),
         [("Content-Type", b"text/plain"), ("Content-Disposition", pick(rng, DISPOSITIONS))],
         pick(rng, [b"hello", b"", b"x" * 70_000])),
    ]
    method, path, headers, body = pick(rng, kinds)
    return Request(method, path.encode(), [("Authorization", basic("fuzz01")), *headers], body,
                   index=index)


def _attachment_query(rng: random.Random) -> str:
    """RFC 8607 §3.x: action, rid and managed-id, valid or not."""
    parts = [pick(rng, ["action=attachment-add", "action=attachment-add",
                        "action=attachment-update", "action=attachment-remove",
                        "action=nonsense", "action="])]
    if rng.random() < 0.4:
        parts.append("rid=" + pick(rng, ["M", "20260107T100000Z", "20260107T100000Z,M",
                                         "garbage", "", "19000101T000000Z"]))
    if rng.random() < 0.5:
        parts.append("managed-id=" + pick(rng, ["x", "", "%00", "../x", "a" * 300]))
    return "?" + "&".join(parts)


def _dest(path: str) -> bytes:
    return b"http://" + AUTHORITY + path.encode()


def _set(request: Request, name: str, value: bytes) -> Request:
    request.headers = [(n, v) for n, v in request.headers if n.lower() != name.lower()]
    request.headers.append((name, value))
    return request


@header_ops.register("header-depth")
def _depth(rng: random.Random, request: Request) -> Request:
    return _set(request, "Depth", pick(rng, [b"0", b"1", b"infinity", b"2", b"-1", b"", b"one",
                                             b"1,1", b" 1", b"Infinity", b"0 "]))


@header_ops.register("header-destination")
def _destination(rng: random.Random, request: Request) -> Request:
    path = f"{t.CAL}d-{request.index}.ics".encode()
    return _set(request, "Destination", pick(rng, [
        path, b"http://" + AUTHORITY + path, b"http://elsewhere.example" + path, b"::",
        b"http://[::1" + path, b"http://" + AUTHORITY + path.replace(b"/d-", b"/%64-"),
        b"http://" + AUTHORITY + t.CAL.encode() + b"../../../../x.ics", b"",
        b"http://" + AUTHORITY + t.OTHER_CAL.encode() + b"x.ics", b"/" + b"a" * 5000,
        b"http://" + AUTHORITY + t.CAL.encode(), b"http://" + AUTHORITY + t.SEEDS[0].encode(),
        "/calendars/\u00e9.ics".encode(), b"http://" + AUTHORITY + t.HOME.encode() + b"new/",
        b"ftp://" + AUTHORITY + path, b"http://user:pw@" + AUTHORITY + path]))


@header_ops.register("header-destination-own-name")
def _own_name(rng: random.Random, request: Request) -> Request:
    # ServerHostName (see server.py) is the server's own name: not "another server".
    return _set(request, "Destination", b"http://fuzz.example:@PORT@" + t.CAL.encode()
                + f"own-{request.index}.ics".encode())


@header_ops.register("header-overwrite")
def _overwrite(rng: random.Random, request: Request) -> Request:
    return _set(request, "Overwrite", pick(rng, [b"T", b"F", b"t", b"f", b"", b"X", b"TT"]))


@header_ops.register("header-if")
def _if(rng: random.Random, request: Request) -> Request:
    return _set(request, "If", pick(rng, [
        b"(<urn:uuid:fz>)", b'(["etag"])', b"(((", b"(Not <DAV:no-lock>)", b"<" + b"x" * 3000,
        b'<http://' + AUTHORITY + t.SEEDS[0].encode() + b'> (["x"])', b"()", b"(<>)"]))


@header_ops.register("header-if-match")
def _if_match(rng: random.Random, request: Request) -> Request:
    name = pick(rng, ["If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"])
    return _set(request, name, pick(rng, [b"*", b'"abc"', b'W/"x"', b"garbage", b'"a", "b"',
                                          b"", b"Thu, 01 Jan 1970 00:00:00 GMT", b'"' * 5]))


@header_ops.register("header-content-type")
def _content_type(rng: random.Random, request: Request) -> Request:
    return _set(request, "Content-Type", pick(rng, [
        b"text/calendar; charset=utf-16", b"text/calendar; charset=fz-unknown", b"garbage",
        b"text/calendar; component=vtodo", b"application/xml", b"", b"text/calendar;;;",
        b"text/xml; charset=latin-1", b"text/calendar; version=3.0", b"*/*",
        b"multipart/form-data; boundary=", b"text/calendar; charset=\"utf-8"]))


@header_ops.register("content-encoding-gzip")
def _gzip_bad(rng: random.Random, request: Request) -> Request:
    return _set(request, "Content-Encoding", pick(rng, [b"gzip", b"deflate", b"br", b"gzip, gzip"]))


@header_ops.register("header-content-encoding")
def _encoding(rng: random.Random, request: Request) -> Request:
    if rng.random() < 0.5 and request.body:
        request.body = gzip.compress(request.body, mtime=0)
        return _set(request, "Content-Encoding", b"gzip")
    return _set(request, "Content-Encoding", pick(rng, [b"identity", b"fz-unknown", b"",
                                                        b"compress", b"zstd"]))


@header_ops.register("header-content-length")
def _length(rng: random.Random, request: Request) -> Request:
    size = len(request.body)
    request.content_length = pick(rng, [str(max(size - 3, 0)).encode(), str(size + 10).encode(),
                                        b"abc", b"-1", b"1e3", b"-", b"99999999999999"])
    if rng.random() < 0.2:
        request.headers.append(("Transfer-Encoding", b"chunked"))
    return request


@header_ops.register("header-range")
def _range(rng: random.Random, request: Request) -> Request:
    return _set(request, "Range", pick(rng, [b"bytes=0-10", b"bytes=-5", b"bytes=10-0",
                                             b"bytes=abc", b"bytes=0-1,3-4", b"items=0-1",
                                             b"bytes=99999999-"]))


@header_ops.register("header-authorization")
def _authorization(rng: random.Random, request: Request) -> Request:
    return _set(request, "Authorization", pick(rng, [
        basic("fuzz01", WRONG_PASSWORD), basic("fuzz02"), b"Basic", b"Basic !!!!", b"Basic ",
        b"Bearer abc", b'Digest username="fuzz01"', b"basic " + basic("fuzz01")[6:],
        b"Basic " + b"Zm9v", b"Basic " + b"dXNlcg==", "Basic \u00e9".encode(), b""]))


@header_ops.register("header-huge-authorization")
def _huge_auth(rng: random.Random, request: Request) -> Request:
    return _set(request, "Authorization", basic("fuzz01") + b"A" * pick(rng, [9000, 20000]))


@header_ops.register("header-drop")
def _drop(rng: random.Random, request: Request) -> Request:
    if request.headers:
        del request.headers[rng.randrange(len(request.headers))]
    return request


@header_ops.register("header-odd")
def _odd(rng: random.Random, request: Request) -> Request:
    request.headers.append(pick(rng, [
        ("Prefer", b"return=minimal"), ("Brief", b"t"), ("Accept-Encoding", b"gzip"),
        ("X-HTTP-Method-Override", b"DELETE"), ("Expect", b"100-continue"),
        ("Connection", b"close"), ("Accept", b"text/calendar; version=5.0"),
        ("Schedule-Reply", b"F"), ("X-Fz", nasty_text(rng, controls=False).encode()),
        ("Host", b"elsewhere.example"), ("Host", b""), ("Transfer-Encoding", b"gzip")]))
    return request


@header_ops.register("header-bad-bytes")
def _bad_bytes(rng: random.Random, request: Request) -> Request:
    request.headers.append(pick(rng, [("X-Fz", b"a\x00b"), ("X-Fz", b"\xff\xfe"),
                                      ("X Fz", b"v"), ("X-Fz", b"a\r\n continued"),
                                      ("X-Long", b"v" * 9000)]))
    return request


@header_ops.register("header-many")
def _many(rng: random.Random, request: Request) -> Request:
    request.headers += [(f"X-Fz-{n}", b"v") for n in range(pick(rng, [50, 150]))]
    return request


def generate_headers(rng: random.Random, index: int) -> Request:
    request = _base(rng, index)
    request.family = "headers"
    return header_ops.apply(rng, request, pick(rng, [1, 1, 2, 3]), request.tags)


@url_ops.register("url-percent")
def _percent(rng: random.Random, target: bytes) -> bytes:
    at = rng.randrange(len(target) + 1)
    return target[:at] + pick(rng, [b"%2F", b"%2e", b"%2E%2E", b"%00", b"%zz", b"%", b"%25",
                                    b"%C3%A9", b"%FF", b"%252e", b"%20", b"%0A"]) + target[at:]


@url_ops.register("url-encode-all")
def _encode_all(rng: random.Random, target: bytes) -> bytes:
    return b"".join(b"%%%02X" % c if c != ord("/") and rng.random() < 0.5 else bytes([c])
                    for c in target)


@url_ops.register("url-dot-segments")
def _dots(rng: random.Random, target: bytes) -> bytes:
    at = target.rfind(b"/", 0, max(1, rng.randrange(len(target) + 1))) + 1
    return target[:at] + pick(rng, [b"./", b"../", b"../../../../", b".", b"..", b"//",
                                    b"%2e%2e/", b".../"]) + target[at:]


@url_ops.register("url-unicode")
def _unicode(rng: random.Random, target: bytes) -> bytes:
    return target + pick(rng, ["\u00e9.ics", "\U0001f600/", "\u202e.ics", "a\u0301"]).encode() \
        if rng.random() < 0.7 else target + b"\xff\xfe.ics"


@url_ops.register("url-long")
def _long(rng: random.Random, target: bytes) -> bytes:
    return target + b"a" * pick(rng, [300, 2000, 7000])


@url_ops.register("url-very-long")
def _very_long(rng: random.Random, target: bytes) -> bytes:
    return target + b"a" * pick(rng, [9000, 20000])


@url_ops.register("url-query")
def _query(rng: random.Random, target: bytes) -> bytes:
    return target + pick(rng, [b"?x=1", b"?", b"#frag", b"?action=attachment-add",
                               b"?action=attachment-remove&managed-id=x", b"?%zz", b";p=1"])


@url_ops.register("url-form")
def _form(rng: random.Random, target: bytes) -> bytes:
    return pick(rng, [b"http://" + AUTHORITY + target, b"*", b"127.0.0.1:1", b"",
                      b"http://elsewhere.example" + target, target.lstrip(b"/"),
                      b"//" + target, b"http://" + AUTHORITY])


def generate_urls(rng: random.Random, index: int) -> Request:
    method = pick(rng, ["GET", "PROPFIND", "REPORT", "DELETE", "OPTIONS", "HEAD", "PUT",
                        "MKCALENDAR", "PROPPATCH"])
    headers = [("Authorization", basic("fuzz01"))]
    body = {"PROPFIND": PROPFIND0, "REPORT": MULTIGET, "PROPPATCH": PROPPATCH,
            "PUT": t.calendars(f"fzu-{index}")[0].encode()}.get(method, b"")
    if method in ("PROPFIND", "REPORT"):
        headers.append(("Depth", b"0"))
    # DELETE only of what this request may own: the collections the later requests and
    # the read-back check aim at stay.
    paths = [f"{t.CAL}fzu-{index}.ics", f"{t.PLAIN}fzu-{index}"] if method == "DELETE" else [
        *t.PATHS, f"{t.CAL}fzu-{index}.ics"]
    target = pick(rng, paths).encode()
    request = Request(method, target, headers, body, family="urls", index=index)
    request.target = url_ops.apply(rng, target, pick(rng, [1, 1, 2]), request.tags)
    return request
