"""Plain WebDAV files count in their home's quota.

Revision ID: 0014
Revises: 0013

The bytes of a plain file (``dav_resource.size``, 0002; a folder is 0) now count in
``calendar_home.quota_used`` (0004) like calendar objects and dead properties (0013):
existing homes are brought up to date, and a trigger keeps the column right on every
insert, delete, change of size and move to another home, cascades included.  Both
rows carry ``home_id`` and ``size``, so the trigger runs 0004's function, and a file
moved to another home takes its dead properties along with 0013's, as an object does.
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_FILES = "coalesce((SELECT sum(r.size) FROM dav_resource r WHERE r.home_id = h.id), 0)"


def upgrade() -> None:
    op.execute(f"UPDATE calendar_home h SET quota_used = quota_used + {_FILES}")
    op.execute("""
        CREATE TRIGGER dav_resource_quota
        AFTER INSERT OR DELETE OR UPDATE OF size, home_id ON dav_resource
        FOR EACH ROW EXECUTE FUNCTION calendar_object_quota()
    """)
    op.execute("""
        CREATE TRIGGER dav_resource_dead_property_home
        AFTER UPDATE OF home_id ON dav_resource
        FOR EACH ROW WHEN (OLD.home_id IS DISTINCT FROM NEW.home_id)
        EXECUTE FUNCTION calendar_object_dead_property_home()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER dav_resource_dead_property_home ON dav_resource")
    op.execute("DROP TRIGGER dav_resource_quota ON dav_resource")
    op.execute(f"UPDATE calendar_home h SET quota_used = quota_used - {_FILES}")
