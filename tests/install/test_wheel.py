"""caldavd as a packager installs it (issue #15, item 1): the wheel built from the files
the Docker image builds it from, installed into a fresh venv outside the checkout.

Every module of the installed package imports from the venv (none from the
checkout), every console script starts, and the installed ``caldavd`` serves
against its embedded database over HTTP and HTTPS.  Before the packages were
found rather than listed, the wheel lacked caldavd.http.methods and
caldavd.http.reports and the installed server died at start.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import tomllib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from caldavd.store.postgres.definitions import definition, versions
from tests.conftest import free_port
from tests.tlscerts import PROPFIND, USER01, CertificateAuthority, caldav_round_trip, request
from tests.tools.helpers import (
    REPO,
    reachable_tempdir,
    remove_tree,
    stop_embedded_clusters,
    write_plist,
)

DOCKERFILE = REPO / "conf" / "docker" / "Dockerfile"
SCRIPTS: dict[str, str] = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
    "scripts"]
# Run by alembic inside its migration context, never imported on its own.
NOT_IMPORTABLE = {"caldavd_migrations.env"}


@dataclass(frozen=True)
class Installed:
    root: Path
    venv: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def run(self, *argv: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                              timeout=timeout, check=False, cwd=self.root, env=_clean_env())


def _clean_env() -> dict[str, str]:
    """Nothing that would lead the installed programs back to the checkout."""
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


def stages(text: str) -> list[list[str]]:
    """The Dockerfile's instructions (continuations joined), one list per FROM."""
    joined = re.sub(r"\\\n\s*", " ", text)
    result: list[list[str]] = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            result.append([])
        result[-1].append(line)
    return result


def _build_sources() -> list[str]:
    """What the image's first stage copies to build the wheel from."""
    copies = [line.split()[1:] for line in stages(DOCKERFILE.read_text())[0]
              if line.startswith("COPY ")]
    return [name for *names, _ in copies for name in names]


def _run(argv: list[str], cwd: Path) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False,
                            cwd=cwd, env=_clean_env())
    assert result.returncode == 0, f"{argv}:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def installed() -> Iterator[Installed]:
    root = Path(tempfile.mkdtemp(prefix="caldavd-wheel-", dir="/tmp"))
    assert not root.is_relative_to(REPO)
    try:
        source = root / "src"
        for name in _build_sources():
            origin, target = REPO / name, source / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if origin.is_dir():
                shutil.copytree(origin, target, symlinks=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(origin, target)
        _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir",
              str(root / "wheels"), str(source)], root)
        wheel = next((root / "wheels").glob("caldavd-*.whl"))
        _run([sys.executable, "-m", "venv", str(root / "venv")], root)
        _run([str(root / "venv" / "bin" / "pip"), "install", "-q", str(wheel)], root)
        yield Installed(root, root / "venv")
    finally:
        remove_tree(root)


# The module list, from the installed package: every module, its file.
_WALK = """
import importlib, json, pkgutil, sys
skip = set(sys.argv[1:])
found = {}
for top in ("caldavd", "caldavd_migrations"):
    package = importlib.import_module(top)
    found[top] = package.__file__
    for info in pkgutil.walk_packages(package.__path__, top + "."):
        spec = info.module_finder.find_spec(info.name)
        found[info.name] = spec.origin
        if info.name not in skip:
            importlib.import_module(info.name)
print(json.dumps(found))
"""


def _checkout_modules() -> set[str]:
    names = set()
    for top, package in (("caldavd", "caldavd"), ("migrations", "caldavd_migrations")):
        for path in (REPO / top).rglob("*.py"):
            parts = path.relative_to(REPO / top).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            names.add(".".join((package, *parts)))
    return names


@pytest.mark.slow
def test_every_module_is_installed_and_imports_from_the_venv(installed: Installed) -> None:
    result = installed.run(installed.python, "-c", _WALK, *NOT_IMPORTABLE)
    assert result.returncode == 0, result.stderr
    modules: dict[str, str] = json.loads(result.stdout)
    assert set(modules) == _checkout_modules()
    assert {"caldavd.http.methods", "caldavd.http.reports"} <= set(modules)
    outside = {name: path for name, path in modules.items()
               if not Path(path).resolve().is_relative_to(installed.venv.resolve())}
    assert not outside, outside


_DEFINITIONS = """
import json
from caldavd.store.postgres.definitions import definition, versions
print(json.dumps({f"{name}.v{version}": definition(name, version) for name, version in versions()}))
"""


@pytest.mark.slow
def test_the_sql_definitions_the_migrations_load_are_installed(installed: Installed) -> None:
    """caldavd/store/postgres/sql is package data: every version, read from the venv."""
    result = installed.run(installed.python, "-c", _DEFINITIONS)
    assert result.returncode == 0, result.stderr
    expected = {f"{name}.v{version}": definition(name, version) for name, version in versions()}
    assert expected and json.loads(result.stdout) == expected


@pytest.mark.slow
def test_every_console_script_starts(installed: Installed) -> None:
    assert "caldavd" in SCRIPTS
    for name in SCRIPTS:
        result = installed.run(installed.venv / "bin" / name, "--help")
        assert result.returncode == 0, f"{name}: {result.stderr}"
        assert "usage:" in result.stdout, name


@pytest.mark.slow
def test_the_installed_server_serves_http_and_https(installed: Installed) -> None:
    """Embedded database (DBType ""), the sample accounts shipped in the package."""
    server_root = reachable_tempdir()
    ca = CertificateAuthority(server_root)
    issued = ca.issue("server")
    http_port, https_port = free_port(), free_port()
    accounts = _installed_file(installed, "caldavd.harness", "sample_accounts.xml")
    plist = write_plist(server_root, {
        "DBType": "", "HTTPPort": http_port, "SSLPort": https_port,
        "BindAddresses": ["127.0.0.1"], "MultiProcessCount": 1,
        "SSLCertificate": str(issued.certificate), "SSLPrivateKey": str(issued.private_key),
        "DirectoryService": {"type": "xml", "params": {"xmlFile": str(accounts)}}})
    log = server_root / "caldavd.out"
    with log.open("wb") as sink:
        proc = subprocess.Popen([str(installed.venv / "bin" / "caldavd"), "-f", str(plist)],
                                stdout=sink, stderr=subprocess.STDOUT, cwd=installed.root,
                                env=_clean_env())
    try:
        _wait_healthy(proc, http_port, log)
        status, _, body = request(http_port, "PROPFIND", "/", body=PROPFIND, headers={
            "Authorization": USER01, "Depth": "0", "Content-Type": "application/xml"})
        assert status == 207 and b"/principals/" in body, body
        caldav_round_trip(https_port, ca.client_context())
        _check_old_tls_refused(ca, https_port)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log.read_text()
        assert "Traceback" not in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
        stop_embedded_clusters(server_root)
        remove_tree(server_root)


def _installed_file(installed: Installed, package: str, name: str) -> Path:
    result = installed.run(installed.python, "-c",
                           f"import importlib.resources as r; "
                           f"print(r.files({package!r}) / {name!r})")
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path.is_file() and path.is_relative_to(installed.venv)
    return path


def _check_old_tls_refused(ca: CertificateAuthority, port: int) -> None:
    """The default SSLMethod takes TLS 1.2 or newer; a TLS 1.1 client is refused (where
    the local OpenSSL lets a client offer TLS 1.1 at all, the server says no)."""
    old = ca.client_context()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the very point of the test
        with contextlib.suppress(ValueError, ssl.SSLError):
            old.set_ciphers("DEFAULT:@SECLEVEL=0")
            old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError):
        request(port, "GET", "/health", old)


def _wait_healthy(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"caldavd exited {proc.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError):
            if request(port, "GET", "/health")[0] == 200:
                return
        time.sleep(0.2)
    raise AssertionError(f"caldavd did not become healthy:\n{log.read_text()}")


def test_the_image_installs_the_wheel_not_the_source_tree() -> None:
    """conf/docker/Dockerfile: the first stage builds the wheel, the last installs it and
    copies none of the source (so the image runs what tests/install proves)."""
    build, *_, final = stages(DOCKERFILE.read_text())
    assert any(line.startswith("RUN pip wheel") and "--no-deps" in line for line in build)
    assert {"caldavd", "migrations", "pyproject.toml", "setup.py"} <= set(_build_sources())
    copies = [line for line in final if line.startswith("COPY ")]
    assert all(line.startswith("COPY --from=") or "conf/docker/" in line for line in copies)
    installs = [line for line in final if line.startswith("RUN pip install")]
    assert installs and all(".whl" in line and " . " not in f"{line} " for line in installs)
