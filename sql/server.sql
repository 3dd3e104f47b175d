-- The server itself: version, recovery, start time, the next XID and platform hints.
-- The next XID is read from the current snapshot: txid_current() would assign one.
-- txid_snapshot_xmax/txid_current_snapshot exist on every supported version (12-18).
SELECT json_build_object(
    'version_num', current_setting('server_version_num')::int,
    'version', version(),
    'in_recovery', pg_is_in_recovery(),
    'postmaster_start_time', pg_postmaster_start_time(),
    'stats_reset', (SELECT max(stats_reset) FROM pg_stat_database),
    'collected_at', clock_timestamp(),
    'next_xid', txid_snapshot_xmax(txid_current_snapshot()),
    'block_size', current_setting('block_size')::bigint,
    'connected_database', current_database(),
    'connected_user', current_user,
    'rds_settings', (SELECT count(*) FROM pg_settings WHERE name LIKE 'rds.%'),
    'rdsadmin_role', EXISTS (SELECT FROM pg_roles WHERE rolname = 'rdsadmin'),
    'aurora_function', EXISTS (SELECT FROM pg_proc WHERE proname = 'aurora_version'),
    'session', json_build_object(
        'application_name', current_setting('application_name'),
        'default_transaction_read_only', current_setting('default_transaction_read_only'),
        'transaction_read_only', current_setting('transaction_read_only'),
        'transaction_isolation', current_setting('transaction_isolation'),
        'statement_timeout', current_setting('statement_timeout'),
        'lock_timeout', current_setting('lock_timeout')
    )
)::text
