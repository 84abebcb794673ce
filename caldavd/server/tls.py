"""HTTPS on ``SSLPort``: the server's TLS context, checked at start, reloaded on SIGHUP.

The master builds the context once before any worker starts, so a missing or
unreadable file, a file that holds no PEM certificate or key, an encrypted key
or a key that does not belong to the certificate is one line naming the key
(exit status 2).  Each worker builds its own and serves its TLS sockets with it.

Reload: the served context never changes; its SNI callback (called for every
handshake, with or without a server name) hands the connection the context
loaded last.  SIGHUP loads the files into a new context first and swaps only
when that worked, so a half-written certificate keeps the old one in service
(and says why).  Connections already open keep the certificate they started
with.  SSLMethod and SSLCiphers are read at start only.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from caldavd.cli.errors import ToolError
from caldavd.config import Config
from caldavd.config.validate import tls_minimum

log = logging.getLogger("caldavd")

_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"
_PRIVATE_KEY = b"PRIVATE KEY-----"


class TLSConfigError(ToolError):
    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=2)


@dataclass(frozen=True)
class TLSFiles:
    certificate: Path
    private_key: Path
    chain: Path | None
    minimum: ssl.TLSVersion
    ciphers: str

    @classmethod
    def of(cls, config: Config) -> TLSFiles:
        if not (config.SSLCertificate is not None and config.SSLPrivateKey is not None):
            raise RuntimeError("TLSFiles.of without SSLCertificate and SSLPrivateKey")
        minimum = tls_minimum(config.SSLMethod)
        if minimum is None:  # validated
            raise RuntimeError("minimum is not set")
        return cls(config.SSLCertificate, config.SSLPrivateKey, config.SSLAuthorityChain,
                   ssl.TLSVersion[minimum], config.SSLCiphers)


def server_context(files: TLSFiles) -> ssl.SSLContext:
    """A new server context with the certificate, its chain and key loaded."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = files.minimum
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    if files.ciphers:
        try:
            context.set_ciphers(files.ciphers)
        except ssl.SSLError:
            raise TLSConfigError(f"SSLCiphers: {files.ciphers!r} selects no cipher") from None
    certificates = _certificates(files.certificate, "SSLCertificate")
    if files.chain is not None:
        certificates += b"\n" + _certificates(files.chain, "SSLAuthorityChain")
    _read(files.private_key, "SSLPrivateKey", _PRIVATE_KEY)
    _load(context, certificates, files)
    return context


def _read(path: Path, key: str, marker: bytes) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TLSConfigError(f"{key} {path}: {exc.strerror or exc}") from None
    if marker not in data:
        what = "certificate" if marker == _CERTIFICATE else "private key"
        raise TLSConfigError(f"{key} {path}: holds no PEM {what}")
    return data


def _certificates(path: Path, key: str) -> bytes:
    data = _read(path, key, _CERTIFICATE)
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(
            cadata=data.decode("ascii", "replace"))
    except ssl.SSLError as exc:
        raise TLSConfigError(f"{key} {path}: not a valid PEM certificate "
                             f"({exc.reason or exc})") from None
    return data


def _load(context: ssl.SSLContext, certificates: bytes, files: TLSFiles) -> None:
    asked: list[bool] = []

    def no_pass_phrase() -> bytes:
        asked.append(True)
        return b""

    # load_cert_chain reads files only; the concatenation is in a private directory.
    with tempfile.TemporaryDirectory(prefix="caldavd-tls-") as directory:
        chain = Path(directory) / "chain.pem"
        chain.write_bytes(certificates)
        try:
            context.load_cert_chain(chain, files.private_key, password=no_pass_phrase)
        except ssl.SSLError as exc:
            raise TLSConfigError(_key_problem(files, exc, bool(asked))) from None
        except OSError as exc:  # gone since it was read
            raise TLSConfigError(f"SSLPrivateKey {files.private_key}: "
                                 f"{exc.strerror or exc}") from None


def _key_problem(files: TLSFiles, exc: ssl.SSLError, asked: bool) -> str:
    where = f"SSLPrivateKey {files.private_key}"
    if asked:
        return f"{where}: the key is encrypted; caldavd needs it unencrypted"
    if exc.reason == "KEY_VALUES_MISMATCH":
        return f"{where}: does not match the certificate of SSLCertificate {files.certificate}"
    return f"{where}: not a valid PEM private key ({exc.reason or exc})"


class ReloadableContext:
    """The context TLS sockets are served with; each new connection gets the
    certificate loaded last (``reload``)."""

    def __init__(self, files: TLSFiles) -> None:
        self._files = files
        self._current = server_context(files)
        self.context = server_context(files)
        self.context.sni_callback = self._select

    def _select(self, connection: ssl.SSLObject | ssl.SSLSocket, server_name: str | None,
                context: ssl.SSLContext) -> None:
        connection.context = self._current

    def reload(self) -> None:
        try:
            self._current = server_context(self._files)
        except TLSConfigError as exc:
            log.error("%s; the previous certificate stays in service", exc)
            return
        log.info("reloaded the TLS certificate %s", self._files.certificate)


def tls_context(config: Config) -> ReloadableContext | None:
    """The reloadable context for ``SSLPort``; None when HTTPS is off."""
    return ReloadableContext(TLSFiles.of(config)) if config.SSLPort else None


class TLSSite(web.SockSite):
    """``web.SockSite`` serving TLS whose handshakes end within ``handshake_seconds``
    (aiohttp passes no handshake timeout to asyncio, which then allows 60 s)."""

    def __init__(self, runner: web.BaseRunner, sock: socket.socket,
                 context: ssl.SSLContext, handshake_seconds: float, backlog: int) -> None:
        super().__init__(runner, sock, ssl_context=context, backlog=backlog)
        self._handshake_seconds = handshake_seconds

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server = self._runner.server
        if server is None:
            raise RuntimeError("server is not set")
        self._server = await asyncio.get_running_loop().create_server(
            server, sock=self._sock, ssl=self._ssl_context, backlog=self._backlog,
            ssl_handshake_timeout=self._handshake_seconds)
