"""``-o Key=Value`` items: typed by the schema, merged last, checked like the plist."""

from __future__ import annotations

from pathlib import Path

import pytest

from caldavd.config import ConfigInvalid, load_config, parse_overrides
from tests.unit.config.conftest import WritePlist


def _problems(*items: str) -> list[str]:
    with pytest.raises(ConfigInvalid) as info:
        parse_overrides(items)
    return info.value.problems


def test_values_take_their_keys_types() -> None:
    assert parse_overrides([
        "HTTPPort=8010", "BindAddresses=127.0.0.2, 127.0.0.3", "LogRoot=/tmp/h2/logs",
        "Memcached.Pools.Default.ServerEnabled=no", "Memcached.MaxClients=3",
        "DSN=db:caldav:u:p=w::", "ServerHostName=",
    ]) == {
        "HTTPPort": 8010, "BindAddresses": ["127.0.0.2", "127.0.0.3"],
        "LogRoot": "/tmp/h2/logs",
        "Memcached": {"Pools": {"Default": {"ServerEnabled": False}}, "MaxClients": 3},
        "DSN": "db:caldav:u:p=w::", "ServerHostName": "",
    }
    assert parse_overrides(["BindAddresses="]) == {"BindAddresses": []}
    assert parse_overrides(["HTTPPort=1", "HTTPPort=2"]) == {"HTTPPort": 2}, "last one wins"


def test_bad_items_are_all_named() -> None:
    problems = _problems("HTTPPort=eighty", "Nonsense=1", "Memcached.Nope=2",
                         "UseDatabase=perhaps", "novalue", "Memcached=3",
                         "Includes=/etc/x.plist", "DSN.host=x", "Postgres..Options=a")
    assert [p.split(":")[0] for p in problems] == [
        "HTTPPort", "Nonsense", "Memcached.Nope", "UseDatabase", "-o 'novalue'",
        "Memcached", "Includes", "DSN.host", "Postgres..Options"]
    assert "expected integer, got 'eighty'" in problems[0]
    assert "unknown key" in problems[1] and "unknown key" in problems[2]


def test_service_params_are_left_to_the_plist() -> None:
    [problem] = _problems("DirectoryService.params.credentials.password=secret")
    assert problem == ("DirectoryService.params.credentials.password: cannot be given "
                       "with -o; set it in the plist")


def test_overrides_win_over_files_and_are_checked(write_plist: WritePlist,
                                                  tmp_path: Path) -> None:
    path = write_plist("caldavd.plist", {"HTTPPort": 8080, "MultiProcessCount": 4,
                                         "ServerRoot": str(tmp_path)})
    cfg = load_config(path, overrides=parse_overrides(
        ["HTTPPort=8010", "LogRoot=logs2", "Memcached.Pools.Default.Port=11311"])).config
    assert (cfg.HTTPPort, cfg.MultiProcessCount) == (8010, 4)
    assert cfg.LogRoot == tmp_path / "logs2"
    assert cfg.Memcached.Pools["Default"].Port == 11311
    with pytest.raises(ConfigInvalid) as info:
        load_config(path, overrides=parse_overrides(["HTTPPort=70000"]))
    assert info.value.problems == ["HTTPPort: port 70000 is out of range (0-65535) (in -o)"]
