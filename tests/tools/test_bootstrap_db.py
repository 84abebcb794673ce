"""caldavd-bootstrap-db against a real PostgreSQL (issue #2, item 4)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from caldavd.store.postgres.migrate import head_revision
from tests.conftest import PgDatabase
from tests.tools.helpers import external_db_plist, run_tool, run_tool_async, write_plist


async def _current_revision(db: PgDatabase) -> str | None:
    conn = await db.connect()
    try:
        exists = await conn.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL")
        return await conn.fetchval("SELECT version_num FROM alembic_version") if exists else None
    finally:
        await conn.close()


async def test_brings_empty_database_to_head_then_is_a_no_op(
        pg_database: PgDatabase, tmp_path: Path) -> None:
    plist = external_db_plist(tmp_path, pg_database.url)

    first = run_tool("caldavd-bootstrap-db", "-f", str(plist))
    assert first.returncode == 0, first.stderr
    assert "upgraded from empty to" in first.stdout
    assert await _current_revision(pg_database) == head_revision()

    second = run_tool("caldavd-bootstrap-db", "-f", str(plist))
    assert second.returncode == 0, second.stderr
    assert "nothing to do" in second.stdout
    assert await _current_revision(pg_database) == head_revision()


async def test_check_reports_behind_then_head(pg_database: PgDatabase, tmp_path: Path) -> None:
    plist = external_db_plist(tmp_path, pg_database.url)

    behind = run_tool("caldavd-bootstrap-db", "-f", str(plist), "--check")
    assert behind.returncode == 1
    assert "empty" in behind.stdout and head_revision() in behind.stdout
    assert await _current_revision(pg_database) is None, "--check must not change anything"

    assert run_tool("caldavd-bootstrap-db", "-f", str(plist)).returncode == 0
    at_head = run_tool("caldavd-bootstrap-db", "-f", str(plist), "--check")
    assert at_head.returncode == 0
    assert "(head)" in at_head.stdout


async def test_concurrent_runs_are_safe(pg_database: PgDatabase, tmp_path: Path) -> None:
    plist = external_db_plist(tmp_path, pg_database.url)
    results = await asyncio.gather(
        *(run_tool_async("caldavd-bootstrap-db", "-f", str(plist)) for _ in range(3)))
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr for r in results]
    upgraded = [r for r in results if "upgraded" in r.stdout]
    assert len(upgraded) == 1, [r.stdout for r in results]
    assert await _current_revision(pg_database) == head_revision()


async def test_create_makes_role_and_database(pg_database: PgDatabase, tmp_path: Path) -> None:
    cluster = pg_database.cluster
    name = f"{pg_database.name}_new"
    dsn = f"postgresql://newrole:s3cret@127.0.0.1:{cluster.port}/{name}"
    admin = f"postgresql://caldav@/postgres?host={cluster.socket_dir}&port={cluster.port}"
    plist = external_db_plist(tmp_path, dsn)
    try:
        result = run_tool("caldavd-bootstrap-db", "-f", str(plist), "--create",
                          "--admin-dsn", admin)
        assert result.returncode == 0, result.stderr
        assert "created role newrole" in result.stdout
        assert f"created database {name}" in result.stdout
        assert "upgraded from empty" in result.stdout

        conn = await asyncpg.connect(dsn)  # over TCP with the new role's password
        try:
            owner = await conn.fetchval(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", name)
            assert owner == "newrole"
            assert await conn.fetchval("SELECT version_num FROM alembic_version") == \
                head_revision()
        finally:
            await conn.close()

        again = run_tool("caldavd-bootstrap-db", "-f", str(plist), "--create",
                         "--admin-dsn", admin)
        assert again.returncode == 0, again.stderr
        assert "created" not in again.stdout and "nothing to do" in again.stdout
    finally:
        conn = await asyncpg.connect(**cluster.connect_kwargs("postgres"))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute("DROP ROLE IF EXISTS newrole")
        finally:
            await conn.close()


async def test_wrong_password_is_one_clear_line(pg_database: PgDatabase, tmp_path: Path) -> None:
    conn = await pg_database.connect()
    try:
        await conn.execute("DROP ROLE IF EXISTS pwtest")
        await conn.execute("CREATE ROLE pwtest LOGIN PASSWORD 'right-one'")
    finally:
        await conn.close()
    plist = external_db_plist(tmp_path, pg_database.tcp_url("pwtest", "Wr0ngPassw0rd"))

    result = run_tool("caldavd-bootstrap-db", "-f", str(plist))

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "Wr0ngPassw0rd" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "password authentication failed" in lines[0]
    assert "127.0.0.1" in lines[0] and pg_database.name in lines[0] and "pwtest" in lines[0]


def test_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    nowhere = tmp_path / "no-server-here"
    nowhere.mkdir()
    plist = external_db_plist(
        tmp_path, f"postgresql://someone:Sekr1t@/caldav?host={nowhere}&port=5999")

    result = run_tool("caldavd-bootstrap-db", "-f", str(plist))

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "Sekr1t" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "cannot connect" in result.stderr and "someone" in result.stderr


def test_refuses_embedded_configuration(tmp_path: Path) -> None:
    plist = write_plist(tmp_path, {"DBType": ""})
    result = run_tool("caldavd-bootstrap-db", "-f", str(plist))
    assert result.returncode == 2
    assert "DBType" in result.stderr


def test_bad_arguments_name_the_argument(tmp_path: Path) -> None:
    plist = write_plist(tmp_path, {"DBType": "postgres", "DSN": "h:db:u:p::"})
    result = run_tool("caldavd-bootstrap-db", "-f", str(plist), "--admin-dsn", "x")
    assert result.returncode == 2
    assert "--admin-dsn" in result.stderr
    missing = run_tool("caldavd-bootstrap-db", "-f", str(tmp_path / "absent.plist"))
    assert missing.returncode == 2
    assert "absent.plist" in missing.stderr
