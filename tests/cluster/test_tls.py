"""TLS ends at haproxy (issue #15, item 2): caldavd-cluster's HTTPS port serves CalDAV
with its self-signed certificate, and the hosts, told by X-Forwarded-Proto
(BehindTLSProxy), build https URLs for what the client reached over https."""

from __future__ import annotations

import ssl

import aiohttp

from caldavd.harness.cluster import Cluster
from tests.cluster.conftest import needs_cluster, new_calendar
from tests.functional.conftest import Dav, event
from tests.functional.test_attachments import add, attaches, attachment_path

pytestmark = needs_cluster


async def test_caldav_over_tls_at_haproxy(healthy_cluster: Cluster) -> None:
    cluster = healthy_cluster
    context = ssl.create_default_context(cafile=str(cluster.layout.tls_certificate))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context),
                                     timeout=aiohttp.ClientTimeout(total=30)) as session:
        tls, plain = Dav(session, cluster.haproxy_tls_url), Dav(session, cluster.haproxy_url)
        cal = await new_calendar(tls, "tls")
        path = cal + "over-tls.ics"
        assert (await tls.put(path, event("tls-" + cal[-9:-1]))).status == 201
        got = await tls.request("GET", path)
        assert got.status == 200 and b"UID:tls-" in got.body
        assert got.headers["Strict-Transport-Security"].startswith("max-age=")  # RFC 6797
        assert "Strict-Transport-Security" not in (await plain.request("GET", path)).headers

        # RFC 8607 §3.3: the managed attachment's URL, as the client can reach it.
        added = await add(tls, path, b"over TLS")
        assert added.status == 201, added.body
        assert added.headers["Location"].startswith(f"{cluster.haproxy_tls_url}/attachments/")
        [attach] = await attaches(tls, path)
        assert attach["url"].startswith(f"{cluster.haproxy_tls_url}/attachments/")
        fetched = await tls.request("GET", attachment_path(attach["url"]))
        assert (fetched.status, fetched.body) == (200, b"over TLS")

        added = await add(plain, path, b"over HTTP", filename="plain.txt")
        assert added.status == 201, added.body
        assert added.headers["Location"].startswith("http://")
