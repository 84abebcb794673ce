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

The write functions of 0005/0006 are replaced: PUT takes ``p_scheduling`` and
both PUT and MOVE name the home of the object holding the UID
(``holder_home``, its owner's uid) so the refusal carries a full href.  New
statuses: ``scheduling-uid-conflict`` (the holder is a scheduling object in
another calendar of the home) and, for MOVE, ``uid-conflict`` also when the
object replaced at the target has another UID (RFC 4791 §5.3.2.1: Overwrite
never replaces an object by one with another UID, just as PUT does not).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

_PUT = """
CREATE FUNCTION caldav_put_object(
    p_home_id bigint, p_bind_home_id bigint, p_calendar_id bigint, p_name text,
    p_uid text, p_component_type text, p_icalendar text, p_etag text, p_size integer,
    p_organizer text, p_schedule_tag text, p_indexed_until timestamptz,
    p_if_match text[], p_if_none_match boolean, p_quota bigint,
    p_starts timestamptz[], p_ends timestamptz[], p_floating boolean[],
    p_transparent boolean[], p_fbtypes text[], p_scheduling boolean,
    OUT status text, OUT object_id bigint, OUT created timestamptz, OUT modified timestamptz,
    OUT holder_home text, OUT holder_calendar text, OUT holder_name text, OUT used bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_mode text;
    v_old_id bigint;
    v_old_etag text;
    v_old_uid text;
    v_old_size integer;
BEGIN
    SELECT h.quota_used INTO used FROM calendar_home h WHERE h.id = p_home_id
    FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        status := 'no-home';
        RETURN;
    END IF;
    SELECT b.mode INTO v_mode FROM calendar_bind b
    WHERE b.home_id = p_bind_home_id AND b.calendar_id = p_calendar_id;
    IF v_mode IS NULL OR v_mode = 'read' THEN
        status := CASE WHEN v_mode IS NULL THEN 'unbound' ELSE 'read-only' END;
        RETURN;
    END IF;
    SELECT o.id, o.etag, o.uid, o.size INTO v_old_id, v_old_etag, v_old_uid, v_old_size
    FROM calendar_object o WHERE o.calendar_id = p_calendar_id AND o.name = p_name;
    status := caldav_etag_status(v_old_etag, p_if_match, p_if_none_match);
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    -- One UID per calendar (RFC 4791 §5.3.2.1): the object replaced has it, no other.
    SELECT h.owner_uid, b.name, o.name INTO holder_home, holder_calendar, holder_name
    FROM calendar_object o
    JOIN calendar_bind b ON b.calendar_id = o.calendar_id AND b.home_id = o.home_id
    JOIN calendar_home h ON h.id = o.home_id
    WHERE (o.id = v_old_id AND v_old_uid <> p_uid)
       OR (o.calendar_id = p_calendar_id AND o.uid = p_uid AND o.id IS DISTINCT FROM v_old_id)
    LIMIT 1;
    IF FOUND THEN
        status := CASE WHEN v_old_uid <> p_uid THEN 'uid-changed' ELSE 'uid-conflict' END;
        RETURN;
    END IF;
    -- One scheduling object per UID in the home (RFC 6638 §3.2.4.1).
    IF p_scheduling THEN
        SELECT h.owner_uid, b.name, o.name INTO holder_home, holder_calendar, holder_name
        FROM calendar_object o
        JOIN calendar_bind b ON b.calendar_id = o.calendar_id AND b.home_id = o.home_id
        JOIN calendar_home h ON h.id = o.home_id
        WHERE o.home_id = p_home_id AND o.uid = p_uid AND o.scheduling
          AND o.id IS DISTINCT FROM v_old_id;
        IF FOUND THEN
            status := 'scheduling-uid-conflict';
            RETURN;
        END IF;
    END IF;
    used := used - coalesce(v_old_size, 0);
    IF p_quota <> 0 AND used + p_size > p_quota THEN
        status := 'quota';
        RETURN;
    END IF;

    IF v_old_id IS NULL THEN
        INSERT INTO calendar_object AS o (calendar_id, home_id, name, uid, component_type,
            icalendar, etag, size, organizer, schedule_tag, indexed_until, scheduling)
        VALUES (p_calendar_id, p_home_id, p_name, p_uid, p_component_type, p_icalendar,
                p_etag, p_size, p_organizer, p_schedule_tag, p_indexed_until, p_scheduling)
        RETURNING 'created', o.id, o.created, o.modified
        INTO status, object_id, created, modified;
    ELSE
        UPDATE calendar_object AS o SET component_type = p_component_type,
            icalendar = p_icalendar, etag = p_etag, size = p_size, organizer = p_organizer,
            schedule_tag = p_schedule_tag, indexed_until = p_indexed_until,
            scheduling = p_scheduling, modified = now()
        WHERE o.id = v_old_id
        RETURNING 'replaced', o.id, o.created, o.modified
        INTO status, object_id, created, modified;
        DELETE FROM time_range t WHERE t.calendar_object_id = v_old_id;
    END IF;
    IF cardinality(p_starts) > 0 THEN
        INSERT INTO time_range (calendar_object_id, calendar_id, start_utc, end_utc, floating,
                                transparent, fbtype)
        SELECT object_id, p_calendar_id, r.* FROM unnest(p_starts, p_ends, p_floating,
                                                         p_transparent, p_fbtypes) AS r;
    END IF;
    INSERT INTO revision AS r (collection_id, name, revision, deleted)
    VALUES (p_calendar_id, p_name, nextval('revision_seq'), false)
    ON CONFLICT ON CONSTRAINT revision_pkey DO UPDATE
    SET revision = excluded.revision, deleted = excluded.deleted, modified = now();
END $$
"""

_MOVE = """
CREATE FUNCTION caldav_move_object(
    p_source_home_id bigint, p_source_id bigint, p_name text,
    p_target_home_id bigint, p_target_bind_home_id bigint, p_target_id bigint,
    p_target_name text, p_overwrite boolean,
    OUT status text, OUT holder_home text, OUT holder_calendar text, OUT holder_name text,
    OUT id bigint, OUT calendar_id bigint, OUT name text, OUT uid text,
    OUT component_type text, OUT etag text, OUT size integer, OUT organizer text,
    OUT schedule_tag text, OUT created timestamptz, OUT modified timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_mode text;
    v_id bigint;
    v_uid text;
    v_scheduling boolean;
    v_victim bigint;
    v_victim_uid text;
BEGIN
    -- Both homes, always in id order (two MOVEs in opposite directions cannot deadlock).
    PERFORM FROM calendar_home h WHERE h.id = least(p_source_home_id, p_target_home_id)
    FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        status := 'no-home';
        RETURN;
    END IF;
    IF p_source_home_id <> p_target_home_id THEN
        PERFORM FROM calendar_home h
        WHERE h.id = greatest(p_source_home_id, p_target_home_id) FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            status := 'no-home';
            RETURN;
        END IF;
    END IF;
    SELECT b.mode INTO v_mode FROM calendar_bind b
    WHERE b.home_id = p_target_bind_home_id AND b.calendar_id = p_target_id;
    IF v_mode IS NULL OR v_mode = 'read' THEN
        status := CASE WHEN v_mode IS NULL THEN 'unbound' ELSE 'read-only' END;
        RETURN;
    END IF;
    SELECT o.id, o.uid, o.scheduling INTO v_id, v_uid, v_scheduling FROM calendar_object o
    WHERE o.calendar_id = p_source_id AND o.name = p_name;
    IF v_id IS NULL THEN
        status := 'missing';
        RETURN;
    END IF;
    SELECT o.id, o.uid INTO v_victim, v_victim_uid FROM calendar_object o
    WHERE o.calendar_id = p_target_id AND o.name = p_target_name AND o.id <> v_id;
    IF v_victim IS NOT NULL AND NOT p_overwrite THEN
        status := 'target-exists';
        RETURN;
    END IF;
    -- The object replaced at the target must have the UID (RFC 4791 §5.3.2.1), and no
    -- other object of the target calendar may; scheduling objects: of the home.
    SELECT h.owner_uid, b.name, o.name INTO holder_home, holder_calendar, holder_name
    FROM calendar_object o
    JOIN calendar_bind b ON b.calendar_id = o.calendar_id AND b.home_id = o.home_id
    JOIN calendar_home h ON h.id = o.home_id
    WHERE (o.id = v_victim AND v_victim_uid <> v_uid)
       OR (o.calendar_id = p_target_id AND o.uid = v_uid AND o.id <> v_id
           AND o.id IS DISTINCT FROM v_victim)
    LIMIT 1;
    IF FOUND THEN
        status := 'uid-conflict';
        RETURN;
    END IF;
    IF v_scheduling THEN
        SELECT h.owner_uid, b.name, o.name INTO holder_home, holder_calendar, holder_name
        FROM calendar_object o
        JOIN calendar_bind b ON b.calendar_id = o.calendar_id AND b.home_id = o.home_id
        JOIN calendar_home h ON h.id = o.home_id
        WHERE o.home_id = p_target_home_id AND o.uid = v_uid AND o.scheduling
          AND o.id <> v_id AND o.id IS DISTINCT FROM v_victim;
        IF FOUND THEN
            status := 'scheduling-uid-conflict';
            RETURN;
        END IF;
    END IF;

    IF v_victim IS NOT NULL THEN
        DELETE FROM dead_property d WHERE d.resource_id = v_victim;
        DELETE FROM calendar_object o WHERE o.id = v_victim;
    END IF;
    UPDATE calendar_object AS o SET calendar_id = p_target_id, name = p_target_name,
        home_id = p_target_home_id, modified = now()
    WHERE o.id = v_id
    RETURNING o.id, o.calendar_id, o.name, o.uid, o.component_type, o.etag, o.size,
              o.organizer, o.schedule_tag, o.created, o.modified
    INTO id, calendar_id, name, uid, component_type, etag, size, organizer, schedule_tag,
         created, modified;
    UPDATE time_range t SET calendar_id = p_target_id WHERE t.calendar_object_id = v_id;
    INSERT INTO revision AS r (collection_id, name, revision, deleted)
    VALUES (p_source_id, p_name, nextval('revision_seq'), true)
    ON CONFLICT ON CONSTRAINT revision_pkey DO UPDATE
    SET revision = excluded.revision, deleted = excluded.deleted, modified = now();
    INSERT INTO revision AS r (collection_id, name, revision, deleted)
    VALUES (p_target_id, p_target_name, nextval('revision_seq'), false)
    ON CONFLICT ON CONSTRAINT revision_pkey DO UPDATE
    SET revision = excluded.revision, deleted = excluded.deleted, modified = now();
    status := CASE WHEN v_victim IS NULL THEN 'moved' ELSE 'replaced' END;
END $$
"""

# Slices are written ``[a : b]``: alembic runs the text through SQLAlchemy, which would
# take ``:b`` for a bind parameter.
_PUT_MANY = """
CREATE FUNCTION caldav_put_objects(
    p_home_id bigint, p_bind_home_ids bigint[], p_calendar_ids bigint[], p_names text[],
    p_uids text[], p_component_types text[], p_icalendars text[], p_etags text[],
    p_sizes integer[], p_organizers text[], p_schedule_tags text[],
    p_indexed_untils timestamptz[], p_tags_from integer[], p_tags_to integer[], p_tags text[],
    p_if_none_matches boolean[], p_quotas bigint[], p_rows_from integer[], p_rows_to integer[],
    p_starts timestamptz[], p_ends timestamptz[], p_floating boolean[],
    p_transparent boolean[], p_fbtypes text[], p_schedulings boolean[])
RETURNS TABLE (i integer, status text, object_id bigint, created timestamptz,
               modified timestamptz, holder_home text, holder_calendar text, holder_name text,
               used bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_n integer;
    v_lo integer;
    v_hi integer;
    v_tags text[];
BEGIN
    FOR v_n IN 1 .. cardinality(p_names) LOOP
        v_lo := p_rows_from[v_n];
        v_hi := p_rows_to[v_n];
        v_tags := CASE WHEN p_tags_from[v_n] IS NOT NULL
                       THEN p_tags[p_tags_from[v_n] : p_tags_to[v_n]] END;
        SELECT v_n, w.status, w.object_id, w.created, w.modified, w.holder_home,
               w.holder_calendar, w.holder_name, w.used
        INTO i, status, object_id, created, modified, holder_home, holder_calendar,
             holder_name, used
        FROM caldav_put_object(
            p_home_id, p_bind_home_ids[v_n], p_calendar_ids[v_n], p_names[v_n], p_uids[v_n],
            p_component_types[v_n], p_icalendars[v_n], p_etags[v_n], p_sizes[v_n],
            p_organizers[v_n], p_schedule_tags[v_n], p_indexed_untils[v_n], v_tags,
            p_if_none_matches[v_n], p_quotas[v_n], p_starts[v_lo : v_hi], p_ends[v_lo : v_hi],
            p_floating[v_lo : v_hi], p_transparent[v_lo : v_hi], p_fbtypes[v_lo : v_hi],
            p_schedulings[v_n]) AS w;
        RETURN NEXT;
    END LOOP;
END $$
"""

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
    for sql in (_PUT, _MOVE, _PUT_MANY):
        op.execute(sql)


def downgrade() -> None:
    """Back to one UID per home: refused (by the constraint) while a home holds a UID in
    two calendars."""
    for signature in _NEW:
        op.execute(f"DROP FUNCTION {signature}")
    writes, batched = _earlier("0005_object_write_functions"), _earlier("0006_batched_puts")
    for sql in (writes._PUT, writes._MOVE, batched._PUT_MANY):
        op.execute(sql)
    op.execute("ALTER TABLE calendar_object ADD CONSTRAINT calendar_object_home_id_uid_key "
               "UNIQUE (home_id, uid)")
    op.execute("DROP INDEX calendar_object_scheduling_uid")
    op.execute("DROP INDEX calendar_object_calendar_uid")
    op.execute("ALTER TABLE calendar_object DROP COLUMN scheduling")


def _earlier(name: str) -> ModuleType:
    """An earlier migration's module, for the function texts it created."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
