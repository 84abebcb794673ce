"""The ``DSN`` key: where an external PostgreSQL lives.

Two spellings are accepted:

* the seed's colon form ``host:database:user:password:options:tty`` (PyGreSQL's
  ``pgdb`` layout; missing trailing fields are empty, more than six is an
  error).  An empty host means the local unix socket directory; a host that
  starts with ``/`` is a socket directory.  The colon form cannot carry a port,
  an IPv6 address or a password containing ``:`` -- use a URL for those;
* a ``postgresql://`` (or ``postgres://``) URL as libpq writes it, including
  ``?host=/socket/dir``, ``?sslmode=...`` and ``?options=...``.

Error messages never repeat the DSN text: it may hold a password.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal
from urllib.parse import parse_qsl, quote, unquote, urlsplit

COLON_FIELDS = ("host", "database", "user", "password", "options", "tty")
URL_SCHEMES = ("postgresql", "postgres")
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# Query parameters that become DSN fields rather than ``params``.
_FIELD_PARAMS = {"host": "host", "user": "user", "password": "password", "dbname": "database",
                 "options": "options"}
_EXTRA_PARAMS = ("sslmode", "application_name", "connect_timeout")
MASK = "****"
_URL_START = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


class DSNError(ValueError):
    """A malformed DSN; the message says why (and never contains the password)."""


def _empty_params() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class DSN:
    """A parsed DSN.  ``host``: '' = local socket, '/...' = socket directory, else a host."""

    host: str
    port: int | None
    database: str
    user: str
    password: str = field(repr=False)
    options: str = ""
    tty: str = ""
    params: Mapping[str, str] = field(default_factory=_empty_params)
    form: Literal["colon", "url"] = field(default="colon", compare=False)

    @property
    def server_settings(self) -> dict[str, str]:
        """``-c name=value`` pairs from ``options`` (plus ``application_name``)."""
        settings = _parse_options(self.options)
        if "application_name" in self.params:
            settings["application_name"] = self.params["application_name"]
        return settings

    def connect_kwargs(self, socket_dir: Path) -> dict[str, object]:
        """Keyword arguments for ``asyncpg.connect``/``create_pool``.

        ``socket_dir`` is used when the DSN names no host (the seed: "found in
        the directory defined by the RunRoot config key").
        """
        kwargs: dict[str, object] = {"host": self.host or str(socket_dir),
                                     "database": self.database}
        if self.port is not None:
            kwargs["port"] = self.port
        if self.user:
            kwargs["user"] = self.user
        if self.password:
            kwargs["password"] = self.password
        settings = self.server_settings
        if settings:
            kwargs["server_settings"] = settings
        if "sslmode" in self.params:
            kwargs["ssl"] = self.params["sslmode"]
        if "connect_timeout" in self.params:
            kwargs["timeout"] = float(self.params["connect_timeout"])
        return kwargs

    def describe(self) -> str:
        """'host H, database D, user U' for error lines; never the password."""
        host = self.host or "(local socket)"
        if self.port is not None:
            host = f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"
        return f"host {host}, database {self.database}, user {self.user or '(default)'}"

    def masked(self, mask: str = MASK) -> str:
        """The DSN in its original form with the password replaced by ``mask``."""
        password = mask if self.password else ""
        if self.form == "colon":
            fields = [self.host, self.database, self.user, password, self.options, self.tty]
            return ":".join(fields)
        return self._url(password)

    def _url(self, password: str) -> str:
        netloc = ""
        if self.user or password:
            netloc = quote(self.user, safe="")
            if password:
                netloc += ":" + password
            netloc += "@"
        query: dict[str, str] = {}
        if self.host.startswith("/"):
            query["host"] = self.host
        elif self.host:
            netloc += f"[{self.host}]" if ":" in self.host else self.host
        if self.port is not None:
            netloc += f":{self.port}"
        if self.options:
            query["options"] = self.options
        query.update(self.params)
        text = f"postgresql://{netloc}/{quote(self.database, safe='')}"
        if query:
            text += "?" + "&".join(f"{k}={quote(v, safe='/')}" for k, v in query.items())
        return text


def parse_dsn(text: str) -> DSN:
    """Parse a colon-form DSN or a postgresql:// URL; raise DSNError saying why not."""
    if not text.strip():
        raise DSNError("empty DSN")
    url = _URL_START.match(text)
    dsn = _parse_url(text, url.group(1)) if url else _parse_colon(text)
    if not dsn.database:
        raise DSNError("no database name (colon form: host:database:user:password:options:tty)")
    _parse_options(dsn.options)  # raises on anything but -c name=value
    return dsn


def _parse_colon(text: str) -> DSN:
    fields = text.split(":")
    if len(fields) > len(COLON_FIELDS):
        raise DSNError(
            f"too many ':'-separated fields ({len(fields)}; at most 6: "
            "host:database:user:password:options:tty); use a postgresql:// URL for a port, "
            "an IPv6 address or a password containing ':'"
        )
    fields += [""] * (len(COLON_FIELDS) - len(fields))
    host, database, user, password, options, tty = fields
    return DSN(host=host, port=None, database=database, user=user, password=password,
               options=options, tty=tty, form="colon")


def _parse_url(text: str, scheme: str) -> DSN:
    if scheme.lower() not in URL_SCHEMES:
        raise DSNError(f"unsupported URL scheme '{scheme}' (expected postgresql:// or postgres://)")
    parts = urlsplit(text)
    if parts.fragment:
        raise DSNError("a DSN URL has no #fragment")
    hostport = parts.netloc.rpartition("@")[2]
    fields = {
        "host": _url_host(hostport),
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "database": unquote(parts.path[1:] if parts.path.startswith("/") else parts.path),
        "options": "",
    }
    port = _url_port(hostport)
    extra: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "port":
            port = _port(value)
        elif key in _FIELD_PARAMS:
            fields[_FIELD_PARAMS[key]] = value
        elif key in _EXTRA_PARAMS:
            extra[key] = _check_extra(key, value)
        else:
            supported = ", ".join(["port", *_FIELD_PARAMS, *_EXTRA_PARAMS])
            raise DSNError(f"unsupported URL parameter '{key}' (supported: {supported})")
    return DSN(port=port, params=MappingProxyType(extra), form="url", **fields)


def _url_host(hostport: str) -> str:
    """The host as written (not lowercased), percent-decoded: libpq allows %2F socket paths."""
    if hostport.startswith("["):
        return hostport[1:].partition("]")[0]
    return unquote(hostport.partition(":")[0])


def _url_port(hostport: str) -> int | None:
    """The port after the host (``h:5432``, ``[::1]:5432``); urlsplit's errors are too terse."""
    if "," in hostport:
        raise DSNError("several hosts in one DSN are not supported")
    tail = hostport.rpartition("]")[2] if hostport.startswith("[") else hostport
    if ":" not in tail:
        return None
    return _port(tail.rpartition(":")[2])


def _port(text: str) -> int | None:
    if text == "":
        return None
    if not text.isdigit():
        raise DSNError(f"port is not a number: '{text}'")
    port = int(text)
    if not 1 <= port <= 65535:
        raise DSNError(f"port {port} is out of range (1-65535)")
    return port


def _check_extra(key: str, value: str) -> str:
    if key == "sslmode" and value not in SSL_MODES:
        raise DSNError(f"sslmode '{value}' is not one of {', '.join(SSL_MODES)}")
    if key == "connect_timeout":
        try:
            if float(value) <= 0:
                raise ValueError
        except ValueError:
            raise DSNError(f"connect_timeout is not a positive number: '{value}'") from None
    return value


def _parse_options(options: str) -> dict[str, str]:
    """libpq ``options``: ``-c name=value`` (or ``-cname=value``, ``--name=value``) pairs."""
    try:
        words = shlex.split(options)
    except ValueError as exc:
        raise DSNError(f"options: {exc}") from None
    settings: dict[str, str] = {}
    words.reverse()
    while words:
        word = words.pop()
        if word == "-c" and words:
            setting = words.pop()
        elif word.startswith(("-c", "--")) and len(word) > 2:
            setting = word[2:]
        else:
            raise DSNError(f"options: unsupported '{word}' (only -c name=value)")
        name, sep, value = setting.partition("=")
        if not sep or not name:
            raise DSNError(f"options: '{setting}' is not name=value")
        settings[name.replace("-", "_")] = value
    return settings
