-- pg_locks, read once per database, from one copy of the lock table (a MATERIALIZED CTE:
-- every reference to pg_locks would otherwise take its own copy), for two uses.
--
-- 1. The locks that can prove who owns a temporary schema (read before temp_schemas_*.sql,
-- whose read of pg_stat_activity must come after this one: see docs/snapshot.md).
-- read_started: when this statement began. A session idle in transaction since before it cannot
-- have been in the middle of a statement when the locks were read.
-- index_locks: AccessShareLock or RowShareLock granted on a btree index of a table in a
-- pg_temp_N schema of this database. Only the session whose temporary schema it is can hold
-- one after a completed statement: another session planning a query on that table reads the
-- btree metapage and fails ("cannot access temporary tables of other sessions"), which releases
-- the lock; LOCK TABLE refuses indexes; DDL takes ShareUpdateExclusiveLock or stronger.
-- virtualxids: the backend id (12-16) or proc number (17+) of every session in a transaction,
-- the N of its pg_temp_N.
--
-- 2. relation_locks: granted locks on relations of this database that conflict with SHARE
-- UPDATE EXCLUSIVE, the lock every VACUUM and ANALYZE takes: while one is held, autovacuum's
-- vacuums and analyzes of the relation (all but anti-wraparound vacuums) skip it ("skipping
-- vacuum of ... --- lock not available"), and an anti-wraparound vacuum waits for it. pid is
-- NULL for a prepared transaction (virtualtransaction '-1/<xid>'). pgvac's own session holds
-- none of these.
WITH l AS MATERIALIZED (
    SELECT locktype, database, relation, virtualxid, virtualtransaction, pid, mode, granted
    FROM pg_locks
    WHERE granted
), here AS (
    SELECT oid FROM pg_database WHERE datname = current_database()
)
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
        FROM l
        JOIN pg_class ic ON ic.oid = l.relation
        JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
        JOIN pg_index i ON i.indexrelid = ic.oid
        JOIN pg_class tc ON tc.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = tc.relnamespace
        WHERE l.locktype = 'relation'
          AND l.mode IN ('AccessShareLock', 'RowShareLock')
          AND l.database = (SELECT oid FROM here)
          AND n.nspname ~ '^pg_temp_[0-9]+$'
    ), '[]'),
    'virtualxids', coalesce((
        SELECT json_agg(json_build_object(
                   'pid', l.pid,
                   'backend_id', split_part(l.virtualxid, '/', 1)::int)
                 ORDER BY l.pid)
        FROM l
        WHERE l.locktype = 'virtualxid'
          AND l.mode = 'ExclusiveLock'
          AND l.pid IS NOT NULL
    ), '[]'),
    'relation_locks', coalesce((
        SELECT json_agg(json_build_object(
                   'relid', l.relation::bigint,
                   'pid', l.pid,
                   'mode', l.mode,
                   'virtualtransaction', l.virtualtransaction)
                 ORDER BY l.relation, l.pid)
        FROM l
        WHERE l.locktype = 'relation'
          AND l.mode IN ('ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock',
                         'ExclusiveLock', 'AccessExclusiveLock')
          AND l.database = (SELECT oid FROM here)
    ), '[]')
)::text
