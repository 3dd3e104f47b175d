-- Every backend. backend_xid and backend_xmin stay visible without pg_read_all_stats;
-- query, state and times of other roles' sessions do not (they are marked redacted).
SELECT row_to_json(s)::text
FROM (
    SELECT a.pid,
           a.datname AS database,
           a.usename AS "user",
           a.application_name,
           host(a.client_addr) AS client_addr,
           a.backend_type,
           a.state,
           a.backend_start,
           a.xact_start,
           a.query_start,
           a.state_change,
           a.backend_xid::text::bigint AS backend_xid,
           a.backend_xmin::text::bigint AS backend_xmin,
           age(a.backend_xid) AS backend_xid_age,
           age(a.backend_xmin) AS backend_xmin_age,
           a.wait_event_type,
           a.wait_event,
           left(a.query, 1024) AS query,
           (to_jsonb(a) ->> 'leader_pid')::int AS leader_pid,
           a.pid = pg_backend_pid() AS is_pgvac,
           coalesce(a.query = '<insufficient privilege>', false) AS redacted
    FROM pg_stat_activity a
    ORDER BY a.pid
) s
