"""Principal URLs (RFC 3744 §4.2): the paths by which the server names a record, and
the record a principal URL names, so an address that is one can be looked up.

    /principals/__uids__/<uid>/                       the principal-URL
    /principals/{users,groups,locations,resources}/<short-name>/   alternates
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from caldavd.directory.record import Record, RecordType

PRINCIPALS = "/principals/"
UIDS = "__uids__"
TYPE_SEGMENTS: dict[str, RecordType] = {
    "users": "user", "groups": "group", "locations": "location", "resources": "resource",
}
SEGMENT_OF_TYPE: dict[RecordType, str] = {v: k for k, v in TYPE_SEGMENTS.items()}


def uid_principal_path(uid: str) -> str:
    """The principal-URL of ``uid``, whether or not the directory still has it."""
    return f"{PRINCIPALS}{UIDS}/{uid}/"


def principal_path(record: Record) -> str:
    return uid_principal_path(record.uid)


def principal_alternate_paths(record: Record) -> list[str]:
    segment = SEGMENT_OF_TYPE[record.record_type]
    return [f"{PRINCIPALS}{segment}/{name}/" for name in record.short_names]


def principal_paths(record: Record) -> list[str]:
    """Every principal URL of the record, the principal-URL first."""
    return [principal_path(record), *principal_alternate_paths(record)]


# A principal URL names a uid (None, uid) or a record type and short name.
PrincipalKey = tuple[RecordType | None, str]


def principal_key(address: str) -> PrincipalKey | None:
    """What a principal URL (a path, or an http(s) URL on any host) names: (None, uid)
    or (record type, short name); None for anything else.  Segments keep their case
    (uids and short names are looked up as given; backends decide on case)."""
    text = address.strip()
    if text[:7].lower() == "http://" or text[:8].lower() == "https://":
        text = urlsplit(text).path
    if not text.startswith(PRINCIPALS):
        return None
    parts = [unquote(p) for p in text[len(PRINCIPALS):].split("/") if p]
    if len(parts) != 2:
        return None
    kind, key = parts
    if kind == UIDS:
        return None, key
    record_type = TYPE_SEGMENTS.get(kind)
    return (record_type, key) if record_type is not None else None
