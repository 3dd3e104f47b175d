-- Vacuums in progress, cluster-wide. The progress columns changed in 17 (bytes instead of
-- tuple counts) and 18 (delay_time); they are read by name from to_jsonb(row).
-- Without pg_read_all_stats only pid and datid are visible for other roles' vacuums.
SELECT row_to_json(v)::text
FROM (
    SELECT p.pid,
           p.datname AS database,
           p.relid::bigint AS relid,
           p.phase,
           a.backend_type,
           left(a.query, 1024) AS query,
           a.xact_start AS started_at,
           CASE WHEN a.backend_type IS NOT NULL
                THEN a.backend_type = 'autovacuum worker' END AS is_autovacuum,
           CASE WHEN a.backend_type IS NOT NULL
                THEN a.query LIKE '%(to prevent wraparound)%' END AS is_wraparound,
           p.heap_blks_total,
           p.heap_blks_scanned,
           p.heap_blks_vacuumed,
           p.index_vacuum_count,
           (to_jsonb(p) ->> 'max_dead_tuples')::bigint AS max_dead_tuples,
           (to_jsonb(p) ->> 'num_dead_tuples')::bigint AS num_dead_tuples,
           (to_jsonb(p) ->> 'max_dead_tuple_bytes')::bigint AS max_dead_tuple_bytes,
           (to_jsonb(p) ->> 'dead_tuple_bytes')::bigint AS dead_tuple_bytes,
           (to_jsonb(p) ->> 'num_dead_item_ids')::bigint AS num_dead_item_ids,
           (to_jsonb(p) ->> 'indexes_total')::bigint AS indexes_total,
           (to_jsonb(p) ->> 'indexes_processed')::bigint AS indexes_processed,
           (to_jsonb(p) ->> 'delay_time')::float8 AS delay_time
    FROM pg_stat_progress_vacuum p
    LEFT JOIN pg_stat_activity a ON a.pid = p.pid
    ORDER BY p.pid
) v
