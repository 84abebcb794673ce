"""caldavd-logstats: what the access logs say, per time bucket, per host and overall.

    caldavd-logstats /var/log/caldavd/access.log
    caldavd-logstats --bucket 15m --since 2026-12-01T08:00 host1-access.log host2-access.log.gz
    caldavd-logstats --html report.html --top 20 logs/*.log*
    ssh host3 cat /var/log/caldavd/access.log | caldavd-logstats --json -

Reads access logs (see ``caldavd.ops.logparse`` for the line format; ``.gz``
files are recognised by their first bytes, ``-`` is standard input) and reports
requests by method, by operation (``REPORT calendar-query``, ``PROPFIND
depth=1``, else the method) and by status; latency percentiles overall, per
operation, per host and per bucket; the slowest requests; the busiest users;
the clients by user-agent product (the text before the first ``/``); the cache
hit rate (hits / (hits + misses), over lines that say ``cache=hit|miss``) and
the database's share of the time (sum of ``db`` / sum of milliseconds, over
lines that have both).  The host of a line is its ``node=``; a line without one
belongs to the host its file is named after: the file name less ``.gz``,
rotation numbers (``.1``, ``-20261201``), ``.log`` and a ``-access`` /
``_access`` / ``.access`` suffix, so ``host1-access.log.2.gz`` is ``host1``
(and standard input is ``-``).  Buckets start at multiples of their length
since the epoch, in UTC.  ``--since`` is inclusive, ``--until`` exclusive; an
ISO time without a zone is UTC.  Blank lines are skipped; a line that does not
parse is counted and the first few are named on standard error.

Output: aligned text tables on standard output; ``--json`` prints the
aggregate instead; ``--html PATH`` writes a self-contained page (inline CSS and
SVG, nothing fetched) with charts and the same tables, and then prints only
what ``--json`` asks for.  Memory stays bounded whatever the log size:
latencies go into fixed log-spaced histograms (1.1x apart from 0.1 ms to
10 min, so a percentile is good to about 10 %), the slowest requests into a
heap, and only the distinct users, user-agents, hosts, operations and buckets
are kept.

Measured on the development machine (2 cores, Python 3.11, full lines with
every extra): ``logparse.parse_line`` alone 150,000-160,000 lines/s; the whole
tool (reading, gunzipping, parsing, aggregating) on a 500,000-line log about
83,000 lines/s when the machine is otherwise idle, plain or gzipped alike, and
60,000-70,000 under load.

JSON keys (``--json``), all always present; times are ISO 8601 in UTC,
durations in milliseconds, a rate or share is 0..1 or null with no data:

- ``bucket`` (``"1h"``), ``bucket_seconds``, ``since``, ``until`` (or null),
  ``first``, ``last`` (the earliest and latest request counted, or null);
- ``lines`` (non-blank lines read), ``requests`` (counted), ``unparsed``,
  ``filtered`` (outside ``--since``/``--until``), ``monitoring`` (requests of
  load balancers and monitors, ``/health``, ``/stats`` and ``/metrics``, left
  out unless ``--monitoring``: haproxy alone checks each host twice a second);
- ``overall``, each of ``hosts`` (by host name) and each of ``buckets`` (a
  list in time order of the buckets with requests, each also with ``start``)
  is a *tally*: ``requests``, ``methods`` and ``ops`` (largest count first),
  ``statuses`` (by code, as strings) and ``status_classes`` (``"2xx"``...),
  ``latency_ms`` {``count`` (requests with a time), ``p50``, ``p95``, ``p99``,
  ``max``, ``mean``}, ``cache`` {``hits``, ``misses``, ``hit_rate``}, ``db``
  {``db_ms``, ``timed_ms`` (the time of the lines with ``db``), ``share``},
  ``bytes_out``;
- each bucket's ``by_host``: {host: {``requests``, ``status_classes``,
  ``latency_ms``}};
- ``latency_by_op``: {op: ``latency_ms`` object};
- ``slowest``: [{``time``, ``host``, ``user``, ``request``, ``status``,
  ``ms``}], slowest first;
- ``users``: [{``user``, ``requests``, ``total_ms``}], busiest first
  (authenticated requests only);
- ``user_agents``: [{``product``, ``requests``, ``total_ms``, ``examples``:
  [{``agent``, ``requests``}] (up to three)}], most requests first;
- ``slowest``, ``users`` and ``user_agents`` hold at most ``--top`` entries.
"""


from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from caldavd.cli.common import fail
from caldavd.tools.logstats.jsonview import to_json
from caldavd.tools.logstats.reading import Progress, check_sources, read_all
from caldavd.tools.logstats.tally import BUCKETS, PROG, Stats
from caldavd.tools.logstats.text import counted, render_text

# -- command line --------------------------------------------------------------

def iso_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return int(text)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Requests, latency and clients from caldavd's access logs.")
    parser.add_argument("logs", nargs="+", metavar="LOG",
                        help="an access log (gzipped or not), or - for standard input")
    parser.add_argument("--bucket", choices=BUCKETS, default="1h",
                        help="length of the time buckets (default: 1h)")
    parser.add_argument("--since", type=iso_time, metavar="TIME",
                        help="only requests at or after this ISO time (UTC if no zone)")
    parser.add_argument("--until", type=iso_time, metavar="TIME",
                        help="only requests before this ISO time (UTC if no zone)")
    parser.add_argument("--top", type=positive, default=10, metavar="N",
                        help="how many slowest requests, users and clients (default: 10)")
    parser.add_argument("--json", action="store_true",
                        help="print the aggregate as JSON instead of text")
    parser.add_argument("--html", metavar="PATH",
                        help="write a self-contained HTML report to PATH (no text then)")
    parser.add_argument("--monitoring", action="store_true",
                        help="also count /health, /stats and /metrics (left out by default)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show progress on standard error (default: when it is a terminal)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    stats = Stats(args.bucket, args.since, args.until, args.top, args.monitoring)
    sources = check_sources(args.logs)
    total = None if any(s.size is None for s in sources) else sum(s.size or 0 for s in sources)
    enabled = sys.stderr.isatty() if args.progress is None else args.progress
    read_all(sources, stats, Progress(sys.stderr, total, enabled))
    _warn_unparsed(stats)
    if args.html:
        _write_html(args.html, stats)
    try:
        if args.json:
            json.dump(to_json(stats), sys.stdout, indent=2)
            sys.stdout.write("\n")
        elif not args.html:
            sys.stdout.write(render_text(stats))
        sys.stdout.flush()
    except BrokenPipeError:  # | head: quietly, as the Python docs do it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


def _warn_unparsed(stats: Stats) -> None:
    for sample in stats.unparsed_samples:
        print(f"{PROG}: warning: {sample.source}:{sample.number}: unparsed line: "
              f"{sample.text[:200]}", file=sys.stderr)
    if stats.unparsed:
        print(f"{PROG}: warning: {counted(stats.unparsed, 'unparsed line')}", file=sys.stderr)


def _write_html(path: str, stats: Stats) -> None:
    from caldavd.tools.logstats.html import render_html
    try:
        with open(path, "w", encoding="utf-8") as out:
            out.write(render_html(stats))
    except OSError as exc:
        fail(f"{path}: {exc.strerror or exc}")


if __name__ == "__main__":
    sys.exit(main())
