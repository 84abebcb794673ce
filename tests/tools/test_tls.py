"""HTTPS on SSLPort (issue #15, item 2): a real caldavd, real TLS handshakes over
loopback, certificates made by a test CA.

One server (embedded database, two workers) shows the CalDAV round trip over TLS,
the oldest TLS version enforced, HTTP redirected except /health, and a new
certificate served to new connections after SIGHUP.  Bad TLS files are named at
start (exit status 2, one line, no traceback) before anything is started.
"""

from __future__ import annotations

import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from tests.conftest import free_port
from tests.tlscerts import (
    USER01,
    CertificateAuthority,
    caldav_round_trip,
    peer_certificate_serial,
    request,
)
from tests.tools.helpers import run_tool, start_tool, write_plist
from tests.tools.test_serve import _terminate, _wait_for_health

pytestmark = pytest.mark.slow



def tls_settings(ca: CertificateAuthority, ssl_port: int, **extra: Any) -> dict[str, Any]:
    issued = ca.issue("server")
    return {"SSLPort": ssl_port, "SSLCertificate": str(issued.certificate),
            "SSLPrivateKey": str(issued.private_key), **extra}


def test_https_redirect_minimum_version_and_reload(server_root: Path) -> None:
    """The client trusts the root only: the intermediate must come from
    SSLAuthorityChain, sent after the certificate (RFC 8446 §4.4.2)."""
    ca = CertificateAuthority(server_root)
    intermediate = CertificateAuthority(server_root, "intermediate", parent=ca)
    http_port, https_port = free_port(), free_port()
    settings = tls_settings(intermediate, https_port, SSLMethod="TLSv1_3_METHOD",
                            SSLAuthorityChain=str(intermediate.path),
                            RedirectHTTPToHTTPS=True, ServerHostName="localhost",
                            IdleConnectionTimeOut=2)
    plist = write_plist(server_root, {"DBType": "", "HTTPPort": http_port,
                                      "BindAddresses": ["127.0.0.1"], "MultiProcessCount": 2,
                                      **settings})
    log = server_root / "caldavd.out"
    proc = start_tool("caldavd", ["-f", str(plist)], log)
    try:
        _wait_for_health(proc, f"http://127.0.0.1:{http_port}/", log)
        _check_https(ca, https_port)
        _check_stalled_handshake_closed(https_port)
        _check_redirects(http_port, https_port)
        _check_reload(ca, https_port, proc)
    finally:
        assert _terminate(proc, log) == 0, log.read_text()
    assert "Traceback" not in log.read_text()


def _check_https(ca: CertificateAuthority, port: int) -> None:
    caldav_round_trip(port, ca.client_context())
    status, headers, _ = request(port, "GET", "/health", ca.client_context())
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=604800"  # RFC 6797 §6.1
    # SSLMethod TLSv1_3_METHOD: a client that offers at most TLS 1.2 is refused.
    old = ca.client_context()
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(ssl.SSLError):
        peer_certificate_serial(port, old)


def _check_stalled_handshake_closed(port: int) -> None:
    """A client that never sends its ClientHello is dropped after IdleConnectionTimeOut
    (2 s here), as an idle plain connection is; asyncio alone would wait 60 s."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as silent:
        started = time.monotonic()
        assert silent.recv(1) == b""  # closed by the server
        assert time.monotonic() - started < 10


def _check_redirects(http_port: int, https_port: int) -> None:
    """GET/HEAD 301 and other methods 308 (RFC 9110 §15.4.2, RFC 7538) to the same path
    on https://ServerHostName:SSLPort; /health stays on HTTP for load balancers."""
    target = f"https://localhost:{https_port}/calendars/users/user01/?x=1"
    status, headers, _ = request(http_port, "GET", "/calendars/users/user01/?x=1")
    assert (status, headers["Location"]) == (301, target)
    status, headers, _ = request(http_port, "PROPFIND", "/calendars/users/user01/?x=1",
                                 headers={"Authorization": USER01, "Depth": "0"})
    assert (status, headers["Location"]) == (308, target)
    status, headers, _ = request(http_port, "GET", "/health")
    assert status == 200
    assert "Strict-Transport-Security" not in headers  # RFC 6797 §7.2: never over HTTP
    # Without BehindTLSProxy a client's X-Forwarded-Proto changes nothing.
    status, _, _ = request(http_port, "GET", "/", headers={"X-Forwarded-Proto": "https"})
    assert status == 301


def _check_reload(ca: CertificateAuthority, port: int, proc: subprocess.Popen[bytes]) -> None:
    """After SIGHUP every worker shows new connections the certificate now on disk,
    with SNI and without; a certificate that fails to load keeps the previous one."""
    before = peer_certificate_serial(port, ca.client_context())
    renewed = ca.issue("server")  # the same file names, new contents (the chain stays)
    assert renewed.serial != before
    proc.send_signal(signal.SIGHUP)
    _wait_for_serial(ca, port, renewed.serial)
    renewed.private_key.write_text("truncated")
    proc.send_signal(signal.SIGHUP)
    time.sleep(1)
    for _ in range(8):  # both workers (SO_REUSEPORT spreads connections)
        assert peer_certificate_serial(port, ca.client_context()) == renewed.serial
    assert proc.poll() is None


def _wait_for_serial(ca: CertificateAuthority, port: int, serial: int) -> None:
    deadline = time.monotonic() + 20
    seen: list[int] = []
    while time.monotonic() < deadline:
        seen = [peer_certificate_serial(port, ca.client_context(), name)
                for name in (None, "localhost") for _ in range(4)]
        if set(seen) == {serial}:
            return
        time.sleep(0.2)
    raise AssertionError(f"still served {seen} after SIGHUP, want {serial}")


# -- bad TLS files: named at start -----------------------------------------------------


def _refused(directory: Path, settings: dict[str, Any]) -> str:
    """The one line caldavd exits with (status 2); --check-config says the same."""
    plist = write_plist(directory, {"DBType": "", "HTTPPort": free_port(), **settings})
    said = []
    for extra in ((), ("--check-config",)):
        result = run_tool("caldavd", "-f", str(plist), *extra, timeout=60)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr and not result.stdout
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        said.append(lines[0].removeprefix("caldavd: error: "))
    assert said[0] == said[1]
    return said[0]


def test_missing_certificate_is_named(tmp_path: Path) -> None:
    settings = tls_settings(CertificateAuthority(tmp_path), free_port())
    Path(settings["SSLCertificate"]).unlink()
    line = _refused(tmp_path, settings)
    assert "SSLCertificate" in line and settings["SSLCertificate"] in line
    assert "No such file" in line


def test_unreadable_private_key_is_named(tmp_path: Path) -> None:
    settings = tls_settings(CertificateAuthority(tmp_path), free_port(),
                            SSLPrivateKey=str(tmp_path))  # a directory: no user may read it
    line = _refused(tmp_path, settings)
    assert line.startswith(f"SSLPrivateKey {tmp_path}: ") and "directory" in line


def test_key_of_another_certificate_is_named(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path)
    other = ca.issue("other")
    settings = tls_settings(ca, free_port(), SSLPrivateKey=str(other.private_key))
    line = _refused(tmp_path, settings)
    assert line.startswith(f"SSLPrivateKey {other.private_key}: does not match")
    assert settings["SSLCertificate"] in line


def test_an_encrypted_key_is_named_without_asking_for_a_pass_phrase(tmp_path: Path) -> None:
    settings = tls_settings(CertificateAuthority(tmp_path), free_port())
    key_path = Path(settings["SSLPrivateKey"])
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret")))
    line = _refused(tmp_path, settings)
    assert line == f"SSLPrivateKey {key_path}: the key is encrypted; caldavd needs it unencrypted"


def test_files_that_are_not_pem_are_named(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path)
    settings = tls_settings(ca, free_port())
    key = Path(settings["SSLPrivateKey"])
    line = _refused(tmp_path, {**settings, "SSLCertificate": str(key)})
    assert line == f"SSLCertificate {key}: holds no PEM certificate"
    line = _refused(tmp_path, {**settings, "SSLPrivateKey": settings["SSLCertificate"]})
    assert line.startswith("SSLPrivateKey ") and "holds no PEM private key" in line
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    line = _refused(tmp_path, {**settings, "SSLAuthorityChain": str(broken)})
    assert line.startswith(f"SSLAuthorityChain {broken}: not a valid PEM certificate")


def test_settings_without_files_or_with_a_retired_method_are_named(tmp_path: Path) -> None:
    assert "SSLCertificate: must be set" in _refused(tmp_path, {"SSLPort": free_port(),
                                                                "SSLPrivateKey": "x.key"})
    settings = tls_settings(CertificateAuthority(tmp_path), free_port())
    line = _refused(tmp_path, {**settings, "SSLMethod": "TLSv1_1_METHOD"})
    assert line.startswith("SSLMethod: 'TLSv1_1_METHOD' is no longer offered (RFC 8996)")
    line = _refused(tmp_path, {"RedirectHTTPToHTTPS": True})
    assert line.startswith("RedirectHTTPToHTTPS: needs SSLPort")
