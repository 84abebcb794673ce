-- attachment_link_collect, version 1: created by migration 0009 (statement trigger of attachment_link).
CREATE FUNCTION attachment_link_collect() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM attachment a
    WHERE a.id IN (SELECT g.attachment_id FROM gone g)
      AND NOT EXISTS (SELECT 1 FROM attachment_link l WHERE l.attachment_id = a.id);
    RETURN NULL;
END $$
