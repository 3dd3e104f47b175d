-- 16+: temp schemas holding tables, and their owner. N in pg_temp_N is the owner's backend id
-- (16) or proc number (17+), which pg_stat_get_backend_pid() takes; the owner is only taken
-- when that backend is connected to this database. NULL owner_pid: no such backend, orphaned.
SELECT row_to_json(t)::text
FROM (
    SELECT n.nspname AS schema,
           substring(n.nspname FROM 9)::int AS backend_id,
           CASE WHEN pg_stat_get_backend_dbid(substring(n.nspname FROM 9)::int)
                     = (SELECT oid FROM pg_database WHERE datname = current_database())
                THEN pg_stat_get_backend_pid(substring(n.nspname FROM 9)::int)
           END AS owner_pid,
           array_agg(c.oid::bigint ORDER BY c.oid) AS table_oids
    FROM pg_namespace n
    JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'm')
    WHERE n.nspname ~ '^pg_temp_[0-9]+$'
    GROUP BY n.nspname
    ORDER BY n.nspname
) t
