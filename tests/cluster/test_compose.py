"""docker-compose.yml describes the deployment bin/caldavd-cluster runs: the same
services, one plist and one command for every caldavd, memcached outside caldavd,
haproxy checking /health the same way.  (No Docker engine here: it is read, not run.)"""

from __future__ import annotations

import json
import plistlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from caldavd.config import load_config
from caldavd.harness.cluster import self_signed_certificate
from caldavd.harness.topology import (
    HEALTH_PATH,
    IDENTICAL_KEYS,
    MEMCACHED_POOL,
    PER_HOST_KEYS,
    Host,
    Layout,
    Settings,
    haproxy_config,
    host_arguments,
    host_settings,
    shared_plist,
)
from tests.tlscerts import CertificateAuthority
from tests.tools.helpers import REPO

COMPOSE = REPO / "docker-compose.yml"
PLIST = REPO / "conf" / "docker" / "caldavd.plist"
HAPROXY_CFG = REPO / "conf" / "docker" / "haproxy.cfg"
CALDAVD = ("caldavd1", "caldavd2", "caldavd3")
SHARED_MOUNT = "/srv/caldavd"


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


@pytest.fixture(scope="module")
def plist() -> dict[str, Any]:
    tree: dict[str, Any] = plistlib.loads(PLIST.read_bytes())
    return tree


def sections(text: str) -> dict[str, list[str]]:
    """haproxy.cfg as section header -> its directive lines (comments dropped)."""
    result: dict[str, list[str]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line:
            continue
        if not raw[0].isspace():
            current = line
            result[current] = []
        else:
            result[current].append(line.strip())
    return result


def test_the_same_services(services: dict[str, Any]) -> None:
    assert set(services) == {"postgres", "memcached", "openldap", "bootstrap-db", *CALDAVD,
                             "tls-cert", "haproxy"}


def test_every_caldavd_runs_the_same_image_command_and_plist(services: dict[str, Any]) -> None:
    plist_path = f"{SHARED_MOUNT}/conf/caldavd.plist"
    first = {k: v for k, v in services[CALDAVD[0]].items() if k != "hostname"}
    for name in CALDAVD:
        service = services[name]
        assert {k: v for k, v in service.items() if k != "hostname"} == first, name
        assert service["hostname"] == name
    assert first["command"] == ["caldavd", "-f", plist_path]
    assert "-o" not in first["command"], "no per-host settings"
    assert f"shared:{SHARED_MOUNT}" in first["volumes"]
    assert HEALTH_PATH in " ".join(first["healthcheck"]["test"])
    assert first["depends_on"]["bootstrap-db"]["condition"] == "service_completed_successfully"


def test_bootstrap_db_applies_the_schema_with_the_shared_plist(services: dict[str, Any]) -> None:
    service = services["bootstrap-db"]
    script = " ".join(service["command"])
    assert f"caldavd-bootstrap-db -f {SHARED_MOUNT}/conf/caldavd.plist --create" in script
    assert f"shared:{SHARED_MOUNT}" in service["volumes"]
    assert service["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_plist_is_valid_and_points_at_the_services(plist: dict[str, Any]) -> None:
    load_config(PLIST)  # raises, naming every bad key
    assert set(IDENTICAL_KEYS) <= set(plist)
    assert plist["DBType"] == "postgres"
    assert urlsplit(plist["DSN"]).hostname == "postgres"
    pool = plist["Memcached"]["Pools"]["Default"]
    assert {k: pool[k] for k in MEMCACHED_POOL} == MEMCACHED_POOL
    assert (pool["BindAddress"], pool["Port"]) == ("memcached", 11211)
    assert urlsplit(plist["DirectoryService"]["params"]["uri"][0]).hostname == "openldap"
    assert plist["AttachmentsRoot"].startswith(SHARED_MOUNT + "/")
    assert plist["ServerHostName"]
    assert plist["BindAddresses"] == [], "containers differ by address, not by setting"


def test_cluster_script_shares_the_same_keys(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    tree = shared_plist(layout, Settings())
    assert set(IDENTICAL_KEYS) <= set(tree)
    assert not set(PER_HOST_KEYS) & set(IDENTICAL_KEYS)
    pool = tree["Memcached"]["Pools"]["Default"]
    assert {k: pool[k] for k in MEMCACHED_POOL} == MEMCACHED_POOL
    assert tree["DBType"] == "postgres"
    assert set(host_settings(layout, Host(1, "127.0.0.2"))) == set(PER_HOST_KEYS)


def test_haproxy_checks_and_balances_the_same_way(tmp_path: Path, plist: dict[str, Any],
                                                  services: dict[str, Any]) -> None:
    compose = sections(HAPROXY_CFG.read_text())
    settings = Settings(tls_port=8443)
    ours = sections(haproxy_config(Layout(tmp_path), settings, [Host(1, "127.0.0.2")]))
    assert compose["defaults"] == ours["defaults"]
    assert _not_bind(compose["frontend caldav"]) == _not_bind(ours["frontend caldav"])

    def directives(lines: list[str]) -> list[str]:
        return [line for line in lines if not line.startswith("server ")]

    assert directives(compose["backend caldavd"]) == directives(ours["backend caldavd"])
    assert f"option httpchk GET {HEALTH_PATH}" in ours["backend caldavd"]
    servers = [line.split() for line in compose["backend caldavd"] if line.startswith("server")]
    assert [s[1] for s in servers] == list(CALDAVD)
    assert all(s[2] == f"{s[1]}:{plist['HTTPPort']}" and "check" in s for s in servers)
    assert "./conf/docker/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in \
        services["haproxy"]["volumes"]


def _not_bind(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.startswith("bind ")]


def test_tls_ends_at_haproxy_on_both(tmp_path: Path, plist: dict[str, Any],
                                     services: dict[str, Any]) -> None:
    """One plain and one TLS bind in each; the certificate compose's haproxy reads is in
    the volume its tls-cert service fills; caldavd trusts X-Forwarded-Proto."""
    layout = Layout(tmp_path)
    ours = sections(haproxy_config(layout, Settings(tls_port=8443), []))["frontend caldav"]
    assert f"bind 127.0.0.1:8443 ssl crt {layout.tls_pem}" in ours
    binds = [line.split() for line in sections(HAPROXY_CFG.read_text())["frontend caldav"]
             if line.startswith("bind ")]
    assert [b[1] for b in binds] == [":8008", ":8443"] and binds[1][2:4] == ["ssl", "crt"]
    certs = Path(binds[1][4]).parent
    assert f"certs:{certs}:ro" in services["haproxy"]["volumes"]
    assert "certs:/certs" in services["tls-cert"]["volumes"]
    assert f"/certs/{Path(binds[1][4]).name}" in " ".join(services["tls-cert"]["command"])
    assert "8443:8443" in services["haproxy"]["ports"]
    assert services["haproxy"]["depends_on"]["tls-cert"]["condition"] == \
        "service_completed_successfully"
    assert plist["BehindTLSProxy"] is True
    assert shared_plist(layout, Settings())["BehindTLSProxy"] is True


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")
def test_haproxy_accepts_the_compose_config(tmp_path: Path) -> None:
    """With a certificate where the compose file's tls-cert service would put one."""
    ca = CertificateAuthority(tmp_path)
    issued = ca.issue("haproxy")
    pem = tmp_path / "caldavd.pem"
    pem.write_bytes(issued.certificate.read_bytes() + issued.private_key.read_bytes())
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(HAPROXY_CFG.read_text().replace("/usr/local/etc/haproxy/certs/caldavd.pem",
                                                   str(pem)))
    result = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True,
                            text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("haproxy") is None or shutil.which("openssl") is None,
                    reason="haproxy or openssl is not installed")
def test_haproxy_accepts_the_cluster_config_with_tls(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    layout.conf.mkdir()
    self_signed_certificate(layout, "localhost")
    assert layout.tls_pem.stat().st_mode & 0o077 == 0, "the key is haproxy's alone"
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(haproxy_config(layout, Settings(tls_port=8443), [Host(1, "127.0.0.2")]))
    result = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True,
                            text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr


def test_docker_compose_config_if_available() -> None:
    try:
        version = subprocess.run(["docker", "compose", "version"], capture_output=True,
                                 timeout=30, check=False)
    except OSError:
        pytest.skip("no docker client")
    if version.returncode != 0:
        pytest.skip("the docker client has no compose plugin")
    result = subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
                            capture_output=True, text=True, timeout=60, check=False,
                            env={"PATH": "/usr/bin:/bin:/usr/local/bin",
                                 "POSTGRES_PASSWORD": "x"})
    assert result.returncode == 0, result.stderr


def test_hosts_differ_only_in_the_per_host_keys(tmp_path: Path) -> None:
    """Two hosts of caldavd-cluster as caldavd itself reads them (--check-config): with
    each host's address and directory written the same way, the configurations are equal."""
    layout = Layout(tmp_path)
    layout.conf.mkdir()
    layout.plist.write_bytes(plistlib.dumps(shared_plist(layout, Settings())))
    effective = []
    for host in (Host(1, "127.0.0.2"), Host(2, "127.0.0.3")):
        result = subprocess.run(
            [sys.executable, "-m", "caldavd.server.serve", "--check-config",
             *host_arguments(layout, host)],
            capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        tree = json.loads(result.stdout)
        assert tree["BindAddresses"] == [host.address]
        assert tree["RunRoot"].startswith(str(layout.host_dir(host)))
        assert tree["NodeName"] == host.name
        effective.append(result.stdout.replace(host.address, "ADDRESS")
                         .replace(str(layout.host_dir(host)), "HOST_DIR")
                         .replace(f'"{host.name}"', "NODE_NAME"))
    assert effective[0] == effective[1]
