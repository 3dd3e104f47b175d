-- pgvac's own session: its pid and backend_start, read right after connecting (outside the
-- run's transactions, so the statistics snapshot of pg_stat_activity that the sources read is
-- not taken here), so that Ctrl-C can cancel what this session still runs on the server.
SELECT json_build_object('pid', pid, 'backend_start', backend_start)::text
FROM pg_stat_activity
WHERE pid = pg_backend_pid()
