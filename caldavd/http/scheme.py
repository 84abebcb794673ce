"""The scheme a request came in with, and plain HTTP sent on to HTTPS.

``BehindTLSProxy``: TLS ends at a proxy in front (haproxy in the cluster and in
docker-compose.yml), which says in ``X-Forwarded-Proto`` how the client came; the
request then carries that scheme, so the URLs caldavd builds (managed attachments,
RFC 8607 §3.3) name https.  Without the key the header is ignored: a client could
set it.

``StrictTransportSecuritySeconds`` (CCS's key): responses over HTTPS tell clients to
use HTTPS only for that long (RFC 6797).

``RedirectHTTPToHTTPS``: a request that came in over plain HTTP is sent to HTTPS.

The target is ``https://ServerHostName:SSLPort`` (the request's own host name when
ServerHostName is empty; no port when it is 443) with the same path and query.
GET and HEAD get 301; every other method gets 308 (RFC 9110 §15.4.2, RFC 7538:
the client repeats the same method with the same body, which a PUT or PROPFIND
needs; after a 301 a client may turn it into a GET).  The monitoring paths
(``/health``, ``/stats``, ``/metrics``) answer on HTTP as before, so a load
balancer's health check keeps working without a certificate.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from caldavd.config import Config
from caldavd.http.keys import CONFIG
from caldavd.ops.accesslog import UNCOUNTED

_MAY_BECOME_GET = frozenset({"GET", "HEAD"})


def scheme_middlewares(config: Config) -> list[Middleware]:
    middlewares: list[Middleware] = []
    if config.BehindTLSProxy:
        middlewares.append(forwarded_scheme)
    if config.RedirectHTTPToHTTPS:
        middlewares.append(https_redirect)
    return middlewares


def add_strict_transport_security(app: web.Application, config: Config) -> None:
    if config.StrictTransportSecuritySeconds:
        app.on_response_prepare.append(_strict_transport_security)


async def _strict_transport_security(request: web.Request,
                                     response: web.StreamResponse) -> None:
    """RFC 6797 §7.2: on responses over secure transport only."""
    if _scheme(request) == "https":
        seconds = request.app[CONFIG].StrictTransportSecuritySeconds
        response.headers["Strict-Transport-Security"] = f"max-age={seconds}"


def _scheme(request: web.Request) -> str:
    """How the client came: the connection's scheme, or the proxy's word for it."""
    if request.app[CONFIG].BehindTLSProxy:
        proto = request.headers.get("X-Forwarded-Proto", "").strip().lower()
        if proto in ("http", "https"):
            return proto
    return request.scheme


@web.middleware
async def forwarded_scheme(request: web.Request, handler: Handler) -> web.StreamResponse:
    scheme = _scheme(request)
    return await handler(request if scheme == request.scheme else request.clone(scheme=scheme))


@web.middleware
async def https_redirect(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.secure or request.path in UNCOUNTED:
        return await handler(request)
    location = https_location(request.app[CONFIG], request.url.raw_host or "",
                              request.raw_path)
    if request.method in _MAY_BECOME_GET:
        raise web.HTTPMovedPermanently(location)
    raise web.HTTPPermanentRedirect(location)


def https_location(config: Config, request_host: str, raw_path: str) -> str:
    host = config.ServerHostName or request_host or "localhost"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    port = "" if config.SSLPort == 443 else f":{config.SSLPort}"
    return f"https://{host}{port}{raw_path}"
