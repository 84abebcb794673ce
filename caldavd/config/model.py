"""The frozen configuration objects, built once from a checked tree.

Attribute names are the plist key names.  Paths are absolute: relative
``ServerRoot`` against the main plist's directory; ``DataRoot``, ``ConfigRoot``,
``RunRoot`` and ``LogRoot`` against ``ServerRoot``; ``AttachmentsRoot`` and a
ProxySqliteDB ``dbpath`` against ``DataRoot``; ``Postgres.LogFile`` against
``LogRoot``; the xml directory's files against ``ConfigRoot``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from caldavd.config.dsn import DSN

# Fields that are not plist keys: derived from the keys or from how they were read.
DERIVED = {"derived": True}
XML_FILE_PARAMS = ("xmlFile", "resourcesFile", "augmentsFile")
# Config has fields named like these classes; inside its body the names mean the fields.
_ParsedDSN = DSN


@dataclass(frozen=True)
class MemcachedPool:
    ClientEnabled: bool
    ServerEnabled: bool
    BindAddress: str
    Port: int
    HandleCacheTypes: tuple[str, ...]


@dataclass(frozen=True)
class MemcachedSettings:
    MaxClients: int
    Options: tuple[str, ...]
    memcached: str
    Pools: Mapping[str, MemcachedPool]


@dataclass(frozen=True)
class ProxyDBService:
    type: Literal["ProxySqliteDB", "ProxyPostgreSQLDB"]
    params: Mapping[str, Any] = field(repr=False)  # may hold a password


@dataclass(frozen=True)
class DirectoryService:
    type: Literal["xml", "ldap"]
    params: Mapping[str, Any] = field(repr=False)  # may hold a password


@dataclass(frozen=True)
class DirectoryCachingSettings:
    CachingSeconds: int
    NegativeCaching: bool


@dataclass(frozen=True)
class PostgresSettings:
    DatabaseName: str
    ClusterName: str
    UserName: str
    BinaryDirectory: str
    MaxConnections: int
    SharedBuffers: str
    Options: tuple[str, ...]
    LogFile: Path


@dataclass(frozen=True)
class BasicAuthSettings:
    Enabled: bool


@dataclass(frozen=True)
class AuthenticationSettings:
    Basic: BasicAuthSettings


@dataclass(frozen=True)
class StatsSettings:
    Enabled: bool
    AllowedAddresses: tuple[str, ...]


@dataclass(frozen=True)
class MaintenanceSettings:
    Enabled: bool
    CheckSeconds: int
    AnalyzeHours: int
    AnalyzeChangedPercent: int
    PurgeHours: int
    AttachmentSweepHours: int


@dataclass(frozen=True)
class SchedulingSettings:
    Enabled: bool
    MaxAttempts: int
    RetryBaseSeconds: int
    WorkersPerProcess: int
    PollSeconds: float
    LedgerRetentionDays: int


@dataclass(frozen=True)
class Config:
    UseDatabase: bool
    DBType: str
    DSN: str = field(repr=False)  # may hold a password; see ``dsn.masked()``
    MaxDBConnectionsPerPool: int
    DBPoolWaitSeconds: int
    MultiProcessCount: int
    MaxRequests: int
    MaxConnectionsPerWorker: int
    ReadHeaderTimeOut: int  # seconds
    ReadBodyTimeOut: int  # seconds
    IdleConnectionTimeOut: int  # seconds
    MaxResourceSize: int
    MaxAttendeesPerInstance: int
    MaxAllowedInstances: int
    MaxInstancesPerReport: int
    MaxFreeBusyRows: int
    SyncTokenLifetimeDays: int
    UserQuota: int
    MaxDeadPropertiesPerResource: int
    MaxDeadPropertyBytesPerResource: int
    MaxPropertiesPerRequest: int
    MaxExpandPropertyElements: int
    MaxExpandPropertyDepth: int
    ServerHostName: str
    HTTPPort: int
    SSLPort: int
    SSLCertificate: Path | None  # None: not set
    SSLPrivateKey: Path | None
    SSLAuthorityChain: Path | None
    SSLMethod: str
    SSLCiphers: str
    RedirectHTTPToHTTPS: bool
    BehindTLSProxy: bool
    StrictTransportSecuritySeconds: int
    BindAddresses: tuple[str, ...]
    ServerRoot: Path
    DataRoot: Path
    ConfigRoot: Path
    RunRoot: Path
    LogRoot: Path
    AccessLogFile: Path | None  # None: standard error
    AccessLogMaxBytes: int
    AccessLogBackups: int
    NodeName: str  # resolved: never empty
    Stats: StatsSettings
    Maintenance: MaintenanceSettings
    Scheduling: SchedulingSettings
    AttachmentsRoot: Path
    MaximumAttachmentSize: int
    MaximumAttachmentsPerInstance: int
    Memcached: MemcachedSettings
    AdminPrincipals: tuple[str, ...]
    EnableResponseCache: bool
    ResponseCacheTimeout: int  # minutes
    ProxyDBService: ProxyDBService | None
    DirectoryService: DirectoryService
    DirectoryCaching: DirectoryCachingSettings
    Postgres: PostgresSettings
    Authentication: AuthenticationSettings
    ImportConfig: str
    Includes: tuple[str, ...]
    dsn: _ParsedDSN | None = field(metadata=DERIVED)
    config_file: Path | None = field(default=None, metadata=DERIVED)
    # Every file read, in merge order (ImportConfig bases, the main file, includes).
    sources: tuple[Path, ...] = field(default=(), metadata=DERIVED)


def worker_count(config: Config) -> int:
    """``MultiProcessCount`` resolved: 0 means one worker per CPU core."""
    return config.MultiProcessCount or os.cpu_count() or 1


def under(base: Path, value: str) -> Path:
    """``value`` as an absolute, normalised path; relative ones are taken under ``base``.

    Symlinks are kept (``normpath``, not ``resolve``): a shared mount may be one.
    """
    return Path(os.path.normpath(base / Path(value).expanduser()))


def freeze(value: Any) -> Any:
    """Lists become tuples and dicts read-only mappings, all the way down."""
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    return value


def build(tree: Mapping[str, Any], *, main_dir: Path, dsn: DSN | None,
          config_file: Path | None = None, sources: tuple[Path, ...] = ()) -> Config:
    """A Config from a tree that passed validation."""
    server_root = under(main_dir.absolute(), tree["ServerRoot"])
    data_root = under(server_root, tree["DataRoot"])
    config_root = (under(server_root, tree["ConfigRoot"]) if tree["ConfigRoot"]
                   else Path(os.path.normpath(main_dir.absolute())))
    log_root = under(server_root, tree["LogRoot"])
    return Config(
        UseDatabase=tree["UseDatabase"],
        DBType=tree["DBType"],
        DSN=tree["DSN"],
        MaxDBConnectionsPerPool=tree["MaxDBConnectionsPerPool"],
        DBPoolWaitSeconds=tree["DBPoolWaitSeconds"],
        MultiProcessCount=tree["MultiProcessCount"],
        MaxRequests=tree["MaxRequests"],
        MaxConnectionsPerWorker=tree["MaxConnectionsPerWorker"],
        ReadHeaderTimeOut=tree["ReadHeaderTimeOut"],
        ReadBodyTimeOut=tree["ReadBodyTimeOut"],
        IdleConnectionTimeOut=tree["IdleConnectionTimeOut"],
        MaxResourceSize=tree["MaxResourceSize"],
        MaxAttendeesPerInstance=tree["MaxAttendeesPerInstance"],
        MaxAllowedInstances=tree["MaxAllowedInstances"],
        MaxInstancesPerReport=tree["MaxInstancesPerReport"],
        MaxFreeBusyRows=tree["MaxFreeBusyRows"],
        SyncTokenLifetimeDays=tree["SyncTokenLifetimeDays"],
        UserQuota=tree["UserQuota"],
        MaxDeadPropertiesPerResource=tree["MaxDeadPropertiesPerResource"],
        MaxDeadPropertyBytesPerResource=tree["MaxDeadPropertyBytesPerResource"],
        MaxPropertiesPerRequest=tree["MaxPropertiesPerRequest"],
        MaxExpandPropertyElements=tree["MaxExpandPropertyElements"],
        MaxExpandPropertyDepth=tree["MaxExpandPropertyDepth"],
        ServerHostName=tree["ServerHostName"],
        HTTPPort=tree["HTTPPort"],
        SSLPort=tree["SSLPort"],
        **_tls(tree, config_root),
        BindAddresses=tuple(tree["BindAddresses"]),
        ServerRoot=server_root,
        DataRoot=data_root,
        ConfigRoot=config_root,
        RunRoot=under(server_root, tree["RunRoot"]),
        LogRoot=log_root,
        AccessLogFile=None if tree["AccessLogFile"] == "-" else under(log_root,
                                                                      tree["AccessLogFile"]),
        AccessLogMaxBytes=tree["AccessLogMaxBytes"],
        AccessLogBackups=tree["AccessLogBackups"],
        NodeName=tree["NodeName"] or socket.gethostname(),
        Stats=StatsSettings(Enabled=tree["Stats"]["Enabled"],
                            AllowedAddresses=tuple(tree["Stats"]["AllowedAddresses"])),
        Maintenance=MaintenanceSettings(**tree["Maintenance"]),
        Scheduling=SchedulingSettings(**tree["Scheduling"]),
        AttachmentsRoot=under(data_root, tree["AttachmentsRoot"]),
        MaximumAttachmentSize=tree["MaximumAttachmentSize"],
        MaximumAttachmentsPerInstance=tree["MaximumAttachmentsPerInstance"],
        Memcached=_memcached(tree["Memcached"]),
        AdminPrincipals=tuple(tree["AdminPrincipals"]),
        EnableResponseCache=tree["EnableResponseCache"],
        ResponseCacheTimeout=tree["ResponseCacheTimeout"],
        ProxyDBService=_proxy_db(tree.get("ProxyDBService"), data_root),
        DirectoryService=_directory(tree["DirectoryService"], config_root),
        DirectoryCaching=DirectoryCachingSettings(**tree["DirectoryCaching"]),
        Postgres=_postgres(tree["Postgres"], log_root),
        Authentication=AuthenticationSettings(
            Basic=BasicAuthSettings(**tree["Authentication"]["Basic"])),
        ImportConfig=tree["ImportConfig"],
        Includes=tuple(tree["Includes"]),
        dsn=dsn,
        config_file=config_file,
        sources=sources,
    )


def _memcached(tree: Mapping[str, Any]) -> MemcachedSettings:
    pools = {name: MemcachedPool(
        ClientEnabled=pool["ClientEnabled"], ServerEnabled=pool["ServerEnabled"],
        BindAddress=pool["BindAddress"], Port=pool["Port"],
        HandleCacheTypes=tuple(pool["HandleCacheTypes"]),
    ) for name, pool in tree["Pools"].items()}
    return MemcachedSettings(MaxClients=tree["MaxClients"], Options=tuple(tree["Options"]),
                             memcached=tree["memcached"], Pools=MappingProxyType(pools))


def _proxy_db(tree: Mapping[str, Any] | None, data_root: Path) -> ProxyDBService | None:
    if tree is None:
        return None
    params = dict(tree["params"])
    if tree["type"] == "ProxySqliteDB":
        params["dbpath"] = under(data_root, params["dbpath"])
    return ProxyDBService(type=tree["type"], params=freeze(params))


def _tls(tree: Mapping[str, Any], config_root: Path) -> dict[str, Any]:
    files = {key: under(config_root, tree[key]) if tree[key] else None
             for key in ("SSLCertificate", "SSLPrivateKey", "SSLAuthorityChain")}
    return {**files, "SSLMethod": tree["SSLMethod"], "SSLCiphers": tree["SSLCiphers"],
            "RedirectHTTPToHTTPS": tree["RedirectHTTPToHTTPS"],
            "BehindTLSProxy": tree["BehindTLSProxy"],
            "StrictTransportSecuritySeconds": tree["StrictTransportSecuritySeconds"]}


def _directory(tree: Mapping[str, Any], config_root: Path) -> DirectoryService:
    params = dict(tree["params"])
    if tree["type"] == "xml":
        for key in XML_FILE_PARAMS:
            params[key] = under(config_root, params[key])
    elif params.get("augmentsFile"):
        params["augmentsFile"] = under(config_root, params["augmentsFile"])
    return DirectoryService(type=tree["type"], params=freeze(params))


def _postgres(tree: Mapping[str, Any], log_root: Path) -> PostgresSettings:
    values = dict(tree)
    values["Options"] = tuple(values["Options"])
    values["LogFile"] = under(log_root, values["LogFile"])
    return PostgresSettings(**values)
