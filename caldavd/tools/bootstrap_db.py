"""caldavd-bootstrap-db: bring an external database's schema to head.

    caldavd-bootstrap-db -f caldavd.plist            apply migrations (no-op at head)
    caldavd-bootstrap-db -f caldavd.plist --check    exit 1 when the schema is behind
    caldavd-bootstrap-db -f caldavd.plist --create [--admin-dsn DSN]
                                                     first create role and database

Safe to run from several hosts at once: the upgrade holds a PostgreSQL
advisory lock, and role/database creation tolerates a concurrent creator.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import asyncpg

from caldavd.cli.common import add_config_argument, load_or_exit, run_tool
from caldavd.cli.dbcommon import connect, describe_status, read_schema_status
from caldavd.cli.errors import ToolError
from caldavd.config import DSN, Config, DSNError, parse_dsn
from caldavd.store.postgres.migrate import upgrade_to_head
from caldavd.store.postgres.params import connect_kwargs_for, describe_target


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="caldavd-bootstrap-db",
        description="Apply caldavd's schema to the PostgreSQL database named by DSN.",
    )
    add_config_argument(parser)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="only report; exit 1 when the schema is behind")
    mode.add_argument("--create", action="store_true",
                      help="create the DSN's role and database first if they are missing")
    parser.add_argument("--admin-dsn", metavar="DSN", default="",
                        help="superuser DSN used by --create (colon form or postgresql:// URL; "
                             "default: the DSN's host as user 'postgres', database 'postgres')")
    args = parser.parse_args(argv)
    if args.admin_dsn and not args.create:
        parser.error("--admin-dsn goes with --create")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    config = load_or_exit(args.config, args.overrides)
    return run_tool(_bootstrap(config, args))


async def _bootstrap(config: Config, args: argparse.Namespace) -> int:
    if config.DBType != "postgres":
        raise ToolError("DBType is not 'postgres': the embedded database (DBType \"\") is "
                        "created and upgraded by caldavd itself", exit_code=2)
    kwargs = connect_kwargs_for(config)
    target = describe_target(config)
    if args.check:
        status = await read_schema_status(kwargs, target)
        print(describe_status(status))
        return 1 if status.behind or status.ahead else 0
    if args.create:
        if config.dsn is None:
            raise RuntimeError("config.dsn is not set")
        await create_role_and_database(config, config.dsn, _admin_dsn(config.dsn, args.admin_dsn))
    status = await read_schema_status(kwargs, target)  # connection check, clear error line
    if status.ahead:
        raise ToolError(describe_status(status))
    result = await upgrade_to_head(kwargs)
    if result.changed:
        print(f"schema upgraded from {result.before or 'empty'} to {result.after}")
    else:
        print(f"schema already at head ({result.after}); nothing to do")
    return 0


def _admin_dsn(dsn: DSN, text: str) -> DSN:
    if not text:
        return DSN(host=dsn.host, port=dsn.port, database="postgres", user="postgres",
                   password="", options="", tty="", params=dsn.params)
    try:
        return parse_dsn(text)
    except DSNError as exc:
        raise ToolError(f"--admin-dsn: {exc}", exit_code=2) from None


async def create_role_and_database(config: Config, dsn: DSN, admin: DSN) -> None:
    """Create the DSN's role (with its password) and database when missing."""
    if not dsn.user:
        raise ToolError("DSN names no user; --create needs one", exit_code=2)
    conn = await connect(admin.connect_kwargs(config.RunRoot), f"admin: {admin.describe()}")
    try:
        await _create_role(conn, dsn)
        await _create_database(conn, dsn)
    finally:
        await conn.close()


async def _create_role(conn: asyncpg.Connection, dsn: DSN) -> None:
    if await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", dsn.user):
        return
    # format() quotes server-side (%I identifier, %L literal): no injection via DSN fields.
    if dsn.password:
        sql = await conn.fetchval("SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', $1::text,"
                                  " $2::text)", dsn.user, dsn.password)
    else:
        sql = await conn.fetchval("SELECT format('CREATE ROLE %I LOGIN', $1::text)", dsn.user)
    try:
        await conn.execute(sql)
        print(f"created role {dsn.user}")
    except asyncpg.DuplicateObjectError:
        pass  # another host created it a moment ago


async def _create_database(conn: asyncpg.Connection, dsn: DSN) -> None:
    if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", dsn.database):
        return
    sql = await conn.fetchval("SELECT format('CREATE DATABASE %I OWNER %I ENCODING ''UTF8''"
                              " TEMPLATE template0', $1::text, $2::text)",
                              dsn.database, dsn.user)
    try:
        await conn.execute(sql)
        print(f"created database {dsn.database}")
    except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
        pass  # another host created it a moment ago


if __name__ == "__main__":
    sys.exit(main())
