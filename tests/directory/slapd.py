"""A real, throwaway OpenLDAP server (Debian's slapd) for directory tests.

The database is built offline with ``slapadd`` from conf/ldap/sample.ldif plus
tests/directory/extra.ldif, then ``slapd`` serves it on a free loopback port.
It runs as whoever runs the tests (root included: no -u/-g switch is given).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from caldavd.config.schema import LDAP_DIRECTORY, default_tree
from tests.conftest import free_port
from tests.tools.helpers import REPO

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SLAPADD = shutil.which("slapadd") or "/usr/sbin/slapadd"
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")
SAMPLE_LDIF = REPO / "conf" / "ldap" / "sample.ldif"
EXTRA_LDIF = Path(__file__).with_name("extra.ldif")

BASE = "dc=example,dc=com"
ADMIN_DN = f"cn=admin,{BASE}"
SERVICE_DN = f"cn=caldavd,ou=Services,{BASE}"
SERVICE_PASSWORD = "CHANGEME"  # as in conf/ldap/sample.ldif

CONF = """\
{includes}
{global_conf}
pidfile {root}/slapd.pid
argsfile {root}/slapd.args
modulepath {modules}
moduleload back_mdb
sizelimit 500

database mdb
suffix "{base}"
rootdn "{admin}"
rootpw admin-secret
directory {root}/db
maxsize 104857600
index objectClass,uid,cn,mail,member,uniqueMember,memberUid,entryUUID eq

access to attrs=userPassword
    by self =xw
    by anonymous auth
    by * none
access to *
    by * read
"""


class Slapd:
    """One slapd process over one database directory; stop/start keep the port."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.root = root
        self.port = port or free_port()
        self.conf = root / "slapd.conf"
        self.log = root / "slapd.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def build(self, *ldifs: Path, global_conf: str = "") -> None:
        (self.root / "db").mkdir(parents=True, exist_ok=True)
        includes = "\n".join(f"include {SCHEMA_DIR / name}.schema"
                             for name in ("core", "cosine", "inetorgperson", "nis"))
        self.conf.write_text(CONF.format(includes=includes, root=self.root,
                                         modules=MODULE_DIR, base=BASE, admin=ADMIN_DN,
                                         global_conf=global_conf))
        for ldif in ldifs:
            subprocess.run([SLAPADD, "-f", str(self.conf), "-l", str(ldif)], check=True,
                           capture_output=True, timeout=60)

    def start(self, timeout: float = 10) -> None:
        assert self.proc is None, "already running"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [SLAPD, "-h", f"{self.uri}/", "-f", str(self.conf), "-d", "0"],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                raise RuntimeError(f"slapd exited at start: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"slapd did not listen on {self.port} within {timeout} s")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def start_slapd(*, tls: bool = False) -> Slapd:
    """A running slapd over the sample and test entries, in a new temp directory.

    With ``tls``, the server has a certificate for localhost from a test CA
    (``root/ca.pem``) and refuses to work on a connection without TLS.
    """
    root = Path(tempfile.mkdtemp(prefix="cdt-ldap-", dir="/tmp"))
    server = Slapd(root)
    try:
        server.build(SAMPLE_LDIF, EXTRA_LDIF, global_conf=_tls_conf(root) if tls else "")
        server.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server


def _tls_conf(root: Path) -> str:
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=root, check=True, capture_output=True,
                       timeout=60)

    key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=caldavd test CA")
    openssl("req", *key, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (root / "san.ext").write_text("subjectAltName=DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext")
    return (f"TLSCACertificateFile {root}/ca.pem\n"
            f"TLSCertificateFile {root}/server.pem\n"
            f"TLSCertificateKeyFile {root}/server.key\n"
            "security tls=1\n")


def remove_slapd(server: Slapd) -> None:
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


@contextlib.contextmanager
def running_slapd(*, tls: bool = False) -> Iterator[Slapd]:
    """``start_slapd`` for the length of a ``with`` (a fixture's scope), then removed."""
    server = start_slapd(tls=tls)
    try:
        yield server
    finally:
        remove_slapd(server)


def ldap_params(*uris: str, **overrides: Any) -> dict[str, Any]:
    """``DirectoryService.params`` for the test server: the schema's defaults, then these."""
    params = default_tree(LDAP_DIRECTORY)
    params["uri"] = list(uris)
    params["rdnSchema"]["base"] = BASE
    params["credentials"] = {"dn": SERVICE_DN, "password": SERVICE_PASSWORD}
    params["timeouts"] = {"connect": 2, "search": 5}
    for key, value in overrides.items():
        if isinstance(value, dict):
            params[key] = {**params[key], **value}
        else:
            params[key] = value
    return params
