"""Every configuration key: its type, default and one line of help.

The key names are the seed's (``multi-server-deployment.rst``, Apple's
``stdconfig.py``).  This table drives the defaults, type checking, unknown-key
warnings and the README's configuration reference (``reference_rows``).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Kind(enum.Enum):
    """Value types, named as plist files name them."""

    BOOL = "boolean"
    INT = "integer"
    REAL = "real"  # an integer is taken too
    STR = "string"
    STRINGS = "array of strings"


class Marker(enum.Enum):
    REQUIRED = "(required)"  # no default: must be given
    UNSET = "(unset)"  # no default: absent unless given
    NESTED = "(see below)"  # a dict: the defaults are its keys'


REQUIRED = Marker.REQUIRED
UNSET = Marker.UNSET


@dataclass(frozen=True)
class Scalar:
    kind: Kind
    default: object
    help: str


@dataclass(frozen=True)
class Section:
    """A dict with known keys; other keys draw an 'unknown key' warning."""

    keys: Mapping[str, Spec]
    help: str = ""


@dataclass(frozen=True)
class NamedSections:
    """A dict of user-named entries of one shape (``Memcached.Pools``).

    Each entry is merged over the entry defaults; ``presets`` are the entries
    that exist by default, with their own overrides of those defaults.
    """

    item: Section
    presets: Mapping[str, Mapping[str, object]]
    help: str
    entry_label: str = "<name>"


@dataclass(frozen=True)
class Service:
    """``{type, params}``: ``params`` is checked against the section for ``type``.

    ``aliases`` map the long class names of Apple's server to our short names.
    """

    types: Mapping[str, Section]
    help: str
    default_type: str | None = None
    aliases: Mapping[str, str] = field(default_factory=dict)

    def canonical_type(self, name: str) -> str | None:
        if name in self.types:
            return name
        return self.aliases.get(name)


Spec = Scalar | Section | NamedSections | Service

BOOL, INT, REAL, STR, STRS = Kind.BOOL, Kind.INT, Kind.REAL, Kind.STR, Kind.STRINGS

MEMCACHED_POOL = Section({
    "ClientEnabled": Scalar(BOOL, True, "caldavd uses this pool as a cache."),
    "ServerEnabled": Scalar(BOOL, True,
        "caldavd starts and stops this memcached itself; false when the memcached is shared by"
        " several hosts."),
    "BindAddress": Scalar(STR, "127.0.0.1",
        "Address of the memcached (and where a ServerEnabled one listens)."),
    "Port": Scalar(INT, 11211, "TCP port of the memcached."),
    "HandleCacheTypes": Scalar(STRS, [],
        "Cache types routed to this pool; the Default pool handles ['Default'], which catches "
        "the rest."),
})

MEMCACHED = Section({
    "MaxClients": Scalar(INT, 5, "Connections per memcached pool per worker process."),
    "Options": Scalar(STRS, [],
        "Extra command-line arguments for the memcached servers caldavd starts (ServerEnabled "
        "pools), e.g. ['-m', '6000']."),
    "memcached": Scalar(STR, "memcached",
        "memcached program for ServerEnabled pools (a name on PATH or an absolute path)."),
    "Pools": NamedSections(MEMCACHED_POOL, {"Default": {"HandleCacheTypes": ["Default"]}},
                           "Named memcached pools (by default one, 'Default'); every host must "
                           "have the same pools.",
                           entry_label="<pool>"),
}, "Caches; never a source of truth: memcached being down costs speed, not correctness.")

COMPAT_DBTYPE = Scalar(STR, UNSET, "Accepted for compatibility with Apple's server; ignored.")

PROXY_SQLITE = Section({
    "dbpath": Scalar(STR, REQUIRED,
        "SQLite file for delegates (single host only); relative = under DataRoot."),
    "dbtype": COMPAT_DBTYPE,
})

PROXY_POSTGRES = Section({
    "host": Scalar(STR, REQUIRED,
        "PostgreSQL host (a value starting with / is a socket directory)."),
    "port": Scalar(INT, UNSET, "PostgreSQL port; unset = 5432."),
    "database": Scalar(STR, REQUIRED,
        "Database holding the delegate tables (created at run time when missing)."),
    "user": Scalar(STR, REQUIRED, "Database user."),
    "password": Scalar(STR, "", "Database password."),
    "dbtype": COMPAT_DBTYPE,
})

_PROXY_PREFIX = "twistedcaldav.directory.calendaruserproxy."
PROXY_DB_SERVICE = Service(
    types={"ProxySqliteDB": PROXY_SQLITE, "ProxyPostgreSQLDB": PROXY_POSTGRES},
    aliases={_PROXY_PREFIX + name: name for name in ("ProxySqliteDB", "ProxyPostgreSQLDB")},
    help="Delegation (calendar proxy) database: ProxySqliteDB (local file) or "
         "ProxyPostgreSQLDB (shared by all hosts); unset = none configured.",
)

# Shared by both directory types (one reference row names both).
AUGMENTS_FILE = Scalar(STR, "auth/augments.xml",
    "Per-record augments (optional; a missing file is empty); relative = under ConfigRoot.")
STAT_SECONDS = Scalar(INT, 15, "How often to check the files for changes, in seconds.")

XML_DIRECTORY = Section({
    "xmlFile": Scalar(STR, "auth/accounts.xml",
        "Users, groups, locations and resources; relative = under ConfigRoot."),
    "resourcesFile": Scalar(STR, "auth/resources.xml",
        "Extra locations and resources (optional; a missing file is empty); relative = under "
        "ConfigRoot."),
    "augmentsFile": AUGMENTS_FILE,
    "statSeconds": STAT_SECONDS,
})

LDAP_DIRECTORY = Section({
    "uri": Scalar(STRS, REQUIRED,
        "LDAP servers, tried in order: ldap://host[:port] or ldaps://host[:port]."),
    "useTLS": Scalar(BOOL, False, "Use StartTLS on ldap:// connections."),
    "credentials": Section({
        "dn": Scalar(STR, "", "DN to bind as for searches; '' = anonymous."),
        "password": Scalar(STR, "", "Password for that DN."),
    }, "Bind credentials for searches (users authenticate by binding as themselves)."),
    "rdnSchema": Section({
        "base": Scalar(STR, REQUIRED, "Base DN, e.g. dc=example,dc=com."),
        "users": Scalar(STR, "ou=People", "RDN of users under base."),
        "groups": Scalar(STR, "ou=Groups", "RDN of groups under base."),
        "locations": Scalar(STR, "ou=Locations", "RDN of locations under base."),
        "resources": Scalar(STR, "ou=Resources", "RDN of resources under base."),
    }, "Where each record type lives."),
    "mapping": Section({
        "guid": Scalar(STR, "entryUUID", "Attribute holding a record's stable unique id."),
        "shortName": Scalar(STR, "uid", "Attribute holding the login name."),
        "fullName": Scalar(STR, "cn", "Attribute holding the display name."),
        "emailAddresses": Scalar(STR, "mail", "Attribute holding email addresses."),
        "members": Scalar(STR, "member", "Group attribute holding member DNs."),
    }, "Record fields to LDAP attribute names."),
    "extraFilters": Section({
        "users": Scalar(STR, "",
            "LDAP filter ANDed into user searches, e.g. (objectClass=inetOrgPerson)."),
        "groups": Scalar(STR, "", "LDAP filter ANDed into group searches."),
        "locations": Scalar(STR, "", "LDAP filter ANDed into location searches."),
        "resources": Scalar(STR, "", "LDAP filter ANDed into resource searches."),
    }, "Extra filters per record type."),
    "timeouts": Section({
        "connect": Scalar(INT, 10, "Seconds to wait for a connection."),
        "search": Scalar(INT, 30, "Seconds to wait for a search or bind."),
    }, "LDAP timeouts."),
    "augmentsFile": AUGMENTS_FILE,
    "statSeconds": STAT_SECONDS,
})

DIRECTORY_SERVICE = Service(
    types={"xml": XML_DIRECTORY, "ldap": LDAP_DIRECTORY},
    default_type="xml",
    aliases={
        "twistedcaldav.directory.xmlfile.XMLDirectoryService": "xml",
        "twistedcaldav.directory.ldapdirectory.LdapDirectoryService": "ldap",
        "twext.who.xml.DirectoryService": "xml",
        "twext.who.ldap.DirectoryService": "ldap",
    },
    help="Users, groups, locations and resources: xml (local files) or ldap; every host must "
         "see the same directory.",
)

POSTGRES = Section({
    "DatabaseName": Scalar(STR, "caldav", "Database caldavd creates in its cluster."),
    "ClusterName": Scalar(STR, "cluster", "Cluster directory under DataRoot."),
    "UserName": Scalar(STR, "",
        "OS user the cluster runs as when caldavd runs as root; '' = postgres, else nobody."),
    "BinaryDirectory": Scalar(STR, "",
        "Directory with initdb/pg_ctl/postgres; '' = PATH, pg_config, /usr/lib/postgresql/*/bin."),
    "MaxConnections": Scalar(INT, 0,
        "max_connections of the cluster; 0 = MultiProcessCount x MaxDBConnectionsPerPool plus "
        "a few."),
    "SharedBuffers": Scalar(STR, "",
        "shared_buffers of the cluster, e.g. '128MB'; '' = PostgreSQL's default."),
    "Options": Scalar(STRS, [], "Extra server settings as name=value, e.g. 'work_mem=8MB'."),
    "LogFile": Scalar(STR, "postgres.log", "Cluster log; relative = under LogRoot."),
}, "The embedded cluster (DBType ''): data in DataRoot/ClusterName, socket in RunRoot/pg.")

CONFIG = Section({
    "UseDatabase": Scalar(BOOL, True, "Keep data in PostgreSQL (the only store caldavd has)."),
    "DBType": Scalar(STR, "",
        "'' = caldavd spawns and owns a local PostgreSQL on a unix socket under RunRoot; "
        "'postgres' = connect to the database DSN names."),
    "DSN": Scalar(STR, "",
        "External database (DBType 'postgres'): host:database:user:password:options:tty (empty "
        "host = unix socket in RunRoot; a host starting with / is a socket directory) or a "
        "postgresql:// URL."),
    "MaxDBConnectionsPerPool": Scalar(INT, 10,
        "Database connections per worker; the database must accept MultiProcessCount x this "
        "per host, plus a few for tools."),
    "DBPoolWaitSeconds": Scalar(INT, 5,
        "Longest a request waits for a free pooled database connection before it is answered "
        "503 with Retry-After."),
    "MultiProcessCount": Scalar(INT, 0, "Worker processes per host; 0 = one per CPU core."),
    "MaxRequests": Scalar(INT, 80, "Requests in flight per worker process; more wait."),
    "MaxConnectionsPerWorker": Scalar(INT, 1000,
        "Open client connections per worker process; at the bound a new one closes the oldest "
        "idle one, or gets 503 when every one has a request in progress."),
    "ReadHeaderTimeOut": Scalar(INT, 10,
        "Seconds a request's whole head (request line and header fields) may take to arrive "
        "once it has begun; then 408 and the connection is closed."),
    "ReadBodyTimeOut": Scalar(INT, 30,
        "Seconds a request body may take, plus one per 8 KiB received (64 kbit/s at the "
        "slowest); then 408."),
    "IdleConnectionTimeOut": Scalar(INT, 60,
        "Seconds a client connection may wait for its next request before it is closed (longer "
        "than clients keep idle connections, e.g. aiohttp's 15 s, so they close first)."),
    "ServerHostName": Scalar(STR, "",
        "Host name clients use, the same on every host behind a load balancer; '' = this host's "
        "FQDN."),
    "HTTPPort": Scalar(INT, 8008, "TCP port for HTTP; 0 = no HTTP."),
    "MaxResourceSize": Scalar(INT, 1048576,
        "Largest calendar object in bytes (CALDAV:max-resource-size, RFC 4791 §5.2.5)."),
    "MaxAttendeesPerInstance": Scalar(INT, 100,
        "Most attendees one instance may have (RFC 4791 §5.2.10)."),
    "MaxAllowedInstances": Scalar(INT, 3000,
        "Most instances a bounded recurrence may have (CALDAV:max-instances, RFC 4791 §5.2.8)."),
    "MaxInstancesPerReport": Scalar(INT, 10000,
        "Most recurrence instances one REPORT may expand (calendar-data expand, free-busy-query) "
        "or add to the index; see Security and limits."),
    "MaxFreeBusyRows": Scalar(INT, 100000,
        "Most busy periods one free-busy-query may read from the time-range index (cheaper "
        "than expansion, so an allowance of its own); see Security and limits."),
    "UserQuota": Scalar(INT, 104857600,
        "Bytes of calendar data, attachments, dead properties and plain files per user "
        "(RFC 4331 quota); 0 = unlimited."),
    "MaxDeadPropertiesPerResource": Scalar(INT, 100,
        "Most dead (client-set) properties one resource may carry; beyond, PROPPATCH answers "
        "507 with caldavd:max-dead-properties; 0 = no limit."),
    "MaxDeadPropertyBytesPerResource": Scalar(INT, 262144,
        "Most bytes of dead properties (names and values) one resource may carry; beyond, "
        "PROPPATCH answers 507 with caldavd:max-dead-properties; 0 = no limit."),
    "MaxPropertiesPerRequest": Scalar(INT, 1000,
        "Most property names one PROPFIND, PROPPATCH or REPORT body may name; beyond: 403 "
        "with caldavd:max-properties-per-request; 0 = no limit."),
    "MaxExpandPropertyElements": Scalar(INT, 100,
        "Most DAV:property elements in one expand-property REPORT (RFC 3253 §3.8); beyond: "
        "403 with caldavd:max-expand-property; 0 = no limit."),
    "MaxExpandPropertyDepth": Scalar(INT, 4,
        "Deepest nesting of DAV:property elements in one expand-property REPORT; beyond: "
        "403 with caldavd:max-expand-property; 0 = no limit."),
    "SyncTokenLifetimeDays": Scalar(INT, 14,
        "Days deletions are remembered for sync-collection; older tokens must resync."),
    "SSLPort": Scalar(INT, 0,
        "TCP port for HTTPS (needs SSLCertificate and SSLPrivateKey); 0 = disabled."),
    "SSLCertificate": Scalar(STR, "",
        "PEM certificate for SSLPort (reloaded on SIGHUP); relative = under ConfigRoot."),
    "SSLPrivateKey": Scalar(STR, "",
        "PEM private key of SSLCertificate, unencrypted; relative = under ConfigRoot."),
    "SSLAuthorityChain": Scalar(STR, "",
        "PEM intermediate certificates sent after SSLCertificate; '' = none; relative = under "
        "ConfigRoot."),
    "SSLMethod": Scalar(STR, "SSLv23_METHOD",
        "Oldest TLS version accepted: TLSv1_2_METHOD or TLSv1_3_METHOD; SSLv23_METHOD = "
        "TLS 1.2 (older versions are refused, RFC 8996)."),
    "SSLCiphers": Scalar(STR, "",
        "OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are OpenSSL's); '' = Python's "
        "default."),
    "StrictTransportSecuritySeconds": Scalar(INT, 604800,
        "max-age of the Strict-Transport-Security header on HTTPS responses (RFC 6797); "
        "0 = not sent."),
    "BehindTLSProxy": Scalar(BOOL, False,
        "TLS ends at a proxy in front, which sets X-Forwarded-Proto: caldavd builds its URLs "
        "with that scheme (without this key the header is ignored)."),
    "RedirectHTTPToHTTPS": Scalar(BOOL, False,
        "Answer HTTP requests with a redirect to https://ServerHostName:SSLPort/ (same path); "
        "/health, /stats and /metrics stay on HTTP."),
    "BindAddresses": Scalar(STRS, [], "Addresses to listen on; [] = all."),
    "ServerRoot": Scalar(STR, "/var/db/caldavd",
        "Base of the other *Root paths; relative = against the main plist's directory."),
    "DataRoot": Scalar(STR, "Data",
        "Data (the embedded cluster lives here); relative = under ServerRoot."),
    "ConfigRoot": Scalar(STR, "",
        "Directory service files and the like; '' = the main plist's directory; relative = under "
        "ServerRoot."),
    "RunRoot": Scalar(STR, "Run",
        "Sockets and pid files (keep it short: unix socket paths are limited); relative = under "
        "ServerRoot."),
    "LogRoot": Scalar(STR, "Logs", "Logs; relative = under ServerRoot."),
    "AccessLogFile": Scalar(STR, "access.log",
        "One line per request (combined log format plus response time); relative = under "
        "LogRoot; '-' = standard error."),
    "AccessLogMaxBytes": Scalar(INT, 0,
        "Rotate the access log when it reaches this size (to .1, .2, ...); 0 = only reopen "
        "on SIGHUP (logrotate)."),
    "AccessLogBackups": Scalar(INT, 7, "Rotated access logs kept by AccessLogMaxBytes."),
    "NodeName": Scalar(STR, "",
        "This host's name in the access log and statistics ('node='); '' = its host name. "
        "Unlike ServerHostName, it differs per host (set it with -o)."),
    "Stats": Section({
        "Enabled": Scalar(BOOL, True, "Serve /stats (JSON) and /metrics (Prometheus text)."),
        "AllowedAddresses": Scalar(STRS, [],
            "Client addresses or networks (e.g. 10.0.0.0/24) that may read them without "
            "credentials, besides loopback; anyone else must be in AdminPrincipals."),
    }, "Live statistics of this host's workers for the last 1, 5 and 60 minutes."),
    "Maintenance": Section({
        "Enabled": Scalar(BOOL, True,
            "Run database upkeep in the background (one host at a time, chosen through the "
            "database)."),
        "CheckSeconds": Scalar(INT, 300, "How often a host asks whether upkeep is due."),
        "AnalyzeHours": Scalar(INT, 24, "Refresh table statistics (ANALYZE) at least this often."),
        "AnalyzeChangedPercent": Scalar(INT, 10,
            "...and sooner for a table whose rows changed by this percentage since its last "
            "ANALYZE."),
        "PurgeHours": Scalar(INT, 6,
            "Purge sync tombstones older than SyncTokenLifetimeDays this often."),
        "AttachmentSweepHours": Scalar(INT, 1,
            "Remove attachment files no row refers to (left by crashes) this often."),
    }, "Database upkeep: table statistics, sync tombstones, orphaned attachments."),
    "Scheduling": Section({
        "Enabled": Scalar(BOOL, True,
            "Work the scheduling queue in this host's workers (RFC 6638 implicit scheduling: "
            "invitations and replies delivered from any host, each exactly once)."),
        "MaxAttempts": Scalar(INT, 8,
            "Tries of a queued fan-out or delivery before it is given up (the organizer's "
            "copy then says SCHEDULE-STATUS 5.x)."),
        "RetryBaseSeconds": Scalar(INT, 2,
            "Back-off after a failed try: this many seconds, doubled with each further try."),
        "WorkersPerProcess": Scalar(INT, 1,
            "Concurrent claim loops per worker process (each holds a database connection "
            "while it works a claim)."),
        "PollSeconds": Scalar(REAL, 1.0,
            "How often an idle loop looks for due work; new work wakes it at once "
            "(LISTEN caldavd_schedule, one more database connection per worker)."),
        "LedgerRetentionDays": Scalar(INT, 30,
            "Days the delivery ledger remembers a delivery (a retry within them is a "
            "no-op); older rows are removed by the database upkeep."),
    }, "The scheduling queue: fan-out and delivery of iTIP messages through PostgreSQL."),
    "AttachmentsRoot": Scalar(STR, "Attachments",
        "Managed attachments; shared storage (e.g. NFS) for several hosts; relative = under "
        "DataRoot."),
    "MaximumAttachmentSize": Scalar(INT, 10485760,
        "Largest managed attachment in bytes (CALDAV:max-attachment-size, RFC 8607); "
        "0 = no limit but UserQuota."),
    "MaximumAttachmentsPerInstance": Scalar(INT, 20,
        "Most managed attachments one instance of an event may carry "
        "(CALDAV:max-attachments-per-resource, RFC 8607); 0 = no limit."),
    "Memcached": MEMCACHED,
    "AdminPrincipals": Scalar(STRS, [],
        "Principal URLs (/principals/__uids__/<uid>/) with every privilege on every home and "
        "every delegation."),
    "EnableResponseCache": Scalar(BOOL, True,
        "Keep PROPFIND answers inside calendar homes (memcached pool for 'ResponseCache', else "
        "in-process), each valid only while the home's change token stands."),
    "ResponseCacheTimeout": Scalar(INT, 30, "Minutes a cached PROPFIND answer is kept at most."),
    "ProxyDBService": PROXY_DB_SERVICE,
    "DirectoryService": DIRECTORY_SERVICE,
    "DirectoryCaching": Section({
        "CachingSeconds": Scalar(INT, 60, "How long directory lookups are cached."),
        "NegativeCaching": Scalar(BOOL, False, "Also cache 'no such record' answers."),
    }, "Caching of directory lookups."),
    "Postgres": POSTGRES,
    "Authentication": Section({
        "Basic": Section({
            "Enabled": Scalar(BOOL, True, "Offer HTTP Basic authentication (RFC 7617)."),
        }, "HTTP Basic authentication."),
    }, "How clients authenticate."),
    "ImportConfig": Scalar(STR, "",
        "A base plist read first; this file is merged over it; relative = against this file's "
        "directory."),
    "Includes": Scalar(STRS, [],
        "Plists merged after this one, in order; '$' becomes the host's FQDN; a missing one is"
        " skipped with a warning; relative = against this file's directory."),
})


def default_tree(spec: Section = CONFIG) -> dict[str, Any]:
    """The built-in defaults as a plist-shaped tree."""
    tree: dict[str, Any] = {}
    for name, sub in spec.keys.items():
        value = default_value(sub)
        if value is not UNSET:
            tree[name] = value
    return tree


def default_value(spec: Spec) -> Any:
    if isinstance(spec, Scalar):
        if isinstance(spec.default, Marker):
            return UNSET
        return _copy(spec.default)
    if isinstance(spec, Section):
        return default_tree(spec)
    if isinstance(spec, NamedSections):
        return {name: {**default_tree(spec.item), **_copy(dict(preset))}
                for name, preset in spec.presets.items()}
    if spec.default_type is None:
        return UNSET
    return {"type": spec.default_type, "params": default_tree(spec.types[spec.default_type])}


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


class ReferenceRow(NamedTuple):
    """One line of the configuration reference."""

    path: str
    type: str
    default: object
    help: str

    @property
    def default_text(self) -> str:
        if isinstance(self.default, Marker):
            return self.default.value
        return json.dumps(self.default)


def reference_rows() -> list[ReferenceRow]:
    """(key path, type, default, help) for every key, in file order, for the README."""
    return list(_rows(CONFIG, ""))


def _rows(spec: Section, prefix: str) -> Iterator[ReferenceRow]:
    for name, sub in spec.keys.items():
        yield from _spec_rows(sub, prefix + name)


def _spec_rows(spec: Spec, path: str, note: str = "") -> Iterator[ReferenceRow]:
    if isinstance(spec, Scalar):
        yield ReferenceRow(path, spec.kind.value, spec.default, note + spec.help)
    elif isinstance(spec, Section):
        if spec.help:
            yield ReferenceRow(path, "dict", Marker.NESTED, note + spec.help)
        for name, sub in spec.keys.items():
            yield from _spec_rows(sub, f"{path}.{name}", note)
    elif isinstance(spec, NamedSections):
        yield ReferenceRow(path, "dict of dicts", Marker.NESTED, spec.help)
        yield from _rows(spec.item, f"{path}.{spec.entry_label}.")
    else:
        default = UNSET if spec.default_type is None else Marker.NESTED
        yield ReferenceRow(path, "dict", default, spec.help)
        yield ReferenceRow(f"{path}.type", Kind.STR.value,
                           spec.default_type if spec.default_type else UNSET,
                           "One of: " + ", ".join(spec.types) + ".")
        # A param that several types share (same spec) gets one row naming them all.
        owners: dict[tuple[str, int], tuple[Spec, list[str]]] = {}
        for type_name, params in spec.types.items():
            for name, sub in params.keys.items():
                owners.setdefault((name, id(sub)), (sub, []))[1].append(type_name)
        for (name, _), (sub, type_names) in owners.items():
            yield from _spec_rows(sub, f"{path}.params.{name}", f"({', '.join(type_names)}) ")
