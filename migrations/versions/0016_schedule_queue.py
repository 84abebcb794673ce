"""The scheduling queue: work, deliveries and the delivery ledger (issue 18, item 8).

Revision ID: 0016
Revises: 0015

A write that schedules (RFC 6638 §3.2) inserts a ``schedule_work`` row in its own
transaction: the object's data before (``previous``, NULL when created) and after
(``current``, NULL when deleted).  A processor on any host claims the oldest row of a
(home, UID) with ``FOR UPDATE SKIP LOCKED`` and turns it into ``schedule_delivery``
rows, one per local recipient; a delivery applies one message to one recipient.  The
ledger remembers each (recipient, digest) delivered, so a delivery retried after a
commit whose answer was lost changes nothing.  ``attempts``, ``not_before`` and
``last_error`` carry the back-off of a failed row.  A statement trigger notifies
channel ``caldavd_schedule`` at commit, so an idle processor wakes at once.
"""

from __future__ import annotations

from alembic import op

from caldavd.store.postgres.definitions import definition

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_RETRY_COLUMNS = """
    attempts integer NOT NULL DEFAULT 0,
    not_before timestamptz NOT NULL DEFAULT now(),
    last_error text,
    created timestamptz NOT NULL DEFAULT now()
"""


def upgrade() -> None:
    op.execute(f"""
        CREATE TABLE schedule_work (
            id bigserial PRIMARY KEY,
            home_id bigint NOT NULL REFERENCES calendar_home (id) ON DELETE CASCADE,
            owner_uid text NOT NULL,
            uid text NOT NULL,
            role text NOT NULL CHECK (role IN ('organizer', 'attendee')),
            actor_uid text NOT NULL,
            schedule_reply boolean NOT NULL DEFAULT true,
            previous text,
            current text,
            {_RETRY_COLUMNS}
        )
    """)
    op.execute("CREATE INDEX schedule_work_key ON schedule_work (home_id, uid, id)")
    op.execute("CREATE INDEX schedule_work_due ON schedule_work (not_before, id)")
    op.execute(f"""
        CREATE TABLE schedule_delivery (
            id bigserial PRIMARY KEY,
            uid text NOT NULL,
            recipient_uid text NOT NULL,
            sender text NOT NULL,
            method text NOT NULL,
            message text NOT NULL,
            digest text NOT NULL,
            {_RETRY_COLUMNS}
        )
    """)
    op.execute("CREATE INDEX schedule_delivery_key "
               "ON schedule_delivery (recipient_uid, uid, id)")
    op.execute("CREATE INDEX schedule_delivery_due ON schedule_delivery (not_before, id)")
    op.execute("""
        CREATE TABLE schedule_ledger (
            recipient_uid text NOT NULL,
            digest text NOT NULL,
            delivered timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (recipient_uid, digest)
        )
    """)
    op.execute("CREATE INDEX schedule_ledger_delivered ON schedule_ledger (delivered)")
    op.execute(definition("schedule_notify", 1))
    for table in ("schedule_work", "schedule_delivery"):
        op.execute(f"CREATE TRIGGER {table}_notify AFTER INSERT ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION schedule_notify()")


def downgrade() -> None:
    op.execute("DROP TABLE schedule_ledger")
    op.execute("DROP TABLE schedule_delivery")
    op.execute("DROP TABLE schedule_work")
    op.execute("DROP FUNCTION schedule_notify()")
