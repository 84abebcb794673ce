"""Built-in defaults, path resolution and the configuration reference."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from caldavd.config import (
    Config,
    ConfigInvalid,
    MemcachedPool,
    build_config,
    reference_rows,
)
from caldavd.config.schema import CONFIG, Scalar, Section

BASE = Path("/etc/caldavd")


def test_defaults() -> None:
    cfg = build_config({}, base_dir=BASE)
    assert cfg.UseDatabase is True
    assert (cfg.DBType, cfg.DSN, cfg.dsn) == ("", "", None)
    assert (cfg.MaxDBConnectionsPerPool, cfg.MultiProcessCount, cfg.MaxRequests) == (10, 0, 80)
    assert (cfg.ServerHostName, cfg.HTTPPort, cfg.SSLPort, cfg.BindAddresses) == ("", 8008, 0, ())
    assert cfg.ServerRoot == Path("/var/db/caldavd")
    assert cfg.DataRoot == Path("/var/db/caldavd/Data")
    assert cfg.ConfigRoot == BASE  # default: the main plist's directory
    assert cfg.RunRoot == Path("/var/db/caldavd/Run")
    assert cfg.LogRoot == Path("/var/db/caldavd/Logs")
    assert cfg.AttachmentsRoot == Path("/var/db/caldavd/Data/Attachments")
    assert cfg.ProxyDBService is None
    assert cfg.ImportConfig == "" and cfg.Includes == ()
    assert cfg.config_file is None


def test_memcached_defaults() -> None:
    memcached = build_config({}, base_dir=BASE).Memcached
    assert (memcached.MaxClients, memcached.Options, memcached.memcached) == (5, (), "memcached")
    assert dict(memcached.Pools) == {"Default": MemcachedPool(
        ClientEnabled=True, ServerEnabled=True, BindAddress="127.0.0.1", Port=11211,
        HandleCacheTypes=("Default",))}


def test_directory_defaults_resolve_against_config_root() -> None:
    directory = build_config({}, base_dir=BASE).DirectoryService
    assert directory.type == "xml"
    assert directory.params == {
        "xmlFile": BASE / "auth/accounts.xml",
        "resourcesFile": BASE / "auth/resources.xml",
        "augmentsFile": BASE / "auth/augments.xml",
        "statSeconds": 15,
    }


def test_postgres_defaults() -> None:
    postgres = build_config({}, base_dir=BASE).Postgres
    assert (postgres.DatabaseName, postgres.ClusterName, postgres.UserName,
            postgres.BinaryDirectory, postgres.MaxConnections, postgres.SharedBuffers,
            postgres.Options) == ("caldav", "cluster", "", "", 0, "", ())
    assert postgres.LogFile == Path("/var/db/caldavd/Logs/postgres.log")


def test_other_defaults() -> None:
    cfg = build_config({}, base_dir=BASE)
    assert (cfg.DirectoryCaching.CachingSeconds, cfg.DirectoryCaching.NegativeCaching) == (
        60, False)
    assert cfg.Authentication.Basic.Enabled is True


def test_relative_paths_resolve_in_layers(tmp_path: Path) -> None:
    cfg = build_config({
        "ServerRoot": "../srv", "DataRoot": "d", "ConfigRoot": "c", "RunRoot": "r",
        "LogRoot": "/var/log/caldavd", "AttachmentsRoot": "att",
        "Postgres": {"LogFile": "pg/pg.log"},
        "DirectoryService": {"params": {"xmlFile": "/etc/accounts.xml",
                                        "resourcesFile": "res.xml"}},
        "ProxyDBService": {"type": "ProxySqliteDB", "params": {"dbpath": "proxies.sqlite"}},
    }, base_dir=tmp_path / "conf")
    root = tmp_path / "srv"
    assert cfg.ServerRoot == root
    assert (cfg.DataRoot, cfg.ConfigRoot, cfg.RunRoot) == (root / "d", root / "c", root / "r")
    assert cfg.LogRoot == Path("/var/log/caldavd")
    assert cfg.AttachmentsRoot == root / "d" / "att"
    assert cfg.Postgres.LogFile == Path("/var/log/caldavd/pg/pg.log")
    assert cfg.DirectoryService.params["xmlFile"] == Path("/etc/accounts.xml")
    assert cfg.DirectoryService.params["resourcesFile"] == root / "c" / "res.xml"
    assert cfg.ProxyDBService is not None
    assert cfg.ProxyDBService.params["dbpath"] == root / "d" / "proxies.sqlite"


def test_config_is_frozen_all_the_way_down() -> None:
    cfg = build_config({"BindAddresses": ["127.0.0.2"]}, base_dir=BASE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.HTTPPort = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.Memcached.Pools["Other"] = cfg.Memcached.Pools["Default"]  # type: ignore[index]
    with pytest.raises(TypeError):
        cfg.DirectoryService.params["xmlFile"] = "/tmp/x"  # type: ignore[index]
    assert cfg.BindAddresses == ("127.0.0.2",)


def test_build_config_accepts_paths_and_tuples(tmp_path: Path) -> None:
    cfg = build_config({"ServerRoot": tmp_path, "BindAddresses": ("127.0.0.2", "::1")},
                       base_dir=BASE)
    assert cfg.ServerRoot == tmp_path
    assert cfg.BindAddresses == ("127.0.0.2", "::1")


def test_build_config_validates_like_a_file() -> None:
    with pytest.raises(ConfigInvalid) as info:
        build_config({"HTTPPort": "8008"}, base_dir=BASE)
    assert info.value.problems == ["HTTPPort: expected integer, got string '8008'"]


def _leaf_paths(spec: Section, prefix: str = "") -> set[str]:
    paths = set()
    for name, sub in spec.keys.items():
        if isinstance(sub, Scalar):
            paths.add(prefix + name)
        elif isinstance(sub, Section):
            paths |= _leaf_paths(sub, f"{prefix}{name}.")
    return paths


def test_reference_rows_cover_every_key_with_help() -> None:
    rows = reference_rows()
    paths = [row.path for row in rows]
    assert len(paths) == len(set(paths))
    assert _leaf_paths(CONFIG) <= set(paths)
    for expected in ("Memcached.Pools.<pool>.HandleCacheTypes", "ProxyDBService.params.host",
                     "DirectoryService.params.uri", "DirectoryService.params.xmlFile",
                     "DirectoryService.params.credentials.password", "Postgres.LogFile"):
        assert expected in paths
    assert all(row.help and row.type for row in rows)


def test_reference_row_defaults_render() -> None:
    rows = {row.path: row for row in reference_rows()}
    assert rows["HTTPPort"].default_text == "8008"
    assert rows["UseDatabase"].default_text == "true"
    assert rows["DBType"].default_text == '""'
    assert rows["BindAddresses"].default_text == "[]"
    assert rows["ProxyDBService"].default_text == "(unset)"
    assert rows["ProxyDBService.params.dbpath"].default_text == "(required)"
    assert rows["HTTPPort"].type == "integer"


def test_every_config_field_is_a_schema_key_or_derived() -> None:
    keys = set(CONFIG.keys)
    for f in dataclasses.fields(Config):
        assert f.name in keys or f.metadata.get("derived"), f.name
    assert keys == {f.name for f in dataclasses.fields(Config) if not f.metadata.get("derived")}
