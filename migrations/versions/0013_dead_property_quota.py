"""Dead properties count in their home's quota.

Revision ID: 0013
Revises: 0011

A dead property names its resource by id alone (0001); it now also names the home
whose quota it counts in (``home_id``: the home itself, a calendar's owner, the home
holding an object or a plain resource), and a trigger keeps
``calendar_home.quota_used`` (0004) up to date with the bytes of each property's name
and value, as it does for calendar objects.  An object moved to another home takes its
dead properties, and their bytes, along.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from caldavd.store.postgres.definitions import definition

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None

_BYTES = "octet_length({0}.name) + octet_length({0}.value)"


def upgrade() -> None:
    op.add_column("dead_property", sa.Column("home_id", sa.BigInteger, nullable=True))
    op.execute("""
        UPDATE dead_property d SET home_id = coalesce(
            (SELECT h.id FROM calendar_home h WHERE h.id = d.resource_id),
            (SELECT c.owner_home_id FROM calendar c WHERE c.id = d.resource_id),
            (SELECT o.home_id FROM calendar_object o WHERE o.id = d.resource_id),
            (SELECT r.home_id FROM dav_resource r WHERE r.id = d.resource_id))
    """)
    op.execute("DELETE FROM dead_property WHERE home_id IS NULL")  # of nothing that exists
    op.alter_column("dead_property", "home_id", nullable=False)
    op.execute(f"""
        UPDATE calendar_home h SET quota_used = quota_used + coalesce(
            (SELECT sum({_BYTES.format('d')}) FROM dead_property d WHERE d.home_id = h.id), 0)
    """)
    op.execute(definition("dead_property_quota", 1))
    op.execute("""
        CREATE TRIGGER dead_property_quota
        AFTER INSERT OR DELETE OR UPDATE OF name, value, home_id ON dead_property
        FOR EACH ROW EXECUTE FUNCTION dead_property_quota()
    """)
    op.execute(definition("calendar_object_dead_property_home", 1))
    op.execute("""
        CREATE TRIGGER calendar_object_dead_property_home
        AFTER UPDATE OF home_id ON calendar_object
        FOR EACH ROW WHEN (OLD.home_id IS DISTINCT FROM NEW.home_id)
        EXECUTE FUNCTION calendar_object_dead_property_home()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER calendar_object_dead_property_home ON calendar_object")
    op.execute("DROP FUNCTION calendar_object_dead_property_home()")
    op.execute("DROP TRIGGER dead_property_quota ON dead_property")
    op.execute("DROP FUNCTION dead_property_quota()")
    op.execute(f"""
        UPDATE calendar_home h SET quota_used = quota_used - coalesce(
            (SELECT sum({_BYTES.format('d')}) FROM dead_property d WHERE d.home_id = h.id), 0)
    """)
    op.drop_column("dead_property", "home_id")
