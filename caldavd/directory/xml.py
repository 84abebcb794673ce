"""The XML directory: accounts.xml (users, groups), resources.xml, augments.xml.

Files are re-read when they change, checked at most every ``statSeconds``.
A malformed file keeps the previous good data and logs one error naming the
file and line; requests keep being served during a reload.
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

from lxml import etree

from caldavd.directory.base import MatchType, SearchField, field_values, matches
from caldavd.directory.record import RECORD_TYPES, Record, RecordType

log = logging.getLogger(__name__)

# Augment defaults per record type: locations and resources cannot log in.
_LOGIN_DEFAULT: dict[RecordType, bool] = {
    "user": True, "group": False, "location": False, "resource": False,
}


class DirectoryFileError(Exception):
    """A directory file is malformed; the message names file and line."""


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
                    enabled_for_login=_LOGIN_DEFAULT[rtype])
    return record, passwords[0] if passwords else None


def _augments(path: Path) -> dict[str, dict[str, str]]:
    if not path.exists():
        return {}
    root = _parse_file(path)
    result: dict[str, dict[str, str]] = {}
    for element in root.iter("record"):
        uid = _texts(element, "uid")
        if not uid:
            raise DirectoryFileError(f"{path}, line {element.sourceline}: augment needs <uid>")
        result[uid[0]] = {child.tag: (child.text or "").strip() for child in element
                          if isinstance(child.tag, str) and child.tag != "uid"}
    return result


def _apply_augment(record: Record, augment: dict[str, str] | None) -> Record:
    if not augment:
        return record
    calendaring = augment.get("enable-calendar", str(record.enabled_for_calendaring))
    login = augment.get("enable-login", str(record.enabled_for_login))
    return replace(record, enabled_for_calendaring=calendaring.lower() == "true",
                   enabled_for_login=login.lower() == "true")


def load_snapshot(accounts: Path, resources: Path | None, augments: Path | None) -> _Snapshot:
    """Read every file; DirectoryFileError names the first problem."""
    snapshot = _Snapshot()
    extra = _augments(augments) if augments else {}
    files = [accounts] + ([resources] if resources and resources.exists() else [])
    for path in files:
        for element in _parse_file(path).iter("record"):
            record, password = _record(element, path)
            if record.uid in snapshot.by_uid:
                raise DirectoryFileError(f"{path}, line {element.sourceline}: "
                                         f"duplicate uid {record.uid}")
            snapshot.add(_apply_augment(record, extra.get(record.uid)), password)
    snapshot.link_groups()
    return snapshot


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
        stamps: list[tuple[float, int] | None] = []
        for path in self._files:
            try:
                st = os.stat(path) if path else None
                stamps.append((st.st_mtime, st.st_size) if st else None)
            except OSError:
                stamps.append(None)
        return tuple(stamps)

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
        return (await self._current()).by_address.get(address.lower())

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

    async def groups_of(self, uid: str) -> set[str]:
        parents = (await self._current()).parents
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
