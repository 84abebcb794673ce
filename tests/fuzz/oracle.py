"""What every answer to a fuzzed request must satisfy (see tests/fuzz/README.md).

1. A status below 500, except 503 with Retry-After (a limit or an outage, RFC 9110
   §15.6.4), 507 with a DAV:error (quota-not-exceeded, RFC 4331 §6;
   number-of-matches-within-limits, RFC 5323 §5.17) and 502 for a COPY/MOVE whose
   Destination names another server (RFC 4918 §9.8.5).  Also inside a multistatus:
   no ``HTTP/1.1 5xx`` but 507.
2. A body that says it is XML is well-formed XML.
3. A 403 or 409 answer where a precondition applies is a DAV:error whose first child
   is a precondition element (RFC 4918 §16): to PROPFIND, PROPPATCH, REPORT,
   MKCALENDAR, MKCOL and ACL (RFC 4918 §9, RFC 4791 §5.3.1 and §7, RFC 3744 §8.1,
   RFC 6578 §3), to a PUT into a calendar collection (RFC 4791 §5.3.2) and to a
   managed-attachment POST (RFC 8607 §3).  A PUT
   elsewhere (plain WebDAV resources) and COPY/MOVE/DELETE are not held to it: RFC 4918
   defines their 403/409 answers without a precondition code.  A failed MKCALENDAR or
   extended MKCOL may instead answer its mkcalendar-response/mkcol-response, whose
   propstats name the property that failed (RFC 4791 §5.3.1, RFC 5689 §3.3), and their
   409 for a missing parent has no code (RFC 4918 §9.3.1).
4. Every DAV:error names a precondition the server defines (caldavd.dav.errors).
5. Every request whose framing is intact gets an answer.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from lxml import etree

from caldavd.dav import errors, names
from tests.fuzz.client import Request, Response
from tests.fuzz.targets import CAL, CAL2, OTHER_CAL

PRECONDITION_METHODS = {"PROPFIND", "PROPPATCH", "REPORT", "MKCALENDAR", "MKCOL", "ACL"}
CALENDARS = {CAL, CAL2, OTHER_CAL}
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def _conditions() -> set[str]:
    found: set[str] = set()
    pending: list[type[errors.DAVError]] = [errors.DAVError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.element:
            found.add(cls.element)
    return found


CONDITIONS = _conditions()


def problems(request: Request, response: Response | None) -> list[str]:
    if response is None:
        return [] if request.content_length is not None else ["no answer"]
    found = _status(request, response)
    root = _xml(response, found)
    if root is not None:
        found += _errors(root)
        if root.tag == names.MULTISTATUS:
            found += _inner_statuses(root)
    if (response.status in (403, 409) and _precondition_applies(request, response.status)
            and not _explained(root)):
        found.append(f"{response.status} without a DAV:error precondition")
    return found


def _explained(root: etree._Element | None) -> bool:
    """A DAV:error with a condition, or (MKCALENDAR, extended MKCOL: RFC 4791 §5.3.1,
    RFC 5689 §3.3) a response body whose propstats say which property failed."""
    if root is None:
        return False
    if root.tag == names.ERROR:
        return len(root) > 0
    return root.tag in (names.MKCALENDAR_RESPONSE, names.MKCOL_RESPONSE)


def _precondition_applies(request: Request, status: int) -> bool:
    if status == 409 and request.method in ("MKCOL", "MKCALENDAR"):
        return False  # no parent collection: RFC 4918 §9.3.1 defines it without a code
    if request.method == "POST":
        return b"action=" in request.target  # managed attachments: RFC 8607 §3.x
    if request.method == "PUT":
        # The server's view of the path: percent-decoded (%2F is a slash), no query.
        path = unquote_to_bytes(request.target.split(b"?")[0].split(b"#")[0])
        return path.rsplit(b"/", 1)[0].decode("latin-1") + "/" in CALENDARS
    return request.method in PRECONDITION_METHODS


def _status(request: Request, response: Response) -> list[str]:
    status = response.status
    if status < 500:
        return []
    if status == 503 and response.header("retry-after"):
        return []
    if status == 507 and b"DAV:" in response.body and b"error" in response.body:
        return []
    if status == 502 and request.method in ("COPY", "MOVE") and _elsewhere(request):
        return []
    return [f"status {status}"]


def _elsewhere(request: Request) -> bool:
    """The Destination names a server other than the one the Host header names (and
    than ServerHostName, fuzz.example), or another scheme: RFC 4918 §9.8.5's 502."""
    headers = {name.lower(): value for name, value in request.headers}
    destination = headers.get("destination", b"")
    if b"://" not in destination:
        return False
    if not destination.lower().startswith((b"http://", b"https://")):
        return True
    authority = destination.split(b"/")[2] if destination.count(b"/") >= 2 else b""
    return authority.split(b"@")[-1] not in (headers.get("host"), b"fuzz.example",
                                             b"fuzz.example:80")


def _xml(response: Response, found: list[str]) -> etree._Element | None:
    kind = response.header("content-type") or ""
    if "xml" not in kind or not response.body:
        return None
    try:
        return etree.fromstring(response.body, PARSER)
    except etree.XMLSyntaxError as exc:
        found.append(f"malformed XML in the answer: {exc}")
        return None


def _errors(root: etree._Element) -> list[str]:
    found: list[str] = []
    for error in root.iter(names.ERROR):
        for condition in error:
            if isinstance(condition.tag, str) and condition.tag not in CONDITIONS:
                found.append(f"DAV:error names an unknown condition {condition.tag}")
    return found


def _inner_statuses(root: etree._Element) -> list[str]:
    found: list[str] = []
    for status in root.iter(names.STATUS):
        code = (status.text or "").split(" ")[1:2]
        if code and code[0].startswith("5") and code[0] != "507":
            found.append(f"multistatus holds {status.text}")
    return found
