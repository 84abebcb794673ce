"""Schedule-Tag: made, kept and matched by the write functions (RFC 6638 §3.2.10, §8.3).

Revision ID: 0017
Revises: 0016

``calendar_object.schedule_tag`` (0001) becomes the scheduling object's tag: every
client write of a scheduling object resource gives it a new one, a server-side change
that the RFC says must not disturb the client (a REPLY merged into the organizer's
copy, a PARTSTAT-only refresh of an attendee's) keeps it, and other objects have none.
The write functions take it, check If-Schedule-Tag-Match under the home's lock, and
say which tag they stored (new versions of their files in ``caldavd/store/postgres/sql``):

- ``caldav_put_object`` v3 and ``caldav_put_objects`` v3: ``p_keep_schedule_tag``
  and ``p_if_schedule_tag`` (status ``schedule-tag-differs``), ``OUT schedule_tag``;
- ``caldav_delete_object`` v2: ``p_if_schedule_tag``;
- ``caldav_move_object`` v3: ``p_schedule_tag``, the moved object's new tag.

Existing scheduling objects get a tag (as opaque as the server's own: 32 hex digits);
the downgrade leaves the tags, which older versions stored and ignored.
"""

from __future__ import annotations

from alembic import op

from caldavd.store.postgres.definitions import definition

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_PUT_OBJECT = ("caldav_put_object(bigint, bigint, bigint, text, text, text, text, text, "
               "integer, text, text, timestamptz, text[], boolean, bigint, timestamptz[], "
               "timestamptz[], boolean[], boolean[], text[], boolean")
_PUT_OBJECTS = ("caldav_put_objects(bigint, bigint[], bigint[], text[], text[], text[], "
                "text[], text[], integer[], text[], text[], timestamptz[], integer[], "
                "integer[], text[], boolean[], bigint[], integer[], integer[], timestamptz[], "
                "timestamptz[], boolean[], boolean[], text[], boolean[]")
_DELETE = "caldav_delete_object(bigint, bigint, bigint, text, text[]"
_MOVE = "caldav_move_object(bigint, bigint, text, bigint, bigint, bigint, text, boolean"

# (signature before, what this migration adds to it, function, version before).
_CHANGED = (
    (_PUT_OBJECTS, ", boolean[], text[]", "caldav_put_objects", 2),
    (_PUT_OBJECT, ", boolean, text", "caldav_put_object", 2),
    (_DELETE, ", text", "caldav_delete_object", 1),
    (_MOVE, ", text", "caldav_move_object", 2),
)


def upgrade() -> None:
    op.execute("UPDATE calendar_object SET schedule_tag = "
               "md5(random()::text || clock_timestamp()::text || id::text) "
               "WHERE scheduling AND schedule_tag IS NULL")
    # caldav_put_objects calls caldav_put_object: dropped first, created last.
    for signature, _, _, _ in _CHANGED:
        op.execute(f"DROP FUNCTION {signature})")
    for _, _, name, version in reversed(_CHANGED):
        op.execute(definition(name, version + 1))


def downgrade() -> None:
    for signature, added, _, _ in _CHANGED:
        op.execute(f"DROP FUNCTION {signature}{added})")
    for _, _, name, version in reversed(_CHANGED):
        op.execute(definition(name, version))
