-- attachment_accounting, version 1: created by migration 0009 (trigger of attachment).
CREATE FUNCTION attachment_accounting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE calendar_home SET quota_used = quota_used - OLD.size WHERE id = OLD.home_id;
    END IF;
    IF TG_OP = 'DELETE' THEN
        INSERT INTO attachment_trash (path) VALUES (OLD.path) ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE calendar_home SET quota_used = quota_used + NEW.size WHERE id = NEW.home_id;
    END IF;
    RETURN NULL;
END $$
