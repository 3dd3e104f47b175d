-- The targets as they are right before pgvac acts ($1: their pids), to check each is still the
-- session that was planned and that pgvac's role may signal it. Never pgvac's own session.
SELECT row_to_json(s)::text
FROM (
    SELECT a.pid, a.backend_start, a.xact_start, a.backend_type, a.usename,
           coalesce(r.rolsuper, false) AS superuser,
           coalesce(pg_has_role(a.usesysid, 'USAGE'), false) AS same_role
    FROM pg_stat_activity a
    LEFT JOIN pg_roles r ON r.oid = a.usesysid
    WHERE a.pid = ANY($1) AND a.pid <> pg_backend_pid()
) s
