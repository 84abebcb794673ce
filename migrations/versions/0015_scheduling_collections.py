"""Scheduling inbox and outbox in every home, and a home's default calendar.

Revision ID: 0015
Revises: 0014

RFC 6638 §2.2: every calendar user has a scheduling inbox (where the server delivers
scheduling messages) and a scheduling outbox (the target of free-busy POSTs).  They
are rows of ``calendar`` like calendars, told apart by the new column ``kind``
('calendar', 'inbox' or 'outbox'), bound into their home under the names ``inbox``
and ``outbox``, at most one of each per home (a partial unique index).  Existing
homes get theirs here (a home where the name is already taken, by a calendar or a
plain resource, keeps what it has and goes without); new homes get them from
``ensure_home``.  Each new collection draws a revision, as one made by the store
does, so a home's sync-collection reports them.

``calendar_home.default_calendar_id`` is the calendar the home's owner chose as
``schedule-default-calendar-URL`` (RFC 6638 §9.2); NULL, or a calendar that went
(ON DELETE SET NULL), means the store's choice: the first calendar made that takes
VEVENTs.
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# A revision for each new collection ('') and for its bind in the home (its name).
_REVISIONS = """
    INSERT INTO revision (collection_id, name, revision, deleted)
    SELECT {collection}, {name}, nextval('revision_seq'), false
    FROM calendar c WHERE c.kind = '{kind}'
    ON CONFLICT (collection_id, name) DO UPDATE
    SET revision = excluded.revision, deleted = false, modified = now()
"""


def _backfill(kind: str) -> None:
    """A ``kind`` collection for every home where the name ``kind`` is free."""
    op.execute(f"""
        WITH homes AS (
            SELECT h.id FROM calendar_home h
            WHERE NOT EXISTS (SELECT 1 FROM calendar_bind b
                              WHERE b.home_id = h.id AND b.name = '{kind}')
              AND NOT EXISTS (SELECT 1 FROM dav_resource r
                              WHERE r.home_id = h.id AND r.path = '{kind}')
              AND NOT EXISTS (SELECT 1 FROM calendar c
                              WHERE c.owner_home_id = h.id AND c.kind = '{kind}')
        ), made AS (
            INSERT INTO calendar (owner_home_id, kind)
            SELECT id, '{kind}' FROM homes RETURNING id, owner_home_id
        ), bound AS (
            INSERT INTO calendar_bind (home_id, calendar_id, name, mode)
            SELECT owner_home_id, id, '{kind}', 'own' FROM made RETURNING calendar_id
        )
        SELECT count(*) FROM bound
    """)
    op.execute(_REVISIONS.format(collection="c.id", name="''", kind=kind))
    op.execute(_REVISIONS.format(collection="c.owner_home_id", name=f"'{kind}'", kind=kind))


def upgrade() -> None:
    op.execute("ALTER TABLE calendar ADD COLUMN kind text NOT NULL DEFAULT 'calendar' "
               "CONSTRAINT calendar_kind CHECK (kind IN ('calendar', 'inbox', 'outbox'))")
    op.execute("CREATE UNIQUE INDEX calendar_one_of_kind ON calendar (owner_home_id, kind) "
               "WHERE kind <> 'calendar'")
    op.execute("ALTER TABLE calendar_home ADD COLUMN default_calendar_id bigint "
               "CONSTRAINT calendar_home_default_calendar "
               "REFERENCES calendar (id) ON DELETE SET NULL")
    for kind in ("inbox", "outbox"):
        _backfill(kind)


def downgrade() -> None:
    """The inboxes and outboxes go with what they hold; a home sync shows them gone."""
    op.execute("ALTER TABLE calendar_home DROP COLUMN default_calendar_id")
    op.execute("""
        UPDATE revision r SET deleted = true, revision = nextval('revision_seq'),
                              modified = now()
        FROM calendar_bind b JOIN calendar c ON c.id = b.calendar_id
        WHERE c.kind <> 'calendar' AND r.collection_id = b.home_id AND r.name = b.name
    """)
    op.execute("DELETE FROM dead_property WHERE resource_id IN (SELECT id FROM calendar "
               "WHERE kind <> 'calendar') OR resource_id IN (SELECT o.id FROM "
               "calendar_object o JOIN calendar c ON c.id = o.calendar_id "
               "WHERE c.kind <> 'calendar')")
    op.execute("DELETE FROM revision WHERE collection_id IN "
               "(SELECT id FROM calendar WHERE kind <> 'calendar')")
    op.execute("DELETE FROM calendar WHERE kind <> 'calendar'")
    op.execute("DROP INDEX calendar_one_of_kind")
    op.execute("ALTER TABLE calendar DROP COLUMN kind")
