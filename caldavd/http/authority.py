"""The names this server goes by, for absolute URLs clients send back (Destination).

A client may name the server as it reached it (the Host header), as a proxy in
front was reached (``X-Forwarded-Host``, ``Forwarded: host=``, RFC 7239 §5.3), or
by ``ServerHostName`` on ``HTTPPort``, ``SSLPort`` or a default port (a load
balancer's, which caldavd does not know).  Trusting the proxy headers costs
nothing: a client that could lie in them could as well send a bare path.
"""

from __future__ import annotations

import re
import socket

from aiohttp import web

from caldavd.http.keys import CONFIG

_FORWARDED_HOST = re.compile(r'(?:^|[;,])\s*host="?([^";,\s]+)', re.IGNORECASE)


def own_authorities(request: web.Request) -> list[str]:
    """``host[:port]`` strings that name this server (no port: a default one)."""
    config = request.app[CONFIG]
    found = [request.host]
    for value in request.headers.getall("X-Forwarded-Host", ()):
        found.extend(part.strip() for part in value.split(","))
    for value in request.headers.getall("Forwarded", ()):
        found.extend(_FORWARDED_HOST.findall(value))
    name = config.ServerHostName or socket.gethostname()
    found.append(name)
    found.extend(f"{_bracketed(name)}:{port}" for port in (config.HTTPPort, config.SSLPort)
                 if port)
    return found


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
