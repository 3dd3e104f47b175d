-- Every autovacuum and vacuum setting, the RDS vacuum settings, and the few others the rules use.
SELECT row_to_json(s)::text
FROM (
    SELECT name, setting, unit, vartype, source, context, boot_val, reset_val, pending_restart
    FROM pg_settings
    WHERE name LIKE 'autovacuum%'
       OR name LIKE 'vacuum%'
       OR (name LIKE 'rds.%' AND name LIKE '%vacuum%')
       OR name IN ('maintenance_work_mem', 'track_counts', 'track_activities',
                   'log_autovacuum_min_duration', 'hot_standby_feedback',
                   'max_prepared_transactions', 'block_size', 'max_connections',
                   'idle_in_transaction_session_timeout', 'old_snapshot_threshold',
                   'track_cost_delay_timing', 'stats_fetch_consistency', 'wal_level',
                   'max_replication_slots', 'max_worker_processes')
    ORDER BY name
) s
