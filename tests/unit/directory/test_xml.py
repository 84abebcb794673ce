"""The XML directory backend: lookups, authentication, groups, reload."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from caldavd.directory.xml import DirectoryFileError, XmlDirectory
from tests.tools.helpers import ACCOUNTS

ALICE = """<directory>
  <record type="user"><uid>u-alice</uid><short-name>alice</short-name>
    <password>pw1</password><full-name>Alice Able</full-name>
    <email>alice@example.com</email></record>
  {extra}
</directory>"""


def _write(path: Path, text: str) -> None:
    path.write_text(text)
    stamp = path.stat().st_mtime + 5  # a visible change even within one mtime tick
    os.utime(path, (stamp, stamp))


async def test_sample_accounts_authenticate_with_their_short_name() -> None:
    directory = XmlDirectory(ACCOUNTS)
    for n in range(1, 11):
        name = f"user{n:02d}"
        record = await directory.authenticate(name, name)
        assert record is not None and record.short_name == name
    assert await directory.authenticate("user01", "user02") is None
    assert await directory.authenticate("nobody", "nobody") is None
    assert len(await directory.records("user")) == 10
    assert len(await directory.records("group")) == 2
    assert len(await directory.records("location")) == 2
    assert len(await directory.records("resource")) == 2


async def test_lookups_and_addresses() -> None:
    directory = XmlDirectory(ACCOUNTS)
    user = await directory.record_by_short_name("user", "user03")
    assert user is not None
    assert user.calendar_user_addresses == ("mailto:user03@example.com", f"urn:uuid:{user.uid}")
    assert await directory.record_by_uid(user.uid) == user
    assert await directory.record_by_address("MAILTO:User03@example.com") == user
    assert await directory.record_by_address(f"urn:uuid:{user.uid}") == user
    room = await directory.record_by_short_name("location", "location01")
    assert room is not None and room.calendar_user_type == "ROOM"
    # Principal URLs are addresses too (RFC 6638 §2.4.1), as paths or URLs on any host.
    for address in (f"/principals/__uids__/{user.uid}/", f"/principals/__uids__/{user.uid}",
                    "/principals/users/user03/", "http://cal.example.com:8008/principals/users/user03/",
                    f"HTTPS://x/principals/__uids__/{user.uid.upper()}/"):
        assert await directory.record_by_address(address) == user, address
    assert await directory.record_by_address("/principals/locations/location01/") == room
    assert await directory.record_by_address("/principals/users/location01/") is None
    assert await directory.record_by_address("/principals/users/user03/x/") is None
    assert await directory.record_by_address(" mailto:user03@example.com ") == user
    assert not room.enabled_for_login, "locations cannot log in by default"


async def test_nested_groups_are_transitive() -> None:
    directory = XmlDirectory(ACCOUNTS)
    user01 = await directory.record_by_short_name("user", "user01")
    group01 = await directory.record_by_short_name("group", "group01")
    group02 = await directory.record_by_short_name("group", "group02")
    assert user01 and group01 and group02
    assert await directory.groups_of(user01.uid) == {group01.uid, group02.uid}
    members = {r.short_name for r in await directory.members_of(group02.uid)}
    assert members == {"user06", "user07", "user08", "group01"}


async def test_search_any_and_all() -> None:
    directory = XmlDirectory(ACCOUNTS)
    found = await directory.search([("fullName", "user 0", "contains")], any_of=False,
                                   record_types=["user"], limit=3)
    assert [r.short_name for r in found] == ["user01", "user02", "user03"]
    both = await directory.search([("shortName", "user10", "equals"),
                                   ("emailAddress", "location02@", "starts-with")], any_of=True)
    assert {r.short_name for r in both} == {"user10", "location02"}


async def test_changed_file_is_reloaded(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.xml"
    _write(accounts, ALICE.format(extra=""))
    directory = XmlDirectory(accounts, stat_seconds=0)
    assert await directory.authenticate("bob", "pw2") is None
    _write(accounts, ALICE.format(extra='<record type="user"><uid>u-bob</uid>'
                                        "<short-name>bob</short-name>"
                                        "<password>pw2</password></record>"))
    assert await directory.authenticate("bob", "pw2") is not None


async def test_malformed_reload_keeps_previous_data_and_names_file_and_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    accounts = tmp_path / "accounts.xml"
    _write(accounts, ALICE.format(extra=""))
    directory = XmlDirectory(accounts, stat_seconds=0)
    _write(accounts, "<directory>\n<record type='user'>\n<uid>x</uid>\n</directory>")
    with caplog.at_level(logging.ERROR):
        assert await directory.authenticate("alice", "pw1") is not None
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and str(accounts) in errors[0] and "line" in errors[0]


def test_malformed_file_at_start_is_an_error(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.xml"
    accounts.write_text('<directory><record type="robot"><uid>1</uid>'
                        "<short-name>r</short-name></record></directory>")
    with pytest.raises(DirectoryFileError, match="robot"):
        XmlDirectory(accounts)


def test_entities_are_not_expanded(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.xml"
    accounts.write_text('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM '
                        '"file:///etc/passwd">]><directory><record type="user"><uid>u</uid>'
                        "<short-name>a</short-name><full-name>&x;</full-name></record>"
                        "</directory>")
    try:
        directory = XmlDirectory(accounts)
    except DirectoryFileError:
        return  # refusing the file outright is also safe
    record = directory._snapshot.by_uid["u"]
    assert "root:" not in record.full_name


async def test_direct_groups_only() -> None:
    directory = XmlDirectory(ACCOUNTS)
    user01 = await directory.record_by_short_name("user", "user01")
    group01 = await directory.record_by_short_name("group", "group01")
    assert user01 and group01
    assert await directory.groups_of(user01.uid, direct=True) == {group01.uid}
