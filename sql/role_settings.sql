-- pg_db_role_setting: what ALTER DATABASE ... SET, ALTER ROLE ... [IN DATABASE ...] SET and
-- ALTER ROLE ALL SET stored, one row per vacuum setting (setdatabase 0 = every database,
-- setrole 0 = every role). Autovacuum workers apply some of these (their database's, and those
-- of the bootstrap superuser they run as); pgvac's own session applies its own role's instead.
SELECT row_to_json(s)::text
FROM (
    SELECT d.setdatabase::bigint AS database_oid, db.datname AS database,
           d.setrole::bigint AS role_oid, r.rolname AS role,
           lower(split_part(c.item, '=', 1)) AS name,
           substr(c.item, strpos(c.item, '=') + 1) AS value
    FROM pg_db_role_setting d
    CROSS JOIN LATERAL unnest(d.setconfig) AS c(item)
    LEFT JOIN pg_database db ON db.oid = d.setdatabase
    LEFT JOIN pg_roles r ON r.oid = d.setrole
    WHERE lower(split_part(c.item, '=', 1)) LIKE 'vacuum%'
       OR lower(split_part(c.item, '=', 1)) IN ('maintenance_work_mem', 'track_counts')
    ORDER BY d.setdatabase, d.setrole, 5
) s
