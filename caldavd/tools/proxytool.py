"""What the delegation tools share: the directory, the delegation database, and
principals named the way an operator names them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from caldavd.cli.dbcommon import connect
from caldavd.cli.errors import ToolError
from caldavd.config import Config
from caldavd.directory import Directory, Record
from caldavd.directory.factory import open_directory
from caldavd.directory.record import RECORD_TYPES, RecordType
from caldavd.proxy import ProxyDB, ProxyDBError
from caldavd.proxy.factory import open_proxy_db
from caldavd.store.postgres.params import connect_kwargs_for, describe_target
from caldavd.store.postgres.pool import create_pool

TYPE_PREFIXES: dict[str, RecordType] = {"users": "user", "groups": "group",
                                         "locations": "location", "resources": "resource"}
PREFIX_OF = {v: k for k, v in TYPE_PREFIXES.items()}


@dataclass
class Session:
    directory: Directory
    proxies: ProxyDB

    async def principal(self, name: str) -> Record:
        """A principal by 'type:short-name', short name, uid or email; ToolError if none."""
        record = await find_principal(self.directory, name)
        if record is None:
            raise ToolError(f"no principal {name!r} (name one by short name, "
                            "type:short-name such as users:user01, uid or email)")
        return record


@contextlib.asynccontextmanager
async def session(config: Config) -> AsyncIterator[Session]:
    """The directory and the delegation database ``config`` names, closed afterwards."""
    kwargs = connect_kwargs_for(config)
    target = describe_target(config)
    await (await connect(kwargs, target)).close()  # a clear error if the store is away
    pool = await create_pool(kwargs, 2)
    directory = open_directory(config)
    try:
        try:
            proxies = await open_proxy_db(config, pool)
        except ProxyDBError as exc:
            raise ToolError(str(exc)) from None
        try:
            yield Session(directory, proxies)
        finally:
            await proxies.close()
    finally:
        await directory.close()
        await pool.close()


async def find_principal(directory: Directory, name: str) -> Record | None:
    prefix, sep, rest = name.partition(":")
    if sep and prefix in TYPE_PREFIXES:
        return await directory.record_by_short_name(TYPE_PREFIXES[prefix], rest)
    if sep and prefix == "mailto":
        return await directory.record_by_address(name)
    if "@" in name:
        return await directory.record_by_address(f"mailto:{name}")
    by_uid = await directory.record_by_uid(name)
    if by_uid is not None:
        return by_uid
    for record_type in RECORD_TYPES:
        record = await directory.record_by_short_name(record_type, name)
        if record is not None:
            return record
    return None


def describe(record: Record) -> str:
    return f"{record.full_name} ({PREFIX_OF[record.record_type]}:{record.short_name})"
