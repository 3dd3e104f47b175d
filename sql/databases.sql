-- Every database with its wraparound ages, visitable or not, and whether this role may connect
-- to it. No size function: pg_database_size() stats every file of every database, and this
-- query must not fail. Sizes come from each database's own tables query (relpages).
SELECT row_to_json(d)::text
FROM (
    SELECT d.oid::bigint AS oid,
           d.datname AS name,
           d.datallowconn AS allows_connections,
           d.datconnlimit AS connection_limit,
           d.datistemplate AS is_template,
           age(d.datfrozenxid)::bigint AS xid_age,
           mxid_age(d.datminmxid)::bigint AS mxid_age,
           has_database_privilege(d.oid, 'CONNECT') AS may_connect,
           s.stats_reset
    FROM pg_database d
    LEFT JOIN pg_stat_database s ON s.datid = d.oid
    ORDER BY d.datname
) d
