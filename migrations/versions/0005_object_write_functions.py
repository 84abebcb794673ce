"""Calendar object writes as one statement each: PUT, DELETE and MOVE functions.

Revision ID: 0005
Revises: 0004

A PUT used to be about ten statements in one transaction holding the home's
row lock; on a VM every round trip costs hundreds of microseconds, and PUTs to
one home are serialised by that lock, so its hold time was PUT throughput.
These functions do the whole write server-side, called as one statement in
an implicit transaction (no BEGIN/COMMIT round trips either).

The guarantees are those of the statements they replace: each takes the owning
home's row lock (``FOR NO KEY UPDATE``) first, so writes to one home are
serialised, the UID check and the insert that follows cannot race, and
revisions of one home commit in the order they were drawn.  Each statement in
a (volatile) PL/pgSQL function takes a fresh snapshot, so what the checks read
after the lock includes every write committed before it was granted.

Refusals are returned as a ``status`` rather than raised, and every check runs
before the first write, so a refusal changes nothing.  Statuses:

- ``created``, ``replaced``, ``deleted``, ``moved``: done;
- ``no-home``, ``unbound``, ``missing``: the home, the calendar's binding, or
  the object (DELETE, MOVE source) does not exist;
- ``read-only``: the calendar is bound read-only;
- ``exists`` (If-None-Match: * on an existing object), ``no-match`` (If-Match
  on a missing object), ``etag-differs`` (If-Match lists other ETags);
- ``target-exists``: a MOVE target exists and Overwrite is false;
- ``uid-changed``: the PUT would change the UID of the object it replaces;
- ``uid-conflict``: another object of the home holds the UID
  (``holder_calendar``/``holder_name`` name it);
- ``quota``: the home would exceed the quota (``used`` is the home's usage
  without the object being replaced).
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Shared by PUT and DELETE: which condition fails, NULL when none does (RFC 9110 §13.1).
# A one-expression SQL function: the planner inlines it into the callers' statements.
_ETAG_STATUS = """
CREATE FUNCTION caldav_etag_status(p_etag text, p_if_match text[], p_if_none_match boolean)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_if_none_match AND p_etag IS NOT NULL THEN 'exists'
        WHEN p_if_match IS NOT NULL AND p_etag IS NULL THEN 'no-match'
        WHEN p_if_match IS NOT NULL AND NOT ('*' = ANY (p_if_match) OR p_etag = ANY (p_if_match))
            THEN 'etag-differs'
    END
$$
"""

# The rest is written out in each function rather than shared through SQL helper
# functions: PL/pgSQL caches its statements' plans per session, a called SQL
# function that cannot be inlined is planned again on every call.
_PUT = """
CREATE FUNCTION caldav_put_object(
    p_home_id bigint, p_bind_home_id bigint, p_calendar_id bigint, p_name text,
    p_uid text, p_component_type text, p_icalendar text, p_etag text, p_size integer,
    p_organizer text, p_schedule_tag text, p_indexed_until timestamptz,
    p_if_match text[], p_if_none_match boolean, p_quota bigint,
    p_starts timestamptz[], p_ends timestamptz[], p_floating boolean[],
    p_transparent boolean[], p_fbtypes text[],
    OUT status text, OUT object_id bigint, OUT created timestamptz, OUT modified timestamptz,
    OUT holder_calendar text, OUT holder_name text, OUT used bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_mode text;
    v_old_id bigint;
    v_old_etag text;
    v_old_uid text;
    v_old_size integer;
    v_holder_id bigint;
    v_holder_calendar text;
    v_holder_name text;
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
    IF v_old_uid <> p_uid THEN
        status := 'uid-changed';
        RETURN;
    END IF;
    SELECT o.id, b.name, o.name INTO v_holder_id, v_holder_calendar, v_holder_name
    FROM calendar_object o
    JOIN calendar_bind b ON b.calendar_id = o.calendar_id AND b.home_id = o.home_id
    WHERE o.home_id = p_home_id AND o.uid = p_uid;
    IF v_holder_id IS NOT NULL AND v_holder_id IS DISTINCT FROM v_old_id THEN
        status := 'uid-conflict';
        holder_calendar := v_holder_calendar;
        holder_name := v_holder_name;
        RETURN;
    END IF;
    used := used - coalesce(v_old_size, 0);
    IF p_quota <> 0 AND used + p_size > p_quota THEN
        status := 'quota';
        RETURN;
    END IF;

    IF v_old_id IS NULL THEN
        INSERT INTO calendar_object AS o (calendar_id, home_id, name, uid, component_type,
            icalendar, etag, size, organizer, schedule_tag, indexed_until)
        VALUES (p_calendar_id, p_home_id, p_name, p_uid, p_component_type, p_icalendar,
                p_etag, p_size, p_organizer, p_schedule_tag, p_indexed_until)
        RETURNING 'created', o.id, o.created, o.modified
        INTO status, object_id, created, modified;
    ELSE
        UPDATE calendar_object AS o SET component_type = p_component_type,
            icalendar = p_icalendar, etag = p_etag, size = p_size, organizer = p_organizer,
            schedule_tag = p_schedule_tag, indexed_until = p_indexed_until, modified = now()
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

_DELETE = """
CREATE FUNCTION caldav_delete_object(
    p_home_id bigint, p_bind_home_id bigint, p_calendar_id bigint, p_name text,
    p_if_match text[], OUT status text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_mode text;
    v_id bigint;
    v_etag text;
BEGIN
    PERFORM FROM calendar_home h WHERE h.id = p_home_id FOR NO KEY UPDATE;
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
    SELECT o.id, o.etag INTO v_id, v_etag FROM calendar_object o
    WHERE o.calendar_id = p_calendar_id AND o.name = p_name;
    IF v_id IS NULL THEN
        status := 'missing';
        RETURN;
    END IF;
    status := caldav_etag_status(v_etag, p_if_match, false);
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    DELETE FROM dead_property d WHERE d.resource_id = v_id;
    DELETE FROM calendar_object o WHERE o.id = v_id;
    INSERT INTO revision AS r (collection_id, name, revision, deleted)
    VALUES (p_calendar_id, p_name, nextval('revision_seq'), true)
    ON CONFLICT ON CONSTRAINT revision_pkey DO UPDATE
    SET revision = excluded.revision, deleted = excluded.deleted, modified = now();
    status := 'deleted';
END $$
"""

_MOVE = """
CREATE FUNCTION caldav_move_object(
    p_source_home_id bigint, p_source_id bigint, p_name text,
    p_target_home_id bigint, p_target_bind_home_id bigint, p_target_id bigint,
    p_target_name text, p_overwrite boolean,
    OUT status text, OUT holder_calendar text, OUT holder_name text,
    OUT id bigint, OUT calendar_id bigint, OUT name text, OUT uid text,
    OUT component_type text, OUT etag text, OUT size integer, OUT organizer text,
    OUT schedule_tag text, OUT created timestamptz, OUT modified timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_mode text;
    v_id bigint;
    v_uid text;
    v_victim bigint;
    v_holder_id bigint;
    v_holder_calendar text;
    v_holder_name text;
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
    SELECT o.id, o.uid INTO v_id, v_uid FROM calendar_object o
    WHERE o.calendar_id = p_source_id AND o.name = p_name;
    IF v_id IS NULL THEN
        status := 'missing';
        RETURN;
    END IF;
    SELECT o.id INTO v_victim FROM calendar_object o
    WHERE o.calendar_id = p_target_id AND o.name = p_target_name AND o.id <> v_id;
    IF v_victim IS NOT NULL AND NOT p_overwrite THEN
        status := 'target-exists';
        RETURN;
    END IF;
    IF p_target_home_id <> p_source_home_id THEN
        -- The object replaced at the target may hold the UID itself: it goes away.
        SELECT o.id, b.name, o.name INTO v_holder_id, v_holder_calendar, v_holder_name
        FROM calendar_object o
        JOIN calendar_bind b ON b.calendar_id = o.calendar_id AND b.home_id = o.home_id
        WHERE o.home_id = p_target_home_id AND o.uid = v_uid;
        IF v_holder_id IS NOT NULL AND v_holder_id IS DISTINCT FROM v_victim THEN
            status := 'uid-conflict';
            holder_calendar := v_holder_calendar;
            holder_name := v_holder_name;
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

_FUNCTIONS = (
    "caldav_move_object(bigint, bigint, text, bigint, bigint, bigint, text, boolean)",
    "caldav_delete_object(bigint, bigint, bigint, text, text[])",
    "caldav_put_object(bigint, bigint, bigint, text, text, text, text, text, integer, text, "
    "text, timestamptz, text[], boolean, bigint, timestamptz[], timestamptz[], boolean[], "
    "boolean[], text[])",
    "caldav_etag_status(text, text[], boolean)",
)


def upgrade() -> None:
    for sql in (_ETAG_STATUS, _PUT, _DELETE, _MOVE):
        op.execute(sql)


def downgrade() -> None:
    for signature in _FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
