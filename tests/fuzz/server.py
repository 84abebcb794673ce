"""The caldavd process the fuzzer attacks: a real server on a real database.

It runs as an operator runs it (``caldavd -f caldavd.plist``) so that everything it
logs, tracebacks included, lands in files the fuzzer reads: the process's standard
output and error (``caldavd.out``) and ``LogRoot`` (the access log).  Its accounts
have passwords found nowhere else, so a password in a log is a leak, not a user name.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from tests.fuzz.client import Request
from tests.tools.helpers import external_db_plist, run_tool, start_tool

USERS = {
    "fuzz01": ("20000000-0000-0000-0000-000000000001", "Pw-fz1-8c41d2e9b7"),
    "fuzz02": ("20000000-0000-0000-0000-000000000002", "Pw-fz2-5f03a6c1e4"),
}
# Every secret the fuzzer sends: the accounts' passwords and the wrong passwords it tries.
WRONG_PASSWORD = "Wrong-fz-0d9e4b27a3"


def basic(user: str, password: str | None = None) -> bytes:
    secret = USERS[user][1] if password is None else password
    return b"Basic " + base64.b64encode(f"{user}:{secret}".encode())


def secrets() -> list[str]:
    """Strings no log may contain: each password, and a prefix of each Basic token
    long enough to be unambiguous (a log that truncates a header still leaks it)."""
    found = [password for _, password in USERS.values()] + [WRONG_PASSWORD]
    for user in USERS:
        for password in (None, WRONG_PASSWORD):
            token = basic(user, password).split(b" ")[1].decode()
            found += [token, token[:16]]
    return found


def _accounts(path: Path) -> Path:
    records = "".join(
        f"<record type='user'><uid>{uid}</uid><short-name>{name}</short-name>"
        f"<password>{escape(password)}</password><full-name>Fuzz {name}</full-name>"
        f"<email>{name}@example.com</email></record>"
        for name, (uid, password) in USERS.items())
    path.write_text(f"<?xml version='1.0'?><directory realm='fuzz'>{records}</directory>")
    return path


@dataclass
class Server:
    host: str
    port: int
    root: Path
    process: subprocess.Popen[bytes]

    @property
    def out(self) -> Path:
        return self.root / "caldavd.out"

    def logs(self) -> dict[Path, str]:
        """Every log the server has written: its output and everything under LogRoot."""
        paths = [self.out, *sorted(p for p in (self.root / "logs").rglob("*") if p.is_file())]
        return {p: p.read_text(errors="replace") for p in paths if p.exists()}

    def alive(self) -> bool:
        return self.process.poll() is None


def _health(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as resp:
            return bool(resp.status == 200 and json.loads(resp.read()))
    except OSError:
        return False


def start(dsn: str, root: Path, port: int) -> Server:
    plist = external_db_plist(
        root, dsn, HTTPPort=port, BindAddresses=["127.0.0.1"], MultiProcessCount=1,
        LogRoot=str(root / "logs"), ServerHostName="fuzz.example",
        DirectoryService={"type": "xml", "params": {"xmlFile": str(_accounts(root / "a.xml"))}})
    result = run_tool("caldavd-bootstrap-db", "-f", str(plist))
    assert result.returncode == 0, result.stderr
    process = start_tool("caldavd", ["-f", str(plist)], root / "caldavd.out")
    server = Server("127.0.0.1", port, root, process)
    deadline = time.monotonic() + 90
    while not _health(port):
        assert server.alive() and time.monotonic() < deadline, server.out.read_text()
        time.sleep(0.2)
    return server


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def log_problems(server: Server, since: dict[Path, int]) -> Iterator[str]:
    """Tracebacks and secrets in what the logs gained after ``since`` (offsets)."""
    leaks = secrets()
    for path, text in server.logs().items():
        fresh = text[since.get(path, 0):]
        if "Traceback (most recent call last)" in fresh:
            start_at = fresh.index("Traceback (most recent call last)")
            yield f"traceback in {path.name}:\n{fresh[max(0, start_at - 600):start_at + 3000]}"
        for secret in leaks:
            if secret in fresh:
                at = fresh.index(secret)
                yield f"a secret in {path.name}: ...{fresh[max(0, at - 200):at + 50]!r}"


def offsets(server: Server) -> dict[Path, int]:
    return {path: len(text) for path, text in server.logs().items()}


def request(method: str, path: str, body: bytes = b"", user: str = "fuzz01",
            **headers: str) -> Request:
    """A well-formed request as a client would send it (for set-up and checks)."""
    listed = [("Authorization", basic(user))]
    listed += [(name.replace("_", "-"), value.encode()) for name, value in headers.items()]
    return Request(method, path.encode(), listed, body, family="check")
