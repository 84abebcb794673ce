"""Certificates for the HTTPS tests, made with the ``cryptography`` package: a CA
the test client trusts, and server certificates it signs."""

from __future__ import annotations

import base64
import datetime
import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Issued:
    certificate: Path
    private_key: Path
    serial: int


class CertificateAuthority:
    """A certificate authority in ``directory`` (``<name>.pem``): the root, or an
    intermediate signed by ``parent``."""

    def __init__(self, directory: Path, name: str = "ca",
                 parent: CertificateAuthority | None = None) -> None:
        self.directory = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"caldavd test {name}")])
        now = datetime.datetime.now(datetime.UTC)
        self.certificate: x509.Certificate = (
            x509.CertificateBuilder().subject_name(subject)
            .issuer_name(parent.certificate.subject if parent else subject)
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - _DAY).not_valid_after(now + _DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(parent.key if parent else self.key, hashes.SHA256()))
        self.path = directory / f"{name}.pem"
        self.path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def issue(self, name: str, host: str = "localhost") -> Issued:
        """``name``.pem and ``name``.key: a server certificate for ``host`` and 127.0.0.1."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        serial = x509.random_serial_number()
        alt = x509.SubjectAlternativeName([x509.DNSName(host),
                                           x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(self.certificate.subject).public_key(key.public_key())
            .serial_number(serial).not_valid_before(now - _DAY).not_valid_after(now + _DAY)
            .add_extension(alt, critical=False)
            .sign(self.key, hashes.SHA256()))
        cert_path = self.directory / f"{name}.pem"
        key_path = self.directory / f"{name}.key"
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return Issued(cert_path, key_path, serial)

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.path))


USER01 = "Basic " + base64.b64encode(b"user01:user01").decode()
EVENT = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//caldavd tests//EN\r\nBEGIN:VEVENT\r\n"
         "UID:tls-1@example.com\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T100000Z\r\n"
         "DURATION:PT1H\r\nSUMMARY:over TLS\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
PROPFIND = (b'<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:"><prop>'
            b"<current-user-principal/></prop></propfind>")


def request(port: int, method: str, path: str, context: ssl.SSLContext | None = None,
            body: bytes | str | None = None, headers: dict[str, str] | None = None,
            ) -> tuple[int, dict[str, str], bytes]:
    """One request to 127.0.0.1 over a new connection, HTTPS when ``context`` is given."""
    conn = (http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
            if context is not None else http.client.HTTPConnection("127.0.0.1", port, timeout=10))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def caldav_round_trip(port: int, context: ssl.SSLContext) -> None:
    """PROPFIND, PUT and GET as user01 over HTTPS (RFC 4791 §5.3.2, RFC 4918 §9.1)."""
    auth = {"Authorization": USER01}
    status, _, body = request(port, "PROPFIND", "/", context, PROPFIND,
                              {**auth, "Depth": "0", "Content-Type": "application/xml"})
    assert status == 207 and b"/principals/" in body, (status, body)
    path = "/calendars/users/user01/calendar/tls.ics"
    status, _, body = request(port, "PUT", path, context, EVENT,
                              {**auth, "Content-Type": "text/calendar"})
    assert status in (201, 204), (status, body)
    status, _, body = request(port, "GET", path, context, headers=auth)
    assert status == 200 and b"SUMMARY:over TLS" in body, (status, body)


def peer_certificate_serial(port: int, context: ssl.SSLContext,
                            server_name: str | None = None) -> int:
    """The serial of the certificate a new TLS connection to 127.0.0.1:port is shown
    (with SNI when ``server_name`` is given; by address, Python sends none)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=server_name or "127.0.0.1") as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number
