"""The configuration files shipped in conf/ load cleanly."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from caldavd.config import load_config

CONF = Path(__file__).resolve().parents[3] / "conf"


@pytest.mark.parametrize("name", ["caldavd.plist", "caldavd-cluster.plist"])
def test_shipped_plists_load_without_problems_or_warnings(name: str) -> None:
    loaded = load_config(CONF / name, hostname="cal1.example.com")
    assert loaded.warnings == []


def test_single_host_plist() -> None:
    cfg = load_config(CONF / "caldavd.plist").config
    assert (cfg.DBType, cfg.dsn, cfg.HTTPPort, cfg.BindAddresses) == ("", None, 8008, ())
    assert cfg.ServerHostName == "localhost"
    assert cfg.ServerRoot == CONF.parent / "data"
    # caldavd runs its own memcached, on loopback only (bin/run installs it).
    pool = cfg.Memcached.Pools["Default"]
    assert (pool.ClientEnabled, pool.ServerEnabled, pool.BindAddress) == (True, True,
                                                                          "127.0.0.1")
    assert cfg.DirectoryService.type == "xml"
    assert cfg.DirectoryService.params["xmlFile"] == CONF / "auth" / "accounts.xml"
    assert cfg.DirectoryService.params["xmlFile"].is_file()


def test_cluster_plist() -> None:
    cfg = load_config(CONF / "caldavd-cluster.plist").config
    assert cfg.DBType == "postgres"
    assert cfg.dsn is not None
    assert cfg.dsn.describe() == "host db.example.com, database caldav, user caldav"
    assert cfg.ServerHostName == "calendar.example.com"
    pool = cfg.Memcached.Pools["Default"]
    assert (pool.ClientEnabled, pool.ServerEnabled, pool.BindAddress, pool.Port) == (
        True, False, "memcache.example.com", 11211)
    assert cfg.ProxyDBService is not None
    assert cfg.ProxyDBService.type == "ProxyPostgreSQLDB"
    assert cfg.DirectoryService.type == "ldap"
    assert len(cfg.DirectoryService.params["uri"]) == 2
    assert cfg.MultiProcessCount > 0 and cfg.MaxDBConnectionsPerPool > 0


def _records(kind: str) -> list[ET.Element]:
    root = ET.parse(CONF / "auth" / "accounts.xml").getroot()
    return [r for r in root.findall("record") if r.get("type") == kind]


def test_accounts_users() -> None:
    users = _records("user")
    names = [u.findtext("short-name") for u in users]
    assert names == [f"user{n:02d}" for n in range(1, 11)]
    for user in users:
        assert user.findtext("password") == user.findtext("short-name")
        assert user.findtext("full-name") and user.findtext("email")
    uids = [u.findtext("uid") for u in users]
    assert len(set(uids)) == 10


def test_accounts_groups_locations_resources() -> None:
    root = ET.parse(CONF / "auth" / "accounts.xml").getroot()
    assert root.tag == "directory" and root.get("realm")
    all_uids = [r.findtext("uid") for r in root.findall("record")]
    assert len(all_uids) == len(set(all_uids)) == 16
    groups = _records("group")
    assert len(groups) == 2
    group_uids = {g.findtext("uid") for g in groups}
    members = [m.text for g in groups for m in g.findall("member-uid")]
    assert set(members) <= set(all_uids)
    assert any(m in group_uids for m in members)  # one group nests the other
    assert len(_records("location")) == 2
    assert len(_records("resource")) == 2
