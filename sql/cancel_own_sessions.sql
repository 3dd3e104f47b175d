-- Ctrl-C: cancel the statements pgvac's own sessions of this run still execute. Dropping a
-- connection does not stop its statement: the server reads nothing from the client until the
-- statement ends. Each session is named by the pid and backend_start it reported itself
-- ($1, $2), rechecked in this statement, so a pid the server has since given to another
-- session is never signalled. A session between statements needs no signal: it ends when it
-- finds its connection gone.
SELECT count(*) FILTER (WHERE pg_cancel_backend(a.pid))
FROM pg_stat_activity a
JOIN unnest($1::int[], $2::text[]) AS own(pid, backend_start)
  ON a.pid = own.pid AND a.backend_start = own.backend_start::timestamptz
WHERE a.state = 'active' AND a.pid <> pg_backend_pid()
