"""Database plumbing shared by the command-line programs.

Every failure becomes a ``ToolError`` carrying one operator-facing line that
names host, database and user -- never the password -- so ``main`` can print
it and exit non-zero without a traceback.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping

import asyncpg

from caldavd.cli.errors import ToolError
from caldavd.store.postgres.migrate import SchemaStatus, schema_status

CONNECT_TIMEOUT = 10.0


def explain_connect_error(exc: BaseException) -> str:
    """Why a connection failed, in words; server messages never hold passwords."""
    if isinstance(exc, asyncpg.InvalidPasswordError):
        return "password authentication failed"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"{_first_line(exc)} (create it with 'caldavd-bootstrap-db --create')"
    if isinstance(exc, asyncpg.PostgresError):
        return _first_line(exc)
    if isinstance(exc, socket.gaierror):
        return f"host name not found ({exc.strerror})"
    if isinstance(exc, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT:g} s"
    if isinstance(exc, ConnectionRefusedError | FileNotFoundError):
        return "connection refused (is PostgreSQL running and listening there?)"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return _first_line(exc) or type(exc).__name__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


async def connect(kwargs: Mapping[str, object], target: str) -> asyncpg.Connection:
    """One connection, or a ToolError naming ``target`` and the reason."""
    try:
        return await asyncpg.connect(**kwargs, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise ToolError(f"cannot connect to PostgreSQL ({target}): "
                        f"{explain_connect_error(exc)}") from None


async def read_schema_status(kwargs: Mapping[str, object], target: str) -> SchemaStatus:
    conn = await connect(kwargs, target)
    try:
        return await schema_status(conn)
    finally:
        await conn.close()


def describe_status(status: SchemaStatus) -> str:
    current = status.current or "empty"
    if status.ahead:
        return (f"database schema is at {current}, which this caldavd does not know "
                f"(newest it knows: {status.head}); upgrade caldavd")
    if status.behind:
        return f"database schema is at {current}, this caldavd needs {status.head}"
    return f"database schema is at {current} (head)"
