"""caldavd-migrate-proxies: move delegates from a SQLite proxy database to PostgreSQL.

    caldavd-migrate-proxies -f caldavd.plist --from /var/db/caldavd/Data/proxies.sqlite

Reads every assignment of the SQLite file (the shape Apple's ProxySqliteDB
wrote: GROUPS rows '<uid>#calendar-proxy-write' / '-read' and a member uid) and
adds it where this plist keeps delegates: the ProxyPostgreSQLDB database, or
the main store when ProxyDBService is unset.  Assignments already there stay;
running it twice changes nothing the second time.  The SQLite file is only read.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from caldavd.cli.common import add_config_argument, load_or_exit, run_tool
from caldavd.cli.errors import ToolError
from caldavd.config import Config
from caldavd.proxy import ProxyDBError
from caldavd.proxy.sqlite import SqliteProxyDB
from caldavd.tools.proxytool import session


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="caldavd-migrate-proxies",
                                     description="Copy delegates from SQLite to PostgreSQL.")
    add_config_argument(parser)
    parser.add_argument("--from", dest="source", metavar="SQLITE", required=True,
                        help="the SQLite proxy database to read")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not Path(args.source).is_file():
        print(f"caldavd-migrate-proxies: error: --from {args.source}: no such file",
              file=sys.stderr)
        return 2
    return run_tool(_migrate(load_or_exit(args.config, args.overrides), Path(args.source)))


async def _migrate(config: Config, source: Path) -> int:
    if config.ProxyDBService is not None and config.ProxyDBService.type == "ProxySqliteDB":
        raise ToolError("ProxyDBService is ProxySqliteDB: set it to ProxyPostgreSQLDB (or "
                        "unset it to keep delegates in the main store) before migrating")
    grouped = await _read(source)
    async with session(config) as tool:
        added = 0
        for (delegator, write), members in sorted(grouped.items()):
            current = await tool.proxies.delegates(delegator, write)
            if not members <= current:
                added += len(members - current)
                await tool.proxies.set_delegates(delegator, write, current | members)
    count = sum(len(m) for m in grouped.values())
    print(f"{count} assignments for {len({d for d, _ in grouped})} principals read from "
          f"{source}; {added} added, {count - added} already there")
    return 0


async def _read(source: Path) -> dict[tuple[str, bool], set[str]]:
    reader = SqliteProxyDB(source, read_only=True)
    try:
        assignments = await reader.assignments()
    except ProxyDBError as exc:
        raise ToolError(f"--from {source}: {exc}") from None
    finally:
        await reader.close()
    grouped: dict[tuple[str, bool], set[str]] = defaultdict(set)
    for a in assignments:
        grouped[(a.delegator_uid, a.write)].add(a.delegate_uid)
    return grouped


if __name__ == "__main__":
    sys.exit(main())
