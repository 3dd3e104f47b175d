-- `pgvac sessions --terminate --execute`: what pgvac's role may signal, and the postmaster start
-- time, which must be the snapshot's (otherwise its sessions cannot be matched).
SELECT json_build_object(
    'role', current_user,
    'superuser', coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false),
    'signal_backend', pg_has_role(current_user, 'pg_signal_backend', 'USAGE')
        OR EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_superuser'
                   AND pg_has_role(current_user, oid, 'USAGE')),
    'started', pg_postmaster_start_time()
)::text
