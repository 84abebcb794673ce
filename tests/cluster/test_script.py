"""bin/caldavd-cluster as an operator runs it: status of the running cluster, start
again (a no-op), stop of nothing, and a start that cannot bind its port."""

from __future__ import annotations

import socket
import subprocess
import sys

from caldavd.harness.cluster import Cluster
from tests.cluster.conftest import free_host_port, needs_cluster, running_processes
from tests.conftest import free_port
from tests.tools.helpers import REPO, reachable_tempdir, remove_tree

pytestmark = needs_cluster

SCRIPT = REPO / "bin" / "caldavd-cluster"


def cluster_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "caldavd.harness.cluster", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def test_status_and_start_again(healthy_cluster: Cluster) -> None:
    cluster = healthy_cluster
    result = subprocess.run([str(SCRIPT), "status", "--dir", str(cluster.layout.root)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [
        "memcached", "postgresql", *(h.name for h in cluster.hosts), "haproxy"]
    assert all("running" in line for line in lines), result.stdout
    assert sum("/health 200, haproxy UP" in line for line in lines) == len(cluster.hosts)

    s = cluster.settings
    again = cluster_tool("start", "--dir", str(cluster.layout.root), "--hosts", str(s.hosts),
                         "--workers", str(s.workers), "--port", str(s.port),
                         "--host-port", str(s.host_port), "--pg-port", str(s.pg_port),
                         "--memcached-port", str(s.memcached_port),
                         "--tls-port", str(s.tls_port))
    assert again.returncode == 0, again.stderr
    assert cluster.haproxy_url in again.stdout

    other = cluster_tool("start", "--dir", str(cluster.layout.root), "--hosts", "3")
    assert other.returncode == 1
    assert "running with other settings" in other.stderr
    assert "caldavd-cluster stop" in other.stderr


def test_stop_of_nothing_and_a_port_in_use() -> None:
    root = reachable_tempdir()
    try:
        stopped = cluster_tool("stop", "--dir", str(root))
        assert stopped.returncode == 0, stopped.stderr
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            result = cluster_tool("start", "--dir", str(root), "--port", str(port),
                                  "--host-port", str(free_host_port()),
                                  "--pg-port", str(free_port()),
                                  "--memcached-port", str(free_port()))
        assert result.returncode == 1
        assert f"haproxy: port 127.0.0.1:{port} is already in use" in result.stderr
        assert "--port" in result.stderr
        assert running_processes(root) == []
    finally:
        remove_tree(root)
