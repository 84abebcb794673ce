-- schedule_notify, version 1: created by migration 0016 (statement trigger of schedule_work and schedule_delivery).
-- NOTIFY is delivered at commit, so a processor on any host listening on caldavd_schedule wakes
-- when new work is visible, never before; the payload names the table.
CREATE FUNCTION schedule_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('caldavd_schedule', TG_TABLE_NAME);
    RETURN NULL;
END $$
