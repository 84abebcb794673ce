"""Schema migrations: alembic, run on a connection that holds an advisory lock.

Several hosts may run ``caldavd-bootstrap-db`` (or start caldavd on an empty
embedded database) at the same moment: whoever holds the lock upgrades; the
others wait, then find the schema at head and change nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import asyncpg
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

# pg_advisory_lock key: 'caldavd-migrate' as a stable 63-bit number.
MIGRATION_LOCK_KEY = 0x63616C6461766D67


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None
    head: str

    @property
    def behind(self) -> bool:
        return self.current != self.head and not self.ahead

    @property
    def ahead(self) -> bool:
        return self.current is not None and self.current not in _known_revisions()


@dataclass(frozen=True)
class UpgradeResult:
    before: str | None
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def _alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(resources.files("caldavd_migrations")))
    return config


@functools.cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_alembic_config())


@functools.cache
def _known_revisions() -> frozenset[str]:
    return frozenset(rev.revision for rev in _script().walk_revisions())


def revision_chain() -> list[str]:
    """Every revision, from the first to head."""
    return [rev.revision for rev in reversed(list(_script().walk_revisions()))]


def head_revision() -> str:
    head = _script().get_current_head()
    if head is None:
        raise RuntimeError("no migrations shipped")
    return head


async def current_revision(conn: asyncpg.Connection) -> str | None:
    if not await conn.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL"):
        return None
    value: str | None = await conn.fetchval("SELECT version_num FROM alembic_version")
    return value


async def schema_status(conn: asyncpg.Connection) -> SchemaStatus:
    return SchemaStatus(current=await current_revision(conn), head=head_revision())


async def upgrade_to_head(kwargs: Mapping[str, object]) -> UpgradeResult:
    """Apply every pending migration; a no-op at head."""
    return await upgrade_to(kwargs, "head")


async def upgrade_to(kwargs: Mapping[str, object], target: str) -> UpgradeResult:
    """Apply the migrations up to ``target``.  For tests."""
    return await _migrate(kwargs, "upgrade", target)


async def downgrade_to(kwargs: Mapping[str, object], target: str) -> UpgradeResult:
    """Undo migrations down to ``target`` ('base' = empty).  For tests and rollbacks."""
    return await _migrate(kwargs, "downgrade", target)


async def _migrate(kwargs: Mapping[str, object], direction: str, target: str) -> UpgradeResult:
    async def creator() -> Any:
        return await asyncpg.connect(**kwargs)

    engine = create_async_engine("postgresql+asyncpg://", async_creator=creator,
                                 poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver: asyncpg.Connection = raw.driver_connection
            await driver.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
            try:
                before = await current_revision(driver)
                await conn.run_sync(_run_alembic, direction, target)
                await conn.commit()
                after = await current_revision(driver)
            finally:
                await driver.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
    finally:
        await engine.dispose()
    return UpgradeResult(before=before, after=after or "base")


def _run_alembic(connection: Connection, direction: str, target: str) -> None:
    config = _alembic_config()
    config.attributes["connection"] = connection
    if direction == "upgrade":
        command.upgrade(config, target)
    else:
        command.downgrade(config, target)
