-- caldav_put_object, version 1: created by migration 0005 (statuses in its docstring).
-- The checks are written out in each write function rather than shared through SQL
-- helper functions: PL/pgSQL caches its statements' plans per session, a called SQL
-- function that cannot be inlined is planned again on every call.
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
