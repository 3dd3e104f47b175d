-- The best known floor for the per-table data pgvac reads (PostgreSQL 13-15 columns): plain
-- columns of pg_class, the pg_stat_get_*() functions and one grouped pg_index aggregate, as
-- psql sends it (text). scripts/bench runs it through psql to /dev/null.
SELECT c.oid, n.nspname, c.relname, c.relkind, c.relpersistence, c.reltuples, c.relpages,
       c.relallvisible, c.reltoastrelid,
       CASE WHEN c.relfrozenxid <> '0'::xid THEN age(c.relfrozenxid) END,
       CASE WHEN c.relminmxid <> '0'::xid THEN mxid_age(c.relminmxid) END,
       c.reloptions,
       pg_stat_get_numscans(c.oid), pg_stat_get_tuples_returned(c.oid),
       pg_stat_get_tuples_fetched(c.oid),
       pg_stat_get_tuples_inserted(c.oid), pg_stat_get_tuples_updated(c.oid),
       pg_stat_get_tuples_deleted(c.oid), pg_stat_get_tuples_hot_updated(c.oid),
       pg_stat_get_live_tuples(c.oid), pg_stat_get_dead_tuples(c.oid),
       pg_stat_get_mod_since_analyze(c.oid), pg_stat_get_ins_since_vacuum(c.oid),
       pg_stat_get_last_vacuum_time(c.oid), pg_stat_get_last_autovacuum_time(c.oid),
       pg_stat_get_last_analyze_time(c.oid), pg_stat_get_last_autoanalyze_time(c.oid),
       pg_stat_get_vacuum_count(c.oid), pg_stat_get_autovacuum_count(c.oid),
       pg_stat_get_analyze_count(c.oid), pg_stat_get_autoanalyze_count(c.oid),
       ix.index_count, ix.index_pages, ix.idx_scan, ix.idx_tup_fetch
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN (SELECT i.indrelid, count(*) AS index_count, sum(ic.relpages::bigint) AS index_pages,
                  sum(pg_stat_get_numscans(i.indexrelid)) AS idx_scan,
                  sum(pg_stat_get_tuples_fetched(i.indexrelid)) AS idx_tup_fetch
           FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
           GROUP BY i.indrelid) ix ON ix.indrelid = c.oid
WHERE c.relkind IN ('r', 'm', 't', 'p');
