-- caldav_move_object, version 3: created by migration 0017 (a new Schedule-Tag at the target, RFC 6638 §3.2.10).
-- p_schedule_tag: the moved object's new tag when it is a scheduling object (it keeps none else).
-- The checks are written out in each write function rather than shared through SQL
-- helper functions: PL/pgSQL caches its statements' plans per session, a called SQL
-- function that cannot be inlined is planned again on every call.
CREATE FUNCTION caldav_move_object(
    p_source_home_id bigint, p_source_id bigint, p_name text,
    p_target_home_id bigint, p_target_bind_home_id bigint, p_target_id bigint,
    p_target_name text, p_overwrite boolean, p_schedule_tag text,
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
        home_id = p_target_home_id,
        schedule_tag = CASE WHEN v_scheduling THEN p_schedule_tag END, modified = now()
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
