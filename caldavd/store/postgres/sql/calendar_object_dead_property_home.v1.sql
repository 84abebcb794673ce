-- calendar_object_dead_property_home, version 1: created by migration 0013 (trigger of calendar_object; of dav_resource since 0014).
CREATE FUNCTION calendar_object_dead_property_home() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE dead_property SET home_id = NEW.home_id WHERE resource_id = NEW.id;
    RETURN NULL;
END $$
