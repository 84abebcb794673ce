"""Checking a merged configuration tree: types first, then meaning.

Every problem is collected, none stops the check.  The result is a tree
normalised against the schema: defaults filled in, unknown keys dropped,
service types in their short form, wrongly typed values replaced by their
defaults (so later checks and the builder see well-typed values; the problem
is already on record).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from caldavd.config.dsn import DSN, DSNError, parse_dsn
from caldavd.config.plist import type_name
from caldavd.config.schema import (
    CONFIG,
    REQUIRED,
    UNSET,
    Kind,
    Marker,
    NamedSections,
    Scalar,
    Section,
    Service,
    Spec,
    default_value,
)

DB_TYPES = ("", "postgres")
# SSLMethod (CCS's names, with or without _METHOD) -> the oldest TLS version accepted.
SSL_METHODS = {"SSLv23": "TLSv1_2", "TLS": "TLSv1_2", "TLSv1_2": "TLSv1_2",
               "TLSv1_3": "TLSv1_3"}
_METHOD_NAMES = ("SSLv23_METHOD", "TLSv1_2_METHOD", "TLSv1_3_METHOD")
_RETIRED_METHODS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1_1")
LDAP_SCHEMES = ("ldap://", "ldaps://")
_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$")


def is_secret(key: str) -> bool:
    """Keys whose values are never shown (masked output, error lines)."""
    lowered = key.lower()
    return "password" in lowered or "passwd" in lowered or key == "DSN"


@dataclass
class Report:
    """Problems and warnings, each a line naming a key path."""

    origins: Mapping[str, str] = field(default_factory=dict)
    show_origin: bool = False
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    bad: set[str] = field(default_factory=set)

    def problem(self, path: str, message: str) -> None:
        self.bad.add(path)
        self.problems.append(f"{path}: {message}{self._where(path)}")

    def warning(self, path: str, message: str) -> None:
        self.warnings.append(f"{path}: {message}{self._where(path)}")

    def ok(self, *paths: str) -> bool:
        """None of ``paths`` (nor anything above them) already has a problem."""
        return not any(_ancestors(p) & self.bad for p in paths)

    def _where(self, path: str) -> str:
        if not self.show_origin:
            return ""
        for candidate in sorted(_ancestors(path), key=len, reverse=True):
            if candidate in self.origins:
                return f" (in {self.origins[candidate]})"
        return ""


def _ancestors(path: str) -> set[str]:
    parts = path.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def validate(tree: Mapping[str, Any], report: Report) -> dict[str, Any]:
    """The normalised tree; problems and warnings go to ``report``."""
    normal = check_section(CONFIG, tree, "", report)
    check_meaning(normal, report)
    return normal


# -- types ----------------------------------------------------------------


def check_section(spec: Section, data: Mapping[str, Any], prefix: str,
                  report: Report) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in data:
        if key not in spec.keys:
            report.warning(_join(prefix, key), "unknown key (ignored)")
    for name, sub in spec.keys.items():
        path = _join(prefix, name)
        value = check_value(sub, data[name], path, report) if name in data else _missing(
            sub, path, report)
        if value is not UNSET:
            out[name] = value
    return out


def check_value(spec: Spec, value: Any, path: str, report: Report) -> Any:
    if isinstance(spec, Scalar):
        return _check_scalar(spec, value, path, report)
    if not isinstance(value, dict):
        report.problem(path, f"expected dict, got {type_name(value)}")
        return default_value(spec)
    if isinstance(spec, Section):
        return check_section(spec, value, path, report)
    if isinstance(spec, NamedSections):
        return _check_named(spec, value, path, report)
    return _check_service(spec, value, path, report)


def _missing(spec: Spec, path: str, report: Report) -> Any:
    if isinstance(spec, Scalar) and spec.default is REQUIRED:
        report.problem(path, "missing (required)")
    if isinstance(spec, Section):
        return check_section(spec, {}, path, report)  # it may have required keys
    return default_value(spec)


def _check_scalar(spec: Scalar, value: Any, path: str, report: Report) -> Any:
    fallback = UNSET if isinstance(spec.default, Marker) else spec.default
    if spec.kind is Kind.STRINGS:
        return _check_strings(value, path, report, fallback)
    if spec.kind is Kind.REAL and isinstance(value, int | float) and not isinstance(value,
                                                                                 bool):
        return float(value)
    expected = {Kind.BOOL: bool, Kind.INT: int, Kind.STR: str, Kind.REAL: float}[spec.kind]
    if isinstance(value, expected) and not (expected is int and isinstance(value, bool)):
        return value
    report.problem(path, f"expected {spec.kind.value}, got {_shown(value, path)}")
    return fallback


def _check_strings(value: Any, path: str, report: Report, fallback: Any) -> Any:
    if not isinstance(value, list | tuple):
        report.problem(path, f"expected array of strings, got {_shown(value, path)}")
        return fallback
    good = True
    for index, item in enumerate(value):
        if not isinstance(item, str):
            report.problem(f"{path}[{index}]", f"expected string, got {_shown(item, path)}")
            good = False
    return list(value) if good else fallback


def _shown(value: Any, path: str) -> str:
    """A value's type, and the value itself when short and not a secret."""
    name = type_name(value)
    if is_secret(path.rpartition(".")[2]) or not isinstance(value, str | int | float):
        return name
    text = repr(value)
    return f"{name} {text}" if len(text) <= 40 else name


def _check_named(spec: NamedSections, value: Mapping[str, Any], path: str,
                 report: Report) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, entry in value.items():
        entry_path = f"{path}.{name}"
        if not isinstance(entry, dict):
            report.problem(entry_path, f"expected dict, got {type_name(entry)}")
            continue
        preset = spec.presets.get(name, {})
        out[name] = check_section(spec.item, {**preset, **entry}, entry_path, report)
    return out


def _check_service(spec: Service, value: Mapping[str, Any], path: str,
                   report: Report) -> Any:
    for key in value:
        if key not in ("type", "params"):
            report.warning(f"{path}.{key}", "unknown key (ignored)")
    kind = _service_type(spec, value.get("type", spec.default_type), path, report)
    if kind is None:
        return default_value(spec)
    params = value.get("params", {})
    if not isinstance(params, dict):
        report.problem(f"{path}.params", f"expected dict, got {type_name(params)}")
        params = {}
    return {"type": kind, "params": check_section(spec.types[kind], params, f"{path}.params",
                                                  report)}


def _service_type(spec: Service, kind: Any, path: str, report: Report) -> str | None:
    choices = ", ".join(repr(t) for t in spec.types)
    if kind is None:
        report.problem(f"{path}.type", f"missing (one of {choices})")
        return None
    if not isinstance(kind, str):
        report.problem(f"{path}.type", f"expected string, got {type_name(kind)}")
        return None
    canonical = spec.canonical_type(kind)
    if canonical is None:
        report.problem(f"{path}.type", f"unknown value {kind!r} (expected one of {choices})")
    return canonical


# -- meaning --------------------------------------------------------------


def check_meaning(tree: Mapping[str, Any], report: Report) -> None:
    _check_database(tree, report)
    _check_counts(tree, report)
    _check_admins(tree, report)
    _check_network(tree, report)
    _check_stats(tree["Stats"], report)
    _check_memcached(tree["Memcached"], report)
    if "ProxyDBService" in tree:
        _check_proxy_db(tree["ProxyDBService"], report)
    _check_directory(tree["DirectoryService"], report)
    _check_postgres(tree["Postgres"], report)


def dsn_of(tree: Mapping[str, Any]) -> DSN | None:
    """The parsed DSN of a tree that passed validation (None when not used)."""
    if tree["DBType"] != "postgres" or not tree["DSN"]:
        return None
    return parse_dsn(tree["DSN"])


def _check_database(tree: Mapping[str, Any], report: Report) -> None:
    if report.ok("UseDatabase") and tree["UseDatabase"] is not True:
        report.problem("UseDatabase", "false is not supported (caldavd keeps everything in "
                                      "PostgreSQL)")
    db_type, dsn = tree["DBType"], tree["DSN"]
    if report.ok("DBType") and db_type not in DB_TYPES:
        report.problem("DBType", f"unknown value {db_type!r} (expected '' or 'postgres')")
    if not report.ok("DSN"):
        return
    if dsn:
        try:
            parse_dsn(dsn)
        except DSNError as exc:
            report.problem("DSN", f"malformed: {exc}")
            return
        if db_type == "" and report.ok("DBType"):
            report.warning("DSN", "ignored: DBType is '' (caldavd runs its own database)")
    elif db_type == "postgres":
        report.problem("DSN", "empty, but DBType is 'postgres' (give "
                              "host:database:user:password:: or a postgresql:// URL)")


def _check_counts(tree: Mapping[str, Any], report: Report) -> None:
    _at_least(tree, "MaxDBConnectionsPerPool", 1, report)
    _at_least(tree, "MultiProcessCount", 0, report)
    _at_least(tree, "MaxRequests", 1, report)
    for key in ("MaxConnectionsPerWorker", "ReadHeaderTimeOut", "ReadBodyTimeOut",
                "IdleConnectionTimeOut"):
        _at_least(tree, key, 1, report)
    for key in ("MaxResourceSize", "MaxAttendeesPerInstance", "MaxAllowedInstances",
                "MaxInstancesPerReport", "MaxFreeBusyRows", "DBPoolWaitSeconds",
                "SyncTokenLifetimeDays"):
        _at_least(tree, key, 1, report)
    for key in ("UserQuota", "MaximumAttachmentSize", "MaximumAttachmentsPerInstance",
                "MaxDeadPropertiesPerResource", "MaxDeadPropertyBytesPerResource",
                "MaxPropertiesPerRequest", "MaxExpandPropertyElements",
                "MaxExpandPropertyDepth"):
        _at_least(tree, key, 0, report)
    _at_least(tree, "ResponseCacheTimeout", 0, report)
    _at_least(tree, "AccessLogMaxBytes", 0, report)
    _at_least(tree, "AccessLogBackups", 1, report)
    for key in ("CheckSeconds", "AnalyzeHours", "AnalyzeChangedPercent", "PurgeHours",
                "AttachmentSweepHours"):
        _at_least(tree["Maintenance"], key, 1, report, "Maintenance")
    _at_least(tree["DirectoryCaching"], "CachingSeconds", 0, report, "DirectoryCaching")
    for key in ("MaxAttempts", "RetryBaseSeconds", "WorkersPerProcess", "LedgerRetentionDays"):
        _at_least(tree["Scheduling"], key, 1, report, "Scheduling")
    _more_than(tree["Scheduling"], "PollSeconds", 0, report, "Scheduling")


def _check_admins(tree: Mapping[str, Any], report: Report) -> None:
    """Principal URLs, as Apple's AdminPrincipals are: a bare name would match nobody."""
    if not report.ok("AdminPrincipals"):
        return
    for i, value in enumerate(tree["AdminPrincipals"]):
        if not (value.startswith("/principals/") and value.endswith("/")):
            report.problem(f"AdminPrincipals[{i}]",
                           f"{value!r} is not a principal URL (e.g. "
                           "/principals/__uids__/<uid>/ or /principals/users/<name>/)")


def _at_least(tree: Mapping[str, Any], key: str, minimum: int, report: Report,
              prefix: str = "") -> None:
    path = _join(prefix, key)
    if key in tree and report.ok(path) and tree[key] < minimum:
        report.problem(path, f"must be at least {minimum}, got {tree[key]}")


def _more_than(tree: Mapping[str, Any], key: str, bound: float, report: Report,
               prefix: str = "") -> None:
    path = _join(prefix, key)
    if key in tree and report.ok(path) and tree[key] <= bound:
        report.problem(path, f"must be more than {bound}, got {tree[key]}")


def _port(tree: Mapping[str, Any], key: str, report: Report, prefix: str = "",
          allow_zero: bool = False) -> None:
    path = _join(prefix, key)
    if key not in tree or not report.ok(path):
        return
    low = 0 if allow_zero else 1
    if not low <= tree[key] <= 65535:
        report.problem(path, f"port {tree[key]} is out of range ({low}-65535)")


def _check_network(tree: Mapping[str, Any], report: Report) -> None:
    _port(tree, "HTTPPort", report, allow_zero=True)
    _port(tree, "SSLPort", report, allow_zero=True)
    http, ssl = tree["HTTPPort"], tree["SSLPort"]
    if report.ok("HTTPPort", "SSLPort"):
        if http == 0 and ssl == 0:
            report.problem("HTTPPort", "HTTPPort and SSLPort are both 0: nothing to listen on")
        elif http == ssl:
            report.problem("SSLPort", f"same port as HTTPPort ({http})")
    for index, address in enumerate(tree["BindAddresses"]):
        if not _is_address(address):
            report.problem(f"BindAddresses[{index}]",
                           f"{address!r} is not an IP address or host name")
    _check_tls(tree, report)


def tls_minimum(method: str) -> str | None:
    """``SSLMethod`` as the oldest TLS version accepted (an ``ssl.TLSVersion`` name);
    None for a name that is not accepted."""
    return SSL_METHODS.get(method.removesuffix("_METHOD"))


def _check_tls(tree: Mapping[str, Any], report: Report) -> None:
    _at_least(tree, "StrictTransportSecuritySeconds", 0, report)
    method = tree["SSLMethod"]
    if report.ok("SSLMethod") and tls_minimum(method) is None:
        why = ("is no longer offered (RFC 8996)" if method.removesuffix("_METHOD") in
               _RETIRED_METHODS else "is not a method caldavd knows")
        report.problem("SSLMethod", f"{method!r} {why}; use one of {', '.join(_METHOD_NAMES)}")
    if not tree["SSLPort"] or not report.ok("SSLPort"):
        if tree["RedirectHTTPToHTTPS"] and report.ok("RedirectHTTPToHTTPS"):
            report.problem("RedirectHTTPToHTTPS", "needs SSLPort: there is no HTTPS to redirect to")
        return
    for key in ("SSLCertificate", "SSLPrivateKey"):
        if not tree[key] and report.ok(key):
            report.problem(key, f"must be set when SSLPort is ({tree['SSLPort']})")


def _check_stats(stats: Mapping[str, Any], report: Report) -> None:
    if not report.ok("Stats.AllowedAddresses"):
        return
    for index, network in enumerate(stats["AllowedAddresses"]):
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            report.problem(f"Stats.AllowedAddresses[{index}]",
                           f"{network!r} is not an IP address or network (e.g. 10.0.0.0/24)")


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return bool(_HOSTNAME.match(text))
    return True


def _check_memcached(memcached: Mapping[str, Any], report: Report) -> None:
    _at_least(memcached, "MaxClients", 1, report, "Memcached")
    handlers: dict[str, str] = {}
    servers: dict[tuple[str, int], str] = {}
    for name, pool in memcached["Pools"].items():
        prefix = f"Memcached.Pools.{name}"
        _port(pool, "Port", report, prefix)
        if not pool["BindAddress"] and report.ok(f"{prefix}.BindAddress"):
            report.problem(f"{prefix}.BindAddress", "must not be empty")
        if pool["ClientEnabled"]:
            for cache_type in pool["HandleCacheTypes"]:
                if cache_type in handlers:
                    report.problem(f"{prefix}.HandleCacheTypes",
                                   f"cache type {cache_type!r} is also handled by pool "
                                   f"{handlers[cache_type]!r}")
                handlers.setdefault(cache_type, name)
        if pool["ServerEnabled"] and report.ok(f"{prefix}.Port", f"{prefix}.BindAddress"):
            where = (pool["BindAddress"], pool["Port"])
            if where in servers:
                report.problem(f"{prefix}.Port", f"pool {servers[where]!r} already starts a "
                                                 f"memcached on {where[0]}:{where[1]}")
            servers.setdefault(where, name)


def _check_proxy_db(service: Mapping[str, Any], report: Report) -> None:
    params, prefix = service["params"], "ProxyDBService.params"
    required = ("dbpath",) if service["type"] == "ProxySqliteDB" else ("host", "database", "user")
    for key in required:
        _not_empty(params, key, prefix, report)
    _port(params, "port", report, prefix)


def _not_empty(tree: Mapping[str, Any], key: str, prefix: str, report: Report) -> None:
    path = _join(prefix, key)
    if key in tree and report.ok(path) and not tree[key]:
        report.problem(path, "must not be empty")


def _check_directory(service: Mapping[str, Any], report: Report) -> None:
    params, prefix = service["params"], "DirectoryService.params"
    if service["type"] == "xml":
        _not_empty(params, "xmlFile", prefix, report)
        _at_least(params, "statSeconds", 0, report, prefix)
        return
    _not_empty(params, "uri", prefix, report)
    for index, uri in enumerate(params.get("uri", [])):
        if not uri.lower().startswith(LDAP_SCHEMES):
            report.problem(f"{prefix}.uri[{index}]",
                           f"{uri!r} is not an ldap:// or ldaps:// URI")
    _not_empty(params["rdnSchema"], "base", f"{prefix}.rdnSchema", report)
    for key in ("connect", "search"):
        _at_least(params["timeouts"], key, 1, report, f"{prefix}.timeouts")
    credentials = params["credentials"]
    if credentials["password"] and not credentials["dn"]:
        report.problem(f"{prefix}.credentials.dn", "empty, but a password is given")


def _check_postgres(postgres: Mapping[str, Any], report: Report) -> None:
    prefix = "Postgres"
    for key in ("DatabaseName", "ClusterName"):
        _not_empty(postgres, key, prefix, report)
    if "/" in postgres["ClusterName"]:
        report.problem("Postgres.ClusterName", "must be a directory name, not a path")
    _at_least(postgres, "MaxConnections", 0, report, prefix)
    for index, option in enumerate(postgres["Options"]):
        name, sep, _ = option.partition("=")
        if not sep or not name.strip():
            report.problem(f"Postgres.Options[{index}]", f"{option!r} is not name=value")

