"""The XML directory: accounts.xml (users, groups), resources.xml, augments.xml.

Files are re-read when they change, checked at most every ``statSeconds``.
A malformed file keeps the previous good data and logs one error naming the
file and line; requests keep being served during a reload.

Augments (``augments.xml``) switch calendaring, login and auto-scheduling per
record, by uid, over defaults per record type; the LDAP backend uses them too.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, get_args

from lxml import etree

from caldavd.directory.base import MatchType, SearchField, field_values, matches
from caldavd.directory.paths import principal_key
from caldavd.directory.record import RECORD_TYPES, Record, RecordType

log = logging.getLogger(__name__)

AutoScheduleMode = Literal["none", "accept-always", "decline-always", "accept-if-free",
                          "decline-if-busy", "automatic", "default"]
AUTO_SCHEDULE_MODES: tuple[str, ...] = get_args(AutoScheduleMode)


class DirectoryFileError(Exception):
    """A directory file is malformed; the message names file and line."""


@dataclass(frozen=True)
class Augment:
    """What augments.xml says about one record."""

    enable_calendar: bool
    enable_login: bool
    auto_schedule_mode: AutoScheduleMode


# Only users log in; rooms and resources schedule themselves.
TYPE_DEFAULTS: dict[RecordType, Augment] = {
    "user": Augment(True, True, "none"),
    "group": Augment(True, False, "none"),
    "location": Augment(True, False, "automatic"),
    "resource": Augment(True, False, "automatic"),
}
# Augment records with these uids change the defaults: "Default" for every
# type, then "Default-User", "Default-Group", ... for one type.
DEFAULT_UID = "Default"
_TYPE_DEFAULT_UIDS: dict[str, RecordType] = {f"default-{t}": t for t in RECORD_TYPES}
_AUGMENT_FIELDS = {"enable-calendar": "enable_calendar", "enable-login": "enable_login",
                   "auto-schedule-mode": "auto_schedule_mode"}
_BOOLEANS = {"true": True, "false": False}


@dataclass(frozen=True)
class Augments:
    """Parsed augments: per-uid settings over per-type defaults."""

    by_uid: dict[str, dict[str, object]] = field(default_factory=dict)

    def for_record(self, record_type: RecordType, uid: str) -> Augment:
        augment = TYPE_DEFAULTS[record_type]
        for key in (DEFAULT_UID, f"Default-{record_type.capitalize()}", uid):
            settings = self.by_uid.get(key)
            if settings:
                augment = replace(augment, **settings)  # type: ignore[arg-type]
        return augment

    def apply(self, record: Record) -> Record:
        augment = self.for_record(record.record_type, record.uid)
        return replace(record, enabled_for_calendaring=augment.enable_calendar,
                       enabled_for_login=augment.enable_login,
                       auto_schedule_mode=augment.auto_schedule_mode)


@dataclass
class _Snapshot:
    by_uid: dict[str, Record] = field(default_factory=dict)
    by_name: dict[tuple[RecordType, str], Record] = field(default_factory=dict)
    by_address: dict[str, Record] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)  # uid -> password
    parents: dict[str, set[str]] = field(default_factory=dict)  # uid -> direct groups

    def add(self, record: Record, password: str | None) -> None:
        self.by_uid[record.uid] = record
        for name in record.short_names:
            self.by_name[(record.record_type, name)] = record
        for address in record.calendar_user_addresses:
            self.by_address[address.lower()] = record
        if password is not None:
            self.passwords[record.uid] = password

    def link_groups(self) -> None:
        for record in self.by_uid.values():
            for member in record.members:
                self.parents.setdefault(member, set()).add(record.uid)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           remove_comments=True, huge_tree=False)


def _parse_file(path: Path) -> etree._Element:
    try:
        root = etree.parse(str(path), _parser()).getroot()
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else "?"
        raise DirectoryFileError(f"{path}, line {line}: {exc.msg}") from None
    except OSError as exc:
        raise DirectoryFileError(f"{path}: {exc.strerror or exc}") from None
    if root.tag != "directory" and root.tag != "accounts" and root.tag != "augments":
        raise DirectoryFileError(f"{path}, line {root.sourceline}: root element is "
                                 f"<{root.tag}>, expected <directory>")
    return root


def _texts(element: etree._Element, tag: str) -> tuple[str, ...]:
    return tuple((child.text or "").strip() for child in element.findall(tag)
                 if (child.text or "").strip())


def _record(element: etree._Element, path: Path) -> tuple[Record, str | None]:
    where = f"{path}, line {element.sourceline}"
    record_type = element.get("type", "")
    if record_type not in RECORD_TYPES:
        raise DirectoryFileError(f"{where}: record type {record_type!r} is not one of "
                                 f"{', '.join(RECORD_TYPES)}")
    rtype: RecordType = record_type
    uids, names = _texts(element, "uid"), _texts(element, "short-name")
    if len(uids) != 1 or not names:
        raise DirectoryFileError(f"{where}: a record needs one <uid> and a <short-name>")
    passwords = _texts(element, "password")
    full_names = _texts(element, "full-name")
    record = Record(uid=uids[0], record_type=rtype, short_names=names,
                    full_name=full_names[0] if full_names else names[0],
                    emails=_texts(element, "email"), members=_texts(element, "member-uid"),
                    enabled_for_login=TYPE_DEFAULTS[rtype].enable_login)
    return record, passwords[0] if passwords else None


def _augment_value(name: str, text: str, where: str) -> object:
    value = text.strip().lower()
    if name == "auto-schedule-mode":
        if value not in AUTO_SCHEDULE_MODES:
            raise DirectoryFileError(f"{where}: auto-schedule-mode {text!r} is not one of "
                                     f"{', '.join(AUTO_SCHEDULE_MODES)}")
        return value
    if value not in _BOOLEANS:
        raise DirectoryFileError(f"{where}: {name} must be true or false, not {text!r}")
    return _BOOLEANS[value]


def load_augments(path: Path | None) -> Augments:
    """augments.xml; a missing file (or none configured) means only the defaults."""
    if path is None or not path.exists():
        return Augments()
    root = _parse_file(path)
    result: dict[str, dict[str, object]] = {}
    for element in root.iter("record"):
        where = f"{path}, line {element.sourceline}"
        uid = _texts(element, "uid")
        if not uid:
            raise DirectoryFileError(f"{where}: augment needs <uid>")
        key = uid[0]
        if key.lower() == DEFAULT_UID.lower():
            key = DEFAULT_UID
        elif key.lower() in _TYPE_DEFAULT_UIDS:
            key = f"Default-{_TYPE_DEFAULT_UIDS[key.lower()].capitalize()}"
        settings: dict[str, object] = {}
        for child in element:
            # Other elements (from other servers' augments) are ignored.
            if isinstance(child.tag, str) and child.tag in _AUGMENT_FIELDS:
                settings[_AUGMENT_FIELDS[child.tag]] = _augment_value(
                    child.tag, child.text or "", f"{path}, line {child.sourceline}")
        result[key] = settings
    return Augments(result)


def load_snapshot(accounts: Path, resources: Path | None, augments: Path | None) -> _Snapshot:
    """Read every file; DirectoryFileError names the first problem."""
    snapshot = _Snapshot()
    extra = load_augments(augments)
    files = [accounts] + ([resources] if resources and resources.exists() else [])
    for path in files:
        for element in _parse_file(path).iter("record"):
            record, password = _record(element, path)
            if record.uid in snapshot.by_uid:
                raise DirectoryFileError(f"{path}, line {element.sourceline}: "
                                         f"duplicate uid {record.uid}")
            snapshot.add(extra.apply(record), password)
    snapshot.link_groups()
    return snapshot


class AugmentsFile:
    """augments.xml on its own (for backends other than XML), re-read when it changes.

    As for the XML directory, a malformed file at start is an error, and later
    keeps the previous augments and logs one error naming file and line.
    """

    def __init__(self, path: Path | None, stat_seconds: float = 15) -> None:
        self._path = path
        self._stat_seconds = stat_seconds
        self._augments = load_augments(path)
        self._stamp = _stamp(path)
        self._checked = time.monotonic()

    async def current(self) -> Augments:
        now = time.monotonic()
        if self._path is not None and now - self._checked >= self._stat_seconds:
            self._checked = now
            stamp = _stamp(self._path)
            if stamp != self._stamp:
                self._stamp = stamp
                loop = asyncio.get_running_loop()
                try:
                    self._augments = await loop.run_in_executor(None, load_augments, self._path)
                    log.info("augments reloaded from %s", self._path)
                except DirectoryFileError as exc:
                    log.error("augments not reloaded, keeping the previous ones: %s", exc)
        return self._augments


def _stamp(path: Path | None) -> tuple[float, int] | None:
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime, st.st_size)


class XmlDirectory:
    """``caldavd.directory.Directory`` over local XML files."""

    def __init__(self, accounts: Path, resources: Path | None = None,
                 augments: Path | None = None, stat_seconds: float = 15) -> None:
        self._files = (accounts, resources, augments)
        self._stat_seconds = stat_seconds
        self._snapshot = load_snapshot(accounts, resources, augments)
        self._stamp = self._file_stamp()
        self._checked = time.monotonic()
        self._reloading: asyncio.Task[None] | None = None

    def _file_stamp(self) -> tuple[tuple[float, int] | None, ...]:
        return tuple(_stamp(path) for path in self._files)

    async def _current(self) -> _Snapshot:
        now = time.monotonic()
        if now - self._checked >= self._stat_seconds:
            self._checked = now
            stamp = self._file_stamp()
            if stamp != self._stamp:
                self._stamp = stamp
                await self._reload()
        return self._snapshot

    async def _reload(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._snapshot = await loop.run_in_executor(None, load_snapshot, *self._files)
            log.info("directory reloaded from %s", self._files[0])
        except DirectoryFileError as exc:
            log.error("directory file not reloaded, keeping the previous data: %s", exc)

    async def record_by_uid(self, uid: str) -> Record | None:
        return (await self._current()).by_uid.get(uid)

    async def record_by_short_name(self, record_type: RecordType,
                                   short_name: str) -> Record | None:
        return (await self._current()).by_name.get((record_type, short_name))

    async def record_by_address(self, address: str) -> Record | None:
        """By mailto: or urn:uuid: (in any case), or by a principal URL."""
        snapshot = await self._current()
        key = principal_key(address)
        if key is None:
            return snapshot.by_address.get(address.strip().lower())
        kind, name = key
        if kind is None:
            return snapshot.by_uid.get(name) or snapshot.by_address.get(
                f"urn:uuid:{name}".lower())
        return snapshot.by_name.get((kind, name))

    async def records(self, record_type: RecordType) -> list[Record]:
        snapshot = await self._current()
        return sorted((r for r in snapshot.by_uid.values() if r.record_type == record_type),
                      key=lambda r: r.short_name)

    async def search(self, terms: Sequence[tuple[SearchField, str, MatchType]], *,
                     any_of: bool, record_types: Iterable[RecordType] | None = None,
                     limit: int | None = None) -> list[Record]:
        snapshot = await self._current()
        wanted = set(record_types or RECORD_TYPES)
        combine = any if any_of else all
        found = [r for r in snapshot.by_uid.values() if r.record_type in wanted and combine(
            any(matches(v, text, mt) for v in field_values(r, f)) for f, text, mt in terms)]
        found.sort(key=lambda r: (r.record_type, r.short_name))
        return found[:limit] if limit is not None else found

    async def authenticate(self, short_name: str, password: str) -> Record | None:
        snapshot = await self._current()
        record = snapshot.by_name.get(("user", short_name))
        if record is None or not record.enabled_for_login:
            return None
        expected = snapshot.passwords.get(record.uid)
        if expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
            return None
        return record

    async def groups_of(self, uid: str, *, direct: bool = False) -> set[str]:
        parents = (await self._current()).parents
        if direct:
            return set(parents.get(uid, ()))
        found: set[str] = set()
        pending = list(parents.get(uid, ()))
        while pending:
            group = pending.pop()
            if group not in found:
                found.add(group)
                pending.extend(parents.get(group, ()))
        return found

    async def members_of(self, uid: str) -> list[Record]:
        snapshot = await self._current()
        group = snapshot.by_uid.get(uid)
        if group is None:
            return []
        return [snapshot.by_uid[m] for m in group.members if m in snapshot.by_uid]

    async def close(self) -> None:
        return None
