"""``-o Key=Value`` on the real command line: applied over the plist, or exit 2 naming the key."""

from __future__ import annotations

import json
from pathlib import Path

from tests.tools.helpers import run_tool, write_plist


def test_good_values_are_applied(tmp_path: Path) -> None:
    plist = write_plist(tmp_path, {"HTTPPort": 8008, "BindAddresses": ["127.0.0.1"]})
    result = run_tool("caldavd", "--check-config", "-f", str(plist),
                      "-o", "BindAddresses=127.0.0.2", "-o", f"LogRoot={tmp_path}/h2/logs",
                      "-o", "HTTPPort=8010", "-o", "Memcached.MaxClients=3",
                      "-o", "Memcached.Pools.Default.Port=11400")
    assert result.returncode == 0, result.stderr
    effective = json.loads(result.stdout)
    assert effective["BindAddresses"] == ["127.0.0.2"]
    assert effective["LogRoot"] == f"{tmp_path}/h2/logs"
    assert effective["HTTPPort"] == 8010
    assert effective["Memcached"]["MaxClients"] == 3
    assert effective["Memcached"]["Pools"]["Default"]["Port"] == 11400


def test_bad_type_and_unknown_key_exit_2_naming_the_key(tmp_path: Path) -> None:
    plist = write_plist(tmp_path, {})
    for item, key in (("HTTPPort=eighty", "HTTPPort"), ("NoSuchKey=1", "NoSuchKey"),
                      ("Memcached.MaxClient=3", "Memcached.MaxClient"),
                      ("MultiProcessCount=-1", "MultiProcessCount")):
        for tool in ("caldavd", "caldavd-bootstrap-db"):
            result = run_tool(tool, "-f", str(plist), "-o", item)
            assert result.returncode == 2, (tool, item, result.stderr)
            assert f"error: {key}:" in result.stderr, (tool, item, result.stderr)
            assert "Traceback" not in result.stderr
