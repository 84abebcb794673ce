"""Fixtures of the tool tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from caldavd.store.postgres.migrate import upgrade_to_head
from tests.conftest import PgDatabase
from tests.tools.helpers import (
    external_db_plist,
    reachable_tempdir,
    remove_tree,
    stop_embedded_clusters,
)
from tests.tools.test_workers import start_host  # noqa: F401 (a caldavd host, for every tool test)


@pytest.fixture
async def plist(pg_database: PgDatabase, tmp_path: Path) -> Path:
    """A plist on a throwaway database whose schema is at head, as a tool finds it."""
    await upgrade_to_head(pg_database.connect_kwargs)
    return external_db_plist(tmp_path, pg_database.url)


@pytest.fixture
def server_root() -> Iterator[Path]:
    """A ServerRoot the embedded cluster's unprivileged user can reach; removed after."""
    root = reachable_tempdir()
    yield root
    stop_embedded_clusters(root)
    remove_tree(root)
