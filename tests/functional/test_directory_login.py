"""Logging in over HTTP against each directory backend, and reading the principal.

The LDAP backend runs against a real slapd of its own (this module stops and
starts it): 503 with Retry-After while it is down, back to normal after.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from caldavd.dav import names
from caldavd.directory.ldap import LdapDirectory, LdapSettings
from caldavd.server.app import create_app
from caldavd.store.postgres.migrate import upgrade_to_head
from tests.conftest import PgDatabase
from tests.directory.slapd import Slapd, ldap_params, running_slapd
from tests.functional.conftest import USER01_UID, Dav, config_for


@pytest.fixture(scope="module")
def slapd_server() -> Iterator[Slapd]:
    with running_slapd() as server:
        yield server


@pytest.fixture
def slapd(slapd_server: Slapd) -> Iterator[Slapd]:
    if not slapd_server.running:
        slapd_server.start()
    yield slapd_server
    if not slapd_server.running:
        slapd_server.start()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def directory_settings(backend: str, slapd: Slapd) -> dict[str, Any]:
    if backend == "xml":
        return {}  # config_for's default: conf/auth/accounts.xml
    return {"DirectoryService": {"type": "ldap", "params": ldap_params(slapd.uri)}}


class BackendDav(Dav):
    def __init__(self, session: aiohttp.ClientSession, base: str, backend: str) -> None:
        super().__init__(session, base)
        self.backend = backend


@pytest.fixture(params=["xml", "ldap"])
async def server(request: pytest.FixtureRequest, pg_database: PgDatabase, tmp_path: Path,
                 slapd: Slapd) -> AsyncIterator[BackendDav]:
    await upgrade_to_head(pg_database.connect_kwargs)
    config = config_for(pg_database, tmp_path, **directory_settings(request.param, slapd))
    assert config.DirectoryService.type == request.param
    app = create_app(config)
    async with TestServer(app, host="127.0.0.1") as test_server, \
            aiohttp.ClientSession() as session:
        yield BackendDav(session, str(test_server.make_url("")).rstrip("/"), request.param)


async def expected_uid(server: BackendDav, slapd: Slapd) -> str:
    if server.backend == "xml":
        return USER01_UID
    directory = LdapDirectory(LdapSettings.from_params(ldap_params(slapd.uri)))
    try:
        record = await directory.record_by_short_name("user", "user01")
    finally:
        await directory.close()
    assert record is not None
    return record.uid


async def test_login_and_read_the_principal(server: BackendDav, slapd: Slapd) -> None:
    uid = await expected_uid(server, slapd)
    principal = f"/principals/__uids__/{uid}/"
    root = await server.propfind("/", names.CURRENT_USER_PRINCIPAL)
    assert root.status == 207
    assert root.texts(".//D:current-user-principal/D:href") == [principal]

    props = await server.propfind(principal, names.DISPLAYNAME, names.CALENDAR_USER_ADDRESS_SET,
                                  names.CALENDAR_USER_TYPE, names.CALENDAR_HOME_SET,
                                  names.GROUP_MEMBERSHIP)
    assert props.status == 207
    assert props.texts(".//D:displayname") == ["User 01"]
    addresses = props.texts(".//C:calendar-user-address-set/D:href")
    assert "mailto:user01@example.com" in addresses and f"urn:uuid:{uid}" in addresses
    assert props.texts(".//C:calendar-user-type") == ["INDIVIDUAL"]
    assert props.texts(".//C:calendar-home-set/D:href") == [f"/calendars/__uids__/{uid}/"]
    assert len(props.texts(".//D:group-membership/D:href")) == 1, "group01, directly"

    by_name = await server.propfind("/principals/users/user01/", names.PRINCIPAL_URL,
                                    user="user02")
    assert by_name.texts(".//D:principal-URL/D:href") == [principal]
    home = await server.propfind(f"/calendars/__uids__/{uid}/", names.RESOURCETYPE)
    assert home.status == 207
    room = await server.propfind("/principals/locations/location01/", names.DISPLAYNAME,
                                 names.CALENDAR_USER_TYPE)
    assert room.texts(".//D:displayname") == ["Conference Room 1"]
    assert room.texts(".//C:calendar-user-type") == ["ROOM"]


async def test_wrong_or_unknown_credentials_are_401(server: BackendDav) -> None:
    wrong = await server.request("PROPFIND", "/", user=None, headers={
        "Authorization": basic("user01", "user02")})
    assert wrong.status == 401 and wrong.headers["WWW-Authenticate"].startswith("Basic")
    unknown = await server.request("PROPFIND", "/", user=None, headers={
        "Authorization": basic("*)(uid=*", "x")})
    assert unknown.status == 401
    room = await server.request("PROPFIND", "/", user=None, headers={
        "Authorization": basic("location01", "location01")})
    assert room.status == 401


@pytest.fixture
async def ldap_server(pg_database: PgDatabase, tmp_path: Path,
                      slapd: Slapd) -> AsyncIterator[Dav]:
    await upgrade_to_head(pg_database.connect_kwargs)
    app = create_app(config_for(pg_database, tmp_path, **directory_settings("ldap", slapd)))
    async with TestServer(app, host="127.0.0.1") as test_server, \
            aiohttp.ClientSession() as session:
        yield Dav(session, str(test_server.make_url("")).rstrip("/"))


async def test_ldap_down_is_503_with_retry_after_then_recovers(ldap_server: Dav,
                                                                slapd: Slapd) -> None:
    assert (await ldap_server.propfind("/", names.CURRENT_USER_PRINCIPAL)).status == 207
    slapd.stop()
    # user02 has not logged in yet, so nothing about them is cached.
    down = await ldap_server.propfind("/", names.CURRENT_USER_PRINCIPAL, user="user02")
    assert down.status == 503
    assert int(down.headers["Retry-After"]) > 0
    assert "WWW-Authenticate" not in down.headers, "an outage is not a wrong password"

    slapd.start()
    deadline = time.monotonic() + 15
    status = down.status
    while time.monotonic() < deadline:
        status = (await ldap_server.propfind("/", names.CURRENT_USER_PRINCIPAL,
                                             user="user02")).status
        if status == 207:
            break
        assert status == 503
        await asyncio.sleep(0.25)
    assert status == 207, "caldavd recovers without a restart"
