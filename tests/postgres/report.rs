//! `pgvac report` against real servers: what a DBA would see on a fresh cluster and on the tables
//! the advice is for, and whether the SQL it recommends runs and makes the finding go away.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::TestFn;
use crate::client::Client;
use crate::cluster::Cluster;
use crate::collect::{fresh_database, wait_for_stat};
use crate::runner;

pub const TESTS: &[(&str, TestFn)] = &[
    (
        "report_fresh_cluster_has_nothing_at_warning_or_above",
        fresh_cluster,
    ),
    (
        "report_churn_append_only_and_disabled_tables_and_their_fixes",
        advised_tables,
    ),
    ("report_reads_snapshots_and_refuses_bad_ones", snapshots),
];

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}

/// `pgvac report --format json` plus `args`, parsed; exit status 0-2 is a completed report.
pub fn report(cluster: &Cluster, args: &[&str]) -> Result<(i32, Value), String> {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let run = runner::on(cluster, "report", &all)?;
    if !(0..=2).contains(&run.status) {
        return Err(format!("pgvac report did not complete: {}", run.describe()));
    }
    let value: Value = serde_json::from_str(&run.stdout)
        .map_err(|e| format!("report JSON: {e}\n{}", run.describe()))?;
    Ok((run.status, value))
}

pub fn findings(report: &Value) -> Vec<Value> {
    report["findings"].as_array().cloned().unwrap_or_default()
}

/// The findings about one table of `database`.
fn about_table(report: &Value, database: &str, name: &str) -> Vec<Value> {
    findings(report)
        .into_iter()
        .filter(|f| {
            f["object"]["kind"] == "table"
                && f["object"]["database"] == database
                && f["object"]["schema"] == "public"
                && f["object"]["name"] == name
        })
        .collect()
}

pub fn summary(findings: &[Value]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {}: {}",
                f["severity"], f["code"], f["object"], f["message"]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn fresh_cluster(cluster: &Cluster) -> Result<(), String> {
    let _shared = cluster.exclusive.read().unwrap();
    fresh_database(cluster, "report_fresh")?;
    let (status, value) = report(
        cluster,
        &["-d", "postgres", "-d", "template1", "-d", "report_fresh"],
    )?;
    let loud: Vec<Value> = findings(&value)
        .into_iter()
        .filter(|f| f["severity"] == "warning" || f["severity"] == "critical")
        .collect();
    ensure(loud.is_empty(), || {
        format!(
            "a fresh PostgreSQL {} cluster got findings at warning or above:\n{}",
            cluster.major,
            summary(&loud)
        )
    })?;
    ensure(status == 0, || {
        format!("exit status {status} with no warning")
    })?;
    // 12-14 default to no autovacuum logging; 15+ log runs over 10 minutes.
    let logging = findings(&value).iter().any(|f| f["code"] == "CONFIG003");
    ensure(logging == (cluster.major <= 14), || {
        format!(
            "CONFIG003 on {}: {logging}\n{}",
            cluster.major,
            summary(&findings(&value))
        )
    })?;
    // The tables of the visited databases were really read (not a vacuous pass).
    let visited = value["databases_visited"].as_u64().unwrap_or(0);
    ensure(visited == 3, || format!("databases visited: {visited}"))
}

/// Debian's psql (any psql talks to 12-18).
fn psql() -> PathBuf {
    let debian = PathBuf::from("/usr/lib/postgresql/15/bin/psql");
    if debian.is_file() {
        debian
    } else {
        PathBuf::from("psql")
    }
}

/// Run SQL exactly as a DBA would paste it: through psql, stopping at the first error.
pub fn run_psql(cluster: &Cluster, database: &str, sql: &str) -> Result<(), String> {
    let file = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    std::fs::write(file.path(), sql).map_err(|e| e.to_string())?;
    let output = Command::new(psql())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"])
        .args([
            "-p",
            &cluster.port.to_string(),
            "-U",
            "postgres",
            "-d",
            database,
        ])
        .arg("-f")
        .arg(file.path())
        .output()
        .map_err(|e| format!("running psql: {e}"))?;
    ensure(output.status.success(), || {
        format!(
            "psql failed ({}) on:\n{sql}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

const DB: &str = "report_tables";

/// The one finding about a table, which must have the expected code and SQL.
fn only_finding(report: &Value, table: &str, code: &str) -> Result<String, String> {
    let about = about_table(report, DB, table);
    ensure(about.len() == 1 && about[0]["code"] == code, || {
        format!(
            "{table}: expected exactly one {code} finding, got:\n{}\n(all findings:\n{})",
            summary(&about),
            summary(&findings(report))
        )
    })?;
    about[0]["recommendation"]["sql"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{table}: {code} has no SQL: {}", about[0]))
}

fn advised_tables(cluster: &Cluster) -> Result<(), String> {
    let _shared = cluster.exclusive.read().unwrap();
    fresh_database(cluster, DB)?;
    let mut client = Client::connect(cluster, DB)?;
    // A 2,000,000-row table that churns under the default settings: loaded, vacuumed so the
    // server knows its size, then 30% of it updated.
    client.execute(
        "CREATE TABLE churn (id int PRIMARY KEY, n int NOT NULL);
         INSERT INTO churn SELECT g, 0 FROM generate_series(1, 2000000) g;",
    )?;
    client.execute("VACUUM ANALYZE churn")?;
    client.execute("UPDATE churn SET n = n + 1 WHERE id % 10 < 3")?;
    // A large append-only table: inserts only, analyzed (not vacuumed) so reltuples is known.
    client.execute(
        "CREATE TABLE event_log (id bigint NOT NULL, at timestamptz NOT NULL, kind int NOT NULL);
         INSERT INTO event_log SELECT g, now(), g % 7 FROM generate_series(1, 1200000) g;
         ANALYZE event_log;",
    )?;
    // A table with autovacuum disabled and dead rows.
    client.execute(
        "CREATE TABLE parked (id int, note text) WITH (autovacuum_enabled = false);
         INSERT INTO parked SELECT g, 'note ' || g FROM generate_series(1, 20000) g;
         DELETE FROM parked WHERE id % 2 = 0;",
    )?;
    wait_for_stat(
        &mut client,
        "SELECT n_tup_upd::text FROM pg_stat_user_tables WHERE relname = 'churn'",
        600_000,
    )?;
    wait_for_stat(
        &mut client,
        "SELECT n_tup_ins::text FROM pg_stat_user_tables WHERE relname = 'event_log'",
        1_200_000,
    )?;
    wait_for_stat(
        &mut client,
        "SELECT n_tup_del::text FROM pg_stat_user_tables WHERE relname = 'parked'",
        10_000,
    )?;

    let (_, before) = report(cluster, &["-d", DB])?;
    let expected = [
        ("churn", "TABLE001"),
        ("event_log", "TABLE003"),
        ("parked", "TABLE005"),
    ];
    let mut fixes = Vec::new();
    for (table, code) in expected {
        let sql = only_finding(&before, table, code)?;
        fixes.push((table, code, sql));
    }
    // The append-only advice is version-specific: an insert trigger from 13, a freeze before.
    let event_sql = &fixes[1].2;
    if cluster.major >= 13 {
        ensure(
            event_sql.contains("autovacuum_vacuum_insert_scale_factor = 0.02"),
            || format!("13+ append-only fix: {event_sql}"),
        )?;
    } else {
        ensure(
            event_sql.contains("VACUUM (FREEZE, ANALYZE, VERBOSE)"),
            || format!("12 append-only fix: {event_sql}"),
        )?;
    }

    for (_, _, sql) in &fixes {
        run_psql(cluster, DB, sql)?;
    }
    let (_, after) = report(cluster, &["-d", DB])?;
    for (table, code, sql) in &fixes {
        let still: Vec<Value> = about_table(&after, DB, table)
            .into_iter()
            .filter(|f| f["code"] == *code)
            .collect();
        ensure(still.is_empty(), || {
            format!(
                "{table}: {code} still fires after applying its SQL:\n{sql}\n{}",
                summary(&still)
            )
        })?;
    }
    // The reloptions really landed.
    let options = client
        .text("SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname = 'churn'")?
        .unwrap_or_default();
    ensure(
        options.contains("autovacuum_vacuum_scale_factor=0.02"),
        || format!("churn reloptions after the fix: {options}"),
    )
}

fn snapshots(cluster: &Cluster) -> Result<(), String> {
    let _shared = cluster.exclusive.read().unwrap();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("snap.json");
    let path_text = path.display().to_string();
    let run = runner::on(cluster, "collect", &["-d", "postgres", "-o", &path_text])?;
    ensure(run.status == 0, || run.describe())?;
    // A snapshot analysed elsewhere gives the report the live run gives.
    let from_file = runner::run(runner::command().args([
        "report",
        "--format",
        "json",
        "--snapshot",
        &path_text,
    ]))?;
    let (_, live) = report(cluster, &["-d", "postgres"])?;
    let file: Value = serde_json::from_str(&from_file.stdout)
        .map_err(|e| format!("{e}: {}", from_file.describe()))?;
    let codes = |v: &Value| {
        findings(v)
            .iter()
            .map(|f| f["code"].to_string())
            .collect::<Vec<_>>()
    };
    ensure(codes(&file) == codes(&live), || {
        format!("snapshot {:?} vs live {:?}", codes(&file), codes(&live))
    })?;

    // A corrupt file and another format version: one line on stderr, exit 3, nothing on stdout.
    let corrupt = dir.path().join("corrupt.json");
    std::fs::write(&corrupt, "{\"snapshot_version\": 1, \"server\": ")
        .map_err(|e| e.to_string())?;
    let future = dir.path().join("future.json");
    std::fs::write(&future, "{\"snapshot_version\": 999}").map_err(|e| e.to_string())?;
    for (file, says) in [(&corrupt, "not a pgvac snapshot"), (&future, "version 999")] {
        let run = runner::run(runner::command().args(["report", "--snapshot"]).arg(file))?;
        ensure(
            run.status == 3
                && run.stdout.is_empty()
                && run.stderr.trim().lines().count() == 1
                && run.stderr.contains(says),
            || format!("{}: {}", file.display(), run.describe()),
        )?;
    }
    let unknown = runner::run(runner::command().args(["explain", "NOPE001"]))?;
    ensure(
        unknown.status == 3 && unknown.stderr.trim().lines().count() == 1,
        || format!("explain NOPE001: {}", unknown.describe()),
    )
}
