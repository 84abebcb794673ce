"""Running caldavd's programs as an operator would: real processes, real plists."""

from __future__ import annotations

import asyncio
import contextlib
import os
import plistlib
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.logscan import scan

REPO = Path(__file__).resolve().parents[2]
ACCOUNTS = REPO / "conf" / "auth" / "accounts.xml"

TOOLS = {
    "caldavd": "caldavd.server.serve",
    "caldavd-bootstrap-db": "caldavd.tools.bootstrap_db",
    "caldavd-manage-principals": "caldavd.tools.manage_principals",
    "caldavd-migrate-proxies": "caldavd.tools.migrate_proxies",
    "caldavd-stats": "caldavd.tools.stats",
    "caldavd-logstats": "caldavd.tools.logstats",
    "caldavd-db-maintain": "caldavd.tools.db_maintain",
    "caldavd-sim": "caldavd.tools.sim",
}


def write_plist(directory: Path, settings: Mapping[str, Any], name: str = "caldavd.plist") -> Path:
    """A plist with test-friendly defaults (no memcached, sample accounts) under ``settings``."""
    base: dict[str, Any] = {
        "ServerRoot": str(directory),
        "Memcached": {"Pools": {"Default": {"ClientEnabled": False, "ServerEnabled": False}}},
        "DirectoryService": {"type": "xml", "params": {"xmlFile": str(ACCOUNTS)}},
    }
    base.update(settings)
    path = directory / name
    path.write_bytes(plistlib.dumps(base))
    return path


def external_db_plist(directory: Path, dsn: str, **extra: Any) -> Path:
    return write_plist(directory, {"DBType": "postgres", "DSN": dsn, **extra})


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_tool(tool: str, *args: str, timeout: float = 120) -> Result:
    proc = subprocess.run([sys.executable, "-m", TOOLS[tool], *args],
                          capture_output=True, text=True, timeout=timeout, check=False)
    return Result(proc.returncode, proc.stdout, proc.stderr)


async def run_tool_async(tool: str, *args: str, limit: float = 120) -> Result:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", TOOLS[tool], *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), limit)
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


def start_tool(tool: str, args: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen([sys.executable, "-m", TOOLS[tool], *args],
                                stdout=sink, stderr=subprocess.STDOUT)


def reachable_tempdir() -> Path:
    """A short directory that an unprivileged PostgreSQL user can traverse.

    pytest's own tmp_path lives under a 0700 directory, which the embedded
    cluster (run as 'postgres' when tests run as root) could not reach.
    """
    path = Path(tempfile.mkdtemp(prefix="cdt-", dir="/tmp"))
    path.chmod(0o755)
    return path


def remove_tree(path: Path) -> None:
    scan(path)  # its logs go with it: look for passwords first
    shutil.rmtree(path, ignore_errors=True)


def stop_embedded_clusters(root: Path) -> None:
    """A failed test may leave caldavd's embedded cluster under ``root`` running."""
    for pid_file in root.glob("Data/*/postmaster.pid"):
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGQUIT)
