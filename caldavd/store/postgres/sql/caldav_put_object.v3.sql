-- caldav_put_object, version 3: created by migration 0017 (Schedule-Tag, RFC 6638 §3.2.10, §8.3).
-- A scheduling object's tag: p_schedule_tag (new), or the current one when
-- p_keep_schedule_tag and there is one; none for other objects.  p_if_schedule_tag:
-- If-Schedule-Tag-Match, the current tag must be it.  OUT schedule_tag: the tag stored.
-- The checks are written out in each write function rather than shared through SQL
-- helper functions: PL/pgSQL caches its statements' plans per session, a called SQL
-- function that cannot be inlined is planned again on every call.
CREATE FUNCTION caldav_put_object(
    p_home_id bigint, p_bind_home_id bigint, p_calendar_id bigint, p_name text,
    p_uid text, p_component_type text, p_icalendar text, p_etag text, p_size integer,
    p_organizer text, p_schedule_tag text, p_indexed_until timestamptz,
    p_if_match text[], p_if_none_match boolean, p_quota bigint,
    p_starts timestamptz[], p_ends timestamptz[], p_floating boolean[],
    p_transparent boolean[], p_fbtypes text[], p_scheduling boolean,
    p_keep_schedule_tag boolean, p_if_schedule_tag text,
    OUT status text, OUT object_id bigint, OUT created timestamptz, OUT modified timestamptz,
    OUT holder_home text, OUT holder_calendar text, OUT holder_name text, OUT used bigint,
    OUT schedule_tag text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_mode text;
    v_old_id bigint;
    v_old_etag text;
    v_old_uid text;
    v_old_size integer;
    v_old_tag text;
    v_tag text;
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
    SELECT o.id, o.etag, o.uid, o.size, o.schedule_tag
    INTO v_old_id, v_old_etag, v_old_uid, v_old_size, v_old_tag
    FROM calendar_object o WHERE o.calendar_id = p_calendar_id AND o.name = p_name;
    status := caldav_etag_status(v_old_etag, p_if_match, p_if_none_match);
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    -- If-Schedule-Tag-Match (RFC 6638 §8.3): only an object with that tag is replaced.
    IF p_if_schedule_tag IS NOT NULL AND v_old_tag IS DISTINCT FROM p_if_schedule_tag THEN
        status := 'schedule-tag-differs';
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

    v_tag := CASE WHEN NOT p_scheduling THEN NULL
                  WHEN p_keep_schedule_tag THEN coalesce(v_old_tag, p_schedule_tag)
                  ELSE p_schedule_tag END;
    IF v_old_id IS NULL THEN
        INSERT INTO calendar_object AS o (calendar_id, home_id, name, uid, component_type,
            icalendar, etag, size, organizer, schedule_tag, indexed_until, scheduling)
        VALUES (p_calendar_id, p_home_id, p_name, p_uid, p_component_type, p_icalendar,
                p_etag, p_size, p_organizer, v_tag, p_indexed_until, p_scheduling)
        RETURNING 'created', o.id, o.created, o.modified
        INTO status, object_id, created, modified;
    ELSE
        UPDATE calendar_object AS o SET component_type = p_component_type,
            icalendar = p_icalendar, etag = p_etag, size = p_size, organizer = p_organizer,
            schedule_tag = v_tag, indexed_until = p_indexed_until,
            scheduling = p_scheduling, modified = now()
        WHERE o.id = v_old_id
        RETURNING 'replaced', o.id, o.created, o.modified
        INTO status, object_id, created, modified;
        DELETE FROM time_range t WHERE t.calendar_object_id = v_old_id;
    END IF;
    schedule_tag := v_tag;
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
