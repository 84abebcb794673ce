"""A PostgreSQL cluster that caldavd owns: initdb, start on a unix socket, stop.

Used by the embedded default (``DBType ""``) and by the test fixtures, so the
tests exercise the same code that operators run.

PostgreSQL refuses to run as root.  When we are root, the cluster runs as an
unprivileged OS user (``Postgres.UserName``; default: ``postgres`` if that
account exists, else ``nobody``) that owns the data and socket directories.
Root can still connect: the socket is mode 0700 and root bypasses file
permissions, while other local users cannot reach it.  Connections use
``trust`` on the socket; TCP is off unless ``listen_address`` is set, and then
accepts password (SCRAM) authentication only.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

SUPERUSER = "caldav"
DEFAULT_PORT = 5432
# sun_path is 108 bytes on Linux, including the terminating NUL.
_MAX_SOCKET_PATH = 107


class ClusterError(Exception):
    """The embedded cluster cannot be created, started or stopped.

    The message is meant for an operator: one line saying what to do.
    """


def find_pg_bin(configured: str = "") -> Path:
    """Directory holding ``initdb``/``pg_ctl``/``postgres``.

    Search order: the configured directory, ``PATH``, ``pg_config --bindir``,
    then the newest ``/usr/lib/postgresql/*/bin``.
    """
    candidates: list[Path] = []
    if configured:
        candidates.append(Path(configured))
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    versioned = glob.glob("/usr/lib/postgresql/*/bin")
    versioned.sort(key=_version_key, reverse=True)
    candidates.extend(Path(p) for p in versioned)
    for directory in candidates:
        if all((directory / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return directory
    where = f"{configured!r}, " if configured else ""
    raise ClusterError(
        f"no PostgreSQL server binaries found (looked in {where}PATH, pg_config, "
        "/usr/lib/postgresql/*/bin); install them, e.g. 'apt-get install postgresql', "
        "or set Postgres.BinaryDirectory"
    )


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.name
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def _default_os_user() -> str:
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise ClusterError(
        "running as root but neither 'postgres' nor 'nobody' exists; set Postgres.UserName"
    )


@dataclass
class PostgresCluster:
    """One cluster: ``data_dir`` holds it, ``socket_dir`` holds its socket."""

    data_dir: Path
    socket_dir: Path
    log_file: Path
    bin_dir: Path = field(default_factory=find_pg_bin)
    os_user: str = ""
    port: int = DEFAULT_PORT
    max_connections: int = 100
    shared_buffers: str = ""
    options: Sequence[str] = ()
    # Empty: unix socket only.  An address: also TCP there, password (SCRAM) auth only.
    listen_address: str = ""

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).absolute()
        self.socket_dir = Path(self.socket_dir).absolute()
        self.log_file = Path(self.log_file).absolute()
        if os.geteuid() == 0 and not self.os_user:
            self.os_user = _default_os_user()
        socket_path = self.socket_dir / f".s.PGSQL.{self.port}"
        if len(str(socket_path)) > _MAX_SOCKET_PATH:
            raise ClusterError(
                f"socket path {socket_path} is longer than {_MAX_SOCKET_PATH} bytes; "
                "use a shorter RunRoot"
            )

    # -- public -------------------------------------------------------------

    @property
    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def connect_kwargs(self, database: str = SUPERUSER) -> dict[str, object]:
        """Keyword arguments for ``asyncpg.connect``/``create_pool``."""
        return {"host": str(self.socket_dir), "port": self.port, "user": SUPERUSER,
                "database": database}

    def dsn(self, database: str = SUPERUSER) -> str:
        """Colon-form DSN (empty host = socket directory) for this cluster."""
        return f":{database}:{SUPERUSER}:::"

    def ensure_initialised(self) -> bool:
        """Run ``initdb`` if the data directory is empty.  True if it ran."""
        if self.is_initialised:
            return False
        self._prepare_dirs()
        self._run(
            [
                str(self.bin_dir / "initdb"),
                "--pgdata", str(self.data_dir),
                "--username", SUPERUSER,
                "--auth-local", "trust",
                "--auth-host", "scram-sha-256" if self.listen_address else "reject",
                "--encoding", "UTF8",
                "--locale", "C",
                "--no-sync",
            ],
            "initdb",
        )
        return True

    def start(self) -> None:
        self._prepare_dirs()
        if self.is_running():
            return
        settings = [
            "-c", f"listen_addresses={self.listen_address}",
            "-c", f"unix_socket_directories={self.socket_dir}",
            "-c", "unix_socket_permissions=0700",
            "-c", f"port={self.port}",
            "-c", f"max_connections={self.max_connections}",
        ]
        if self.shared_buffers:
            settings += ["-c", f"shared_buffers={self.shared_buffers}"]
        for option in self.options:
            settings += ["-c", option]
        self._run(
            [
                str(self.bin_dir / "pg_ctl"), "start",
                "--pgdata", str(self.data_dir),
                "--log", str(self.log_file),
                "--wait", "--timeout", "60",
                "-o", " ".join(_quote(s) for s in settings),
            ],
            "pg_ctl start",
        )

    def stop(self, mode: str = "fast") -> None:
        if not self.is_running():
            return
        self._run(
            [str(self.bin_dir / "pg_ctl"), "stop", "--pgdata", str(self.data_dir),
             "--mode", mode, "--wait", "--timeout", "60"],
            "pg_ctl stop",
        )

    def is_running(self) -> bool:
        if not self.is_initialised:
            return False
        result = self._subprocess(
            [str(self.bin_dir / "pg_ctl"), "status", "--pgdata", str(self.data_dir)], 30)
        return result.returncode == 0

    # -- internals ----------------------------------------------------------

    def _prepare_dirs(self) -> None:
        for directory in (self.data_dir, self.socket_dir, self.log_file.parent):
            directory.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        self.socket_dir.chmod(0o700)
        if self.os_user:
            entry = pwd.getpwnam(self.os_user)
            for path in (self.data_dir, self.socket_dir):
                _chown_tree(path, entry.pw_uid, entry.pw_gid)
            if not self.log_file.exists():
                self.log_file.touch()
            os.chown(self.log_file, entry.pw_uid, entry.pw_gid)
            for path in (self.data_dir, self.socket_dir, self.log_file):
                _check_reachable(path, entry.pw_uid, entry.pw_gid, self.os_user)

    def _subprocess(self, argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        """Run as the cluster's OS user when we are root (cwd '/': ours may be unreachable)."""
        if not self.os_user:
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                  check=False)
        entry = pwd.getpwnam(self.os_user)
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                              user=entry.pw_uid, group=entry.pw_gid, extra_groups=[], cwd="/")

    def _run(self, argv: list[str], what: str) -> None:
        try:
            result = self._subprocess(argv, 120)
        except (OSError, subprocess.SubprocessError) as exc:
            raise ClusterError(f"{what} failed: {exc}") from exc
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            tail = detail[-1] if detail else f"exit status {result.returncode}"
            hint = f"; see {self.log_file}" if what.startswith("pg_ctl") else ""
            raise ClusterError(f"{what} failed: {tail}{hint}")


def _quote(value: str) -> str:
    if value and all(c.isalnum() or c in "-_=/.,:" for c in value):
        return value
    return "'" + value.replace("'", "'\\''") + "'"


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    st = path.stat()
    if st.st_uid == uid and st.st_gid == gid:
        return  # already ours; initdb made everything inside as that user
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def _check_reachable(path: Path, uid: int, gid: int, user: str) -> None:
    """Every ancestor must be searchable by the cluster's OS user."""
    for parent in path.parents:
        st = parent.stat()
        if st.st_uid == uid:
            ok = bool(st.st_mode & 0o100)
        elif st.st_gid == gid:
            ok = bool(st.st_mode & 0o010)
        else:
            ok = bool(st.st_mode & 0o001)
        if not ok:
            raise ClusterError(
                f"the embedded PostgreSQL runs as OS user {user!r}, which cannot reach {path}: "
                f"{parent} is not searchable by it; put DataRoot/RunRoot elsewhere "
                f"(e.g. under /var/lib/caldavd) or set Postgres.UserName"
            )
