-- 16+: temp schemas holding tables, and the sessions connected to this database, read after
-- temp_locks.sql. N in pg_temp_N is a backend id (16) or proc number (17+), which
-- pg_stat_get_backend_pid() takes: the session that has it here is only a candidate owner (it owns
-- the schema once it has used temporary tables itself). No session of this database with that
-- id: no owner.
SELECT json_build_object(
    'own_pid', pg_backend_pid(),
    'schemas', coalesce((
        SELECT json_agg(s ORDER BY s.schema)
        FROM (
            SELECT n.nspname AS schema,
                   substring(n.nspname FROM 9)::int AS backend_id,
                   CASE WHEN pg_stat_get_backend_dbid(substring(n.nspname FROM 9)::int)
                             = (SELECT oid FROM pg_database WHERE datname = current_database())
                        THEN pg_stat_get_backend_pid(substring(n.nspname FROM 9)::int)
                   END AS candidate_pid,
                   array_agg(c.oid::bigint ORDER BY c.oid) AS table_oids
            FROM pg_namespace n
            JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'm')
            WHERE n.nspname ~ '^pg_temp_[0-9]+$'
            GROUP BY n.nspname
        ) s
    ), '[]'),
    'sessions', coalesce((
        SELECT json_agg(a ORDER BY a.pid)
        FROM (
            SELECT pid, backend_start, state, state_change, xact_start
            FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
        ) a
    ), '[]')
)::text
