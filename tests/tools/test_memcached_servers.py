"""ServerEnabled memcached pools: caldavd starts them first, uses them, stops them last."""

from __future__ import annotations

import os
import shutil
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from caldavd.harness.processes import memcached_stats
from tests.conftest import PgDatabase, free_port
from tests.directory.slapd import Slapd, ldap_params, running_slapd
from tests.tools.helpers import external_db_plist, run_tool, start_tool
from tests.tools.processes import (
    answers,
    children,
    command_of,
    kill_leftovers,
    program_of,
    propfind_status,
    running,
    wait_until,
)
from tests.tools.test_serve import USER01, _terminate, _wait_for_health

pytestmark = pytest.mark.skipif(shutil.which("memcached") is None,
                                reason="memcached is not installed")


@pytest.fixture(scope="module")
def slapd() -> Iterator[Slapd]:
    with running_slapd() as server:
        yield server


def _owned_pool(port: int, **extra: object) -> dict[str, object]:
    return {"Pools": {"Default": {"ClientEnabled": True, "ServerEnabled": True,
                                  "BindAddress": "127.0.0.1", "Port": port}}, **extra}


def test_started_used_and_stopped(pg_database: PgDatabase, tmp_path: Path,
                                  slapd: Slapd) -> None:
    """The LDAP directory's cache (the one that uses memcached) fills the memcached."""
    http, cache = free_port(), free_port()
    plist = external_db_plist(
        tmp_path, pg_database.url, HTTPPort=http, BindAddresses=["127.0.0.1"],
        MultiProcessCount=1, Memcached=_owned_pool(cache, Options=["-m", "16"]),
        DirectoryService={"type": "ldap", "params": ldap_params(slapd.uri)})
    assert run_tool("caldavd-bootstrap-db", "-f", str(plist)).returncode == 0
    log = tmp_path / "caldavd.out"
    proc = start_tool("caldavd", ["-f", str(plist)], log)
    mine: list[int] = []
    try:
        url = f"http://127.0.0.1:{http}/"
        _wait_for_health(proc, url, log)
        mine = [pid for pid in children(proc.pid) if "memcached" in " ".join(command_of(pid))]
        assert len(mine) == 1, children(proc.pid)
        assert "-m" in command_of(mine[0]) and str(cache) in command_of(mine[0])
        assert propfind_status("127.0.0.1", http, "/", USER01) == 207
        assert propfind_status("127.0.0.1", http, "/principals/users/user02/", USER01) == 207
        stats = memcached_stats(cache)
        assert int(stats["cmd_set"]) > 0, "the directory cache stored its lookup in memcached"
    finally:
        assert _terminate(proc, log) == 0, log.read_text()
        kill_leftovers(mine)
    assert not running(mine[0]), "memcached left running after caldavd stopped"
    assert not answers("127.0.0.1", cache)
    text = log.read_text()
    assert text.index("memcached Memcached.Pools.Default started") < text.index("listening")
    assert text.rindex("memcached Memcached.Pools.Default stopped") > text.rindex("stopping")


def test_a_memcached_that_dies_is_restarted_and_used_again(pg_database: PgDatabase,
                                                           tmp_path: Path,
                                                           slapd: Slapd) -> None:
    """Killed, the ServerEnabled memcached is started again by the master (a log line
    says so) and the directory cache stores its lookups in the new one."""
    http, cache = free_port(), free_port()
    plist = external_db_plist(
        tmp_path, pg_database.url, HTTPPort=http, BindAddresses=["127.0.0.1"],
        MultiProcessCount=1, Memcached=_owned_pool(cache),
        DirectoryService={"type": "ldap", "params": ldap_params(slapd.uri)})
    assert run_tool("caldavd-bootstrap-db", "-f", str(plist)).returncode == 0
    log = tmp_path / "caldavd.out"
    proc = start_tool("caldavd", ["-f", str(plist)], log)
    seen: list[int] = []

    def memcached() -> list[int]:
        found = [pid for pid in children(proc.pid) if program_of(pid).endswith("memcached")]
        seen.extend(found)
        return found

    try:
        _wait_for_health(proc, f"http://127.0.0.1:{http}/", log)
        [first] = memcached()
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: memcached() and memcached() != [first] and answers("127.0.0.1", cache),
                   what="a new memcached")

        def cache_used() -> bool:
            propfind_status("127.0.0.1", http, "/principals/users/user03/", USER01)
            return int(memcached_stats(cache)["cmd_set"]) > 0

        wait_until(cache_used, what="the directory cache storing in the new memcached")
    finally:
        assert _terminate(proc, log) == 0, log.read_text()
        kill_leftovers(seen)
    assert "memcached Memcached.Pools.Default ended unexpectedly (killed by signal 9); " \
           "restarting in" in log.read_text()


def _refused(tmp_path: Path, memcached: dict[str, object], *args: str) -> str:
    plist = external_db_plist(tmp_path, "postgresql://nobody@/nothing?host=/nonexistent",
                              HTTPPort=free_port(), Memcached=memcached)
    result = run_tool("caldavd", "-f", str(plist), *args, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


def test_missing_binary_names_the_key(tmp_path: Path) -> None:
    stderr = _refused(tmp_path, _owned_pool(free_port()),
                      "-o", "Memcached.memcached=/nonexistent/memcached")
    assert "error: Memcached.memcached: '/nonexistent/memcached'" in stderr
    stderr = _refused(tmp_path, _owned_pool(free_port(), memcached="no-such-memcached"))
    assert "error: Memcached.memcached: 'no-such-memcached': not found on PATH" in stderr


def test_memcached_that_exits_is_explained_with_its_stderr(tmp_path: Path) -> None:
    stderr = _refused(tmp_path, _owned_pool(free_port(), Options=["--no-such-option"]))
    assert "error: Memcached.Pools.Default: memcached exited with status" in stderr
    assert "no-such-option" in stderr


def test_port_already_taken_names_the_pool(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        stderr = _refused(tmp_path, _owned_pool(taken.getsockname()[1]))
    assert "error: Memcached.Pools.Default: something already listens on 127.0.0.1:" in stderr
