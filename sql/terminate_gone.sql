-- Whether a signalled backend ($1) is still there.
SELECT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $1)
