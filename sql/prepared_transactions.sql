-- Prepared transactions of every database: each holds back the xmin horizon until resolved.
SELECT row_to_json(p)::text
FROM (
    SELECT gid,
           transaction::text::bigint AS xid,
           age(transaction) AS xid_age,
           prepared,
           owner,
           database
    FROM pg_prepared_xacts
    ORDER BY prepared, gid
) p
