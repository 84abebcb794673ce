"""An upgraded database has exactly the schema of a fresh one at head (issue #17, item 6).

caldavd has no second description of its tables (no SQLAlchemy models): the
migrations are the schema, and the only fresh database at head is one upgraded
from empty in one go.  What can drift from it is a database that got there by
another road: upgraded one release at a time, or rolled back and upgraded
again.  The stairway below walks that road, every migration up, down and up
once more before the next, and then must not differ in any table, column
(type, default, nullability, order), index, constraint, function body, trigger
or sequence.  It fails when a downgrade leaves something behind or removes too
much, or when a migration recreates a function from other text than the one
its predecessor created.

Functions do have a second description: their files (``store/postgres/sql``).
The highest version of each, created on its own in a schema of its own, must
be what the fresh database holds, and every function must have a file.  That
fails when a new version is written without a migration that loads it, when a
migration loads an old version, and when a function lives in a migration only.

Neither catches a shipped version edited in place (fresh databases would get the
new text, deployed ones keep the old): SHIPPED holds a digest of each version's
statement, so that edit fails here and a new version is one more line.
"""

from __future__ import annotations

import hashlib

from caldavd.store.postgres.definitions import definition, head_versions, versions
from caldavd.store.postgres.migrate import (
    downgrade_to,
    revision_chain,
    upgrade_to,
    upgrade_to_head,
)
from tests.conftest import PgDatabase
from tests.store.schema import schema

# sha256 of each version's statement (definition()), first 16 hex digits.
SHIPPED = {
    ("attachment_accounting", 1): "099499b8b2baffb9",
    ("attachment_link_collect", 1): "b0b0aecc75fb466d",
    ("caldav_delete_object", 1): "8112a398fb77dbcd",
    ("caldav_delete_object", 2): "8a3a68026a098c14",
    ("caldav_etag_status", 1): "c3335122a053475c",
    ("caldav_move_object", 1): "103ca2e4632183d3",
    ("caldav_move_object", 2): "7c0d9787ec7bbcb2",
    ("caldav_move_object", 3): "5f224ae88e217ce2",
    ("caldav_put_object", 1): "5a925649400bb0aa",
    ("caldav_put_object", 2): "de43abc9d6534c73",
    ("caldav_put_object", 3): "388f02ce12e807f1",
    ("caldav_put_objects", 1): "d2afeea0be64ad2a",
    ("caldav_put_objects", 2): "2e7cb1d28b44138d",
    ("caldav_put_objects", 3): "94a61a9f5f6ce3dc",
    ("calendar_object_dead_property_home", 1): "b7144a0444ebf372",
    ("calendar_object_drops_attachments", 1): "f6b1f03f1911e54f",
    ("calendar_object_quota", 1): "a58f1fa2863ab432",
    ("dead_property_quota", 1): "f762b093f9478a5f",
    ("revision_moves_home_token", 1): "44f623f766ab2eeb",
    ("schedule_notify", 1): "f2e6b254c6bb3d7a",
}


def test_a_shipped_version_never_changes() -> None:
    digests = {(name, version): hashlib.sha256(definition(name, version).encode()).hexdigest()
               for name, version in versions()}
    assert {key: digest[:16] for key, digest in digests.items()} == SHIPPED


async def test_a_database_upgraded_step_by_step_is_one_upgraded_at_once(
        pg_database: PgDatabase, empty_database: PgDatabase) -> None:
    await upgrade_to_head(empty_database.connect_kwargs)
    previous = "base"
    for revision in revision_chain():
        await upgrade_to(pg_database.connect_kwargs, revision)
        await downgrade_to(pg_database.connect_kwargs, previous)
        await upgrade_to(pg_database.connect_kwargs, revision)
        previous = revision
    stepped, fresh = await _schema(pg_database), await _schema(empty_database)
    assert stepped.keys() == fresh.keys()
    for part in fresh:
        assert stepped[part] == fresh[part], part
    assert fresh["functions"] and fresh["triggers"] and fresh["columns"]


async def test_the_functions_at_head_are_the_newest_versions_of_their_files(
        pg_database: PgDatabase) -> None:
    await upgrade_to_head(pg_database.connect_kwargs)
    conn = await pg_database.connect()
    try:
        await conn.execute("CREATE SCHEMA head")
        for name, version in head_versions().items():
            await conn.execute(f"SET search_path = head; {definition(name, version)}")
        rows = await conn.fetch("""
            SELECT n.nspname, p.proname, replace(pg_get_functiondef(p.oid),
                                                 'FUNCTION ' || n.nspname || '.', 'FUNCTION ')
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname IN ('public', 'head')""")
    finally:
        await conn.close()
    at_head = {r[1]: r[2] for r in rows if r[0] == "public"}
    from_files = {r[1]: r[2] for r in rows if r[0] == "head"}
    assert set(at_head) == set(from_files) == set(head_versions())
    for name, text in from_files.items():
        assert at_head[name] == text, name


async def _schema(db: PgDatabase) -> dict[str, dict[str, tuple[object, ...]]]:
    conn = await db.connect()
    try:
        return await schema(conn)
    finally:
        await conn.close()
