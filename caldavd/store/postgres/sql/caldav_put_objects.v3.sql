-- caldav_put_objects, version 3: created by migration 0017 (passes the Schedule-Tag's keep flag and
-- If-Schedule-Tag-Match on, returns the tag stored).
-- Slices are written [a : b]: alembic runs the text through SQLAlchemy, which would
-- take a colon before a name for a bind parameter.
CREATE FUNCTION caldav_put_objects(
    p_home_id bigint, p_bind_home_ids bigint[], p_calendar_ids bigint[], p_names text[],
    p_uids text[], p_component_types text[], p_icalendars text[], p_etags text[],
    p_sizes integer[], p_organizers text[], p_schedule_tags text[],
    p_indexed_untils timestamptz[], p_tags_from integer[], p_tags_to integer[], p_tags text[],
    p_if_none_matches boolean[], p_quotas bigint[], p_rows_from integer[], p_rows_to integer[],
    p_starts timestamptz[], p_ends timestamptz[], p_floating boolean[],
    p_transparent boolean[], p_fbtypes text[], p_schedulings boolean[],
    p_keep_schedule_tags boolean[], p_if_schedule_tags text[])
RETURNS TABLE (i integer, status text, object_id bigint, created timestamptz,
               modified timestamptz, holder_home text, holder_calendar text, holder_name text,
               used bigint, schedule_tag text)
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
               w.holder_calendar, w.holder_name, w.used, w.schedule_tag
        INTO i, status, object_id, created, modified, holder_home, holder_calendar,
             holder_name, used, schedule_tag
        FROM caldav_put_object(
            p_home_id, p_bind_home_ids[v_n], p_calendar_ids[v_n], p_names[v_n], p_uids[v_n],
            p_component_types[v_n], p_icalendars[v_n], p_etags[v_n], p_sizes[v_n],
            p_organizers[v_n], p_schedule_tags[v_n], p_indexed_untils[v_n], v_tags,
            p_if_none_matches[v_n], p_quotas[v_n], p_starts[v_lo : v_hi], p_ends[v_lo : v_hi],
            p_floating[v_lo : v_hi], p_transparent[v_lo : v_hi], p_fbtypes[v_lo : v_hi],
            p_schedulings[v_n], p_keep_schedule_tags[v_n], p_if_schedule_tags[v_n]) AS w;
        RETURN NEXT;
    END LOOP;
END $$
