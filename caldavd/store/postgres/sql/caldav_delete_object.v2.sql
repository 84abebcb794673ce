-- caldav_delete_object, version 2: created by migration 0017 (If-Schedule-Tag-Match, RFC 6638 §8.3).
-- The checks are written out in each write function rather than shared through SQL
-- helper functions: PL/pgSQL caches its statements' plans per session, a called SQL
-- function that cannot be inlined is planned again on every call.
CREATE FUNCTION caldav_delete_object(
    p_home_id bigint, p_bind_home_id bigint, p_calendar_id bigint, p_name text,
    p_if_match text[], p_if_schedule_tag text, OUT status text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_mode text;
    v_id bigint;
    v_etag text;
    v_tag text;
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
    SELECT o.id, o.etag, o.schedule_tag INTO v_id, v_etag, v_tag FROM calendar_object o
    WHERE o.calendar_id = p_calendar_id AND o.name = p_name;
    IF v_id IS NULL THEN
        status := 'missing';
        RETURN;
    END IF;
    status := caldav_etag_status(v_etag, p_if_match, false);
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    IF p_if_schedule_tag IS NOT NULL AND v_tag IS DISTINCT FROM p_if_schedule_tag THEN
        status := 'schedule-tag-differs';
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
