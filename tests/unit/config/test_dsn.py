"""DSN parsing: the seed's colon form, postgresql:// URLs, and every error."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from caldavd.config import DSN, DSNError, parse_dsn
from caldavd.store.postgres.cluster import SUPERUSER
from tests.conftest import PgDatabase

SOCKETS = Path("/srv/caldavd/Run")


@pytest.mark.parametrize(
    ("text", "host", "database", "user", "password", "options", "tty"),
    [
        # Fewer than six fields: the missing ones are empty (PyGreSQL pgdb layout).
        ("db.example.com:caldav", "db.example.com", "caldav", "", "", "", ""),
        ("db.example.com:caldav:alice", "db.example.com", "caldav", "alice", "", "", ""),
        ("db.example.com:caldav:alice:s3cret", "db.example.com", "caldav", "alice", "s3cret",
         "", ""),
        ("db.example.com:caldav:alice:s3cret:-c statement_timeout=5000", "db.example.com",
         "caldav", "alice", "s3cret", "-c statement_timeout=5000", ""),
        ("db.example.com:caldav:alice:s3cret::tty0", "db.example.com", "caldav", "alice",
         "s3cret", "", "tty0"),
        # The seed's example: hostname:dbname:dbuser:dbpass::
        ("hostname:dbname:dbuser:dbpass::", "hostname", "dbname", "dbuser", "dbpass", "", ""),
        (":caldav:caldav:::", "", "caldav", "caldav", "", "", ""),
        ("/var/run/postgresql:caldav:caldav", "/var/run/postgresql", "caldav", "caldav", "", "",
         ""),
    ],
)
def test_colon_form(text: str, host: str, database: str, user: str, password: str,
                    options: str, tty: str) -> None:
    dsn = parse_dsn(text)
    assert (dsn.host, dsn.database, dsn.user, dsn.password, dsn.options, dsn.tty) == (
        host, database, user, password, options, tty)
    assert dsn.port is None
    assert dsn.params == {}


def test_colon_form_empty_host_uses_the_given_socket_directory() -> None:
    kwargs = parse_dsn(":caldav:caldav:::").connect_kwargs(SOCKETS)
    assert kwargs == {"host": str(SOCKETS), "database": "caldav", "user": "caldav"}


def test_colon_form_socket_directory_host_is_used_as_is() -> None:
    kwargs = parse_dsn("/var/run/postgresql:caldav:caldav:::").connect_kwargs(SOCKETS)
    assert kwargs["host"] == "/var/run/postgresql"


def test_colon_form_tcp_host_connect_kwargs() -> None:
    kwargs = parse_dsn("db.example.com:caldav:alice:s3cret:-c statement_timeout=5000:"
                       ).connect_kwargs(SOCKETS)
    assert kwargs == {"host": "db.example.com", "database": "caldav", "user": "alice",
                      "password": "s3cret",
                      "server_settings": {"statement_timeout": "5000"}}


@pytest.mark.parametrize(
    ("options", "settings"),
    [
        ("-c statement_timeout=5000", {"statement_timeout": "5000"}),
        ("-cstatement_timeout=5000", {"statement_timeout": "5000"}),
        ("--statement-timeout=5000", {"statement_timeout": "5000"}),
        ("-c statement_timeout=5000 -c search_path=caldav",
         {"statement_timeout": "5000", "search_path": "caldav"}),
        ("-c 'application_name=cal dav'", {"application_name": "cal dav"}),
        ("", {}),
    ],
)
def test_options_become_server_settings(options: str, settings: dict[str, str]) -> None:
    assert parse_dsn(f"h:db:u::{options}:").server_settings == settings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://alice:s3cret@db.example.com:5433/caldav",
         DSN("db.example.com", 5433, "caldav", "alice", "s3cret")),
        ("postgresql://alice@db.example.com/caldav",
         DSN("db.example.com", None, "caldav", "alice", "")),
        ("postgres://alice:s3cret@db.example.com/caldav",
         DSN("db.example.com", None, "caldav", "alice", "s3cret")),
        ("postgresql://db.example.com/caldav", DSN("db.example.com", None, "caldav", "", "")),
        ("postgresql://alice:p%40ss%3Aword@[2001:db8::1]:5432/cal%20dav",
         DSN("2001:db8::1", 5432, "cal dav", "alice", "p@ss:word")),
        ("postgresql://caldav@/caldav?host=/var/run/postgresql&port=5433",
         DSN("/var/run/postgresql", 5433, "caldav", "caldav", "")),
        ("postgresql:///caldav?host=/tmp/s&user=caldav&password=pw",
         DSN("/tmp/s", None, "caldav", "caldav", "pw")),
        ("postgresql://h/ignored?dbname=caldav", DSN("h", None, "caldav", "", "")),
        ("postgresql://%2Fvar%2Frun%2FPG:5433/caldav",
         DSN("/var/run/PG", 5433, "caldav", "", "")),
        ("POSTGRESQL://DB.Example.COM/caldav", DSN("DB.Example.COM", None, "caldav", "", "")),
        ("postgresql://h/caldav?sslmode=require",
         DSN("h", None, "caldav", "", "", params={"sslmode": "require"})),
        ("postgresql://h/caldav?options=-c%20statement_timeout%3D5000",
         DSN("h", None, "caldav", "", "", options="-c statement_timeout=5000")),
    ],
)
def test_url_form(text: str, expected: DSN) -> None:
    assert parse_dsn(text) == expected


def test_url_connect_kwargs() -> None:
    dsn = parse_dsn("postgresql://alice:s3cret@db.example.com:5433/caldav"
                    "?sslmode=verify-full&application_name=caldavd&connect_timeout=5"
                    "&options=-c%20statement_timeout%3D5000")
    assert dsn.connect_kwargs(SOCKETS) == {
        "host": "db.example.com", "port": 5433, "database": "caldav", "user": "alice",
        "password": "s3cret", "ssl": "verify-full", "timeout": 5.0,
        "server_settings": {"statement_timeout": "5000", "application_name": "caldavd"},
    }


def test_url_without_host_uses_the_given_socket_directory() -> None:
    assert parse_dsn("postgresql:///caldav").connect_kwargs(SOCKETS)["host"] == str(SOCKETS)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty DSN"),
        ("   ", "empty DSN"),
        ("a:b:c:d:e:f:g", "too many ':'-separated fields (7"),
        ("db.example.com:5432:caldav:caldav:pw::", "use a postgresql:// URL"),
        ("db.example.com", "no database name"),
        ("db.example.com::caldav:pw::", "no database name"),
        ("mysql://u:p@h/db", "unsupported URL scheme 'mysql'"),
        ("http://h/db", "expected postgresql:// or postgres://"),
        ("postgresql://h:abc/db", "port is not a number: 'abc'"),
        ("postgresql://h:70000/db", "port 70000 is out of range"),
        ("postgresql://h/db?port=x", "port is not a number: 'x'"),
        ("postgresql://h", "no database name"),
        ("postgresql://h/", "no database name"),
        ("postgresql://h1,h2/db", "several hosts"),
        ("postgresql://h/db?frobnicate=1", "unsupported URL parameter 'frobnicate'"),
        ("postgresql://h/db?sslmode=sometimes", "sslmode 'sometimes'"),
        ("postgresql://h/db?connect_timeout=soon", "connect_timeout is not a positive number"),
        ("postgresql://h/db#frag", "#fragment"),
        ("h:db:u:p:-x 1:", "options: unsupported '-x'"),
        ("h:db:u:p:-c novalue:", "is not name=value"),
        ("h:db:u:p:-c 'unterminated:", "options:"),
    ],
)
def test_errors_say_why(text: str, reason: str) -> None:
    with pytest.raises(DSNError) as info:
        parse_dsn(text)
    assert reason in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "text",
    ["h:db:u:hunter2:x:y:z", "postgresql://u:hunter2@h:abc/db", "mysql://u:hunter2@h/db",
     "postgresql://u:hunter2@h/db?bad=1", "postgresql://u:hunter2@h",
     "u:hunter2@h://db:x:y:z:w"],
)
def test_errors_never_contain_the_password(text: str) -> None:
    with pytest.raises(DSNError) as info:
        parse_dsn(text)
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "described"),
    [
        ("db.example.com:caldav:alice:hunter2::", "host db.example.com, database caldav, "
                                                  "user alice"),
        (":caldav:::", "host (local socket), database caldav, user (default)"),
        ("postgresql://alice:hunter2@db:5433/caldav", "host db:5433, database caldav, user alice"),
        ("postgresql://alice:hunter2@[::1]:5433/caldav",
         "host [::1]:5433, database caldav, user alice"),
    ],
)
def test_describe_never_shows_the_password(text: str, described: str) -> None:
    dsn = parse_dsn(text)
    assert dsn.describe() == described
    assert "hunter2" not in repr(dsn)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("db.example.com:caldav:alice:hunter2::", "db.example.com:caldav:alice:****::"),
        ("db.example.com:caldav:alice", "db.example.com:caldav:alice:::"),
        ("postgresql://alice:hunter2@db.example.com:5433/caldav?sslmode=require",
         "postgresql://alice:****@db.example.com:5433/caldav?sslmode=require"),
        ("postgresql://alice@/caldav?host=/tmp/s",
         "postgresql://alice@/caldav?host=/tmp/s"),
    ],
)
def test_masked(text: str, masked: str) -> None:
    assert parse_dsn(text).masked() == masked


def test_masked_url_parses_back_to_the_same_dsn_without_password() -> None:
    dsn = parse_dsn("postgresql://alice:hunter2@[2001:db8::1]:5433/cal%20dav?host=/x")
    again = parse_dsn(dsn.masked())
    assert (again.host, again.port, again.database, again.user) == (
        dsn.host, dsn.port, dsn.database, dsn.user)


async def test_colon_dsn_with_password_reaches_a_real_database(
        pg_database: PgDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    # The colon form has no port field; like libpq, asyncpg then takes PGPORT.
    monkeypatch.setenv("PGPORT", str(pg_database.cluster.port))
    role = f"{pg_database.name}_dsn"
    admin = await pg_database.connect()
    await admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw:not:colon-safe'")
    try:
        # A password with ':' does not fit the colon form, so the URL form carries it.
        dsn = parse_dsn(f"postgresql://{role}:pw%3Anot%3Acolon-safe@127.0.0.1:"
                        f"{pg_database.cluster.port}/{pg_database.name}")
        conn = await asyncpg.connect(**dsn.connect_kwargs(SOCKETS))
        assert await conn.fetchval("SELECT current_user") == role
        await conn.close()
        await admin.execute(f"ALTER ROLE {role} PASSWORD 'plain'")
        dsn = parse_dsn(f"127.0.0.1:{pg_database.name}:{role}:plain::")
        conn = await asyncpg.connect(**dsn.connect_kwargs(SOCKETS))
        assert await conn.fetchval("SELECT current_database()") == pg_database.name
        await conn.close()
    finally:
        await admin.execute(f"DROP ROLE {role}")
        await admin.close()


async def test_url_dsn_with_socket_host_and_options_reaches_a_real_database(
        pg_database: PgDatabase) -> None:
    dsn = parse_dsn(pg_database.url + "&options=-c%20statement_timeout%3D4321")
    conn = await asyncpg.connect(**dsn.connect_kwargs(SOCKETS))
    try:
        assert await conn.fetchval("SHOW statement_timeout") == "4321ms"
    finally:
        await conn.close()


async def test_empty_host_dsn_uses_the_socket_directory(
        pg_database: PgDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPORT", str(pg_database.cluster.port))
    dsn = parse_dsn(f":{pg_database.name}:{SUPERUSER}:::")
    assert dsn.host == ""
    conn = await asyncpg.connect(**dsn.connect_kwargs(pg_database.cluster.socket_dir))
    try:
        assert await conn.fetchval("SELECT current_database()") == pg_database.name
    finally:
        await conn.close()
