"""Directory fixtures: one real slapd per session, and an LDAP directory over it.

Tests that stop the server start it again before they finish; ``slapd`` also
restarts it should an earlier test have left it down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from caldavd.directory.ldap import LdapDirectory, LdapSettings
from tests.directory.slapd import Slapd, ldap_params, running_slapd


@pytest.fixture(scope="session")
def slapd_server() -> Iterator[Slapd]:
    with running_slapd() as server:
        yield server


@pytest.fixture
def slapd(slapd_server: Slapd) -> Slapd:
    if not slapd_server.running:
        slapd_server.proc = None
        slapd_server.start()
    return slapd_server


@pytest.fixture
async def directory(slapd: Slapd) -> AsyncIterator[LdapDirectory]:
    ldap = LdapDirectory(LdapSettings.from_params(ldap_params(slapd.uri)))
    try:
        yield ldap
    finally:
        await ldap.close()
