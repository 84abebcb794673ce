"""caldavd-manage-principals and caldavd-migrate-proxies, run as an operator runs them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from caldavd.store.postgres.migrate import upgrade_to_head
from tests.conftest import PgDatabase
from tests.tools.helpers import Result, external_db_plist, run_tool_async

U01 = "10000000-0000-0000-0000-000000000001"
U02 = "10000000-0000-0000-0000-000000000002"
U03 = "10000000-0000-0000-0000-000000000003"
GROUP01 = "20000000-0000-0000-0000-000000000001"


async def manage(plist: Path, *args: str) -> Result:
    return await run_tool_async("caldavd-manage-principals", "-f", str(plist), *args)


async def test_list_principals_names_every_type(plist: Path) -> None:
    result = await manage(plist, "--list-principals")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"users:user01\tUser 01\t{U01}") for line in lines)
    assert any(line.startswith("groups:group01\t") for line in lines)
    assert any(line.startswith("locations:location01\t") for line in lines)
    assert any(line.startswith("resources:resource01\t") for line in lines)


async def test_add_list_and_remove_proxies(plist: Path) -> None:
    assert (await manage(plist, "--add-write-proxy", "user02", "users:user01")).returncode == 0
    assert (await manage(plist, "--add-read-proxy", GROUP01, "user01")).returncode == 0
    listed = await manage(plist, "--list-proxies", "user01")
    assert listed.stdout.splitlines() == [
        "User 01 (users:user01):",
        "  write: User 02 (users:user02)",
        "  read: Group 01 (groups:group01)"]
    # A delegate is one kind or the other: as a read delegate it is no longer a writer.
    assert (await manage(plist, "--add-read-proxy", "user02", "user01")).returncode == 0
    listed = await manage(plist, "--list-proxies", U01)
    assert "  write: (none)" in listed.stdout.splitlines()
    assert (await manage(plist, "--remove-proxy", "user02", "user01")).returncode == 0
    assert (await manage(plist, "--remove-proxy", "group01", "user01")).returncode == 0
    listed = await manage(plist, "--list-proxies", "user01")
    assert listed.stdout.splitlines()[1:] == ["  write: (none)", "  read: (none)"]


async def test_principals_by_email(plist: Path) -> None:
    result = await manage(plist, "--add-write-proxy", "user03@example.com", "user01@example.com")
    assert result.returncode == 0, result.stderr
    listed = await manage(plist, "--list-proxies", "user01")
    assert "  write: User 03 (users:user03)" in listed.stdout.splitlines()


async def test_unknown_principals_are_named(plist: Path) -> None:
    result = await manage(plist, "--add-write-proxy", "user02", "nobody")
    assert result.returncode == 1
    assert "no principal 'nobody'" in result.stderr
    result = await manage(plist, "--add-write-proxy", "user01", "user01")
    assert result.returncode == 1 and "cannot be its own delegate" in result.stderr


async def test_a_principal_is_required(plist: Path) -> None:
    result = await manage(plist, "--list-proxies")
    assert result.returncode == 2 and "name at least one PRINCIPAL" in result.stderr


def _apple_proxy_file(path: Path) -> None:
    """A proxy database the way Apple's ProxySqliteDB kept one."""
    db = sqlite3.connect(path)
    with db:
        db.execute("CREATE TABLE GROUPS (GROUPNAME text, MEMBER text)")
        db.execute("CREATE TABLE CALDAV (KEY text unique, VALUE text unique)")
        db.executemany("INSERT INTO GROUPS VALUES (?, ?)", [
            (f"{U01}#calendar-proxy-write", U02),
            (f"{U01}#calendar-proxy-read", U03),
            (f"{U03}#calendar-proxy-write", GROUP01),
            ("some-other-group", U02),  # not delegation: ignored
        ])
    db.close()


async def test_migrate_sqlite_to_a_postgres_proxy_database(
        pg_database: PgDatabase, empty_database: PgDatabase, tmp_path: Path) -> None:
    await upgrade_to_head(pg_database.connect_kwargs)
    kwargs = empty_database.connect_kwargs
    plist = external_db_plist(tmp_path, pg_database.url, ProxyDBService={
        "type": "ProxyPostgreSQLDB", "params": {
            "host": str(kwargs["host"]), "port": kwargs["port"],
            "database": empty_database.name, "user": kwargs["user"]}})
    source = tmp_path / "proxies.sqlite"
    _apple_proxy_file(source)
    before = source.read_bytes()
    first = await run_tool_async("caldavd-migrate-proxies", "-f", str(plist),
                                 "--from", str(source))
    assert first.returncode == 0, first.stderr
    assert "3 assignments for 2 principals" in first.stdout and "3 added" in first.stdout
    again = await run_tool_async("caldavd-migrate-proxies", "-f", str(plist),
                                 "--from", str(source))
    assert "0 added, 3 already there" in again.stdout
    assert source.read_bytes() == before, "the SQLite file is only read"
    conn = await empty_database.connect()
    try:
        rows = {tuple(r) for r in await conn.fetch(
            "SELECT delegator_uid, read_write, delegate_uid FROM delegate")}
    finally:
        await conn.close()
    assert rows == {(U01, True, U02), (U01, False, U03), (U03, True, GROUP01)}
    listed = await manage(plist, "--list-proxies", "user01")
    assert "  write: User 02 (users:user02)" in listed.stdout.splitlines()


async def test_migrate_refuses_a_sqlite_target_and_a_missing_file(plist: Path,
                                                                   tmp_path: Path) -> None:
    missing = await run_tool_async("caldavd-migrate-proxies", "-f", str(plist),
                                   "--from", str(tmp_path / "nope.sqlite"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    source = tmp_path / "proxies.sqlite"
    _apple_proxy_file(source)
    other = tmp_path / "other"
    other.mkdir()
    sqlite_target = external_db_plist(other, "postgresql:///x", ProxyDBService={
        "type": "ProxySqliteDB", "params": {"dbpath": "p.sqlite"}})
    refused = await run_tool_async("caldavd-migrate-proxies", "-f", str(sqlite_target),
                                   "--from", str(source))
    assert refused.returncode == 1 and "set it to ProxyPostgreSQLDB" in refused.stderr
