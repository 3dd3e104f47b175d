-- Granted locks on relations of this database that conflict with SHARE UPDATE EXCLUSIVE, the
-- lock every VACUUM and ANALYZE takes: while one is held, autovacuum's vacuums and analyzes of
-- the relation (all but anti-wraparound vacuums) skip it ("skipping vacuum of ... --- lock not
-- available"), and an anti-wraparound vacuum waits for it. pid is NULL for a prepared
-- transaction (virtualtransaction '-1/<xid>'). pgvac's own session holds none of these.
SELECT row_to_json(l)::text
FROM (
    SELECT relation::bigint AS relid,
           pid,
           mode,
           virtualtransaction
    FROM pg_locks
    WHERE locktype = 'relation'
      AND granted
      AND mode IN ('ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock',
                   'ExclusiveLock', 'AccessExclusiveLock')
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    ORDER BY relation, pid
) l
