"""The LDAP directory against a real slapd: lookups, groups, search, authentication,
filter injection, failover, outages, timeouts, augments and configuration."""

from __future__ import annotations

import asyncio
import logging
import os
import plistlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ldap3
import pytest

from caldavd.config import build_config
from caldavd.directory import DirectoryUnavailable, Record
from caldavd.directory import ldap as ldap_module
from caldavd.directory.base import DirectoryConfigError, MatchType, SearchField
from caldavd.directory.cache import CachingDirectory
from caldavd.directory.factory import open_directory
from caldavd.directory.ldap import LdapDirectory, LdapSettings, address_patterns
from caldavd.directory.record import RecordType
from caldavd.directory.xml import AugmentsFile, XmlDirectory
from tests.conftest import free_port
from tests.directory.slapd import (
    SERVICE_PASSWORD,
    Slapd,
    ldap_params,
    running_slapd,
)
from tests.tools.helpers import ACCOUNTS, REPO


def ldap(*uris: str, retry_seconds: float = 0, **overrides: Any) -> LdapDirectory:
    return LdapDirectory(LdapSettings.from_params(ldap_params(*uris, **overrides)),
                         retry_seconds=retry_seconds)


async def uid_of(directory: LdapDirectory, record_type: RecordType, name: str) -> str:
    record = await directory.record_by_short_name(record_type, name)
    assert record is not None, f"{record_type} {name} missing from the test directory"
    return record.uid


async def names_of(directory: LdapDirectory, uids: set[str]) -> set[str]:
    records = [await directory.record_by_uid(uid) for uid in uids]
    return {r.short_name for r in records if r is not None}


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()


# -- lookups --------------------------------------------------------------------------


async def test_lookups_by_short_name_uid_and_address(directory: LdapDirectory) -> None:
    user = await directory.record_by_short_name("user", "user03")
    assert user is not None
    assert (user.record_type, user.full_name, user.emails) == (
        "user", "User 03", ("user03@example.com",))
    assert len(user.uid) == 36, "the uid is the entryUUID"
    assert user.calendar_user_addresses == ("mailto:user03@example.com", f"urn:uuid:{user.uid}")
    assert user.enabled_for_login and user.enabled_for_calendaring
    assert await directory.record_by_uid(user.uid) == user
    assert await directory.record_by_address("MAILTO:User03@Example.com") == user
    assert await directory.record_by_address(f"urn:uuid:{user.uid}") == user
    assert await directory.record_by_address(f"URN:UUID:{user.uid.upper()}") == user
    assert await directory.record_by_uid(user.uid.upper()) is None, "uids are exact"
    assert await directory.record_by_short_name("user", "USER03") == user
    for address in (f"/principals/__uids__/{user.uid}/", "/principals/users/user03",
                    "https://cal.example.com/principals/users/user03/"):
        assert await directory.record_by_address(address) == user, address

    room = await directory.record_by_short_name("location", "location01")
    assert room is not None and room.full_name == "Conference Room 1"
    assert room.calendar_user_type == "ROOM" and not room.enabled_for_login
    assert await directory.record_by_address("mailto:location01@example.com") == room
    assert await directory.record_by_address("/principals/locations/location01/") == room
    assert await directory.record_by_address("/principals/users/location01/") is None
    projector = await directory.record_by_short_name("resource", "resource02")
    assert projector is not None and projector.calendar_user_type == "RESOURCE"

    assert await directory.record_by_short_name("user", "nobody") is None
    assert await directory.record_by_short_name("group", "user03") is None, "types do not mix"
    assert await directory.record_by_uid("00000000-0000-0000-0000-000000000000") is None
    assert await directory.record_by_address("mailto:nobody@example.com") is None
    assert await directory.record_by_address("https://example.com/user03") is None


async def test_records_of_every_type(directory: LdapDirectory) -> None:
    users = [r.short_name for r in await directory.records("user")]
    assert users == sorted(users) and len(users) == 12
    assert {f"user{n:02d}" for n in range(1, 11)} <= set(users)
    assert "People" not in users, "the ou=People container is not a record"
    groups = await directory.records("group")
    assert [g.short_name for g in groups] == [f"group{n:02d}" for n in range(1, 7)]
    assert all(not g.enabled_for_login for g in groups)
    assert [r.short_name for r in await directory.records("location")] == [
        "location01", "location02"]
    assert [r.short_name for r in await directory.records("resource")] == [
        "resource01", "resource02"]


async def test_listings_are_fetched_in_pages(directory: LdapDirectory,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    pages: list[int | None] = []
    search = ldap3.Connection.search

    def counted(conn: Any, *args: Any, **kwargs: Any) -> Any:
        pages.append(kwargs.get("paged_size"))
        return search(conn, *args, **kwargs)

    monkeypatch.setattr(ldap_module, "PAGE_SIZE", 5)
    monkeypatch.setattr(ldap3.Connection, "search", counted)
    users = await directory.records("user")
    assert len(users) == 12 and len({u.uid for u in users}) == 12
    assert pages == [5, 5, 5], "12 entries in pages of 5"


async def test_extra_filters_are_anded_into_every_lookup(slapd: Slapd) -> None:
    plain = ldap(slapd.uri)
    filtered = ldap(slapd.uri, extraFilters={"users": "(objectClass=inetOrgPerson)"})
    try:
        assert await plain.record_by_short_name("user", "svc-backup") is not None
        assert await plain.authenticate("svc-backup", "backup-password") is not None
        assert await filtered.record_by_short_name("user", "svc-backup") is None
        assert await filtered.authenticate("svc-backup", "backup-password") is None
        assert "svc-backup" not in {r.short_name for r in await filtered.records("user")}
        assert await filtered.record_by_short_name("user", "user01") is not None
    finally:
        await plain.close()
        await filtered.close()


def test_a_malformed_extra_filter_is_a_configuration_error() -> None:
    params = ldap_params("ldap://127.0.0.1:1", extraFilters={"groups": "(objectClass=group"})
    with pytest.raises(DirectoryConfigError, match=r"extraFilters\.groups"):
        LdapSettings.from_params(params)
    bare = LdapSettings.from_params(ldap_params("ldap://127.0.0.1:1",
                                                extraFilters={"users": "objectClass=person"}))
    assert bare.extra_filters["user"] == "(objectClass=person)"


# -- groups ---------------------------------------------------------------------------


async def test_members_by_member_unique_member_and_member_uid(
        directory: LdapDirectory) -> None:
    group02 = await directory.record_by_short_name("group", "group02")
    assert group02 is not None and group02.full_name == "group02"
    members = await directory.members_of(group02.uid)
    assert [m.short_name for m in members] == ["user06", "user07", "user08", "group01"]
    assert group02.members == tuple(m.uid for m in members)
    nested = next(m for m in members if m.record_type == "group")
    assert len(nested.members) == 5, "a nested group comes with its own members"

    group03 = await directory.record_by_short_name("group", "group03")
    assert group03 is not None
    assert [m.short_name for m in await directory.members_of(group03.uid)] == [
        "user09", "user10"]
    group04 = await directory.record_by_short_name("group", "group04")
    assert group04 is not None
    assert [m.short_name for m in await directory.members_of(group04.uid)] == [
        "user02", "group03"]
    assert await directory.members_of(await uid_of(directory, "user", "user01")) == []


async def test_groups_of_is_transitive_across_membership_kinds(
        directory: LdapDirectory) -> None:
    async def groups(name: str) -> set[str]:
        return await names_of(directory, await directory.groups_of(
            await uid_of(directory, "user", name)))

    assert await groups("user01") == {"group01", "group02"}
    assert await groups("user02") == {"group01", "group02", "group04"}
    assert await groups("user09") == {"group03", "group04"}
    assert await groups("user04") == {"group01", "group02", "group05", "group06"}, \
        "a membership cycle ends"
    assert await groups("user06") == {"group02"}
    group01 = await uid_of(directory, "group", "group01")
    assert await names_of(directory, await directory.groups_of(group01)) == {"group02"}
    assert await directory.groups_of("00000000-0000-0000-0000-000000000000") == set()


async def test_direct_groups_stop_at_the_first_level(directory: LdapDirectory) -> None:
    user01 = await uid_of(directory, "user", "user01")
    assert await names_of(directory, await directory.groups_of(user01, direct=True)) == \
        {"group01"}


# -- search ---------------------------------------------------------------------------

SEARCHES: list[tuple[list[tuple[SearchField, str, MatchType]], bool]] = [
    ([("fullName", "user 0", "contains")], False),
    ([("fullName", "USER 10", "equals")], True),
    ([("shortName", "user10", "equals"), ("emailAddress", "location02@", "starts-with")], True),
    ([("emailAddress", "@example.com", "ends-with"), ("fullName", "room", "contains")], False),
    ([("calendarUserAddress", "mailto:user03@example.com", "equals")], True),
    ([("calendarUserAddress", "mailto:user0", "starts-with")], True),
    ([("calendarUserAddress", "MAIL", "starts-with"), ("shortName", "resource", "contains")],
     False),
    ([("calendarUserAddress", "to:user05@", "contains")], True),
    ([("calendarUserAddress", "02@example.com", "ends-with")], True),
    ([("calendarUserAddress", "uuid", "contains"), ("fullName", "projector 2", "equals")],
     False),
    ([("shortName", "*", "contains")], True),
    ([("fullName", "", "starts-with")], True),
    ([("calendarUserAddress", "mailto:", "equals")], True),
    ([("calendarUserAddress", "mailto:", "starts-with"), ("fullName", "", "equals")], False),
    ([("fullName", "user 0", "contains"), ("shortName", "9", "ends-with")], False),
]


@pytest.mark.parametrize(("terms", "any_of"), SEARCHES)
async def test_search_matches_what_the_xml_backend_finds(
        directory: LdapDirectory, terms: list[tuple[SearchField, str, MatchType]],
        any_of: bool) -> None:
    """Same people in both backends, so the same answers (groups are named differently)."""
    types: list[RecordType] = ["user", "location", "resource"]
    xml = XmlDirectory(ACCOUNTS)
    expected = [r.short_name for r in await xml.search(terms, any_of=any_of,
                                                         record_types=types)]
    found = await directory.search(terms, any_of=any_of, record_types=types)
    extra = {"star*(user)\\", "svc-backup"}
    assert [r.short_name for r in found if r.short_name not in extra] == expected


async def test_search_types_limit_and_empty_terms(directory: LdapDirectory) -> None:
    found = await directory.search([("fullName", "user 0", "contains")], any_of=False,
                                   record_types=["user"], limit=3)
    assert [r.short_name for r in found] == ["user01", "user02", "user03"]
    groups = await directory.search([("shortName", "group0", "starts-with")], any_of=True,
                                    record_types=["group"])
    assert [g.short_name for g in groups] == [f"group{n:02d}" for n in range(1, 7)]
    assert await directory.search([], any_of=True) == []
    everything = await directory.search([], any_of=False, record_types=["location"])
    assert [r.short_name for r in everything] == ["location01", "location02"]


def test_address_patterns_cover_the_prefix() -> None:
    assert address_patterns("mailto:", "mailto:a@b", "equals") == [("a@b", "equals")]
    assert address_patterns("mailto:", "urn:uuid:x", "equals") == []
    assert address_patterns("mailto:", "mai", "starts-with") == [("", "contains")]
    assert address_patterns("mailto:", "ilt", "contains") == [("", "contains")]
    assert ("user", "starts-with") in address_patterns("mailto:", "to:user", "contains")
    assert ("a@b", "equals") in address_patterns("mailto:", ":a@b", "ends-with")


# -- authentication -------------------------------------------------------------------


async def test_authenticate(directory: LdapDirectory) -> None:
    record = await directory.authenticate("user07", "user07")
    assert record is not None and record.short_name == "user07"
    assert await directory.authenticate("user07", "user08") is None
    assert await directory.authenticate("user07", "") is None, \
        "an empty password is an unauthenticated bind, never a login"
    assert await directory.authenticate("nobody", "nobody") is None
    assert await directory.authenticate("caldavd", SERVICE_PASSWORD) is None, \
        "the service account is no user"
    assert await directory.authenticate("location01", "location01") is None


async def test_user_binds_never_use_a_search_connection(directory: LdapDirectory) -> None:
    assert await directory.authenticate("user01", "user01") is not None
    search_pool = directory._worker._search._idle
    auth_pool = directory._worker._auth._idle
    assert search_pool and auth_pool
    assert not {id(c) for c in search_pool} & {id(c) for c in auth_pool}
    assert all(c.user == directory.settings.bind_dn for c in search_pool)
    assert all(c.password is None for c in search_pool + auth_pool), \
        "no password stays on a pooled connection"
    # The search connections still search as the service, after a user bound.
    assert await directory.record_by_short_name("user", "user02") is not None


async def test_augments_disable_login_and_calendaring(slapd: Slapd, tmp_path: Path) -> None:
    probe = ldap(slapd.uri)
    try:
        user05 = await uid_of(probe, "user", "user05")
    finally:
        await probe.close()
    augments = tmp_path / "augments.xml"
    augments.write_text(f"""<augments>
      <record><uid>{user05}</uid><enable-login>false</enable-login></record>
      <record><uid>Default-Location</uid><enable-calendar>false</enable-calendar></record>
    </augments>""")
    directory = LdapDirectory(LdapSettings.from_params(ldap_params(slapd.uri)),
                              augments=AugmentsFile(augments, stat_seconds=0))
    try:
        assert await directory.authenticate("user05", "user05") is None
        record = await directory.record_by_short_name("user", "user05")
        assert record is not None and not record.enabled_for_login
        assert await directory.authenticate("user06", "user06") is not None
        room = await directory.record_by_short_name("location", "location02")
        assert room is not None and not room.enabled_for_calendaring
        members = await directory.records("location")
        assert not any(r.enabled_for_calendaring for r in members)

        augments.write_text("<augments/>")
        stamp = augments.stat().st_mtime + 5
        os.utime(augments, (stamp, stamp))
        assert await directory.authenticate("user05", "user05") is not None, \
            "augments are re-read when they change"
    finally:
        await directory.close()


async def test_filter_injection_matches_nothing(directory: LdapDirectory) -> None:
    for name in ("*)(uid=*", "*", "user0*", "*)(|(uid=*", "user01)(uid=*"):
        assert await directory.record_by_short_name("user", name) is None, name
        assert await directory.authenticate(name, "user01") is None, name
    assert await directory.record_by_address("mailto:*") is None
    assert await directory.record_by_address("mailto:*)(mail=*") is None
    assert await directory.record_by_uid("*") is None
    assert await directory.search([("emailAddress", "*", "contains")], any_of=True) == []
    weird = await directory.record_by_short_name("user", "star*(user)\\")
    assert weird is not None and weird.full_name == "Star User"
    assert await directory.authenticate("star*(user)\\", "star-password") == weird
    assert await directory.record_by_short_name("user", "star*") is None


async def test_anonymous_searches_when_no_bind_dn(slapd: Slapd) -> None:
    directory = ldap(slapd.uri, credentials={"dn": "", "password": ""})
    try:
        assert await directory.record_by_short_name("user", "user04") is not None
        assert await directory.authenticate("user04", "user04") is not None
        assert all(c.user is None for c in directory._worker._search._idle)
    finally:
        await directory.close()


async def test_wrong_service_credentials_are_unavailable_not_unknown(
        slapd: Slapd, caplog: pytest.LogCaptureFixture) -> None:
    directory = ldap(slapd.uri, credentials={"dn": "cn=caldavd,ou=Services,dc=example,dc=com",
                                             "password": "not-the-password"})
    try:
        with caplog.at_level(logging.ERROR), pytest.raises(DirectoryUnavailable):
            await directory.record_by_short_name("user", "user01")
    finally:
        await directory.close()
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lines) == 1 and "credentials.dn" in lines[0]
    assert "not-the-password" not in caplog.text


# -- servers come and go --------------------------------------------------------------


async def test_failover_to_the_second_uri(slapd: Slapd, closed_port: int) -> None:
    directory = ldap(f"ldap://127.0.0.1:{closed_port}", slapd.uri)
    try:
        assert await directory.record_by_short_name("user", "user01") is not None
        assert await directory.authenticate("user02", "user02") is not None
        assert await directory.authenticate("user02", "wrong") is None
    finally:
        await directory.close()


async def test_no_server_at_all_is_unavailable(closed_port: int) -> None:
    directory = ldap(f"ldap://127.0.0.1:{closed_port}")
    try:
        started = time.monotonic()
        with pytest.raises(DirectoryUnavailable):
            await directory.authenticate("user01", "user01")
        assert time.monotonic() - started < 5
    finally:
        await directory.close()


async def test_outage_is_unavailable_logged_once_and_recovers(
        slapd: Slapd, caplog: pytest.LogCaptureFixture) -> None:
    directory = ldap(slapd.uri)
    try:
        assert await directory.authenticate("user01", "user01") is not None
        user01 = await uid_of(directory, "user", "user01")
        slapd.stop()
        with caplog.at_level(logging.INFO, logger="caldavd.directory.ldap"):
            for _ in range(3):
                with pytest.raises(DirectoryUnavailable):
                    await directory.record_by_uid(user01)
                with pytest.raises(DirectoryUnavailable):
                    await directory.authenticate("user01", "user01")
            down = [r for r in caplog.records if r.name == "caldavd.directory.ldap"]
            assert len(down) == 1 and down[0].levelno == logging.ERROR
            assert "user01" not in down[0].getMessage()

            slapd.start()
            assert await directory.record_by_uid(user01) is not None
            assert await directory.authenticate("user01", "user01") is not None, \
                "a pooled connection from before the restart is replaced, not a 401"
            assert await directory.authenticate("user01", "nope") is None
        lines = [r for r in caplog.records if r.name == "caldavd.directory.ldap"]
        assert len(lines) == 2 and "available again" in lines[1].getMessage()
    finally:
        if not slapd.running:
            slapd.start()
        await directory.close()


async def test_after_a_failure_calls_fail_fast_until_the_retry_time(slapd: Slapd) -> None:
    # The retry time is long enough that restarting slapd on a slow machine still ends
    # inside it.
    directory = ldap(slapd.uri, retry_seconds=3.0)
    try:
        assert await directory.record_by_short_name("user", "user01") is not None
        slapd.stop()
        with pytest.raises(DirectoryUnavailable):
            await directory.record_by_short_name("user", "user01")
        failed = time.monotonic()
        slapd.start()
        assert time.monotonic() - failed < 3.0, "slapd took the whole retry time to start"
        with pytest.raises(DirectoryUnavailable):
            await directory.record_by_short_name("user", "user01")
        await asyncio.sleep(max(0.0, failed + 3.1 - time.monotonic()))
        assert await directory.record_by_short_name("user", "user01") is not None
    finally:
        if not slapd.running:
            slapd.start()
        await directory.close()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts TCP connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        listener.close()


async def test_a_server_that_never_answers_is_bounded_in_time(silent_server: int) -> None:
    directory = ldap(f"ldap://127.0.0.1:{silent_server}",
                     timeouts={"connect": 1, "search": 1})
    try:
        started = time.monotonic()
        with pytest.raises(DirectoryUnavailable):
            await directory.record_by_short_name("user", "user01")
        assert time.monotonic() - started < 6
    finally:
        await directory.close()


async def test_ldap_io_runs_on_a_bounded_pool_of_threads(slapd: Slapd) -> None:
    directory = LdapDirectory(LdapSettings.from_params(ldap_params(slapd.uri)), max_threads=2)
    worker = directory._worker
    threads: set[str] = set()
    busy, most = 0, 0
    lock = threading.Lock()
    search = worker.search

    def watched(*args: Any, **kwargs: Any) -> Any:
        nonlocal busy, most
        with lock:
            busy += 1
            most = max(most, busy)
            threads.add(threading.current_thread().name)
        try:
            time.sleep(0.02)
            return search(*args, **kwargs)
        finally:
            with lock:
                busy -= 1

    worker.search = watched  # type: ignore[method-assign]
    try:
        names = [f"user{n:02d}" for n in range(1, 11)]
        found = await asyncio.gather(*(directory.record_by_short_name("user", n) for n in names))
        assert [r.short_name for r in found if r] == names
        connections = len(worker._search._idle)
    finally:
        await directory.close()
    assert threading.current_thread().name not in threads, "never on the event loop's thread"
    assert threads and all(name.startswith("caldavd-ldap") for name in threads)
    assert most == 2, "both threads worked at once, and never more"
    assert 1 <= connections <= 2, "one search connection per thread at most"


# -- StartTLS -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_slapd() -> Iterator[Slapd]:
    with running_slapd(tls=True) as server:
        yield server


def localhost_uri(server: Slapd) -> str:
    return f"ldap://localhost:{server.port}"  # the name on the server's certificate


async def test_start_tls_with_a_verified_certificate(
        tls_slapd: Slapd, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_slapd.root / "ca.pem"))
    directory = ldap(localhost_uri(tls_slapd), useTLS=True)
    try:
        assert await directory.record_by_short_name("user", "user01") is not None
        assert await directory.authenticate("user01", "user01") is not None
        pooled = directory._worker._search._idle + directory._worker._auth._idle
        assert pooled and all(c.tls_started for c in pooled)
    finally:
        await directory.close()


async def test_without_tls_a_server_that_requires_it_is_unavailable(
        tls_slapd: Slapd, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_slapd.root / "ca.pem"))
    directory = ldap(localhost_uri(tls_slapd), useTLS=False)
    try:
        with caplog.at_level(logging.ERROR), pytest.raises(DirectoryUnavailable):
            await directory.record_by_short_name("user", "user01")
    finally:
        await directory.close()
    assert "confidentialityRequired" in caplog.text


async def test_start_tls_refuses_an_untrusted_certificate(
        tls_slapd: Slapd, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "none.pem").write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "none.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    directory = ldap(localhost_uri(tls_slapd), useTLS=True)
    try:
        with caplog.at_level(logging.ERROR), pytest.raises(DirectoryUnavailable):
            await directory.authenticate("user01", "user01")
    finally:
        await directory.close()
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text


# -- configuration --------------------------------------------------------------------


async def test_open_directory_builds_a_cached_ldap_directory(slapd: Slapd,
                                                             tmp_path: Path) -> None:
    config = build_config({
        "ServerRoot": str(tmp_path),
        "DirectoryService": {"type": "ldap", "params": ldap_params(slapd.uri)},
        "DirectoryCaching": {"CachingSeconds": 30, "NegativeCaching": True},
    }, base_dir=tmp_path)
    directory = open_directory(config)
    try:
        assert isinstance(directory, CachingDirectory)
        assert isinstance(directory.inner, LdapDirectory)
        record = await directory.authenticate("user03", "user03")
        assert isinstance(record, Record) and record.short_name == "user03"
    finally:
        await directory.close()

    uncached = build_config({
        "ServerRoot": str(tmp_path),
        "DirectoryService": {"type": "ldap", "params": ldap_params(slapd.uri)},
        "DirectoryCaching": {"CachingSeconds": 0},
    }, base_dir=tmp_path)
    plain = open_directory(uncached)
    try:
        assert isinstance(plain, LdapDirectory)
    finally:
        await plain.close()


async def test_the_shipped_cluster_example_works_with_the_sample_ldif(
        slapd: Slapd, tmp_path: Path) -> None:
    """conf/caldavd-cluster.plist's directory, pointed at the test server, over sample.ldif."""
    shipped = plistlib.loads((REPO / "conf" / "caldavd-cluster.plist").read_bytes())
    service = shipped["DirectoryService"]
    assert service["type"] == "ldap"
    service["params"]["uri"] = [slapd.uri]
    service["params"]["useTLS"] = False  # the test server has no certificate
    config = build_config({"ServerRoot": str(tmp_path), "DirectoryService": service,
                           "DirectoryCaching": shipped["DirectoryCaching"]}, base_dir=tmp_path)
    directory = open_directory(config)
    try:
        user = await directory.authenticate("user01", "user01")
        assert user is not None and user.full_name == "User 01"
        groups = await directory.groups_of(user.uid)
        records = [await directory.record_by_uid(g) for g in groups]
        assert {r.short_name for r in records if r is not None} == {"group01", "group02"}
        assert None not in records
        assert await directory.record_by_short_name("user", "svc-backup") is None, \
            "the example's extraFilters keep non-people out"
        assert await directory.record_by_short_name("resource", "resource01") is not None
    finally:
        await directory.close()
