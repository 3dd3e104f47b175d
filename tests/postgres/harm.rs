//! What a held horizon does to tables, against real servers: pgvac must judge a holder by the
//! harm it does now, not only by its age, and must not take rows it pins for rows that fill
//! vacuum's memory.
//!
//! - pgbench (TPC-B, 4 clients) beside a reporting job holding one REPEATABLE READ snapshot,
//!   much younger than the idle (5 min) and transaction (1 h) thresholds: autovacuum vacuums
//!   `pgbench_tellers` and `pgbench_branches` again and again and removes nothing. pgvac must
//!   name the holder and those tables (BLOCK010), with the XID VACUUM itself reports as its
//!   cutoff, and its fix must let VACUUM remove the rows; with pgbench alone it must say nothing.
//! - CONFIG005 (several index passes) on 12-16, with autovacuum's memory at 1 MB: a table
//!   without indexes needs no index pass, and dead rows a held horizon pins are not removable
//!   and fill no memory; a table with removable dead rows and an index does need several, and
//!   pgvac's count is the number of index scans VACUUM itself reports.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::TestFn;
use crate::client::Client;
use crate::cluster::{Cluster, wait_for};
use crate::collect::fresh_database;
use crate::horizon::vacuum_verbose;
use crate::runner;

pub const TESTS: &[(&str, TestFn)] = &[
    (
        "harm_pgbench_beside_a_snapshot_names_holder_and_tables",
        pgbench_beside_a_snapshot,
    ),
    (
        "harm_index_passes_only_where_vacuum_needs_them",
        index_passes,
    ),
];

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}

/// Debian's pgbench 15, which drives every server version 12-18 as a client.
const PGBENCH: &str = "/usr/lib/postgresql/15/bin/pgbench";

fn pgbench(cluster: &Cluster, args: &[&str]) -> Command {
    let mut command = Command::new(PGBENCH);
    command
        .env_clear()
        .env("HOME", "/nonexistent")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &cluster.port.to_string(),
            "-U",
            "postgres",
        ])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// `pgvac report --format json -d DATABASE`, parsed.
fn report(cluster: &Cluster, database: &str) -> Result<Value, String> {
    let run = runner::on(cluster, "report", &["--format", "json", "-d", database])?;
    ensure((0..=2).contains(&run.status), || run.describe())?;
    serde_json::from_str(&run.stdout).map_err(|e| format!("report JSON: {e}\n{}", run.describe()))
}

fn findings<'r>(report: &'r Value, code: &str) -> Vec<&'r Value> {
    report["findings"]
        .as_array()
        .map(|all| all.iter().filter(|f| f["code"] == code).collect())
        .unwrap_or_default()
}

struct Bench(Child);

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pgbench_beside_a_snapshot(shared: &Cluster) -> Result<(), String> {
    ensure(std::path::Path::new(PGBENCH).is_file(), || {
        format!("{PGBENCH} is missing: install postgresql-contrib-15 (pgbench)")
    })?;
    // A cluster of its own: four clients at full speed for most of a minute would slow every
    // other test on the shared one.
    let cluster = &Cluster::start_with(shared.major, &shared.bindir, "")?;
    fresh_database(cluster, "bench")?;
    let init = pgbench(cluster, &["-i", "-s", "1", "-q", "bench"])
        .output()
        .map_err(|e| format!("pgbench -i: {e}"))?;
    ensure(init.status.success(), || {
        format!("pgbench -i: {}", String::from_utf8_lossy(&init.stderr))
    })?;
    let _bench = Bench(
        pgbench(cluster, &["-n", "-c", "4", "-j", "2", "-T", "120", "bench"])
            .spawn()
            .map_err(|e| format!("pgbench: {e}"))?,
    );
    let mut admin = Client::connect(cluster, "bench")?;
    let running = wait_for(Duration::from_secs(30), || {
        Ok(admin.number(
            "SELECT count(*)::text FROM pg_stat_activity WHERE application_name = 'pgbench'",
        )? >= 4)
    })?;
    ensure(running, || {
        "pgbench never started its 4 clients".to_string()
    })?;
    std::thread::sleep(Duration::from_secs(5));

    // pgbench alone: its transactions hold the horizon for milliseconds; nothing to report.
    let alone = report(cluster, "bench")?;
    ensure(findings(&alone, "BLOCK010").is_empty(), || {
        format!(
            "pgbench alone is reported as harm: {:#}",
            findings(&alone, "BLOCK010")[0]
        )
    })?;

    // The reporting job: one REPEATABLE READ snapshot, idle, far younger than the thresholds.
    let mut holder = Client::connect_named(cluster, "bench", "report-job")?;
    holder.execute(
        "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT sum(abalance) FROM pgbench_accounts;",
    )?;
    let pid = holder.pid;
    let xmin = admin.number(&format!(
        "SELECT backend_xmin::text FROM pg_stat_activity WHERE pid = {pid}"
    ))?;
    // Autovacuum (naptime 1 s) vacuums the tellers again after the snapshot began, and they
    // stay far over their trigger; the holder is idle for a few naptimes (pgvac counts harm
    // only once the horizon has been held for one, and a loaded machine is slow to report).
    let vacuumed_since = format!(
        "SELECT (s.last_autovacuum > a.state_change AND s.n_dead_tup > 1000 \
                 AND now() - a.state_change > interval '3 seconds')::text \
         FROM pg_stat_user_tables s, pg_stat_activity a \
         WHERE s.relname = '{{}}' AND a.pid = {pid}"
    );
    let harmed = wait_for(Duration::from_secs(90), || {
        Ok(["pgbench_tellers", "pgbench_branches"].iter().all(|table| {
            admin
                .text(&vacuumed_since.replace("{}", table))
                .ok()
                .flatten()
                .as_deref()
                == Some("true")
        }))
    })?;
    let stats = admin.text(
        "SELECT string_agg(relname || ': ' || n_dead_tup || ' dead, last autovacuum ' \
         || coalesce(last_autovacuum::text, 'never'), '; ') FROM pg_stat_user_tables",
    )?;
    ensure(harmed, || {
        format!("autovacuum never vacuumed the tellers and branches after the snapshot: {stats:?}")
    })?;
    let held_for = admin.number(&format!(
        "SELECT extract(epoch FROM now() - xact_start)::int::text FROM pg_stat_activity \
         WHERE pid = {pid}"
    ))?;

    let found = report(cluster, "bench")?;
    let harm = findings(&found, "BLOCK010");
    let mine: Vec<&&Value> = harm
        .iter()
        .filter(|f| f["object"]["pid"].as_i64() == Some(pid as i64))
        .collect();
    ensure(mine.len() == 1, || {
        format!(
            "pid {pid} (held {held_for} s, xmin {xmin}) is not named once as harming tables \
             (stats: {stats:?}); BLOCK findings: {:#}",
            Value::Array(
                found["findings"]
                    .as_array()
                    .map(|all| {
                        all.iter()
                            .filter(|f| f["code"].as_str().is_some_and(|c| c.starts_with("BLOCK")))
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default()
            )
        )
    })?;
    let finding = mine[0];
    ensure(finding["severity"] == "warning", || {
        format!("not a warning: {finding:#}")
    })?;
    let tables = finding["evidence"]["tables"].as_str().unwrap_or("");
    ensure(
        tables.contains("pgbench_tellers") && tables.contains("pgbench_branches"),
        || format!("the harmed tables are not named: {finding:#}"),
    )?;
    ensure(!tables.contains("pgbench_history"), || {
        format!("an insert-only table is named as harmed: {finding:#}")
    })?;

    // The server's own word: VACUUM keeps the rows, and its cutoff is the XID pgvac names.
    let mut vacuumer = Client::connect(cluster, "bench")?;
    let held = vacuum_verbose(cluster, &mut vacuumer, "pgbench_tellers")?;
    ensure(
        finding["evidence"]["held_xid"].as_i64() == Some(held.cutoff) && held.cutoff == xmin,
        || {
            format!(
                "pgvac names XID {}, the holder's xmin is {xmin}, VACUUM's cutoff is {}:\n{}",
                finding["evidence"]["held_xid"], held.cutoff, held.text
            )
        },
    )?;
    // Kept rows (a page pinned by pgbench may be skipped, so not every counted one).
    ensure(held.not_yet_removable > 0, || {
        format!("VACUUM could remove the tellers' rows:\n{}", held.text)
    })?;

    // pgvac's fix, as written in the finding: the guarded terminate statement.
    let sql = finding["recommendation"]["sql"].as_str().unwrap_or("");
    ensure(
        sql.starts_with("SELECT pg_terminate_backend(pid)")
            && sql.contains(&format!("pid = {pid}")),
        || format!("the fix is not the guarded terminate of pid {pid}: {finding:#}"),
    )?;
    ensure(
        admin.text(&format!(
            "SELECT string_agg(s::text, ',') FROM ({}) AS x(s)",
            sql.trim_end_matches(';')
        ))? == Some("true".to_string()),
        || format!("the guarded statement did not signal pid {pid}"),
    )?;
    drop(holder);
    let mut freed = None;
    wait_for(Duration::from_secs(30), || {
        let report = vacuum_verbose(cluster, &mut vacuumer, "pgbench_tellers")?;
        let done = report.not_yet_removable * 10 < held.not_yet_removable;
        freed = Some(report);
        Ok(done)
    })?;
    let freed = freed.ok_or("no VACUUM ran")?;
    ensure(
        freed.not_yet_removable * 10 < held.not_yet_removable,
        || {
            format!(
                "with the holder gone VACUUM still keeps {} of {} rows:\n{}",
                freed.not_yet_removable, held.not_yet_removable, freed.text
            )
        },
    )?;
    eprintln!(
        "pg{}: pgbench beside a {held_for} s snapshot: VACUUM kept {} dead tellers rows at XID \
         {xmin}, pgvac named pid {pid} ({}); with it ended VACUUM kept {}",
        cluster.major, held.not_yet_removable, tables, freed.not_yet_removable
    );
    Ok(())
}

/// CONFIG005 against VACUUM's own count of index scans, with autovacuum's memory at 1 MB
/// (174,762 dead rows a pass on 12-16): only where VACUUM needs several passes.
fn index_passes(shared: &Cluster) -> Result<(), String> {
    if shared.major >= 17 {
        // 17's TID store has no per-row estimate: the rule does not run there.
        return Ok(());
    }
    let cluster =
        &Cluster::start_with(shared.major, &shared.bindir, "autovacuum_work_mem = 1MB\n")?;
    fresh_database(cluster, "passes")?;
    let mut admin = Client::connect(cluster, "passes")?;
    admin.execute(
        "CREATE TABLE no_index (id int) WITH (autovacuum_enabled = false);
         INSERT INTO no_index SELECT generate_series(1, 400000);
         CREATE TABLE removable (id int PRIMARY KEY) WITH (autovacuum_enabled = false);
         INSERT INTO removable SELECT generate_series(1, 300000);
         CREATE TABLE pinned (id int PRIMARY KEY) WITH (autovacuum_enabled = false);
         INSERT INTO pinned SELECT generate_series(1, 350000);",
    )?;
    // VACUUM refuses a multi-statement string (an implicit transaction block).
    admin.execute("VACUUM ANALYZE no_index, removable, pinned")?;
    admin.execute(
        "DELETE FROM no_index WHERE id <= 300000;
         DELETE FROM removable WHERE id <= 200000;",
    )?;
    // A snapshot older than the deletes of `pinned`, which a VACUUM then leaves in place.
    let mut holder = Client::connect(cluster, "passes")?;
    holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM pinned;")?;
    // Deleted in a session that ends, so its counts reach the statistics before the VACUUM
    // reports what it left (a late count would be added to that).
    Client::connect(cluster, "passes")?.execute("DELETE FROM pinned WHERE id <= 250000")?;
    let deleted = wait_for(Duration::from_secs(20), || {
        Ok(admin
            .number("SELECT n_dead_tup::text FROM pg_stat_user_tables WHERE relname = 'pinned'")?
            == 250_000)
    })?;
    ensure(deleted, || {
        "the deletes never reached the statistics".to_string()
    })?;
    let kept = vacuum_verbose(cluster, &mut admin, "pinned")?;
    ensure(
        kept.not_yet_removable == 250_000 && kept.index_scans == 0,
        || format!("VACUUM of pinned did not keep its rows:\n{}", kept.text),
    )?;
    // The dead rows, and the second VACUUM of pinned (its end is what proves the rows pinned):
    // before 15 the statistics reach the collector asynchronously, late under load.
    let counted = wait_for(Duration::from_secs(20), || {
        Ok(admin.number(
            "SELECT sum(n_dead_tup)::text FROM pg_stat_user_tables \
             WHERE relname IN ('no_index', 'removable', 'pinned')",
        )? == 750_000
            && admin.number(
                "SELECT vacuum_count::text FROM pg_stat_user_tables WHERE relname = 'pinned'",
            )? >= 2)
    })?;
    ensure(counted, || {
        "the dead rows never reached the statistics".to_string()
    })?;

    let found = report(cluster, "passes")?;
    let memory = findings(&found, "CONFIG005");
    ensure(memory.len() == 1, || {
        format!(
            "expected one CONFIG005: {:#}",
            Value::Array(memory.iter().map(|f| (*f).clone()).collect())
        )
    })?;
    let finding = memory[0];
    let table = finding["evidence"]["table"].as_str().unwrap_or("");
    ensure(
        table.ends_with("removable") && !table.contains("no_index"),
        || format!("CONFIG005 names {table:?}, not the table that needs passes: {finding:#}"),
    )?;
    ensure(finding["evidence"]["tables_short_of_memory"] == 1, || {
        format!("tables without indexes or with pinned rows are counted: {finding:#}")
    })?;

    // VACUUM with the same memory as autovacuum's: its own count of index scans.
    admin.execute("SET maintenance_work_mem = '1MB'")?;
    let none = vacuum_verbose(cluster, &mut admin, "no_index")?;
    ensure(none.index_scans == 0 && none.removed == 300_000, || {
        format!("VACUUM of a table without indexes:\n{}", none.text)
    })?;
    let passes = vacuum_verbose(cluster, &mut admin, "removable")?;
    let message = finding["message"].as_str().unwrap_or("");
    ensure(
        message.contains(&format!("about {} index passes", passes.index_scans))
            && passes.index_scans >= 2,
        || {
            format!(
                "pgvac says {message:?}, VACUUM made {} index scans:\n{}",
                passes.index_scans, passes.text
            )
        },
    )?;
    drop(holder);
    eprintln!(
        "pg{}: CONFIG005 names only `removable` ({message}); VACUUM: no_index 0 index scans, \
         removable {}, pinned {} with {} rows not yet removable",
        cluster.major, passes.index_scans, kept.index_scans, kept.not_yet_removable
    );
    Ok(())
}
