"""The LDAP directory (ldap3): records and authentication from LDAP servers.

Every LDAP call runs in a bounded thread pool, never on the event loop, and is
bounded in time (connect and search timeouts, and a deadline on the whole call).
The servers in ``uri`` fail over in order (an ldap3 ``ServerPool``, FIRST
strategy with active checks).  Searches use a small pool of connections bound
with ``credentials`` (anonymous when the DN is empty); users authenticate by a
simple bind as their own DN on a separate pool, so a search connection never
carries a user's identity.  Every value put into a filter is escaped (RFC 4515).

When no server answers, calls raise ``DirectoryUnavailable`` (HTTP 503).  The
outage is logged once and so is the recovery; after a failure, calls fail fast
for ``retry_seconds`` before the servers are tried again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import ldap3
from ldap3.core.exceptions import (
    LDAPCertificateError,
    LDAPCommunicationError,
    LDAPInvalidDnError,
    LDAPInvalidFilterError,
    LDAPResponseTimeoutError,
    LDAPServerPoolExhaustedError,
    LDAPStartTLSError,
)
from ldap3.operation.search import parse_filter
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn

from caldavd.directory.base import (
    DirectoryConfigError,
    DirectoryUnavailable,
    MatchType,
    SearchField,
    field_values,
    matches,
)
from caldavd.directory.paths import principal_key
from caldavd.directory.record import RECORD_TYPES, Record, RecordType
from caldavd.directory.xml import Augments, AugmentsFile

log = logging.getLogger(__name__)

T = TypeVar("T")
Connection = Any  # ldap3 has no type hints

TYPE_KEYS: dict[RecordType, str] = {
    "user": "users", "group": "groups", "location": "locations", "resource": "resources",
}
# Group membership: DN-valued attributes (besides mapping.members) and short names.
DN_MEMBER_ATTRS = ("member", "uniqueMember")
UID_MEMBER_ATTR = "memberUid"
# Non-user entries without the short-name attribute (groupOfNames, rooms) use cn.
FALLBACK_NAME_ATTR = "cn"
# LDAP result codes (RFC 4511 appendix A): success, sizeLimitExceeded (the entries
# so far are usable), noSuchObject (a missing base holds no records).
_SUCCESS, _SIZE_LIMIT, _NO_SUCH_OBJECT = 0, 4, 32
# Bind results that say the server, not the password, has a problem: operationsError,
# timeLimitExceeded, adminLimitExceeded, busy, unavailable, other.
_SERVER_TROUBLE = {1, 3, 11, 51, 52, 80}
_UNIQUE_MEMBER_BITS = re.compile(r"#'[01]*'B$")
_MAX_GROUP_DEPTH = 32
PAGE_SIZE = 500
PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"
_NAME_CHUNK = 50


@dataclass(frozen=True)
class LdapSettings:
    """``DirectoryService.params`` for ldap, checked and with the bases resolved."""

    uris: tuple[str, ...]
    use_tls: bool
    bind_dn: str
    bind_password: str = field(repr=False)
    bases: Mapping[RecordType, str] = field(default_factory=dict)
    attrs: Mapping[str, str] = field(default_factory=dict)
    extra_filters: Mapping[RecordType, str] = field(default_factory=dict)
    connect_timeout: float = 10
    search_timeout: float = 30

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> LdapSettings:
        rdn = params["rdnSchema"]
        base = rdn["base"]
        bases = {t: f"{rdn[k]},{base}" if rdn[k] else base for t, k in TYPE_KEYS.items()}
        extra = {t: _checked_filter(params["extraFilters"][k], f"extraFilters.{k}")
                 for t, k in TYPE_KEYS.items()}
        return cls(uris=tuple(params["uri"]), use_tls=bool(params["useTLS"]),
                   bind_dn=params["credentials"]["dn"],
                   bind_password=params["credentials"]["password"],
                   bases=bases, attrs=dict(params["mapping"]), extra_filters=extra,
                   connect_timeout=float(params["timeouts"]["connect"]),
                   search_timeout=float(params["timeouts"]["search"]))


def _checked_filter(text: str, key: str) -> str:
    text = text.strip()
    if not text:
        return ""
    if not text.startswith("("):
        text = f"({text})"
    try:
        parse_filter(text, None, True, True, None, False)
    except LDAPInvalidFilterError as exc:
        raise DirectoryConfigError(
            f"DirectoryService.params.{key}: not an LDAP filter ({exc})") from None
    return text


def esc(value: str) -> str:
    return str(escape_filter_chars(value))


def _and(*parts: str) -> str:
    parts = tuple(p for p in parts if p)
    if len(parts) <= 1:
        return parts[0] if parts else ""
    return f"(&{''.join(parts)})"


def _or(parts: Iterable[str]) -> str:
    unique = list(dict.fromkeys(parts))
    if not unique:
        raise ValueError("an empty OR matches nothing: do not search at all")
    return unique[0] if len(unique) == 1 else f"(|{''.join(unique)})"


def _pattern(attr: str, text: str, match_type: MatchType) -> str:
    """A filter finding at least the values that match (the caller rechecks exactly)."""
    if not text:
        return f"({attr}=*)"
    value = esc(text)
    if match_type == "equals":
        return f"({attr}={value})"
    if match_type == "starts-with":
        return f"({attr}={value}*)"
    if match_type == "ends-with":
        return f"({attr}=*{value})"
    return f"({attr}=*{value}*)"


def address_patterns(prefix: str, text: str, match_type: MatchType) -> list[tuple[str, MatchType]]:
    """Conditions on ``v`` that find every ``prefix + v`` matching ``text``.

    Calendar user addresses are ``mailto:`` + an email or ``urn:uuid:`` + the
    uid, while LDAP holds only the part after the prefix.  ``("", "contains")``
    means any value.  Case-insensitive, like ``base.matches``.
    """
    text, prefix = text.casefold(), prefix.casefold()
    if match_type == "equals":
        rest = text[len(prefix):]
        return [(rest, "equals")] if text.startswith(prefix) and rest else []
    if match_type == "starts-with":
        if text.startswith(prefix):
            return [(text[len(prefix):], "starts-with")]
        return [("", "contains")] if prefix.startswith(text) else []
    if match_type == "contains" and text in prefix:
        return [("", "contains")]
    found: list[tuple[str, MatchType]] = [(text, match_type)]
    # ``text`` may also straddle the end of the prefix: a suffix of the prefix, then the value.
    for cut in range(1, len(prefix) + 1):
        head, rest = prefix[-cut:], text[cut:]
        if rest and text.startswith(head):
            found.append((rest, "equals" if match_type == "ends-with" else "starts-with"))
    return found


@dataclass(frozen=True)
class _Entry:
    dn: str
    record_type: RecordType
    attrs: Mapping[str, tuple[str, ...]]  # lower-cased names

    def get(self, name: str) -> tuple[str, ...]:
        return self.attrs.get(name.lower(), ())


def _norm_dn(dn: str) -> tuple[tuple[str, str], ...] | None:
    try:
        return tuple((a.lower(), v.lower()) for a, v, _ in parse_dn(dn, escape=False, strip=True))
    except (LDAPInvalidDnError, ValueError):
        return None


class _LinkLost(Exception):
    """A request got no answer at all: the connection is gone."""


def _result_code(conn: Connection) -> int:
    result = conn.result
    if not isinstance(result, dict) or not isinstance(result.get("result"), int):
        raise _LinkLost("no result from the server")
    return int(result["result"])


# The connection, not the request, failed: another connection may do better.
_LINK_ERRORS = (LDAPCommunicationError, LDAPResponseTimeoutError, LDAPServerPoolExhaustedError,
                LDAPStartTLSError, LDAPCertificateError, OSError, _LinkLost)


class _Pool:
    """Idle connections; the executor's bound on threads bounds how many exist."""

    def __init__(self, make: Callable[[], Connection], forget: Callable[[Connection], None]
                 ) -> None:
        self._make = make
        self._forget = forget
        self._idle: list[Connection] = []
        self._lock = threading.Lock()

    def acquire(self) -> Connection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._make()

    def release(self, conn: Connection) -> None:
        with self._lock:
            self._idle.append(conn)

    def discard(self, conn: Connection) -> None:
        self._forget(conn)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            self._forget(conn)


class _Worker:
    """The blocking side: runs only on the executor's threads."""

    def __init__(self, settings: LdapSettings, dn_cache_seconds: float) -> None:
        self.settings = settings
        self._servers = ldap3.ServerPool(
            [self._server(uri) for uri in settings.uris], pool_strategy=ldap3.FIRST,
            active=1, exhaust=False)
        self._open_lock = threading.Lock()  # ldap3 Server objects keep per-open state
        self._search = _Pool(lambda: self._connect(bind=True), self._forget)
        self._auth = _Pool(lambda: self._connect(bind=False), self._forget)
        self._dn_cache_seconds = dn_cache_seconds
        self._dn_uids: dict[tuple[tuple[str, str], ...], tuple[float, str | None]] = {}
        a = settings.attrs
        self.guid, self.short, self.full = a["guid"], a["shortName"], a["fullName"]
        self.mail, self.members = a["emailAddresses"], a["members"]
        self.dn_member_attrs = tuple(dict.fromkeys((self.members, *DN_MEMBER_ATTRS)))
        self.record_attrs = list(dict.fromkeys(
            (self.guid, self.short, self.full, self.mail, FALLBACK_NAME_ATTR)))
        self.group_attrs = [*self.record_attrs, *self.dn_member_attrs, UID_MEMBER_ATTR]
        self.type_filters = {t: _and(self._presence(t), settings.extra_filters.get(t, ""))
                             for t in RECORD_TYPES}

    def _server(self, uri: str) -> Any:
        # The certificate must chain to a trusted CA and name the host (ldap3 checks it).
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, sni=urlsplit(uri).hostname)
        return ldap3.Server(uri, tls=tls, get_info=ldap3.NONE,
                            connect_timeout=self.settings.connect_timeout)

    def _presence(self, record_type: RecordType) -> str:
        if record_type == "user":
            return f"({self.short}=*)"
        return _or([f"({self.short}=*)", f"({FALLBACK_NAME_ATTR}=*)"])

    # -- connections -------------------------------------------------------------------

    def _connect(self, *, bind: bool) -> Connection:
        s = self.settings
        with self._open_lock:
            conn = ldap3.Connection(
                self._servers, auto_bind=ldap3.AUTO_BIND_NONE, client_strategy=ldap3.SYNC,
                raise_exceptions=False, read_only=True, auto_referrals=False,
                receive_timeout=math.ceil(s.search_timeout), return_empty_attributes=False)
            try:
                conn.open(read_server_info=False)
                if s.use_tls and not conn.server.ssl:
                    conn.start_tls(read_server_info=False)
            except BaseException:
                self._forget(conn)
                raise
        if bind and s.bind_dn:
            try:
                ok = self._bind(conn, s.bind_dn, s.bind_password)
            except BaseException:
                self._forget(conn)
                raise
            if not ok:
                description = conn.result.get("description")
                self._forget(conn)
                raise DirectoryUnavailable(
                    f"LDAP bind as {s.bind_dn} (credentials.dn) failed: {description}")
        return conn

    def _bind(self, conn: Connection, dn: str, password: str) -> bool:
        conn.user, conn.password, conn.authentication = dn, password, ldap3.SIMPLE
        try:
            ok = bool(conn.bind(read_server_info=False))
        finally:
            conn.password = None
        if _result_code(conn) in _SERVER_TROUBLE:
            raise DirectoryUnavailable(f"LDAP bind failed: {conn.result.get('description')}")
        return ok

    def _forget(self, conn: Connection) -> None:
        with contextlib.suppress(Exception):  # it is going away either way
            conn.unbind()
        self._servers.pool_states.pop(conn, None)

    def close(self) -> None:
        self._search.close()
        self._auth.close()

    def _using(self, pool: _Pool, op: Callable[..., T], *args: Any) -> T:
        """``op(conn, *args)`` on a pooled connection; a broken one is replaced once."""
        for attempt in (1, 2):
            try:
                conn = pool.acquire()
            except DirectoryUnavailable:
                raise
            except Exception as exc:  # whatever ldap3 raises when it cannot connect
                raise DirectoryUnavailable(f"no LDAP server answers: {_describe(exc)}") from None
            try:
                result = op(conn, *args)
            except _LINK_ERRORS as exc:
                pool.discard(conn)
                if attempt == 2:
                    raise DirectoryUnavailable(f"LDAP connection lost: {_describe(exc)}") from None
                continue
            except BaseException:
                pool.discard(conn)
                raise
            pool.release(conn)
            return result
        raise AssertionError("unreachable")

    def run(self, op: Callable[..., T], *args: Any) -> T:
        """``op(conn, *args)`` on a search connection."""
        return self._using(self._search, op, *args)

    def bind_as(self, dn: str, password: str) -> bool:
        """A simple bind as ``dn`` on an authentication connection, never a search one."""
        return self._using(self._auth, self._bind, dn, password)

    # -- searches ----------------------------------------------------------------------

    def search(self, conn: Connection, record_type: RecordType, condition: str = "", *,
               base: str | None = None, scope: str = ldap3.SUBTREE,
               attributes: Sequence[str] | None = None) -> list[_Entry]:
        if attributes is None:
            attributes = self.group_attrs if record_type == "group" else self.record_attrs
        search_base = base if base is not None else self.settings.bases[record_type]
        base_dn = _norm_dn(self.settings.bases[record_type])
        entries: list[_Entry] = []
        cookie: bytes | None = None
        while True:
            # Simple paged results (RFC 2696), non-critical: servers without it send all.
            conn.search(search_base, _and(self.type_filters[record_type], condition),
                        search_scope=scope, attributes=list(attributes),
                        time_limit=int(self.settings.search_timeout),
                        paged_size=PAGE_SIZE if scope == ldap3.SUBTREE else None,
                        paged_cookie=cookie)
            code = _result_code(conn)
            if code == _NO_SUCH_OBJECT:
                return []
            if code not in (_SUCCESS, _SIZE_LIMIT):
                raise DirectoryUnavailable(
                    f"LDAP search under {search_base} failed: {conn.result.get('description')}"
                    f" {conn.result.get('message') or ''}".rstrip())
            for item in conn.response or ():
                if item.get("type") != "searchResEntry":
                    continue
                if scope == ldap3.SUBTREE and _norm_dn(item["dn"]) == base_dn:
                    continue  # the container itself (ou=People, ...) is no record
                attrs = {name.lower(): tuple(_text(v) for v in values)
                         for name, values in item.get("raw_attributes", {}).items()}
                entries.append(_Entry(item["dn"], record_type, attrs))
            cookie = _paged_cookie(conn)
            if not cookie or code == _SIZE_LIMIT:
                return entries

    def record(self, entry: _Entry, members: tuple[str, ...] = ()) -> Record | None:
        guid = entry.get(self.guid)
        names = entry.get(self.short)
        if not names and entry.record_type != "user":
            names = entry.get(FALLBACK_NAME_ATTR)
        if not guid or not guid[0] or not names:
            return None
        full = entry.get(self.full)
        return Record(uid=guid[0], record_type=entry.record_type, short_names=names,
                      full_name=full[0] if full else names[0], emails=entry.get(self.mail),
                      members=members)

    def records_of(self, conn: Connection, entries: Iterable[_Entry]) -> list[Record]:
        found = []
        for entry in entries:
            members = self._member_uids(conn, entry) if entry.record_type == "group" else ()
            record = self.record(entry, members)
            if record is not None:
                found.append(record)
        return found

    def _first(self, conn: Connection, types: Iterable[RecordType], condition: str,
               accept: Callable[[Record], bool] = lambda r: True) -> Record | None:
        for record_type in types:
            for record in self.records_of(conn, self.search(conn, record_type, condition)):
                if accept(record):
                    return record
        return None

    def by_guid(self, conn: Connection, uid: str, *, any_case: bool = False) -> Record | None:
        wanted = uid.casefold() if any_case else uid
        return self._first(conn, RECORD_TYPES, f"({self.guid}={esc(uid)})",
                           lambda r: (r.uid.casefold() if any_case else r.uid) == wanted)

    def _name_condition(self, record_type: RecordType, names: Sequence[str]) -> str:
        attrs = [self.short] if record_type == "user" else [self.short, FALLBACK_NAME_ATTR]
        return _or(f"({a}={esc(n)})" for a in attrs for n in names)

    def by_short_name(self, conn: Connection, record_type: RecordType,
                      short_name: str) -> Record | None:
        wanted = short_name.casefold()
        return self._first(conn, [record_type], self._name_condition(record_type, [short_name]),
                           lambda r: wanted in (n.casefold() for n in r.short_names))

    def by_address(self, conn: Connection, address: str) -> Record | None:
        """By mailto:, urn:uuid: (either in any case) or a principal URL."""
        key = principal_key(address)
        if key is not None:
            kind, name = key
            if kind is None:
                return self.by_guid(conn, name, any_case=True)
            return self.by_short_name(conn, kind, name)
        address = address.strip()
        lowered = address.casefold()
        if lowered.startswith("urn:uuid:"):
            return self.by_guid(conn, address[len("urn:uuid:"):], any_case=True)
        if lowered.startswith("mailto:"):
            email = address[len("mailto:"):]
            return self._first(conn, RECORD_TYPES, f"({self.mail}={esc(email)})",
                               lambda r: email.casefold() in (e.casefold() for e in r.emails))
        return None

    def records(self, conn: Connection, record_type: RecordType) -> list[Record]:
        found = self.records_of(conn, self.search(conn, record_type))
        return sorted(found, key=lambda r: r.short_name)

    def find(self, conn: Connection, terms: Sequence[tuple[SearchField, str, MatchType]],
             any_of: bool, record_types: Sequence[RecordType]) -> list[Record]:
        """A superset by LDAP filter, then the exact match in memory (as the XML backend)."""
        combine = any if any_of else all
        found: list[Record] = []
        for record_type in record_types:
            conditions = [self._term_condition(record_type, *term) for term in terms]
            # "" is a term nothing can match: it sinks an AND, and is left out of an OR.
            if not (any(conditions) if any_of else all(conditions)):
                continue
            condition = (_or(c for c in conditions if c) if any_of
                         else _and(*(c for c in conditions if c)))
            for record in self.records_of(conn, self.search(conn, record_type, condition)):
                if combine(any(matches(v, text, mt) for v in field_values(record, f))
                           for f, text, mt in terms):
                    found.append(record)
        return found

    def _term_condition(self, record_type: RecordType, field_name: SearchField, text: str,
                        match_type: MatchType) -> str:
        if field_name == "fullName":
            return _or([_pattern(self.full, text, match_type),
                        _pattern(self.short, text, match_type)])
        if field_name == "shortName":
            attrs = [self.short] if record_type == "user" else [self.short, FALLBACK_NAME_ATTR]
            return _or(_pattern(a, text, match_type) for a in attrs)
        if field_name == "emailAddress":
            return _pattern(self.mail, text, match_type)
        parts = []
        for prefix, attr in (("mailto:", self.mail), ("urn:uuid:", self.guid)):
            for value, mt in address_patterns(prefix, text, match_type):
                parts.append(f"({attr}=*)" if not value else _pattern(attr, value, mt))
        return _or(parts) if parts else ""

    # -- authentication ----------------------------------------------------------------

    def user_entry(self, conn: Connection, short_name: str) -> tuple[Record, str] | None:
        wanted = short_name.casefold()
        for entry in self.search(conn, "user", self._name_condition("user", [short_name])):
            record = self.record(entry)
            if record and wanted in (n.casefold() for n in record.short_names):
                return record, entry.dn
        return None

    # -- groups ------------------------------------------------------------------------

    def _member_uids(self, conn: Connection, group: _Entry) -> tuple[str, ...]:
        uids: list[str] = []
        for dn in self._member_dns(group):
            uid = self._uid_at(conn, dn)
            if uid is not None:
                uids.append(uid)
        uids.extend(r.uid for r in self._users_named(conn, group.get(UID_MEMBER_ATTR)))
        return tuple(dict.fromkeys(uids))

    def _member_dns(self, group: _Entry) -> list[str]:
        return [_UNIQUE_MEMBER_BITS.sub("", dn) for attr in self.dn_member_attrs
                for dn in group.get(attr)]

    def _users_named(self, conn: Connection, names: Sequence[str]) -> list[Record]:
        found: list[Record] = []
        for start in range(0, len(names), _NAME_CHUNK):
            chunk = names[start:start + _NAME_CHUNK]
            wanted = {n.casefold() for n in chunk}
            entries = self.search(conn, "user", self._name_condition("user", chunk))
            found.extend(r for r in self.records_of(conn, entries)
                         if wanted & {n.casefold() for n in r.short_names})
        return found

    def _types_for_dn(self, dn: tuple[tuple[str, str], ...]) -> list[RecordType]:
        """Record types whose base holds ``dn``, the most specific base first."""
        found = []
        for record_type in RECORD_TYPES:
            base = _norm_dn(self.settings.bases[record_type])
            if base is not None and len(dn) > len(base) and dn[-len(base):] == base:
                found.append((len(base), record_type))
        return [t for _, t in sorted(found, key=lambda item: -item[0])]

    def _entry_at(self, conn: Connection, dn: str) -> _Entry | None:
        normal = _norm_dn(dn)
        if normal is None:
            return None
        for record_type in self._types_for_dn(normal):
            entries = self.search(conn, record_type, base=dn, scope=ldap3.BASE)
            if entries:
                return entries[0]
        return None

    def _uid_at(self, conn: Connection, dn: str) -> str | None:
        key = _norm_dn(dn)
        if key is None:
            return None
        now = time.monotonic()
        cached = self._dn_uids.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        entry = self._entry_at(conn, dn)
        record = self.record(entry) if entry is not None else None
        uid = record.uid if record is not None else None
        if self._dn_cache_seconds > 0:
            if len(self._dn_uids) > 100_000:
                self._dn_uids.clear()
            self._dn_uids[key] = (now + self._dn_cache_seconds, uid)
        return uid

    def members_of(self, conn: Connection, uid: str) -> list[Record]:
        groups = self.search(conn, "group", f"({self.guid}={esc(uid)})")
        group = next((g for g in groups if g.get(self.guid)[:1] == (uid,)), None)
        if group is None:
            return []
        members: list[Record] = []
        for dn in self._member_dns(group):
            entry = self._entry_at(conn, dn)
            if entry is not None:
                members.extend(self.records_of(conn, [entry]))
        members.extend(self._users_named(conn, group.get(UID_MEMBER_ATTR)))
        return list({r.uid: r for r in members}.values())

    def groups_of(self, conn: Connection, uid: str, direct: bool = False) -> set[str]:
        start = None
        for record_type in RECORD_TYPES:
            entries = self.search(conn, record_type, f"({self.guid}={esc(uid)})",
                                  attributes=self.record_attrs)
            start = next((e for e in entries if e.get(self.guid)[:1] == (uid,)), None)
            if start is not None:
                break
        if start is None:
            return set()
        found: set[str] = set()
        seen_dns = {_norm_dn(start.dn)}
        level: list[_Entry] = [start]
        for _ in range(1 if direct else _MAX_GROUP_DEPTH):
            conditions = [f"({attr}={esc(e.dn)})" for e in level for attr in self.dn_member_attrs]
            if level[0] is start and start.record_type == "user":
                names = start.get(self.short)
                conditions += [f"({UID_MEMBER_ATTR}={esc(n)})" for n in names]
            parents = self.search(conn, "group", _or(conditions), attributes=[self.guid])
            level = []
            for group in parents:
                guid = group.get(self.guid)
                key = _norm_dn(group.dn)
                if guid and key not in seen_dns:
                    seen_dns.add(key)
                    found.add(guid[0])
                    level.append(group)
            if not level:
                break
        return found


def _paged_cookie(conn: Connection) -> bytes | None:
    control = (conn.result.get("controls") or {}).get(PAGED_RESULTS_OID) or {}
    cookie = (control.get("value") or {}).get("cookie")
    return cookie if isinstance(cookie, bytes) and cookie else None


def _text(value: bytes | str) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class LdapDirectory:
    """``caldavd.directory.Directory`` over LDAP servers."""

    def __init__(self, settings: LdapSettings, *, augments: AugmentsFile | None = None,
                 max_threads: int = 8, retry_seconds: float = 2.0,
                 dn_cache_seconds: float = 60) -> None:
        # The pool checks servers once per connection attempt; ldap3 would otherwise
        # sleep (10 s by default) after finding them all down.
        ldap3.set_config_parameter("POOLING_LOOP_TIMEOUT", 0)
        self.settings = settings
        self._worker = _Worker(settings, dn_cache_seconds)
        self._executor = ThreadPoolExecutor(max_threads, thread_name_prefix="caldavd-ldap")
        self._augments = augments
        self._retry_seconds = retry_seconds
        self._deadline = (2 * settings.connect_timeout * len(settings.uris)
                          + 3 * settings.search_timeout)
        self._down_since: float | None = None
        self._next_try = 0.0

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        now = time.monotonic()
        if self._down_since is not None and now < self._next_try:
            raise DirectoryUnavailable("the LDAP directory is unavailable")
        loop = asyncio.get_running_loop()
        try:
            result = await asyncio.wait_for(
                loop.run_in_executor(self._executor, fn, *args), self._deadline)
        except (DirectoryUnavailable, TimeoutError) as exc:
            reason = str(exc) or f"no answer within {self._deadline:.0f} s"
            if self._down_since is None:
                self._down_since = now
                log.error("LDAP directory unavailable (%s); answering 503 until it is back",
                          reason)
            self._next_try = time.monotonic() + self._retry_seconds
            raise DirectoryUnavailable("the LDAP directory is unavailable") from None
        if self._down_since is not None:
            log.warning("LDAP directory available again after %.0f s",
                        time.monotonic() - self._down_since)
            self._down_since = None
        return result

    async def _run(self, op: Callable[..., T], *args: Any) -> T:
        return await self._call(self._worker.run, op, *args)

    async def _current_augments(self) -> Augments:
        return await self._augments.current() if self._augments else Augments()

    async def _one(self, record: Record | None) -> Record | None:
        if record is None:
            return None
        return (await self._current_augments()).apply(record)

    async def _many(self, records: list[Record]) -> list[Record]:
        augments = await self._current_augments()
        return [augments.apply(r) for r in records]

    async def record_by_uid(self, uid: str) -> Record | None:
        return await self._one(await self._run(self._worker.by_guid, uid))

    async def record_by_short_name(self, record_type: RecordType,
                                   short_name: str) -> Record | None:
        return await self._one(
            await self._run(self._worker.by_short_name, record_type, short_name))

    async def record_by_address(self, address: str) -> Record | None:
        return await self._one(await self._run(self._worker.by_address, address))

    async def records(self, record_type: RecordType) -> list[Record]:
        return await self._many(await self._run(self._worker.records, record_type))

    async def search(self, terms: Sequence[tuple[SearchField, str, MatchType]], *,
                     any_of: bool, record_types: Iterable[RecordType] | None = None,
                     limit: int | None = None) -> list[Record]:
        if any_of and not terms:
            return []
        types = [t for t in RECORD_TYPES if t in set(record_types or RECORD_TYPES)]
        found = await self._run(self._worker.find, list(terms), any_of, types)
        found.sort(key=lambda r: (r.record_type, r.short_name))
        return await self._many(found[:limit] if limit is not None else found)

    async def authenticate(self, short_name: str, password: str) -> Record | None:
        # An empty password would be an unauthenticated bind, which servers accept
        # (RFC 4513 §5.1.2): never a login.
        if not short_name or not password:
            return None
        found = await self._run(self._worker.user_entry, short_name)
        if found is None:
            return None
        record = await self._one(found[0])
        if record is None or not record.enabled_for_login:
            return None
        if not await self._call(self._worker.bind_as, found[1], password):
            return None
        return record

    async def groups_of(self, uid: str, *, direct: bool = False) -> set[str]:
        return await self._run(self._worker.groups_of, uid, direct)

    async def members_of(self, uid: str) -> list[Record]:
        return await self._many(await self._run(self._worker.members_of, uid))

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._shutdown)

    def _shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._worker.close()

