-- caldav_etag_status, version 1: created by migration 0005.
-- Shared by PUT and DELETE: which condition fails, NULL when none does (RFC 9110 §13.1).
-- A one-expression SQL function: the planner inlines it into the callers' statements.
CREATE FUNCTION caldav_etag_status(p_etag text, p_if_match text[], p_if_none_match boolean)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_if_none_match AND p_etag IS NOT NULL THEN 'exists'
        WHEN p_if_match IS NOT NULL AND p_etag IS NULL THEN 'no-match'
        WHEN p_if_match IS NOT NULL AND NOT ('*' = ANY (p_if_match) OR p_etag = ANY (p_if_match))
            THEN 'etag-differs'
    END
$$
