"""litmus, the WebDAV conformance suite (Debian), against a real caldavd process.

Groups basic, copymove, props and http must pass with zero failures; litmus
works in its own litmus/ folder inside user01's calendar home.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PgDatabase, free_port
from tests.logscan import client_dir
from tests.tools.helpers import external_db_plist, run_tool, start_tool
from tests.tools.test_serve import _terminate, _wait_for_health

GROUPS = ("basic", "copymove", "props", "http")


@pytest.mark.skipif(shutil.which("litmus") is None, reason="litmus is not installed")
def test_litmus_groups_pass(pg_database: PgDatabase, tmp_path: Path) -> None:
    port = free_port()
    plist = external_db_plist(tmp_path, pg_database.url, HTTPPort=port,
                              BindAddresses=["127.0.0.1"])
    assert run_tool("caldavd-bootstrap-db", "-f", str(plist)).returncode == 0
    log = tmp_path / "caldavd.out"
    workdir = client_dir(tmp_path / "litmus")
    proc = start_tool("caldavd", ["-f", str(plist)], log)
    try:
        base = f"http://127.0.0.1:{port}/"
        _wait_for_health(proc, base, log)
        result = subprocess.run(
            ["litmus", f"{base}calendars/users/user01/", "user01", "user01"],
            capture_output=True, text=True, timeout=300, cwd=workdir, check=False,
            env={"TESTS": " ".join(GROUPS), "PATH": "/usr/bin:/bin"})
    finally:
        assert _terminate(proc, log) == 0
    output = result.stdout + result.stderr
    summaries = re.findall(r"summary for `(\w+)': of (\d+) tests run: (\d+) passed, "
                           r"(\d+) failed", output)
    assert {s[0] for s in summaries} == set(GROUPS), output
    for group, run, passed, failed in summaries:
        assert int(failed) == 0 and run == passed, f"{group}:\n{output}"
