-- Every database with its wraparound ages, visitable or not.
-- pg_database_size() needs CONNECT (or pg_read_all_stats); invalid databases are not sized.
SELECT row_to_json(d)::text
FROM (
    SELECT d.oid::bigint AS oid,
           d.datname AS name,
           d.datallowconn AS allows_connections,
           d.datconnlimit AS connection_limit,
           d.datistemplate AS is_template,
           age(d.datfrozenxid)::bigint AS xid_age,
           mxid_age(d.datminmxid)::bigint AS mxid_age,
           CASE WHEN d.datconnlimit <> -2
                 AND (has_database_privilege(d.oid, 'CONNECT')
                      OR pg_has_role('pg_read_all_stats', 'USAGE'))
                THEN pg_database_size(d.oid)
           END AS size_bytes,
           s.stats_reset
    FROM pg_database d
    LEFT JOIN pg_stat_database s ON s.datid = d.oid
    ORDER BY d.datname
) d
