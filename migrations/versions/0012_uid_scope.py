"""UID uniqueness per calendar, and per home for scheduling objects only.

Revision ID: 0012
Revises: 0010

RFC 4791 §5.3.2.1 (no-uid-conflict) scopes a UID to its calendar collection;
RFC 6638 §3.2.4.1 (unique-scheduling-object-resource) adds that a scheduling
object resource may not share its UID with another scheduling object resource
of the same calendar user.  Until now a UID was unique per home for every
object, so copying an event to a second calendar was refused.

``calendar_object.scheduling`` marks scheduling object resources (RFC 6638
§3.1; the HTTP layer decides, it knows the owner's addresses).  Existing rows
are marked when they have an ORGANIZER, which keeps them under the stricter rule
they were written under until they are written again.  Two unique indexes stand
behind the checks that the write functions make under the home's row lock:
(calendar_id, uid) for everything and (home_id, uid) for scheduling objects.

The write functions of 0005/0006 are replaced (version 2 of their files in
``caldavd/store/postgres/sql``; the downgrade creates version 1 again): PUT
takes ``p_scheduling`` and both PUT and MOVE name the home of the object
holding the UID (``holder_home``, its owner's uid) so the refusal carries a
full href.  New statuses: ``scheduling-uid-conflict`` (the holder is a
scheduling object in another calendar of the home) and, for MOVE,
``uid-conflict`` also when the object replaced at the target has another UID
(RFC 4791 §5.3.2.1: Overwrite never replaces an object by one with another
UID, just as PUT does not).
"""

from __future__ import annotations

from alembic import op

from caldavd.store.postgres.definitions import definition

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

_CREATED = ("caldav_put_object", "caldav_move_object", "caldav_put_objects")
_OLD = (
    "caldav_put_objects(bigint, bigint[], bigint[], text[], text[], text[], text[], text[], "
    "integer[], text[], text[], timestamptz[], integer[], integer[], text[], boolean[], "
    "bigint[], integer[], integer[], timestamptz[], timestamptz[], boolean[], boolean[], "
    "text[])",
    "caldav_put_object(bigint, bigint, bigint, text, text, text, text, text, integer, text, "
    "text, timestamptz, text[], boolean, bigint, timestamptz[], timestamptz[], boolean[], "
    "boolean[], text[])",
    "caldav_move_object(bigint, bigint, text, bigint, bigint, bigint, text, boolean)",
)
_NEW = (
    "caldav_put_objects(bigint, bigint[], bigint[], text[], text[], text[], text[], text[], "
    "integer[], text[], text[], timestamptz[], integer[], integer[], text[], boolean[], "
    "bigint[], integer[], integer[], timestamptz[], timestamptz[], boolean[], boolean[], "
    "text[], boolean[])",
    "caldav_put_object(bigint, bigint, bigint, text, text, text, text, text, integer, text, "
    "text, timestamptz, text[], boolean, bigint, timestamptz[], timestamptz[], boolean[], "
    "boolean[], text[], boolean)",
    "caldav_move_object(bigint, bigint, text, bigint, bigint, bigint, text, boolean)",
)


def upgrade() -> None:
    op.execute("ALTER TABLE calendar_object ADD COLUMN scheduling boolean NOT NULL "
               "DEFAULT false")
    op.execute("UPDATE calendar_object SET scheduling = true WHERE organizer IS NOT NULL")
    op.execute("CREATE UNIQUE INDEX calendar_object_calendar_uid "
               "ON calendar_object (calendar_id, uid)")
    op.execute("CREATE UNIQUE INDEX calendar_object_scheduling_uid "
               "ON calendar_object (home_id, uid) WHERE scheduling")
    op.execute("ALTER TABLE calendar_object DROP CONSTRAINT calendar_object_home_id_uid_key")
    for signature in _OLD:
        op.execute(f"DROP FUNCTION {signature}")
    for name in _CREATED:
        op.execute(definition(name, 2))


def downgrade() -> None:
    """Back to one UID per home: refused (by the constraint) while a home holds a UID in
    two calendars."""
    for signature in _NEW:
        op.execute(f"DROP FUNCTION {signature}")
    for name in _CREATED:
        op.execute(definition(name, 1))
    op.execute("ALTER TABLE calendar_object ADD CONSTRAINT calendar_object_home_id_uid_key "
               "UNIQUE (home_id, uid)")
    op.execute("DROP INDEX calendar_object_scheduling_uid")
    op.execute("DROP INDEX calendar_object_calendar_uid")
    op.execute("ALTER TABLE calendar_object DROP COLUMN scheduling")

