-- Every relation autovacuum can act on (tables, materialized views, TOAST tables) and the
-- partitioned tables it never acts on, with their statistics, TOAST table and index totals.
-- One query for the whole database, and no size function: relpages * block_size needs no lock.
-- relallfrozen (18+) and the pg_stat_all_tables counters are read by name from to_jsonb(row),
-- so a column a version lacks is absent rather than an error.
SELECT row_to_json(t)::text
FROM (
    SELECT c.oid::bigint AS oid,
           n.nspname AS schema,
           c.relname AS name,
           c.relkind::text AS relkind,
           c.relpersistence::text AS relpersistence,
           c.reltuples::float8 AS reltuples,
           c.relpages::bigint AS relpages,
           c.relallvisible::bigint AS relallvisible,
           (to_jsonb(c) ->> 'relallfrozen')::bigint AS relallfrozen,
           c.relpages::bigint * current_setting('block_size')::bigint AS heap_bytes,
           CASE WHEN c.relfrozenxid <> '0'::xid THEN age(c.relfrozenxid) END AS xid_age,
           CASE WHEN c.relminmxid <> '0'::xid THEN mxid_age(c.relminmxid) END AS mxid_age,
           c.reloptions,
           tc.oid::bigint AS toast_oid,
           CASE WHEN tc.relfrozenxid <> '0'::xid THEN age(tc.relfrozenxid) END AS toast_xid_age,
           CASE WHEN tc.relminmxid <> '0'::xid THEN mxid_age(tc.relminmxid) END AS toast_mxid_age,
           tc.relpages::bigint AS toast_relpages,
           tc.reloptions AS toast_reloptions,
           owner.oid::bigint AS owner_oid,
           to_jsonb(s) AS stats,
           coalesce(ix.index_count, 0) AS index_count,
           coalesce(ix.index_bytes, 0) AS index_bytes
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_class tc ON tc.oid = c.reltoastrelid
    LEFT JOIN pg_class owner ON c.relkind = 't' AND owner.reltoastrelid = c.oid
    LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
    LEFT JOIN (
        SELECT i.indrelid,
               count(*) AS index_count,
               sum(ic.relpages::bigint) * current_setting('block_size')::bigint AS index_bytes
        FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid
        GROUP BY i.indrelid
    ) ix ON ix.indrelid = c.oid
    WHERE c.relkind IN ('r', 'm', 't', 'p')
    ORDER BY c.oid
) t
