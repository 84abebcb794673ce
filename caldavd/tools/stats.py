"""caldavd-stats: every host of a cluster in one terminal view that refreshes.

    caldavd-stats URL [URL ...]        e.g. http://127.0.0.2:8008 http://127.0.0.3:8008
    caldavd-stats --cluster DIR        the hosts of a caldavd-cluster directory
    options: --window 1m|5m|60m  --interval SECONDS  --once  --json  --user NAME

Each host's ``/stats?raw=1`` is read (all its workers, merged by the host); a
host is addressed directly, never through the load balancer, which would
answer for a random host.  The cluster rows add the hosts' histograms, so the
cluster's percentiles are real percentiles, not averages of the hosts'.
``/stats`` answers loopback clients without credentials; from elsewhere give an
administrator with ``--user`` (the password is read from CALDAVD_STATS_PASSWORD
or asked for; never an argument, where ``ps`` would show it).

``--once`` prints one snapshot and exits (0 when every host answered, 1 if one
did not); ``--json`` prints the snapshot as JSON: ``{"time", "window", "hosts":
[{"url", "ok", "error"?, "node", "workers", "gauges", "windows", "totals"}],
"cluster": {window summary: "requests", "rate", "p95_ms", ..., "ops": {...}}}``.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

from caldavd.cli.common import run_tool
from caldavd.ops.stats import WINDOWS, OpCounts, Table, add_tables, summary

TIMEOUT = 5.0
PASSWORD_VARIABLE = "CALDAVD_STATS_PASSWORD"
# In a caldavd-cluster directory: {"hosts": [URL, ...]}, written by caldavd-cluster start.
HOSTS_FILE = "hosts.json"
_CLEAR = "\x1b[H\x1b[2J"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="caldavd-stats", description="Live statistics of caldavd hosts.")
    parser.add_argument("urls", nargs="*", metavar="URL", help="a host's base URL")
    parser.add_argument("--cluster", metavar="DIR", type=Path,
                        help="read the hosts of a caldavd-cluster directory")
    parser.add_argument("--window", choices=list(WINDOWS), default="1m",
                        help="the window shown per operation (default: 1m)")
    parser.add_argument("--interval", type=_positive, default=2.0, metavar="SECONDS",
                        help="seconds between refreshes (default: 2)")
    parser.add_argument("--once", action="store_true", help="one snapshot, then exit")
    parser.add_argument("--json", action="store_true", help="print JSON (implies --once)")
    parser.add_argument("--user", help="an administrator (AdminPrincipals), for hosts "
                                       "that are not on this machine")
    args = parser.parse_args(argv)
    if args.cluster is not None:
        args.urls = [*args.urls, *_cluster_urls(parser, args.cluster)]
    if not args.urls:
        parser.error("give at least one URL, or --cluster DIR")
    for url in args.urls:
        if not url.startswith(("http://", "https://")):
            parser.error(f"argument URL: {url!r} is not an http:// or https:// URL")
    return args


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def _cluster_urls(parser: argparse.ArgumentParser, directory: Path) -> list[str]:
    """The hosts a caldavd-cluster directory lists (caldavd-cluster writes the file)."""
    try:
        hosts = json.loads((directory / HOSTS_FILE).read_text())["hosts"]
    except (OSError, ValueError, KeyError, TypeError):
        parser.error(f"argument --cluster: {directory} is not a caldavd-cluster directory "
                     f"(no readable {HOSTS_FILE})")
    if not isinstance(hosts, list) or not all(isinstance(url, str) for url in hosts):
        parser.error(f"argument --cluster: {directory / HOSTS_FILE} does not list host URLs")
    return hosts


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    auth = None
    if args.user:
        password = os.environ.get(PASSWORD_VARIABLE) or getpass.getpass(
            f"password for {args.user}: ")
        auth = aiohttp.BasicAuth(args.user, password)
    return run_tool(watch(args, auth))


async def watch(args: argparse.Namespace, auth: aiohttp.BasicAuth | None) -> int:
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout, auth=auth) as session:
        while True:
            view = await snapshot(session, args.urls, args.window)
            if args.json:
                print(json.dumps(view, indent=2))
            else:
                text = render(view)
                print(text if args.once else _CLEAR + text, flush=True)
            if args.once or args.json:
                return 0 if all(h["ok"] for h in view["hosts"]) else 1
            await asyncio.sleep(args.interval)


async def snapshot(session: aiohttp.ClientSession, urls: Sequence[str],
                   window: str) -> dict[str, Any]:
    hosts = await asyncio.gather(*(_fetch(session, url) for url in urls))
    merged: Table = {}
    seconds = 0.0
    for host in hosts:
        raw = host.pop("raw", None)
        if raw is not None:
            add_tables(merged, {op: OpCounts.from_json(c) for op, c in raw[window]["ops"].items()})
            seconds = max(seconds, float(raw[window]["seconds"]))
    return {"time": round(time.time(), 3), "window": window, "hosts": hosts,
            "cluster": summary(merged, seconds)}


async def _fetch(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    try:
        async with session.get(url.rstrip("/") + "/stats", params={"raw": "1"}) as response:
            if response.status != 200:
                reason = {401: "needs credentials (--user)", 403: "not an administrator",
                          404: "statistics are off (Stats.Enabled)"}.get(response.status, "")
                return {"url": url, "ok": False,
                        "error": f"HTTP {response.status} {reason}".strip()}
            data = await response.json()
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return {"url": url, "ok": False, "error": f"no answer ({type(exc).__name__})"}
    return {"url": url, "ok": True, **data}


# -- the terminal view ----------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    first = [str(header[0]).ljust(widths[0])]
    lines = ["  ".join(first + [str(h).rjust(w) for h, w in zip(header[1:], widths[1:],
                                                                   strict=True)])]
    for row in rows:
        cells = [str(row[0]).ljust(widths[0])]
        cells += [str(c).rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells))
    return lines


def render(view: dict[str, Any]) -> str:
    window = view["window"]
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(view["time"]))
    lines = [f"caldavd-stats  {stamp}  window {window}", ""]
    rows = []
    for host in view["hosts"]:
        if not host["ok"]:
            rows.append([host["url"], "DOWN", host["error"], *[""] * 7])
            continue
        w = host["windows"]
        g = host["gauges"]
        rows.append([f'{host["node"]} {host["url"]}', str(g["workers"]),
                     *(f'{w[name]["rate"]:.1f}' for name in WINDOWS),
                     _ms(w[window]["p95_ms"]), str(w[window]["errors_5xx"]),
                     str(g["in_flight"]), f'{g["db_pool_in_use"]}/{g["db_pool_max"]}',
                     _percent(w[window]["cache_hit_rate"])])
    lines += _table(["host", "workers", "req/s 1m", "5m", "60m", f"p95 ms {window}",
                     "5xx", "in flight", "db pool", "cache hit"], rows)
    cluster = view["cluster"]
    lines += ["", f"cluster, last {window}: {cluster['requests']} requests, "
                  f"{cluster['rate']:.1f}/s, p95 {_ms(cluster['p95_ms'])} ms, "
                  f"{cluster['errors_5xx']} 5xx, cache hit "
                  f"{_percent(cluster['cache_hit_rate'])}", ""]
    ops = sorted(cluster["ops"].items(), key=lambda item: -item[1]["count"])
    lines += _table(["operation", "count", "req/s", "mean ms", "p50", "p95", "p99", "5xx",
                     "db ms"],
                    [[op, str(s["count"]), f'{s["rate"]:.2f}', _ms(s["mean_ms"]),
                      _ms(s["p50_ms"]), _ms(s["p95_ms"]), _ms(s["p99_ms"]),
                      str(s["errors_5xx"]), f'{s["db_ms"]:.0f}'] for op, s in ops])
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
