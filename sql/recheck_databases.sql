-- After a run, for the databases that could not be read: which still exist (by oid) and whether
-- they are invalid (a DROP DATABASE under way or interrupted), and whether the server restarted.
SELECT json_build_object(
           'postmaster_start_time', pg_postmaster_start_time(),
           'databases', coalesce(
               (SELECT json_agg(json_build_object('oid', d.oid::bigint,
                                                  'invalid', d.datconnlimit = -2))
                FROM pg_database d),
               '[]'::json)
       )::text
