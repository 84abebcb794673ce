-- calendar_object_quota, version 1: created by migration 0004 (trigger of calendar_object; of dav_resource since 0014).
CREATE FUNCTION calendar_object_quota() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE calendar_home SET quota_used = quota_used - OLD.size
        WHERE id = OLD.home_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE calendar_home SET quota_used = quota_used + NEW.size
        WHERE id = NEW.home_id;
    END IF;
    RETURN NULL;
END $$
