-- calendar_object_drops_attachments, version 1: created by migration 0009 (trigger of calendar_object).
-- Only objects that have links pay more than one index probe.
CREATE FUNCTION calendar_object_drops_attachments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM attachment_link l WHERE l.calendar_object_id = NEW.id) THEN
        DELETE FROM attachment_link l USING attachment a
        WHERE l.calendar_object_id = NEW.id AND a.id = l.attachment_id
          AND position(a.managed_id IN
                       regexp_replace(NEW.icalendar, E'\r?\n[ \t]', '', 'g')) = 0;
    END IF;
    RETURN NULL;
END $$
