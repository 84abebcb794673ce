"""augments.xml: per-record calendaring, login and auto-scheduling over per-type defaults."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from caldavd.directory.xml import (
    Augment,
    AugmentsFile,
    DirectoryFileError,
    XmlDirectory,
    load_augments,
)
from tests.tools.helpers import ACCOUNTS

USER01 = "10000000-0000-0000-0000-000000000001"
USER02 = "10000000-0000-0000-0000-000000000002"
LOCATION01 = "30000000-0000-0000-0000-000000000001"
RESOURCE01 = "40000000-0000-0000-0000-000000000001"


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    stamp = path.stat().st_mtime + 5  # a visible change even within one mtime tick
    os.utime(path, (stamp, stamp))
    return path


def augments(*records: str) -> str:
    return "<augments>" + "".join(f"<record>{r}</record>" for r in records) + "</augments>"


async def test_defaults_per_record_type_without_a_file(tmp_path: Path) -> None:
    directory = XmlDirectory(ACCOUNTS, augments=tmp_path / "missing.xml")
    user = await directory.record_by_uid(USER01)
    room = await directory.record_by_uid(LOCATION01)
    group = await directory.record_by_short_name("group", "group01")
    assert user and room and group
    assert user.enabled_for_login and user.enabled_for_calendaring
    assert not room.enabled_for_login and room.enabled_for_calendaring
    assert not group.enabled_for_login
    empty = load_augments(None)
    assert empty.for_record("user", USER01) == Augment(True, True, "none")
    assert empty.for_record("location", LOCATION01).auto_schedule_mode == "automatic"
    assert empty.for_record("resource", RESOURCE01).auto_schedule_mode == "automatic"
    assert empty.for_record("group", "g").auto_schedule_mode == "none"


async def test_per_record_augments_apply(tmp_path: Path) -> None:
    path = _write(tmp_path / "augments.xml", augments(
        f"<uid>{USER01}</uid><enable-login>false</enable-login>",
        f"<uid>{USER02}</uid><enable-calendar>FALSE</enable-calendar>"
        "<auto-schedule-mode>accept-if-free</auto-schedule-mode>",
        f"<uid>{LOCATION01}</uid><auto-schedule-mode>accept-always</auto-schedule-mode>"
        "<enable-addressbook>true</enable-addressbook>",  # another server's setting: ignored
    ))
    directory = XmlDirectory(ACCOUNTS, augments=path)
    assert await directory.authenticate("user01", "user01") is None, "login disabled"
    user01 = await directory.record_by_uid(USER01)
    assert user01 is not None and not user01.enabled_for_login
    assert user01.enabled_for_calendaring
    user02 = await directory.authenticate("user02", "user02")
    assert user02 is not None and not user02.enabled_for_calendaring
    parsed = load_augments(path)
    assert parsed.for_record("user", USER02) == Augment(False, True, "accept-if-free")
    assert parsed.for_record("location", LOCATION01).auto_schedule_mode == "accept-always"
    assert parsed.for_record("user", "10000000-0000-0000-0000-000000000003") == Augment(
        True, True, "none")


async def test_default_records_change_the_defaults(tmp_path: Path) -> None:
    path = _write(tmp_path / "augments.xml", augments(
        "<uid>Default</uid><enable-calendar>false</enable-calendar>",
        "<uid>Default-User</uid><enable-calendar>true</enable-calendar>",
        "<uid>default-resource</uid><auto-schedule-mode>decline-if-busy</auto-schedule-mode>",
        f"<uid>{USER02}</uid><enable-calendar>false</enable-calendar>",
    ))
    directory = XmlDirectory(ACCOUNTS, augments=path)
    user01, user02 = await directory.record_by_uid(USER01), await directory.record_by_uid(USER02)
    room = await directory.record_by_uid(LOCATION01)
    assert user01 and user02 and room
    assert user01.enabled_for_calendaring, "Default-User beats Default"
    assert not user02.enabled_for_calendaring, "the record's own augment beats both"
    assert not room.enabled_for_calendaring, "Default applies to every type"
    parsed = load_augments(path)
    assert parsed.for_record("resource", RESOURCE01) == Augment(False, False, "decline-if-busy")
    assert parsed.for_record("location", LOCATION01).auto_schedule_mode == "automatic"


@pytest.mark.parametrize(("body", "message"), [
    ("<uid>u</uid>\n<enable-login>maybe</enable-login>", "enable-login must be true or false"),
    ("<uid>u</uid>\n<auto-schedule-mode>sometimes</auto-schedule-mode>", "auto-schedule-mode"),
    ("<enable-login>true</enable-login>", "augment needs <uid>"),
])
def test_bad_augments_name_file_and_line(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path / "augments.xml", f"<augments>\n<record>{body}</record>\n</augments>")
    with pytest.raises(DirectoryFileError, match=message) as caught:
        XmlDirectory(ACCOUNTS, augments=path)
    assert str(path) in str(caught.value) and ", line " in str(caught.value)


async def test_changed_augments_are_reloaded(tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    path = _write(tmp_path / "augments.xml", augments())
    directory = XmlDirectory(ACCOUNTS, augments=path, stat_seconds=0)
    assert await directory.authenticate("user01", "user01") is not None
    _write(path, augments(f"<uid>{USER01}</uid><enable-login>false</enable-login>"))
    assert await directory.authenticate("user01", "user01") is None

    _write(path, augments("<uid>x</uid><enable-login>perhaps</enable-login>"))
    with caplog.at_level(logging.ERROR):
        assert await directory.authenticate("user01", "user01") is None, "previous data kept"
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and str(path) in errors[0] and "line" in errors[0]


async def test_augments_file_on_its_own_reloads_and_keeps_good_data(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _write(tmp_path / "augments.xml",
                  augments(f"<uid>{USER01}</uid><enable-login>false</enable-login>"))
    file = AugmentsFile(path, stat_seconds=0)
    assert not (await file.current()).for_record("user", USER01).enable_login
    _write(path, augments(f"<uid>{USER01}</uid><enable-calendar>false</enable-calendar>"))
    current = (await file.current()).for_record("user", USER01)
    assert current.enable_login and not current.enable_calendar
    _write(path, "<augments><record>")
    with caplog.at_level(logging.ERROR):
        kept = (await file.current()).for_record("user", USER01)
    assert kept == current
    assert sum(r.levelno >= logging.ERROR for r in caplog.records) == 1
    path.unlink()
    assert (await file.current()).for_record("user", USER01) == Augment(True, True, "none"), \
        "a removed file means only the defaults"
