-- Standbys streaming from this server; backend_xmin is set by hot_standby_feedback.
SELECT row_to_json(r)::text
FROM (
    SELECT pid,
           usename AS "user",
           application_name,
           host(client_addr) AS client_addr,
           state,
           sync_state,
           backend_xmin::text::bigint AS backend_xmin,
           age(backend_xmin) AS backend_xmin_age,
           reply_time
    FROM pg_stat_replication
    ORDER BY pid
) r
