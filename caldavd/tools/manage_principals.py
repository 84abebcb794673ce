"""caldavd-manage-principals: look at principals and manage their delegates.

    caldavd-manage-principals -f caldavd.plist --list-principals
    caldavd-manage-principals -f caldavd.plist --list-proxies users:user01
    caldavd-manage-principals -f caldavd.plist --add-write-proxy user02 user01
    caldavd-manage-principals -f caldavd.plist --add-read-proxy groups:group01 user01
    caldavd-manage-principals -f caldavd.plist --remove-proxy user02 user01

As in Apple's calendarserver_manage_principals, an --add-*/--remove-proxy option
names the delegate and the positional arguments the principals whose delegates
change.  A principal is named by short name (users first, then groups,
locations, resources), 'type:short-name', uid or email.  A delegate is a read or
a write delegate of one principal, not both: adding it as one removes it as the
other.  Changes go where caldavd keeps delegates (``ProxyDBService``), and every
host sees them at its next request.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from caldavd.cli.common import add_config_argument, load_or_exit, run_tool
from caldavd.cli.errors import ToolError
from caldavd.config import Config
from caldavd.directory.record import RECORD_TYPES
from caldavd.tools.proxytool import PREFIX_OF, Session, describe, session


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="caldavd-manage-principals",
                                     description="Principals and their delegates.")
    add_config_argument(parser)
    actions = parser.add_mutually_exclusive_group(required=True)
    actions.add_argument("--list-principals", action="store_true",
                         help="every user, group, location and resource")
    actions.add_argument("--list-proxies", action="store_true",
                         help="the read and write delegates of each PRINCIPAL")
    actions.add_argument("--add-read-proxy", metavar="DELEGATE",
                         help="make DELEGATE a read delegate of each PRINCIPAL")
    actions.add_argument("--add-write-proxy", metavar="DELEGATE",
                         help="make DELEGATE a write delegate of each PRINCIPAL")
    actions.add_argument("--remove-proxy", metavar="DELEGATE",
                         help="DELEGATE is no longer a delegate of each PRINCIPAL")
    parser.add_argument("principals", nargs="*", metavar="PRINCIPAL")
    args = parser.parse_args(argv)
    if not args.list_principals and not args.principals:
        parser.error("name at least one PRINCIPAL")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_tool(_run(load_or_exit(args.config, args.overrides), args))


async def _run(config: Config, args: argparse.Namespace) -> int:
    async with session(config) as tool:
        if args.list_principals:
            await _list_principals(tool)
        elif args.list_proxies:
            for name in args.principals:
                await _list_proxies(tool, name)
        else:
            await _change(tool, args)
    return 0


async def _list_principals(tool: Session) -> None:
    for record_type in RECORD_TYPES:
        for record in await tool.directory.records(record_type):
            emails = ", ".join(record.emails)
            print(f"{PREFIX_OF[record_type]}:{record.short_name}\t{record.full_name}\t"
                  f"{record.uid}\t{emails}")


async def _list_proxies(tool: Session, name: str) -> None:
    record = await tool.principal(name)
    print(f"{describe(record)}:")
    for write in (True, False):
        uids = sorted(await tool.proxies.delegates(record.uid, write))
        shown = [await _shown(tool, uid) for uid in uids]
        print(f"  {'write' if write else 'read'}: {', '.join(shown) if shown else '(none)'}")


async def _shown(tool: Session, uid: str) -> str:
    record = await tool.directory.record_by_uid(uid)
    return describe(record) if record else f"{uid} (not in the directory)"


async def _change(tool: Session, args: argparse.Namespace) -> None:
    delegate_name = args.add_read_proxy or args.add_write_proxy or args.remove_proxy
    delegate = await tool.principal(delegate_name)
    records = [await tool.principal(name) for name in args.principals]
    for record in records:
        if record.uid == delegate.uid:
            raise ToolError(f"{describe(record)} cannot be its own delegate")
    for record in records:
        for write in (True, False):
            current = await tool.proxies.delegates(record.uid, write)
            wanted = current - {delegate.uid}
            if (args.add_write_proxy and write) or (args.add_read_proxy and not write):
                wanted.add(delegate.uid)
            if wanted != current:
                await tool.proxies.set_delegates(record.uid, write, wanted)
        print(f"{describe(record)}: {_verb(args)} {describe(delegate)}")


def _verb(args: argparse.Namespace) -> str:
    if args.add_write_proxy:
        return "write delegate now"
    if args.add_read_proxy:
        return "read delegate now"
    return "no longer delegates to"


if __name__ == "__main__":
    sys.exit(main())
