-- dead_property_quota, version 1: created by migration 0013 (trigger of dead_property).
CREATE FUNCTION dead_property_quota() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE calendar_home SET quota_used = quota_used - (octet_length(OLD.name) + octet_length(OLD.value))
        WHERE id = OLD.home_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE calendar_home SET quota_used = quota_used + (octet_length(NEW.name) + octet_length(NEW.value))
        WHERE id = NEW.home_id;
    END IF;
    RETURN NULL;
END $$
