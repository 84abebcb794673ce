"""effective_config: the merged tree for --check-config, passwords masked."""

from __future__ import annotations

import json
import plistlib
from pathlib import Path

import pytest

from caldavd.config import effective_config, load_config
from tests.unit.config.conftest import WritePlist

SECRETS = ("dsn-secret", "proxy-secret", "ldap-secret")


@pytest.fixture
def secret_config(write_plist: WritePlist) -> Path:
    return write_plist("caldavd.plist", {
        "DBType": "postgres",
        "DSN": "db.example.com:caldav:caldav:dsn-secret::",
        "ServerRoot": "srv",
        "ProxyDBService": {"type": "ProxyPostgreSQLDB", "params": {
            "host": "db.example.com", "database": "proxies", "user": "caldav",
            "password": "proxy-secret"}},
        "DirectoryService": {"type": "ldap", "params": {
            "uri": ["ldaps://ldap.example.com"],
            "credentials": {"dn": "cn=caldavd,dc=example,dc=com", "password": "ldap-secret"},
            "rdnSchema": {"base": "dc=example,dc=com"}}},
    })


def test_no_password_appears_anywhere(secret_config: Path) -> None:
    tree = effective_config(load_config(secret_config).config)
    text = json.dumps(tree)
    for secret in SECRETS:
        assert secret not in text
    assert tree["DSN"] == "db.example.com:caldav:caldav:********::"
    assert tree["ProxyDBService"]["params"]["password"] == "********"
    assert tree["DirectoryService"]["params"]["credentials"]["password"] == "********"
    assert tree["DirectoryService"]["params"]["credentials"]["dn"] == (
        "cn=caldavd,dc=example,dc=com")


def test_url_dsn_is_masked(write_plist: WritePlist) -> None:
    path = write_plist("caldavd.plist", {
        "DBType": "postgres", "DSN": "postgresql://caldav:dsn-secret@db:5433/caldav"})
    tree = effective_config(load_config(path).config)
    assert tree["DSN"] == "postgresql://caldav:********@db:5433/caldav"


def test_unmasked_on_request(secret_config: Path) -> None:
    text = json.dumps(effective_config(load_config(secret_config).config,
                                       mask_passwords=False))
    for secret in SECRETS:
        assert secret in text


def test_paths_are_resolved(secret_config: Path) -> None:
    tree = effective_config(load_config(secret_config).config)
    root = secret_config.parent / "srv"
    assert tree["ServerRoot"] == str(root)
    assert tree["DataRoot"] == str(root / "Data")
    assert tree["AttachmentsRoot"] == str(root / "Data" / "Attachments")
    assert tree["Postgres"]["LogFile"] == str(root / "Logs" / "postgres.log")


def test_tree_has_every_key_and_is_plist_writable(write_plist: WritePlist) -> None:
    loaded = load_config(write_plist("caldavd.plist", {}))
    tree = effective_config(loaded.config)
    assert "ProxyDBService" not in tree  # unset keys are left out
    assert tree["DirectoryService"]["params"]["xmlFile"].endswith("/auth/accounts.xml")
    assert tree["Memcached"]["Pools"]["Default"]["HandleCacheTypes"] == ["Default"]
    for derived in ("dsn", "config_file", "sources"):
        assert derived not in tree
    again = plistlib.loads(plistlib.dumps(tree))
    assert again == tree


def test_empty_passwords_stay_visibly_empty(write_plist: WritePlist) -> None:
    tree = effective_config(load_config(write_plist("caldavd.plist", {
        "DirectoryService": {"type": "ldap", "params": {
            "uri": ["ldap://h"], "rdnSchema": {"base": "dc=x"}}}})).config)
    assert tree["DirectoryService"]["params"]["credentials"]["password"] == ""
