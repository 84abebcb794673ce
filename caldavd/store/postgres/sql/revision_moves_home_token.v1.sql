-- revision_moves_home_token, version 1: created by migration 0008 (statement triggers of revision).
CREATE FUNCTION revision_moves_home_token() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE calendar_home SET change_token = nextval('revision_seq')
    WHERE id IN (SELECT collection_id FROM changed
                 UNION
                 SELECT b.home_id FROM changed c
                 JOIN calendar_bind b ON b.calendar_id = c.collection_id);
    RETURN NULL;
END $$
