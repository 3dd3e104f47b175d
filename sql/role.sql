-- The connecting role and the predefined roles that decide what it can see and signal.
-- Role oids, not names, so a role missing on this version or platform is simply absent.
SELECT json_build_object(
    'name', current_user,
    'superuser', coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false),
    'memberships', (
        SELECT coalesce(json_agg(r.rolname ORDER BY r.rolname), '[]'::json)
        FROM pg_roles r
        WHERE r.rolname IN ('pg_monitor', 'pg_read_all_stats', 'pg_signal_backend',
                            'rds_superuser', 'pg_signal_autovacuum_worker')
          AND pg_has_role(current_user, r.oid, 'USAGE')
    )
)::text
