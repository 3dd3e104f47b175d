-- 12-15: temp schemas holding tables, and their owner where it is known exactly.
-- pg_stat_get_backend_pid() cannot be used here: it indexes a local array, not backend ids, and
-- names the wrong session once an earlier backend has exited. The exact route is the owner's
-- own virtualxid lock 'N/...', held only while the owner is inside a transaction; the lock
-- holder must also be connected to this database. Otherwise the owner is unknown (NULL).
SELECT row_to_json(t)::text
FROM (
    SELECT n.nspname AS schema,
           substring(n.nspname FROM 9)::int AS backend_id,
           (SELECT l.pid
            FROM pg_locks l
            JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'virtualxid'
              AND l.granted
              AND l.mode = 'ExclusiveLock'
              AND split_part(l.virtualxid, '/', 1) = substring(n.nspname FROM 9)
              AND a.datname = current_database()
            LIMIT 1) AS owner_pid,
           array_agg(c.oid::bigint ORDER BY c.oid) AS table_oids
    FROM pg_namespace n
    JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'm')
    WHERE n.nspname ~ '^pg_temp_[0-9]+$'
    GROUP BY n.nspname
    ORDER BY n.nspname
) t
