-- The locks that can prove who owns a temporary schema (read before temp_schemas_*.sql, whose
-- read of pg_stat_activity must come after this one: see docs/snapshot.md).
-- read_started: when this statement began. A session idle in transaction since before it cannot
-- have been in the middle of a statement when the locks were read.
-- index_locks: AccessShareLock or RowShareLock granted on a btree index of a table in a
-- pg_temp_N schema of this database. Only the session whose temporary schema it is can hold
-- one after a completed statement: another session planning a query on that table reads the
-- btree metapage and fails ("cannot access temporary tables of other sessions"), which releases
-- the lock; LOCK TABLE refuses indexes; DDL takes ShareUpdateExclusiveLock or stronger.
-- virtualxids: the backend id (12-16) or proc number (17+) of every session in a transaction,
-- the N of its pg_temp_N.
SELECT json_build_object(
    'read_started', statement_timestamp(),
    'index_locks', coalesce((
        SELECT json_agg(json_build_object(
                   'pid', l.pid,
                   'schema', n.nspname,
                   'index', quote_ident(n.nspname) || '.' || quote_ident(ic.relname),
                   'table', quote_ident(n.nspname) || '.' || quote_ident(tc.relname),
                   'mode', l.mode)
                 ORDER BY l.pid, ic.oid)
        FROM pg_locks l
        JOIN pg_class ic ON ic.oid = l.relation
        JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
        JOIN pg_index i ON i.indexrelid = ic.oid
        JOIN pg_class tc ON tc.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = tc.relnamespace
        WHERE l.locktype = 'relation'
          AND l.granted
          AND l.mode IN ('AccessShareLock', 'RowShareLock')
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND n.nspname ~ '^pg_temp_[0-9]+$'
    ), '[]'),
    'virtualxids', coalesce((
        SELECT json_agg(json_build_object(
                   'pid', l.pid,
                   'backend_id', split_part(l.virtualxid, '/', 1)::int)
                 ORDER BY l.pid)
        FROM pg_locks l
        WHERE l.locktype = 'virtualxid'
          AND l.granted
          AND l.mode = 'ExclusiveLock'
          AND l.pid IS NOT NULL
    ), '[]')
)::text
