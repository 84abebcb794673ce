"""A database's schema as pg_catalog describes it, for comparing two databases.

Each part maps an object's name to what defines it, in the catalog's own words
(``format_type``, ``pg_get_expr``, ``pg_get_indexdef``, ``pg_get_constraintdef``,
``pg_get_functiondef``, ``pg_get_triggerdef``), so two databases compare equal
exactly when a client cannot tell their schemas apart.  Nothing that differs by
history alone is kept: no OIDs, no attnums (a dropped column leaves a gap), no
sequence positions, no rows.
"""

from __future__ import annotations

import asyncpg

Schema = dict[str, dict[str, tuple[object, ...]]]

_PUBLIC = "'public'::regnamespace"

_PARTS: dict[str, str] = {
    "relations": f"""
        SELECT c.relname, c.relkind, c.relpersistence, c.reloptions
        FROM pg_class c WHERE c.relnamespace = {_PUBLIC} AND c.relkind <> 'i'""",
    "columns": f"""
        SELECT c.relname || '.' || a.attname,
               row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
               format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
               a.attcollation::regcollation::text
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = {_PUBLIC} AND c.relkind <> 'i' AND a.attnum > 0
          AND NOT a.attisdropped""",
    "indexes": f"""
        SELECT c.relname, pg_get_indexdef(c.oid)
        FROM pg_class c WHERE c.relnamespace = {_PUBLIC} AND c.relkind = 'i'""",
    "constraints": f"""
        SELECT conrelid::regclass::text || '.' || conname, contype,
               pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = {_PUBLIC}""",
    "functions": f"""
        SELECT oid::regprocedure::text, pg_get_functiondef(oid)
        FROM pg_proc WHERE pronamespace = {_PUBLIC}""",
    "triggers": f"""
        SELECT t.tgrelid::regclass::text || '.' || t.tgname, pg_get_triggerdef(t.oid),
               t.tgenabled
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = {_PUBLIC} AND NOT t.tgisinternal""",
    "sequences": """
        SELECT s.sequencename, s.data_type::text, s.start_value, s.min_value, s.max_value,
               s.increment_by, s.cycle, s.cache_size,
               (SELECT t.relname || '.' || a.attname FROM pg_depend d
                JOIN pg_class t ON t.oid = d.refobjid
                JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                WHERE d.objid = (quote_ident(s.sequencename))::regclass
                  AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
        FROM pg_sequences s WHERE s.schemaname = 'public'""",
    "types": f"""
        SELECT t.typname, t.typtype,
               array(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid
                     ORDER BY e.enumsortorder)
        FROM pg_type t WHERE t.typnamespace = {_PUBLIC} AND t.typtype IN ('e', 'd', 'r', 'm')
          OR (t.typnamespace = {_PUBLIC} AND t.typtype = 'c'
              AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')""",
}


async def schema(conn: asyncpg.Connection) -> Schema:
    """The public schema of ``conn``'s database, part by part."""
    result: Schema = {}
    for part, query in _PARTS.items():
        rows = await conn.fetch(query)
        result[part] = {row[0]: tuple(row[1:]) for row in rows}
    return result
