//! Faults during a run, on real servers: a run that did not read what it set out to read must
//! say so and exit 3, and leave the `-o` file a cron job or node_exporter reads as it was; a
//! database dropped while pgvac ran is not such a fault.
//!
//! To strike between databases deterministically, a test holds `ACCESS EXCLUSIVE` on
//! `pg_catalog.pg_namespace` in one database: pgvac connects there (connection start-up does not
//! read it; it does read `pg_class` and `pg_index`, so a lock on those fails the connection
//! instead) and its first query, which looks up its functions' schema, waits on the lock, which
//! the test sees in `pg_stat_activity` (`wait_event_type = 'Lock'`). Then the test strikes (terminates pgvac's backend, drops a
//! database, restarts the server) and releases the lock. With `--jobs 1`, pgvac visits the
//! databases in name order, so which ones come after the pause is known.
//!
//! These tests take the cluster's exclusive lock: a lock on a catalog, a terminated session or a
//! dropped database would make another test's run incomplete.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::TestFn;
use crate::client::Client;
use crate::cluster::{Cluster, wait_for};
use crate::collect::fresh_database;
use crate::runner::{self, Run};

pub const TESTS: &[(&str, TestFn)] = &[
    (
        "faults_lock_timeout_on_a_later_database_is_incomplete",
        lock_timeout,
    ),
    (
        "faults_lost_connection_is_incomplete_and_keeps_the_output",
        lost_connection,
    ),
    ("faults_database_dropped_during_the_run_is_not", dropped),
    ("faults_server_restart_mid_run_is_incomplete", restart),
];

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}

/// What an existing `-o` file holds before a faulty run, to check it was left alone.
const PREVIOUS: &str = "{\"previous\": \"complete run\"}\n";

/// A session in `database` holding `ACCESS EXCLUSIVE` on `pg_namespace`: pgvac's queries there
/// wait until `release` (or the session ends).
struct CatalogLock(Client);

impl CatalogLock {
    fn take(cluster_port: u16, database: &str) -> Result<CatalogLock, String> {
        let mut client = Client::connect_at(cluster_port, "postgres", database)?;
        client.execute("BEGIN; LOCK TABLE pg_catalog.pg_namespace IN ACCESS EXCLUSIVE MODE;")?;
        Ok(CatalogLock(client))
    }

    fn release(mut self) {
        // The session may be gone already (a restart, a forced drop): nothing to release then.
        let _ = self.0.execute("COMMIT");
    }
}

/// pgvac started in the background with `args` after the connection flags.
fn spawn(port: u16, subcommand: &str, args: &[&str]) -> Result<Child, String> {
    let port = port.to_string();
    runner::command()
        .arg(subcommand)
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "postgres",
            "--jobs",
            "1",
        ])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting pgvac: {e}"))
}

fn finish(mut child: Child) -> Result<Run, String> {
    // Drain the pipes while waiting, so a large snapshot cannot block pgvac.
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let mut stderr = child.stderr.take().ok_or("no stderr")?;
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let mut err_text = String::new();
    let _ = stderr.read_to_string(&mut err_text);
    let status = child.wait().map_err(|e| e.to_string())?;
    Ok(Run {
        status: status.code().unwrap_or(-1),
        stdout: out.join().unwrap_or_default(),
        stderr: err_text,
    })
}

/// Wait until pgvac's session in `database` waits on a lock; pgvac's pid there.
fn wait_for_pause(admin: &mut Client, child: &mut Child, database: &str) -> Result<i32, String> {
    let query = format!(
        "SELECT coalesce(min(pid), 0)::text FROM pg_stat_activity
         WHERE application_name = 'pgvac' AND datname = '{database}' AND wait_event_type = 'Lock'"
    );
    let mut pid = 0;
    let paused = wait_for(Duration::from_secs(30), || {
        if let Ok(Some(status)) = child.try_wait() {
            let mut stderr = String::new();
            if let Some(pipe) = child.stderr.as_mut() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            return Err(format!(
                "pgvac ended ({status}) before it reached {database}: {stderr}"
            ));
        }
        pid = admin.number(&query)? as i32;
        Ok(pid != 0)
    })?;
    if !paused {
        let seen = admin.text(
            "SELECT string_agg(concat_ws(' ', pid, datname, application_name, state,
                                         wait_event_type, wait_event, left(query, 60)), '; ')
             FROM pg_stat_activity",
        )?;
        let locks = admin.text(
            "SELECT string_agg(concat_ws(' ', pid, locktype, relation::regclass, mode, granted), '; ')
             FROM pg_locks WHERE locktype = 'relation'",
        )?;
        let seen = format!("{seen:?}; locks: {locks:?}");
        return Err(format!(
            "pgvac never waited on the lock in {database}; sessions: {seen:?}"
        ));
    }
    Ok(pid)
}

/// A file holding [`PREVIOUS`], in a directory of its own.
fn previous_output(dir: &Path) -> Result<std::path::PathBuf, String> {
    let path = dir.join("report.json");
    std::fs::write(&path, PREVIOUS).map_err(|e| e.to_string())?;
    Ok(path)
}

fn untouched(path: &Path, what: &str) -> Result<(), String> {
    let now = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    ensure(now == PREVIOUS, || {
        format!("{what}: the -o file was replaced by an incomplete run:\n{now}")
    })?;
    let entries = std::fs::read_dir(path.parent().unwrap())
        .map_err(|e| e.to_string())?
        .count();
    ensure(entries == 1, || {
        format!("{what}: a temporary file was left beside the -o file")
    })
}

/// The incomplete-run line on stderr: one line, naming what was not read.
fn says_incomplete(run: &Run, database: &str, what: &str) -> Result<(), String> {
    let lines: Vec<&str> = run.stderr.lines().collect();
    ensure(
        lines.len() == 1
            && lines[0].starts_with("pgvac: error: incomplete run, exit 3")
            && lines[0].contains(database),
        || {
            format!(
                "{what}: stderr should be one line naming {database}: {}",
                run.describe()
            )
        },
    )
}

fn missing_of<'v>(snapshot: &'v Value, database: &str) -> Vec<&'v Value> {
    snapshot["missing"]
        .as_array()
        .map(|m| m.iter().filter(|e| e["database"] == database).collect())
        .unwrap_or_default()
}

fn visit_of(snapshot: &Value, database: &str) -> Value {
    snapshot["databases"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["name"] == database))
        .map(|d| d["visit"]["status"].clone())
        .unwrap_or(Value::Null)
}

fn json(run: &Run) -> Result<Value, String> {
    serde_json::from_str(&run.stdout).map_err(|e| format!("JSON: {e}\n{}", run.describe()))
}

fn lock_timeout(cluster: &Cluster) -> Result<(), String> {
    let _exclusive = cluster.exclusive.write().unwrap();
    for name in ["fault_lock_a", "fault_lock_b"] {
        fresh_database(cluster, name)?;
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let output = previous_output(dir.path())?;
    let out = output.to_str().unwrap();
    let dbs = ["-d", "postgres", "-d", "fault_lock_a", "-d", "fault_lock_b"];
    let lock = CatalogLock::take(cluster.port, "fault_lock_b")?;
    fn with<'a>(dbs: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        let mut args: Vec<&str> = dbs.to_vec();
        args.extend_from_slice(&["--lock-timeout", "100ms", "--jobs", "1"]);
        args.extend_from_slice(extra);
        args
    }
    let report = runner::on(
        cluster,
        "report",
        &with(&dbs, &["--format", "json", "-o", out]),
    );
    let after_report = std::fs::read_to_string(&output).map_err(|e| e.to_string());
    let collect = runner::on(cluster, "collect", &with(&dbs, &[]));
    let partial = runner::on(
        cluster,
        "report",
        &with(&dbs, &["--format", "json", "--allow-partial", "-o", out]),
    );
    lock.release();
    let (report, collect, partial) = (report?, collect?, partial?);

    ensure(report.status == 3, || {
        format!("report: {}", report.describe())
    })?;
    ensure(report.stdout.is_empty(), || report.describe())?;
    says_incomplete(&report, "fault_lock_b", "report")?;
    ensure(after_report? == PREVIOUS, || {
        "lock timeout: the -o file was replaced by an incomplete run".to_string()
    })?;

    // The snapshot says what is missing, why, and with which SQLSTATE; the database before it
    // was read whole.
    ensure(collect.status == 3, || {
        format!("collect: {}", collect.describe())
    })?;
    let snapshot = json(&collect)?;
    let missing = missing_of(&snapshot, "fault_lock_b");
    // Every source there reads pg_namespace: each waited 100 ms and gave up, and each says so.
    ensure(
        missing.len() == 4
            && missing
                .iter()
                .all(|m| m["cause"] == "lock_timeout" && m["sqlstate"] == "55P03")
            && missing.iter().any(|m| m["source"] == "tables"),
        || format!("missing: {:#}", snapshot["missing"]),
    )?;
    ensure(
        visit_of(&snapshot, "fault_lock_b") == "incomplete"
            && visit_of(&snapshot, "fault_lock_a") == "visited",
        || format!("visits: {:#}", snapshot["databases"]),
    )?;
    // Offline analysis of that snapshot agrees with the live run.
    let file = dir.path().join("snapshot.json");
    std::fs::write(&file, &collect.stdout).map_err(|e| e.to_string())?;
    let offline = runner::run(runner::command().args([
        "report",
        "--format",
        "json",
        "--snapshot",
        file.to_str().unwrap(),
    ]))?;
    ensure(offline.status == 3, || {
        format!(
            "report --snapshot of an incomplete snapshot: {}",
            offline.describe()
        )
    })?;
    let offline = json(&offline)?;
    ensure(offline["complete"] == false, || format!("{offline:#}"))?;

    // --allow-partial: the findings decide, the file is written, and it still says partial.
    ensure((0..=2).contains(&partial.status), || {
        format!("--allow-partial: {}", partial.describe())
    })?;
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&output).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    ensure(
        written["complete"] == false
            && written["missing"][0]["database"] == "fault_lock_b"
            && written["missing"][0]["cause"] == "lock_timeout"
            && written["databases_visited"].as_u64() >= Some(2),
        || format!("--allow-partial output: {written:#}"),
    )?;
    runner::validate(&written, "docs/report.schema.json")
}

fn lost_connection(cluster: &Cluster) -> Result<(), String> {
    let _exclusive = cluster.exclusive.write().unwrap();
    for name in ["fault_lost_a", "fault_lost_b"] {
        fresh_database(cluster, name)?;
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let output = previous_output(dir.path())?;
    let mut admin = Client::connect(cluster, "postgres")?;
    let dbs = ["-d", "postgres", "-d", "fault_lost_a", "-d", "fault_lost_b"];
    let mut runs = Vec::new();
    for subcommand in ["report", "collect"] {
        let lock = CatalogLock::take(cluster.port, "fault_lost_a")?;
        let mut args: Vec<&str> = dbs.to_vec();
        args.extend_from_slice(&["--lock-timeout", "30s"]);
        if subcommand == "report" {
            args.extend_from_slice(&["-o", output.to_str().unwrap()]);
        }
        let mut child = spawn(cluster.port, subcommand, &args)?;
        let pid = wait_for_pause(&mut admin, &mut child, "fault_lost_a")?;
        admin.execute(&format!("SELECT pg_terminate_backend({pid})"))?;
        lock.release();
        runs.push(finish(child)?);
    }
    let (report, collect) = (&runs[0], &runs[1]);
    ensure(report.status == 3, || {
        format!("report: {}", report.describe())
    })?;
    says_incomplete(report, "fault_lost_a", "report")?;
    ensure(!report.stderr.contains("protocol"), || report.describe())?;
    untouched(&output, "lost connection")?;

    ensure(collect.status == 3, || {
        format!("collect: {}", collect.describe())
    })?;
    let snapshot = json(collect)?;
    let missing = missing_of(&snapshot, "fault_lost_a");
    // The first query lost its connection; the sources after it were not sent.
    let sources: Vec<&Value> = missing.iter().map(|m| &m["source"]).collect();
    ensure(
        missing.iter().all(|m| m["cause"] == "connection_lost")
            && sources == ["clock", "tables", "pg_locks", "temp schemas"],
        || format!("missing: {:#}", snapshot["missing"]),
    )?;
    // The session was terminated, the database is still there: not "dropped".
    ensure(
        visit_of(&snapshot, "fault_lost_a") == "incomplete"
            && visit_of(&snapshot, "fault_lost_b") == "visited",
        || format!("visits: {:#}", snapshot["databases"]),
    )
}

fn dropped(cluster: &Cluster) -> Result<(), String> {
    let _exclusive = cluster.exclusive.write().unwrap();
    for name in ["fault_drop_a", "fault_drop_b", "fault_drop_c"] {
        fresh_database(cluster, name)?;
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let output = previous_output(dir.path())?;
    let mut admin = Client::connect(cluster, "postgres")?;

    // fault_drop_b is dropped while pgvac waits in fault_drop_a, before pgvac gets to it.
    let lock = CatalogLock::take(cluster.port, "fault_drop_a")?;
    let mut child = spawn(
        cluster.port,
        "report",
        &[
            "-d",
            "postgres",
            "-d",
            "fault_drop_a",
            "-d",
            "fault_drop_b",
            "--lock-timeout",
            "30s",
            "--format",
            "json",
            "-o",
            output.to_str().unwrap(),
        ],
    )?;
    wait_for_pause(&mut admin, &mut child, "fault_drop_a")?;
    admin.execute("DROP DATABASE fault_drop_b")?;
    lock.release();
    let run = finish(child)?;
    ensure((0..=2).contains(&run.status), || {
        format!("a drop is no fault of the run: {}", run.describe())
    })?;
    ensure(run.stderr.is_empty(), || run.describe())?;
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&output).map_err(|e| e.to_string())?)
            .map_err(|e| format!("the -o file: {e}"))?;
    ensure(
        written["complete"] == true && written["databases_dropped"][0] == "fault_drop_b",
        || format!("{written:#}"),
    )?;
    let note = written["collection_warnings"]
        .as_array()
        .and_then(|w| w.iter().find(|w| w["database"] == "fault_drop_b"))
        .ok_or_else(|| format!("no note on fault_drop_b: {written:#}"))?;
    ensure(
        note["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("dropped while pgvac ran")),
        || format!("{note:#}"),
    )?;
    runner::validate(&written, "docs/report.schema.json")?;

    // 13+: the database pgvac is reading is dropped WITH (FORCE), which ends pgvac's session.
    if cluster.major >= 13 {
        let lock = CatalogLock::take(cluster.port, "fault_drop_c")?;
        let mut child = spawn(
            cluster.port,
            "collect",
            &[
                "-d",
                "postgres",
                "-d",
                "fault_drop_c",
                "--lock-timeout",
                "30s",
            ],
        )?;
        wait_for_pause(&mut admin, &mut child, "fault_drop_c")?;
        admin.execute("DROP DATABASE fault_drop_c WITH (FORCE)")?;
        lock.release();
        let run = finish(child)?;
        ensure(run.status == 0 && run.stderr.is_empty(), || {
            format!(
                "a forced drop of the database being read: {}",
                run.describe()
            )
        })?;
        let snapshot = json(&run)?;
        ensure(
            visit_of(&snapshot, "fault_drop_c") == "dropped"
                && snapshot["missing"].as_array().is_some_and(|m| m.is_empty()),
            || format!("{snapshot:#}"),
        )?;
    } else {
        admin.execute("DROP DATABASE fault_drop_c")?;
    }
    admin.execute("DROP DATABASE fault_drop_a")
}

fn restart(shared: &Cluster) -> Result<(), String> {
    // A cluster of its own: restarting the shared one would break every other test. Without
    // autovacuum: on a brand-new cluster it vacuums the catalogs, which removes the database's
    // relcache init file, and a backend starting without one reads pg_namespace, so pgvac would
    // wait on the test's lock while connecting, where no query shows it.
    let cluster = &Cluster::start_with(shared.major, &shared.bindir, "autovacuum = off\n")?;
    fresh_database(cluster, "fault_restart")?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let output = previous_output(dir.path())?;
    let mut runs = Vec::new();
    for subcommand in ["report", "collect"] {
        let mut admin = Client::connect(cluster, "postgres")?;
        let lock = CatalogLock::take(cluster.port, "fault_restart")?;
        let mut args = vec!["--lock-timeout", "30s"];
        if subcommand == "report" {
            args.extend_from_slice(&["-o", output.to_str().unwrap()]);
        }
        let mut child = spawn(cluster.port, subcommand, &args)?;
        wait_for_pause(&mut admin, &mut child, "fault_restart")?;
        cluster.restart()?;
        lock.release();
        runs.push(finish(child)?);
    }
    let (report, collect) = (&runs[0], &runs[1]);
    ensure(report.status == 3, || {
        format!("report: {}", report.describe())
    })?;
    says_incomplete(report, "fault_restart", "report")?;
    untouched(&output, "restart")?;
    ensure(collect.status == 3, || {
        format!("collect: {}", collect.describe())
    })?;
    let snapshot = json(collect)?;
    let missing = missing_of(&snapshot, "fault_restart");
    ensure(
        !missing.is_empty() && missing[0]["cause"] == "connection_lost",
        || format!("missing: {:#}", snapshot["missing"]),
    )?;
    ensure(visit_of(&snapshot, "fault_restart") == "incomplete", || {
        format!("{:#}", snapshot["databases"])
    })
}
