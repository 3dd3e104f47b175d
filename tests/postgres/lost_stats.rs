//! Statistics lost in a crash restart, against real servers: the server discards its
//! statistics when it recovers from a crash (12-14 remove the collector's files, 15+ drop the
//! shared-memory entries), so `n_dead_tup` starts again from 0 and autovacuum no longer sees
//! the dead rows a table had. pgvac must say so, naming the tables and what to run, and the fix
//! must make autovacuum see them again.
//!
//! A cluster of its own (a crash restart ends every session on it). The table's triggers are
//! set so that the dead rows from before the crash plus those after it are past the vacuum
//! trigger, and those after it alone are below both triggers: the daemon is blind until an
//! ANALYZE counts the dead rows again, and then vacuums the table.

use std::time::Duration;

use serde_json::Value;

use crate::TestFn;
use crate::client::Client;
use crate::cluster::{Cluster, wait_for};
use crate::collect::fresh_database;
use crate::runner;

pub const TESTS: &[(&str, TestFn)] = &[(
    "lost_stats_after_a_crash_restart_are_reported_and_fixed",
    lost_after_crash,
)];

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}

fn report(cluster: &Cluster) -> Result<Value, String> {
    let run = runner::on(cluster, "report", &["--format", "json", "-d", "lost"])?;
    ensure((0..=2).contains(&run.status), || run.describe())?;
    serde_json::from_str(&run.stdout).map_err(|e| format!("report JSON: {e}\n{}", run.describe()))
}

fn lost_findings(report: &Value) -> Vec<Value> {
    report["findings"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|f| f["code"] == "CONFIG008")
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

fn dead_rows(admin: &mut Client) -> Result<i64, String> {
    admin.number("SELECT n_dead_tup::text FROM pg_stat_user_tables WHERE relname = 'big'")
}

/// Delete `ids` in a session that ends, so the counts reach the statistics, and wait for them.
fn delete(cluster: &Cluster, admin: &mut Client, ids: &str, dead: i64) -> Result<(), String> {
    let mut deleter = Client::connect(cluster, "lost")?;
    // The test clusters commit asynchronously: the rows must be gone on disk before a crash.
    deleter.execute(&format!(
        "SET synchronous_commit = on; DELETE FROM big WHERE id BETWEEN {ids};"
    ))?;
    deleter.close();
    let counted = wait_for(Duration::from_secs(20), || Ok(dead_rows(admin)? == dead))?;
    ensure(counted, || {
        format!("n_dead_tup never reached {dead}: {:?}", dead_rows(admin))
    })
}

fn lost_after_crash(shared: &Cluster) -> Result<(), String> {
    let cluster = &Cluster::start_with(shared.major, &shared.bindir, "")?;
    fresh_database(cluster, "lost")?;
    let mut admin = Client::connect(cluster, "lost")?;
    // Vacuum at 50,050 dead rows, analyze at 50,050 changes (reltuples 100,000).
    admin.execute(
        "CREATE TABLE big (id int, pad text) WITH (autovacuum_vacuum_scale_factor = 0.5,
                                                  autovacuum_analyze_scale_factor = 0.5,
                                                  autovacuum_enabled = false);
         INSERT INTO big SELECT g, repeat('x', 100) FROM generate_series(1, 100000) g;",
    )?;
    admin.execute("VACUUM ANALYZE big")?;
    delete(cluster, &mut admin, "1 AND 40000", 40_000)?;
    let before = report(cluster)?;
    ensure(lost_findings(&before).is_empty(), || {
        format!(
            "statistics reported lost before the crash: {:?}",
            lost_findings(&before)
        )
    })?;
    // pgvac tells a crash restart by the background processes starting again well after the
    // postmaster (10 s): the crash must come later than that.
    let uptime =
        admin.number("SELECT extract(epoch FROM now() - pg_postmaster_start_time())::int::text")?;
    if uptime < 12 {
        std::thread::sleep(Duration::from_secs((12 - uptime) as u64));
    }
    admin.execute("CHECKPOINT")?;
    let victim = Client::connect(cluster, "lost")?;
    let victim_pid = victim.pid;
    let mut admin = cluster.crash_restart(victim_pid, "lost")?;
    drop(victim);
    // The server's own counters: the 40,000 dead rows are forgotten.
    ensure(dead_rows(&mut admin)? == 0, || {
        "n_dead_tup survived the crash: nothing to check".to_string()
    })?;
    // Autovacuum was kept off the table until now: a worker that listed it before the first
    // VACUUM set reltuples would vacuum the rows the test wants lost.
    admin.execute("ALTER TABLE big SET (autovacuum_enabled = true)")?;
    // 20,000 more after it: 60,000 dead rows, of which autovacuum sees 20,000, below both
    // triggers.
    delete(cluster, &mut admin, "40001 AND 60000", 20_000)?;

    let after = report(cluster)?;
    let found = lost_findings(&after);
    ensure(found.len() == 1, || {
        format!(
            "expected one CONFIG008 for database lost after the crash restart: {:#}",
            after["findings"]
        )
    })?;
    let finding = &found[0];
    ensure(
        finding["severity"] == "warning"
            && finding["object"]["database"] == "lost"
            && finding["evidence"]["tables"]
                .as_str()
                .is_some_and(|t| t.contains("public.big"))
            && finding["message"]
                .as_str()
                .is_some_and(|m| m.contains("crash")),
        || format!("the finding does not name the crash and the table: {finding:#}"),
    )?;
    let sql = finding["recommendation"]["sql"].as_str().unwrap_or("");
    ensure(sql.contains("ANALYZE"), || {
        format!("the fix is not an ANALYZE: {finding:#}")
    })?;

    // The fix as written: ANALYZE counts the dead rows again, and autovacuum acts on them.
    for statement in sql.lines() {
        admin.execute(statement)?;
    }
    let counted = wait_for(Duration::from_secs(20), || {
        Ok(dead_rows(&mut admin)? >= 50_000)
    })?;
    let seen = dead_rows(&mut admin)?;
    let after_fix = admin.text(
        "SELECT n_live_tup || ' live, ' || n_dead_tup || ' dead, analyzed ' \
         || coalesce(last_analyze::text, 'never') FROM pg_stat_user_tables WHERE relname = 'big'",
    )?;
    ensure(counted, || {
        format!(
            "after the fix ({sql}) n_dead_tup is {seen}, the table has 60,000 dead rows: \
             {after_fix:?}"
        )
    })?;
    let vacuumed = wait_for(Duration::from_secs(60), || {
        Ok(admin.text(
            "SELECT (last_autovacuum IS NOT NULL)::text FROM pg_stat_user_tables \
             WHERE relname = 'big'",
        )? == Some("true".to_string()))
    })?;
    ensure(vacuumed, || {
        format!("autovacuum never vacuumed big after the fix (n_dead_tup {seen})")
    })?;
    let fixed = report(cluster)?;
    ensure(lost_findings(&fixed).is_empty(), || {
        format!("still reported after the fix: {:?}", lost_findings(&fixed))
    })?;
    eprintln!(
        "pg{}: after a crash restart n_dead_tup read 20,000 of 60,000; pgvac: {}; after its fix \
         ANALYZE counted {seen} and autovacuum vacuumed the table",
        cluster.major,
        finding["message"].as_str().unwrap_or("")
    );
    Ok(())
}
