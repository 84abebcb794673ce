"""Validation: every problem is reported, each naming its key path and why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from caldavd.config import ConfigInvalid, build_config, load_config
from tests.unit.config.conftest import WritePlist

BASE = Path("/etc/caldavd")
LDAP_PARAMS: dict[str, Any] = {"uri": ["ldap://ldap.example.com"],
                               "rdnSchema": {"base": "dc=example,dc=com"}}
LDAP: dict[str, Any] = {"type": "ldap", "params": LDAP_PARAMS}
PROXY_PG_PARAMS: dict[str, Any] = {"host": "db", "database": "proxies", "user": "caldav"}
PROXY_PG: dict[str, Any] = {"type": "ProxyPostgreSQLDB", "params": PROXY_PG_PARAMS}


def problems_of(overrides: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigInvalid) as info:
        build_config(overrides, base_dir=BASE)
    return info.value.problems


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"HTTPPort": "8008"}, "HTTPPort: expected integer, got string '8008'"),
        ({"HTTPPort": True}, "HTTPPort: expected integer, got boolean True"),
        ({"HTTPPort": 80.5}, "HTTPPort: expected integer, got real 80.5"),
        ({"UseDatabase": 1}, "UseDatabase: expected boolean, got integer 1"),
        ({"UseDatabase": "yes"}, "UseDatabase: expected boolean, got string 'yes'"),
        ({"DBType": 0}, "DBType: expected string, got integer 0"),
        ({"BindAddresses": "127.0.0.1"},
         "BindAddresses: expected array of strings, got string '127.0.0.1'"),
        ({"BindAddresses": ["127.0.0.1", 7]}, "BindAddresses[1]: expected string, got integer 7"),
        ({"Memcached": "off"}, "Memcached: expected dict, got string"),
        ({"Memcached": {"MaxClients": "5"}},
         "Memcached.MaxClients: expected integer, got string '5'"),
        ({"Memcached": {"Pools": {"Default": {"Port": "11211"}}}},
         "Memcached.Pools.Default.Port: expected integer, got string '11211'"),
        ({"Memcached": {"Pools": {"Extra": []}}},
         "Memcached.Pools.Extra: expected dict, got array"),
        ({"Memcached": {"Pools": {"Default": {"ClientEnabled": "false"}}}},
         "Memcached.Pools.Default.ClientEnabled: expected boolean, got string 'false'"),
        ({"Postgres": {"MaxConnections": "100"}},
         "Postgres.MaxConnections: expected integer, got string '100'"),
        ({"DirectoryService": {"type": "xml", "params": {"statSeconds": "15"}}},
         "DirectoryService.params.statSeconds: expected integer, got string '15'"),
        ({"DirectoryService": {"type": "ldap", "params": {**LDAP_PARAMS, "useTLS": "yes"}}},
         "DirectoryService.params.useTLS: expected boolean, got string 'yes'"),
        ({"DirectoryService": {"type": "ldap", "params": {**LDAP_PARAMS,
                                                          "uri": "ldap://h"}}},
         "DirectoryService.params.uri: expected array of strings, got string 'ldap://h'"),
        ({"DirectoryService": {"type": "ldap", "params": {**LDAP_PARAMS,
                                                          "credentials": "x"}}},
         "DirectoryService.params.credentials: expected dict, got string"),
        ({"DirectoryService": {"type": "xml", "params": []}},
         "DirectoryService.params: expected dict, got array"),
        ({"Authentication": {"Basic": {"Enabled": "true"}}},
         "Authentication.Basic.Enabled: expected boolean, got string 'true'"),
        ({"DirectoryCaching": {"CachingSeconds": "60"}},
         "DirectoryCaching.CachingSeconds: expected integer, got string '60'"),
    ],
)
def test_wrong_types_name_key_path_expected_and_got(overrides: dict[str, Any],
                                                    problem: str) -> None:
    assert problems_of(overrides) == [problem]


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"DBType": "mysql"}, "DBType: unknown value 'mysql' (expected '' or 'postgres')"),
        ({"DBType": "postgres"}, "DSN: empty, but DBType is 'postgres'"),
        ({"DBType": "postgres", "DSN": "a:b:c:d:e:f:g"},
         "DSN: malformed: too many ':'-separated fields (7; at most 6"),
        ({"DBType": "postgres", "DSN": "mysql://h/db"},
         "DSN: malformed: unsupported URL scheme 'mysql'"),
        ({"DBType": "postgres", "DSN": "postgresql://h:port/db"},
         "DSN: malformed: port is not a number: 'port'"),
        ({"DBType": "postgres", "DSN": "db.example.com"}, "DSN: malformed: no database name"),
        ({"UseDatabase": False}, "UseDatabase: false is not supported"),
        ({"MaxDBConnectionsPerPool": 0}, "MaxDBConnectionsPerPool: must be at least 1, got 0"),
        ({"DBPoolWaitSeconds": 0}, "DBPoolWaitSeconds: must be at least 1, got 0"),
        ({"MaxInstancesPerReport": 0}, "MaxInstancesPerReport: must be at least 1, got 0"),
        ({"MaxFreeBusyRows": 0}, "MaxFreeBusyRows: must be at least 1, got 0"),
        ({"MultiProcessCount": -1}, "MultiProcessCount: must be at least 0, got -1"),
        ({"MaxRequests": 0}, "MaxRequests: must be at least 1, got 0"),
        ({"HTTPPort": 70000}, "HTTPPort: port 70000 is out of range (0-65535)"),
        ({"HTTPPort": -1}, "HTTPPort: port -1 is out of range (0-65535)"),
        ({"SSLPort": 65536}, "SSLPort: port 65536 is out of range (0-65535)"),
        ({"HTTPPort": 0}, "HTTPPort: HTTPPort and SSLPort are both 0: nothing to listen on"),
        ({"SSLPort": 8008}, "SSLPort: same port as HTTPPort (8008)"),
        ({"SSLPort": 8443, "SSLPrivateKey": "k.pem"},
         "SSLCertificate: must be set when SSLPort is (8443)"),
        ({"SSLPort": 8443, "SSLCertificate": "c.pem"},
         "SSLPrivateKey: must be set when SSLPort is (8443)"),
        ({"SSLMethod": "TLSv1_METHOD"}, "SSLMethod: 'TLSv1_METHOD' is no longer offered "
         "(RFC 8996); use one of SSLv23_METHOD, TLSv1_2_METHOD, TLSv1_3_METHOD"),
        ({"SSLMethod": "TLSv9"}, "SSLMethod: 'TLSv9' is not a method caldavd knows"),
        ({"StrictTransportSecuritySeconds": -1},
         "StrictTransportSecuritySeconds: must be at least 0, got -1"),
        ({"RedirectHTTPToHTTPS": True},
         "RedirectHTTPToHTTPS: needs SSLPort: there is no HTTPS to redirect to"),
        ({"BindAddresses": ["not an address"]},
         "BindAddresses[0]: 'not an address' is not an IP address or host name"),
        ({"Memcached": {"MaxClients": 0}}, "Memcached.MaxClients: must be at least 1, got 0"),
        ({"AccessLogMaxBytes": -1}, "AccessLogMaxBytes: must be at least 0, got -1"),
        ({"AccessLogBackups": 0}, "AccessLogBackups: must be at least 1, got 0"),
        ({"MaxDeadPropertiesPerResource": -1},
         "MaxDeadPropertiesPerResource: must be at least 0, got -1"),
        ({"MaxDeadPropertyBytesPerResource": -1},
         "MaxDeadPropertyBytesPerResource: must be at least 0, got -1"),
        ({"MaxPropertiesPerRequest": -1}, "MaxPropertiesPerRequest: must be at least 0, got -1"),
        ({"MaxExpandPropertyElements": -5},
         "MaxExpandPropertyElements: must be at least 0, got -5"),
        ({"MaxExpandPropertyDepth": -1}, "MaxExpandPropertyDepth: must be at least 0, got -1"),
        ({"Maintenance": {"CheckSeconds": 0}},
         "Maintenance.CheckSeconds: must be at least 1, got 0"),
        ({"Maintenance": {"AnalyzeChangedPercent": 0}},
         "Maintenance.AnalyzeChangedPercent: must be at least 1, got 0"),
        ({"Stats": {"AllowedAddresses": ["10.0.0.0/33"]}},
         "Stats.AllowedAddresses[0]: '10.0.0.0/33' is not an IP address or network"),
        ({"AdminPrincipals": ["/principals/users/admin/", "admin"]},
         "AdminPrincipals[1]: 'admin' is not a principal URL"),
        ({"Memcached": {"Pools": {"Default": {"Port": 0}}}},
         "Memcached.Pools.Default.Port: port 0 is out of range (1-65535)"),
        ({"Memcached": {"Pools": {"Default": {"BindAddress": ""}}}},
         "Memcached.Pools.Default.BindAddress: must not be empty"),
        ({"Memcached": {"Pools": {"Second": {"Port": 11212, "HandleCacheTypes": ["Default"]}}}},
         "Memcached.Pools.Second.HandleCacheTypes: cache type 'Default' is also handled by "
         "pool 'Default'"),
        ({"Memcached": {"Pools": {"Second": {}}}},
         "Memcached.Pools.Second.Port: pool 'Default' already starts a memcached on "
         "127.0.0.1:11211"),
        ({"ProxyDBService": {"params": {}}},
         "ProxyDBService.type: missing (one of 'ProxySqliteDB', 'ProxyPostgreSQLDB')"),
        ({"ProxyDBService": {"type": "ProxyMySQLDB"}},
         "ProxyDBService.type: unknown value 'ProxyMySQLDB' (expected one of 'ProxySqliteDB', "
         "'ProxyPostgreSQLDB')"),
        ({"ProxyDBService": {"type": "ProxySqliteDB"}},
         "ProxyDBService.params.dbpath: missing (required)"),
        ({"ProxyDBService": {"type": "ProxySqliteDB", "params": {"dbpath": ""}}},
         "ProxyDBService.params.dbpath: must not be empty"),
        ({"ProxyDBService": {**PROXY_PG, "params": {**PROXY_PG_PARAMS, "port": 0}}},
         "ProxyDBService.params.port: port 0 is out of range (1-65535)"),
        ({"ProxyDBService": {**PROXY_PG, "params": {**PROXY_PG_PARAMS, "host": ""}}},
         "ProxyDBService.params.host: must not be empty"),
        ({"DirectoryService": {"type": "nis"}},
         "DirectoryService.type: unknown value 'nis' (expected one of 'xml', 'ldap')"),
        ({"DirectoryService": {"type": "xml", "params": {"xmlFile": ""}}},
         "DirectoryService.params.xmlFile: must not be empty"),
        ({"DirectoryService": {"type": "xml", "params": {"statSeconds": -1}}},
         "DirectoryService.params.statSeconds: must be at least 0, got -1"),
        ({"DirectoryService": {"type": "ldap", "params": {**LDAP_PARAMS,
                                                          "uri": ["http://x"]}}},
         "DirectoryService.params.uri[0]: 'http://x' is not an ldap:// or ldaps:// URI"),
        ({"DirectoryService": {"type": "ldap", "params": {**LDAP_PARAMS, "uri": []}}},
         "DirectoryService.params.uri: must not be empty"),
        ({"DirectoryService": {"type": "ldap", "params": {"rdnSchema": {"base": "dc=x"}}}},
         "DirectoryService.params.uri: missing (required)"),
        ({"DirectoryService": {"type": "ldap", "params": {"uri": ["ldap://h"]}}},
         "DirectoryService.params.rdnSchema.base: missing (required)"),
        ({"DirectoryService": {"type": "ldap", "params": {**LDAP_PARAMS,
                                                          "timeouts": {"search": 0}}}},
         "DirectoryService.params.timeouts.search: must be at least 1, got 0"),
        ({"DirectoryService": {"type": "ldap", "params": {
            **LDAP_PARAMS, "credentials": {"password": "pw"}}}},
         "DirectoryService.params.credentials.dn: empty, but a password is given"),
        ({"DirectoryCaching": {"CachingSeconds": -5}},
         "DirectoryCaching.CachingSeconds: must be at least 0, got -5"),
        ({"Postgres": {"ClusterName": "a/b"}},
         "Postgres.ClusterName: must be a directory name, not a path"),
        ({"Postgres": {"DatabaseName": ""}}, "Postgres.DatabaseName: must not be empty"),
        ({"Postgres": {"MaxConnections": -1}}, "Postgres.MaxConnections: must be at least 0"),
        ({"Postgres": {"Options": ["fsync"]}}, "Postgres.Options[0]: 'fsync' is not name=value"),
    ],
)
def test_meaning_problems(overrides: dict[str, Any], problem: str) -> None:
    problems = problems_of(overrides)
    assert len(problems) == 1, problems
    assert problems[0].startswith(problem)


def test_every_problem_is_reported_together() -> None:
    problems = problems_of({
        "DBType": "mysql",
        "HTTPPort": "8008",
        "MaxDBConnectionsPerPool": 0,
        "Memcached": {"Pools": {"Default": {"Port": 99999}}},
        "DirectoryService": {"type": "ldap", "params": {}},
    })
    assert sorted(problems) == sorted([
        "HTTPPort: expected integer, got string '8008'",
        "DirectoryService.params.uri: missing (required)",
        "DirectoryService.params.rdnSchema.base: missing (required)",
        "DBType: unknown value 'mysql' (expected '' or 'postgres')",
        "MaxDBConnectionsPerPool: must be at least 1, got 0",
        "Memcached.Pools.Default.Port: port 99999 is out of range (1-65535)",
    ])


def test_a_wrongly_typed_key_is_reported_once() -> None:
    # A wrong DSN type must not also produce "DSN: empty" from the meaning checks.
    assert problems_of({"DBType": "postgres", "DSN": 5}) == ["DSN: expected string, got integer"]


def test_a_wrongly_typed_pool_port_draws_no_conflict() -> None:
    problems = problems_of({"Memcached": {"Pools": {"Second": {"Port": "11212"}}}})
    assert problems == ["Memcached.Pools.Second.Port: expected integer, got string '11212'"]


def test_passwords_are_never_echoed_in_problems() -> None:
    problems = problems_of({
        "DBType": "postgres", "DSN": "h:db:u:hunter2:x:y:z",
        "ProxyDBService": {**PROXY_PG, "params": {**PROXY_PG_PARAMS, "password": 12345}},
    })
    assert sorted(problems) == ["DSN: malformed: too many ':'-separated fields (7; at most 6: "
                        "host:database:user:password:options:tty); use a postgresql:// URL for a "
                        "port, an IPv6 address or a password containing ':'",
                        "ProxyDBService.params.password: expected string, got integer"]
    assert not any("hunter2" in p or "12345" in p for p in problems)


def test_config_invalid_message_summarises() -> None:
    with pytest.raises(ConfigInvalid) as info:
        build_config({"HTTPPort": "1", "DBType": "x"}, base_dir=BASE)
    assert str(info.value).startswith("2 configuration problems: HTTPPort: expected integer")


@pytest.mark.parametrize(
    ("overrides", "warning"),
    [
        ({"HTTPPorts": 8008}, "HTTPPorts: unknown key (ignored)"),
        ({"Memcached": {"Pools": {"Default": {"Prot": 1}}}},
         "Memcached.Pools.Default.Prot: unknown key (ignored)"),
        ({"DirectoryService": {"type": "xml", "params": {"xmlfile": "a.xml"}}},
         "DirectoryService.params.xmlfile: unknown key (ignored)"),
        ({"DirectoryService": {"type": "xml", "parms": {}}},
         "DirectoryService.parms: unknown key (ignored)"),
        ({"Authentication": {"Digest": {"Enabled": True}}},
         "Authentication.Digest: unknown key (ignored)"),
        ({"DSN": "h:db:u:p::"}, "DSN: ignored: DBType is '' (caldavd runs its own database)"),
    ],
)
def test_unknown_keys_are_warnings(write_plist: WritePlist, overrides: dict[str, Any],
                                   warning: str) -> None:
    loaded = load_config(write_plist("caldavd.plist", overrides))
    assert loaded.warnings == [warning]


def test_seed_values_are_accepted(write_plist: WritePlist) -> None:
    # The seed's ProxyDBService example, with Apple's long class name and its dbtype param.
    loaded = load_config(write_plist("caldavd.plist", {
        "DBType": "postgres", "DSN": "hostname:dbname:dbuser:dbpass::",
        "ProxyDBService": {
            "type": "twistedcaldav.directory.calendaruserproxy.ProxyPostgreSQLDB",
            "params": {"dbtype": "ProxyDB", "host": "PARADISE-FALLS", "database": "FOSSILS",
                       "user": "MUNTZ"}},
        "DirectoryService": {"type": "twistedcaldav.directory.xmlfile.XMLDirectoryService",
                             "params": {"xmlFile": "accounts.xml"}},
        "Memcached": {"MaxClients": 5, "Options": ["-U", "0", "-m", "6000"],
                      "memcached": "memcached", "Pools": {"Default": {
                          "ClientEnabled": True, "ServerEnabled": False,
                          "BindAddress": "EXAMPLE.COM", "Port": 11211,
                          "HandleCacheTypes": ["Default"]}}},
    }))
    cfg = loaded.config
    assert loaded.warnings == []
    assert cfg.ProxyDBService is not None
    assert cfg.ProxyDBService.type == "ProxyPostgreSQLDB"
    assert cfg.ProxyDBService.params["host"] == "PARADISE-FALLS"
    assert cfg.DirectoryService.type == "xml"
    assert cfg.dsn is not None
    assert cfg.dsn.describe() == "host hostname, database dbname, user dbuser"
    assert cfg.Memcached.Options == ("-U", "0", "-m", "6000")


def test_ldap_params_are_filled_with_defaults() -> None:
    cfg = build_config({"DirectoryService": LDAP}, base_dir=BASE)
    params = cfg.DirectoryService.params
    assert params["uri"] == ("ldap://ldap.example.com",)
    assert params["useTLS"] is False
    assert params["credentials"] == {"dn": "", "password": ""}
    assert params["rdnSchema"]["users"] == "ou=People"
    assert params["mapping"]["shortName"] == "uid"
    assert params["timeouts"] == {"connect": 10, "search": 30}


@pytest.mark.parametrize("address", ["127.0.0.2", "::1", "0.0.0.0", "calendar.example.com",
                                     "localhost"])
def test_bind_addresses_accept_ips_and_names(address: str) -> None:
    assert build_config({"BindAddresses": [address]}, base_dir=BASE).BindAddresses == (address,)


def test_https_only_is_allowed() -> None:
    cfg = build_config({"HTTPPort": 0, "SSLPort": 8443, "SSLCertificate": "tls/cert.pem",
                        "SSLPrivateKey": "/etc/ssl/private/caldavd.key",
                        "SSLMethod": "TLSv1_3"}, base_dir=BASE)
    assert (cfg.HTTPPort, cfg.SSLPort) == (0, 8443)
    assert cfg.SSLCertificate == cfg.ConfigRoot / "tls" / "cert.pem"
    assert cfg.SSLPrivateKey == Path("/etc/ssl/private/caldavd.key")
    assert (cfg.SSLAuthorityChain, cfg.SSLMethod) == (None, "TLSv1_3")


def test_postgres_dbtype_with_dsn_parses_it() -> None:
    cfg = build_config({"DBType": "postgres",
                        "DSN": "postgresql://caldav:pw@db.example.com:5433/caldav"},
                       base_dir=BASE)
    assert cfg.dsn is not None
    assert (cfg.dsn.host, cfg.dsn.port, cfg.dsn.database) == ("db.example.com", 5433, "caldav")
    assert "pw" not in repr(cfg)


def test_embedded_dbtype_has_no_parsed_dsn_even_with_a_dsn() -> None:
    assert build_config({"DSN": "h:db:u:p::"}, base_dir=BASE).dsn is None
