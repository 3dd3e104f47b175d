-- Replication slots with the horizons they hold. Columns added after 12 are read by name
-- from to_jsonb(row), so they are simply absent on versions that lack them.
SELECT row_to_json(r)::text
FROM (
    SELECT s.slot_name,
           s.slot_type,
           s.plugin,
           s.database,
           s.temporary,
           s.active,
           s.active_pid,
           s.xmin::text::bigint AS xmin,
           age(s.xmin) AS xmin_age,
           s.catalog_xmin::text::bigint AS catalog_xmin,
           age(s.catalog_xmin) AS catalog_xmin_age,
           s.restart_lsn::text AS restart_lsn,
           s.confirmed_flush_lsn::text AS confirmed_flush_lsn,
           to_jsonb(s) ->> 'wal_status' AS wal_status,
           (to_jsonb(s) ->> 'safe_wal_size')::bigint AS safe_wal_size,
           (to_jsonb(s) ->> 'inactive_since')::timestamptz AS inactive_since,
           to_jsonb(s) ->> 'invalidation_reason' AS invalidation_reason
    FROM pg_replication_slots s
    ORDER BY s.slot_name
) r
