-- 12-15: temp schemas holding tables, and the sessions connected to this database, read after
-- temp_locks.sql. pg_stat_get_backend_pid() cannot name a schema's backend here: it indexes a
-- local array, not backend ids, and names the wrong session once an earlier backend has exited.
-- A session's backend id is known only from its virtualxid lock 'N/...' (temp_locks.sql), held
-- while it is inside a transaction.
SELECT json_build_object(
    'own_pid', pg_backend_pid(),
    'schemas', coalesce((
        SELECT json_agg(s ORDER BY s.schema)
        FROM (
            SELECT n.nspname AS schema,
                   substring(n.nspname FROM 9)::int AS backend_id,
                   NULL::int AS candidate_pid,
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
