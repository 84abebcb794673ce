"""caldavd: the server's master process.

    caldavd -f caldavd.plist [-o KEY=VALUE ...]   serve in the foreground
    caldavd --check-config -f caldavd.plist       print the effective configuration

The master serves no requests itself.  In order, it starts the memcached
servers caldavd owns (``caldavd.cache.servers``), with ``DBType ""`` its
embedded PostgreSQL cluster (and applies the schema; with ``DBType
"postgres"`` it refuses a schema that is behind and names
``caldavd-bootstrap-db``), checks the connection budget
(``caldavd.server.budget``), binds the listening sockets and starts
``MultiProcessCount`` workers (``caldavd.server.worker``) that inherit them
(``caldavd.server.workers`` says why).  Workers get the same plist and ``-o``
items, so every process reads the same configuration.  MultiProcessCount 1
is one worker process too: one code path for every count.

SIGTERM and SIGINT: the workers stop accepting and finish their in-flight
requests, then PostgreSQL stops, then memcached, the last.  SIGHUP is passed
on to the workers (they reopen the access log and reload the TLS certificate).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence

from caldavd.cache.servers import MemcachedServerError, memcached_servers
from caldavd.cli.common import add_config_argument, fail, load_or_exit, run_tool
from caldavd.cli.dbcommon import describe_status, read_schema_status
from caldavd.cli.errors import ToolError
from caldavd.config import Config, effective_config, worker_count
from caldavd.http.statsview import stats_dir
from caldavd.proxy import ProxyDBError
from caldavd.proxy.factory import check_proxy_db
from caldavd.server.budget import check_connection_budget
from caldavd.server.tls import tls_context
from caldavd.server.worker import on_signals, stop_event
from caldavd.server.workers import Supervisor, listening_sockets
from caldavd.store.postgres.cluster import ClusterError
from caldavd.store.postgres.embedded import EmbeddedDatabase
from caldavd.store.postgres.migrate import upgrade_to_head
from caldavd.store.postgres.params import connect_kwargs_for, describe_target

log = logging.getLogger("caldavd")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="caldavd", description="A CalDAV server.")
    add_config_argument(parser)
    parser.add_argument("--check-config", action="store_true",
                        help="print the effective configuration (passwords masked) and exit; "
                             "exit status 2 names every bad key (and a bad TLS file)")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    config = load_or_exit(args.config, args.overrides)
    if args.check_config:
        _check_files(config)
        print(json.dumps(effective_config(config, mask_passwords=True), indent=2, default=str))
        return 0
    logging.basicConfig(level=args.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_tool(serve(config, worker_arguments(config, args)))


def _check_files(config: Config) -> None:
    """What the configuration names on disk and only the start would read otherwise."""
    try:
        tls_context(config)
    except ToolError as exc:
        fail(str(exc), exc.exit_code)


def worker_arguments(config: Config, args: argparse.Namespace) -> list[str]:
    """What every worker is started with: the same plist and -o items as the master."""
    if config.config_file is None:
        raise RuntimeError("config.config_file is not set")
    overrides = [part for item in args.overrides for part in ("-o", item)]
    return ["-f", str(config.config_file), *overrides, "--log-level", args.log_level,
            "--parent", str(os.getpid())]


async def serve(config: Config, worker_args: Sequence[str]) -> int:
    if not config.UseDatabase:
        raise ToolError("UseDatabase is false, but caldavd stores data only in PostgreSQL; "
                        "set UseDatabase to true", exit_code=2)
    tls_context(config)  # its files are named now, before anything starts
    # Handlers go in first: a signal during start-up (initdb can take seconds) must still
    # lead to an orderly stop of what has started, not to the default abrupt exit.
    with stop_event(signal.SIGTERM, signal.SIGINT) as stop:
        async with _memcached_ready(config), _database_ready(config):
            if not stop.is_set():
                await _run_workers(config, worker_args, stop)
    return 0


async def _run_workers(config: Config, worker_args: Sequence[str],
                       stop: asyncio.Event) -> None:
    clear_stats(config)
    supervisor = Supervisor(listening_sockets(config, worker_count(config)), worker_args)
    with on_signals([signal.SIGHUP], supervisor.signal_all, signal.SIGHUP):
        await supervisor.run(stop)


def clear_stats(config: Config) -> None:
    """No statistics from a previous run's workers (statsview: they would be merged
    while their pid happened to run again)."""
    directory = stats_dir(config)
    for path in directory.glob("worker-*"):
        with contextlib.suppress(OSError):
            path.unlink()


@contextlib.asynccontextmanager
async def _memcached_ready(config: Config) -> AsyncIterator[None]:
    """The memcached servers caldavd owns: first to start, last to stop."""
    try:
        async with memcached_servers(config):
            yield
    except MemcachedServerError as exc:
        raise ToolError(str(exc)) from None


@contextlib.asynccontextmanager
async def _database_ready(config: Config) -> AsyncIterator[None]:
    """Embedded cluster started and migrated, or an external schema verified; the
    connection budget checked against the server either way."""
    kwargs = connect_kwargs_for(config)
    embedded = EmbeddedDatabase(config) if config.DBType == "" else None
    try:
        if embedded is not None:
            await embedded.start()
            result = await upgrade_to_head(kwargs)
            if result.changed:
                log.info("schema upgraded from %s to %s", result.before or "empty", result.after)
        target = describe_target(config)
        status = await read_schema_status(kwargs, target)
        if status.behind or status.ahead:
            raise ToolError(f"{describe_status(status)}: run "
                            f"'caldavd-bootstrap-db -f {config.config_file}'")
        await check_connection_budget(config, kwargs, target)
        await check_proxy_db(config)
        yield
    except (ClusterError, ProxyDBError) as exc:
        raise ToolError(str(exc)) from None
    finally:
        if embedded is not None:
            await _stop_quietly(embedded)


async def _stop_quietly(embedded: EmbeddedDatabase) -> None:
    try:
        await embedded.stop()
    except ClusterError as exc:
        log.error("%s", exc)


if __name__ == "__main__":
    sys.exit(main())
