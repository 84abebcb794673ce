"""The caldavd server process: embedded default, external schema checks, signals.

Each test runs the real program, talks to it over loopback HTTP, and stops it
with SIGTERM as an init system would (issue #2, items 4-6).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import PgDatabase, free_port
from tests.tools.helpers import (
    external_db_plist,
    reachable_tempdir,
    remove_tree,
    run_tool,
    start_tool,
    write_plist,
)

USER01 = "Basic " + base64.b64encode(b"user01:user01").decode()


def _request(url: str, method: str = "GET", auth: str | None = None,
             ) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, method=method)
    if auth:
        req.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _wait_for_health(proc: subprocess.Popen[bytes], url: str, log: Path) -> dict[str, str]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"caldavd exited {proc.returncode}:\n{log.read_text()}")
        try:
            status, _, body = _request(url + "health")
            if status == 200:
                result: dict[str, str] = json.loads(body)
                return result
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"caldavd did not become healthy:\n{log.read_text()}")


def _terminate(proc: subprocess.Popen[bytes], log: Path) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"caldavd ignored SIGTERM:\n{log.read_text()}") from None


def test_embedded_default_serves_and_stops_its_cluster(server_root: Path) -> None:
    port = free_port()
    plist = write_plist(server_root, {"DBType": "", "HTTPPort": port,
                                      "BindAddresses": ["127.0.0.1"]})
    log = server_root / "caldavd.out"
    url = f"http://127.0.0.1:{port}/"

    for start in ("first", "second"):  # the second start reuses the cluster made by the first
        proc = start_tool("caldavd", ["-f", str(plist)], log)
        try:
            health = _wait_for_health(proc, url, log)
            assert health["database"] == "ok", start
            assert health["schema"] == health["head"], start
            status, headers, _ = _request(url, "OPTIONS", USER01)
            assert status == 200, start
            assert "1" in [t.strip() for t in headers["DAV"].split(",")], start
            assert _request(url, "OPTIONS")[0] == 401, start
        finally:
            assert _terminate(proc, log) == 0, log.read_text()
        cluster = next(server_root.glob("Data/*"))
        assert (cluster / "PG_VERSION").is_file()
        assert not (cluster / "postmaster.pid").exists(), "cluster left running after SIGTERM"


def test_embedded_cluster_unreachable_by_postgres_user_is_explained() -> None:
    if os.geteuid() != 0:
        pytest.skip("only root hands the cluster to another OS user")
    outer = reachable_tempdir()
    try:
        private = outer / "private"
        private.mkdir(mode=0o700)
        private.chmod(0o700)
        plist = write_plist(private, {"DBType": "", "HTTPPort": free_port()})
        result = run_tool("caldavd", "-f", str(plist), timeout=60)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert "cannot reach" in result.stderr and str(private) in result.stderr
    finally:
        remove_tree(outer)


def test_refuses_schema_behind_naming_bootstrap(pg_database: PgDatabase, tmp_path: Path) -> None:
    plist = external_db_plist(tmp_path, pg_database.url, HTTPPort=free_port())
    result = run_tool("caldavd", "-f", str(plist), timeout=60)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "caldavd-bootstrap-db" in lines[0] and str(plist) in lines[0]


def test_refuses_an_unreachable_delegation_database(pg_database: PgDatabase,
                                                    tmp_path: Path) -> None:
    """Checked once by the master before any worker: one line naming it, not the password."""
    plist = external_db_plist(tmp_path, pg_database.url, HTTPPort=free_port(),
                              ProxyDBService={"type": "ProxyPostgreSQLDB", "params": {
                                  "host": "127.0.0.1", "port": free_port(),
                                  "database": "proxies", "user": "caldav",
                                  "password": "s3cret-pw"}})
    assert run_tool("caldavd-bootstrap-db", "-f", str(plist)).returncode == 0
    result = run_tool("caldavd", "-f", str(plist), timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "s3cret-pw" not in result.stderr
    assert ("caldavd: error: ProxyDBService (host 127.0.0.1, database proxies, user caldav): "
            "cannot connect") in result.stderr


def test_external_database_after_bootstrap(pg_database: PgDatabase, tmp_path: Path) -> None:
    port = free_port()
    plist = external_db_plist(tmp_path, pg_database.url, HTTPPort=port,
                              BindAddresses=["127.0.0.1"])
    assert run_tool("caldavd-bootstrap-db", "-f", str(plist)).returncode == 0
    log = tmp_path / "caldavd.out"
    proc = start_tool("caldavd", ["-f", str(plist)], log)
    try:
        health = _wait_for_health(proc, f"http://127.0.0.1:{port}/", log)
        assert health["schema"] == health["head"]
    finally:
        assert _terminate(proc, log) == 0
    assert "user01:user01" not in log.read_text()


def test_check_config_masks_passwords(tmp_path: Path) -> None:
    plist = write_plist(tmp_path, {"DBType": "postgres",
                                   "DSN": "db.example.com:caldav:caldav:TopSecret1::"})
    result = run_tool("caldavd", "--check-config", "-f", str(plist))
    assert result.returncode == 0, result.stderr
    effective = json.loads(result.stdout)
    assert effective["DBType"] == "postgres"
    assert "TopSecret1" not in result.stdout + result.stderr


def test_check_config_names_every_bad_key(tmp_path: Path) -> None:
    plist = write_plist(tmp_path, {"DBType": "mysql", "HTTPPort": "eighty",
                                   "MaxDBConnectionsPerPool": 0, "Unheard": 1})
    result = run_tool("caldavd", "--check-config", "-f", str(plist))
    assert result.returncode == 2
    for key in ("DBType", "HTTPPort", "MaxDBConnectionsPerPool"):
        assert key in result.stderr, key
    assert "Unheard" in result.stderr and "warning" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_malformed_dsn(tmp_path: Path) -> None:
    plist = write_plist(tmp_path, {"DBType": "postgres", "DSN": "a:b:c:d:e:f:g:h"})
    result = run_tool("caldavd", "--check-config", "-f", str(plist))
    assert result.returncode == 2
    assert "DSN" in result.stderr


def _wait_for(condition: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def test_access_log_lines_and_reopen_on_sighup(pg_database: PgDatabase, tmp_path: Path) -> None:
    """One combined-format line per request (principal, status, size, time); SIGHUP reopens.

    One worker: with several, each buffers its own lines, so "the OPTIONS line is there"
    would not mean the other worker's GET line is (the order of lines is not the subject).
    """
    port = free_port()
    plist = external_db_plist(tmp_path, pg_database.url, HTTPPort=port, MultiProcessCount=1,
                              BindAddresses=["127.0.0.1"], LogRoot=str(tmp_path / "logs"))
    assert run_tool("caldavd-bootstrap-db", "-f", str(plist)).returncode == 0
    log = tmp_path / "caldavd.out"
    access = tmp_path / "logs" / "access.log"
    proc = start_tool("caldavd", ["-f", str(plist)], log)
    try:
        base = f"http://127.0.0.1:{port}/"
        _wait_for_health(proc, base, log)
        status, _, body = _request(base + "calendars/users/user01/calendar/none.ics",
                                   auth=USER01)
        assert status == 404
        assert _request(base + "principals/", "OPTIONS")[0] == 401
        _wait_for(lambda: access.exists() and "OPTIONS" in access.read_text())
        lines = access.read_text().splitlines()
        get = next(line for line in lines if '"GET /calendars/' in line)
        fields = get.split('"')
        assert fields[0].startswith("127.0.0.1 - user01 [")
        assert fields[1] == "GET /calendars/users/user01/calendar/none.ics HTTP/1.1"
        assert fields[2].split() == ["404", str(len(body))]
        assert float(fields[-1].split()[0]) >= 0.0  # ms; then key=value fields
        anonymous = next(line for line in lines if '"OPTIONS /principals/' in line)
        assert anonymous.startswith("127.0.0.1 - - [") and '" 401 ' in anonymous
        rotated = access.rename(tmp_path / "logs" / "access.log.1")
        proc.send_signal(signal.SIGHUP)
        _wait_for(lambda: access.exists())
        _request(base + "principals/", "OPTIONS", auth=USER01)
        _wait_for(lambda: "OPTIONS /principals/" in access.read_text())
        assert "user01" in access.read_text()
        assert '"OPTIONS /principals/ HTTP/1.1" 401' in Path(rotated).read_text()
    finally:
        assert _terminate(proc, log) == 0
    assert "user01:user01" not in access.read_text() + log.read_text()
