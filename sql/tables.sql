-- Every relation of the database in one pass over pg_class: the relations autovacuum can act
-- on (tables, materialized views, TOAST tables), the partitioned tables it never acts on, and
-- the indexes of all of them. pgvac attaches each index (by pg_index.indrelid) and each TOAST
-- table (by reltoastrelid) to its table itself, so pg_class is read once and nothing is sorted
-- or grouped on the server.
--
-- Plain typed columns, read in binary: no JSON is built on the server. The statistics are the
-- pg_stat_get_*() functions that pg_stat_all_tables is made of (system_views.sql), called
-- directly: the view's GROUP BY over pg_index is what made it slow on large catalogs. pgvac
-- sums the index counters per table as the view does (idx_scan, idx_tup_fetch, last_idx_scan).
-- No size function: relpages * block_size needs no lock.
--
-- A line ending in "-- N+" is sent only to PostgreSQL N and later (the functions and columns
-- that older versions lack); pgvac then reads that column as absent.
SELECT c.oid,
       c.relkind,
       c.relpersistence,
       n.nspname AS schema,
       c.relname AS name,
       c.reltuples,
       c.relpages,
       c.relallvisible,
       c.relallfrozen, -- 18+
       c.reltoastrelid,
       i.indrelid,
       CASE WHEN c.relfrozenxid <> '0'::xid THEN age(c.relfrozenxid) END AS xid_age,
       CASE WHEN c.relminmxid <> '0'::xid THEN mxid_age(c.relminmxid) END AS mxid_age,
       c.reloptions,
       -- For an index: its own scans, tuples fetched and last scan, summed per table by pgvac.
       pg_stat_get_numscans(c.oid) AS numscans,
       pg_stat_get_lastscan(c.oid) AS lastscan, -- 16+
       pg_stat_get_tuples_fetched(c.oid) AS tuples_fetched,
       -- For a table: the rest of pg_stat_all_tables.
       CASE WHEN i.indrelid IS NULL THEN pg_stat_get_tuples_returned(c.oid) END AS seq_tup_read,
       CASE WHEN i.indrelid IS NULL THEN pg_stat_get_tuples_inserted(c.oid) END AS n_tup_ins,
       CASE WHEN i.indrelid IS NULL THEN pg_stat_get_tuples_updated(c.oid) END AS n_tup_upd,
       CASE WHEN i.indrelid IS NULL THEN pg_stat_get_tuples_deleted(c.oid) END AS n_tup_del,
       CASE WHEN i.indrelid IS NULL THEN pg_stat_get_tuples_hot_updated(c.oid) END AS n_tup_hot_upd,
       CASE WHEN i.indrelid IS NULL THEN pg_stat_get_tuples_newpage_updated(c.oid) END AS n_tup_newpage_upd, -- 16+
       CASE WHEN i.indrelid IS NULL THEN pg_stat_get_live_tuples(c.oid) END AS n_live_tup,
       CASE WHEN i.indrelid IS NULL THEN pg_stat_get_dead_tuples(c.oid) END AS n_dead_tup,
       CASE WHEN i.indrelid IS NULL THEN pg_stat_get_mod_since_analyze(c.oid) END AS n_mod_since_analyze,
       CASE WHEN i.indrelid IS NULL THEN pg_stat_get_ins_since_vacuum(c.oid) END AS n_ins_since_vacuum, -- 13+
       CASE WHEN i.indrelid IS NULL THEN pg_stat_get_last_vacuum_time(c.oid) END AS last_vacuum,
       CASE WHEN i.indrelid IS NULL THEN pg_stat_get_last_autovacuum_time(c.oid) END AS last_autovacuum,
       CASE WHEN i.indrelid IS NULL THEN pg_stat_get_last_analyze_time(c.oid) END AS last_analyze,
       CASE WHEN i.indrelid IS NULL THEN pg_stat_get_last_autoanalyze_time(c.oid) END AS last_autoanalyze,
       CASE WHEN i.indrelid IS NULL THEN pg_stat_get_total_vacuum_time(c.oid) END AS total_vacuum_time, -- 18+
       CASE WHEN i.indrelid IS NULL THEN pg_stat_get_total_autovacuum_time(c.oid) END AS total_autovacuum_time, -- 18+
       CASE WHEN i.indrelid IS NULL THEN pg_stat_get_total_analyze_time(c.oid) END AS total_analyze_time, -- 18+
       CASE WHEN i.indrelid IS NULL THEN pg_stat_get_total_autoanalyze_time(c.oid) END AS total_autoanalyze_time, -- 18+
       CASE WHEN i.indrelid IS NULL THEN pg_stat_get_vacuum_count(c.oid) END AS vacuum_count,
       CASE WHEN i.indrelid IS NULL THEN pg_stat_get_autovacuum_count(c.oid) END AS autovacuum_count,
       CASE WHEN i.indrelid IS NULL THEN pg_stat_get_analyze_count(c.oid) END AS analyze_count,
       CASE WHEN i.indrelid IS NULL THEN pg_stat_get_autoanalyze_count(c.oid) END AS autoanalyze_count
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index i ON i.indexrelid = c.oid
WHERE c.relkind IN ('r', 'm', 't', 'p', 'i', 'I')
