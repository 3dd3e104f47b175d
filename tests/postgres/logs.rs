//! `pgvac logs` against what real servers log, on every version.
//!
//! Each version gets a cluster of its own (the shared cluster's log stays as other tests expect
//! it), started like the oracle's with `Cluster::start_with`, with the logging collector writing
//! the same entries as stderr, csvlog and (15+) jsonlog, `log_autovacuum_min_duration = 0`,
//! `track_io_timing`, `log_lock_waits` and on 18 `track_cost_delay_timing`. The
//! `log_line_prefix` rotates over the versions (the default, RDS's, and one with `%q`), so
//! every prefix style is read from a real server.
//!
//! The test makes autovacuum vacuum and analyze tables, cancels a slowed vacuum with a
//! conflicting `LOCK TABLE` (the deadlock check cancels an autovacuum that blocks a lock
//! request after `deadlock_timeout`), makes it skip a table whose lock is held (`vacuum.c` logs
//! `skipping ... --- lock not available` for autovacuum only when `log_autovacuum_min_duration`
//! is 0 or more, and only for runs that are not anti-wraparound: those wait for the lock), fills a
//! 1 MB `autovacuum_work_mem` so vacuum needs several index passes (12-16), and burns XIDs past
//! an `autovacuum_freeze_max_age` of 100,000 so every table gets an anti-wraparound vacuum and,
//! with `vacuum_failsafe_age = 0` (14+), the failsafe fires. Then, with the daemon quiet, it
//! checks that pgvac counts exactly the vacuums and analyzes `pg_stat_all_tables` counted for
//! every table of the database, that the counts of each kind of entry equal the server's lines
//! (counted by plain substring, not by pgvac's parser), that a run's numbers are those of the
//! table, and that the three formats give the same summary.
//!
//! With `UPDATE_FIXTURES=1` it also writes excerpts of the three logs to `tests/fixtures/logs/`,
//! the corpus the parser's snapshot tests read.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::TestFn;
use crate::client::Client;
use crate::cluster::{Cluster, wait_for};
use crate::runner;

pub const TESTS: &[(&str, TestFn)] = &[("logs_count_what_the_server_logged", logs)];

const DATABASE: &str = "pgvac_logs";
/// Longest wait for the daemon to do each thing.
const WAIT: Duration = Duration::from_secs(120);

/// The prefix a version's test server writes, and its name in the fixture file names.
fn prefix_for(major: u32) -> (&'static str, &'static str) {
    match major % 3 {
        0 => ("default", "%m [%p] "),
        1 => ("rds", "%t:%r:%u@%d:[%p]:"),
        _ => ("custom", "%m [%p] %q%u@%d/%a "),
    }
}

fn settings(major: u32) -> String {
    let (_, prefix) = prefix_for(major);
    let destinations = if major >= 15 {
        "stderr,csvlog,jsonlog"
    } else {
        "stderr,csvlog"
    };
    let mut conf = format!(
        "logging_collector = on\n\
         log_directory = 'log'\n\
         log_filename = 'postgresql.log'\n\
         log_destination = '{destinations}'\n\
         log_line_prefix = '{prefix}'\n\
         log_autovacuum_min_duration = 0\n\
         track_io_timing = on\n\
         log_lock_waits = on\n\
         deadlock_timeout = '300ms'\n\
         autovacuum_work_mem = '1MB'\n\
         autovacuum_freeze_max_age = 100000\n"
    );
    if major >= 14 {
        conf.push_str("vacuum_failsafe_age = 0\n");
    }
    if major >= 18 {
        conf.push_str("track_cost_delay_timing = on\n");
    }
    conf
}

/// The log files the collector writes: stderr, csvlog and (15+) jsonlog.
fn log_files(cluster: &Cluster) -> Vec<(&'static str, PathBuf)> {
    let dir = cluster.data_dir().join("log");
    let mut files = vec![
        ("log", dir.join("postgresql.log")),
        ("csv", dir.join("postgresql.csv")),
    ];
    if cluster.major >= 15 {
        files.push(("json", dir.join("postgresql.json")));
    }
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The entries of the stderr log that mention `text`, for failure messages.
fn log_lines_with(cluster: &Cluster, text: &str) -> String {
    let log = read(&log_files(cluster)[0].1);
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(text)).collect();
    let shown = lines.len().min(30);
    format!(
        "{} log lines with {text:?}, the last {shown}:\n{}",
        lines.len(),
        lines[lines.len() - shown..].join("\n")
    )
}

/// Wait until the stderr log has a line with `text`.
fn wait_for_line(cluster: &Cluster, text: &str, what: &str) -> Result<(), String> {
    let path = log_files(cluster)[0].1.clone();
    if wait_for(WAIT, || Ok(read(&path).contains(text)))? {
        return Ok(());
    }
    Err(format!(
        "PostgreSQL {}: no {what} ({text:?}) in the log after {} s:\n{}",
        cluster.version,
        WAIT.as_secs(),
        log_lines_with(cluster, "autovacuum")
    ))
}

/// Make the session send its table statistics: a backend reports them at the end of a
/// transaction at most once a second (every 500 ms on 12-14), and not at all while idle before
/// 15, so changes made right after another statement stay unseen by autovacuum.
fn flush_statistics(client: &mut Client) -> Result<(), String> {
    std::thread::sleep(Duration::from_millis(1100));
    client.execute("SELECT 1")
}

/// `pgvac logs --format json` on one file.
fn pgvac_logs(file: &Path, prefix: &str) -> Result<Value, String> {
    let run = runner::run(
        runner::command()
            .arg("logs")
            .arg(file)
            .args(["--prefix", prefix, "--format", "json"]),
    )?;
    if run.status != 0 {
        return Err(format!("pgvac logs {}: {}", file.display(), run.describe()));
    }
    let document: Value =
        serde_json::from_str(&run.stdout).map_err(|e| format!("{e}\n{}", run.describe()))?;
    runner::validate(&document, "docs/logs.schema.json")?;
    Ok(document)
}

fn table<'d>(summary: &'d Value, schema: &str, name: &str) -> Option<&'d Value> {
    summary["tables"]
        .as_array()?
        .iter()
        .find(|t| t["database"] == DATABASE && t["schema"] == schema && t["name"] == name)
}

fn number(value: &Value) -> i64 {
    value.as_i64().unwrap_or(-1)
}

fn logs(shared: &Cluster) -> Result<(), String> {
    let started = Instant::now();
    let major = shared.major;
    let cluster = &Cluster::start_with(major, &shared.bindir, &settings(major))?;
    let mut admin = Client::connect(cluster, "postgres")?;
    admin.execute(&format!("CREATE DATABASE {DATABASE}"))?;
    let mut client = Client::connect(cluster, DATABASE)?;
    client.execute("SET synchronous_commit = on")?;

    // Vacuums and analyzes of a plain table.
    client.execute(
        "CREATE TABLE plain (id int PRIMARY KEY, n int);
         INSERT INTO plain SELECT g, g FROM generate_series(1, 10000) g;
         UPDATE plain SET n = n + 1 WHERE id <= 5000;",
    )?;
    // Many dead rows for a 1 MB autovacuum_work_mem: several index passes on 12-16.
    client.execute(
        "CREATE TABLE passes (id int PRIMARY KEY) WITH (autovacuum_vacuum_cost_delay = 0);
         INSERT INTO passes SELECT generate_series(1, 400000);
         DELETE FROM passes;",
    )?;
    wait_for_line(
        cluster,
        &format!("vacuum of table \"{DATABASE}.public.passes\""),
        "vacuum of passes",
    )?;

    // A vacuum slowed by its cost settings, cancelled by a conflicting lock request.
    client.execute(
        "CREATE TABLE slow (id int, pad text)
           WITH (autovacuum_vacuum_cost_delay = 100, autovacuum_vacuum_cost_limit = 1);
         INSERT INTO slow SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g;
         UPDATE slow SET id = id + 1;",
    )?;
    let working = wait_for(WAIT, || {
        Ok(client.number(
            "SELECT count(*)::text FROM pg_stat_progress_vacuum
             WHERE relid = 'slow'::regclass",
        )? > 0)
    })?;
    if !working {
        return Err(format!(
            "PostgreSQL {}: no autovacuum worker started on slow in {} s:\n{}",
            cluster.version,
            WAIT.as_secs(),
            log_lines_with(cluster, "slow")
        ));
    }
    client.execute(
        "BEGIN;
         LOCK TABLE slow IN ACCESS EXCLUSIVE MODE;
         ALTER TABLE slow RESET (autovacuum_vacuum_cost_delay, autovacuum_vacuum_cost_limit);
         COMMIT;",
    )?;
    wait_for_line(cluster, "canceling autovacuum task", "cancellation")?;

    // A lock held while autovacuum wants the table: SHARE UPDATE EXCLUSIVE conflicts with
    // autovacuum's lock but not with the inserts that make the table due.
    let mut holder = Client::connect(cluster, DATABASE)?;
    client.execute("CREATE TABLE held (id int)")?;
    holder.execute("BEGIN; LOCK TABLE held IN SHARE UPDATE EXCLUSIVE MODE")?;
    client.execute("INSERT INTO held SELECT generate_series(1, 2000)")?;
    flush_statistics(&mut client)?;
    wait_for_line(cluster, "of \"held\" --- lock not available", "lock skip")?;
    holder.execute("COMMIT")?;
    wait_for_line(
        cluster,
        &format!("analyze of table \"{DATABASE}.public.held\""),
        "analyze of held after the lock",
    )?;

    // Dead rows a snapshot keeps: vacuum leaves them "dead but not yet removable", and
    // `pgvac report --log` ties the run's horizon to the session that holds it.
    let mut pinning = Client::connect(cluster, DATABASE)?;
    pinning.execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM plain")?;
    let held_xmin = admin.number(&format!(
        "SELECT backend_xmin::text::bigint::text FROM pg_stat_activity WHERE pid = {}",
        pinning.pid
    ))?;
    client.execute(
        "CREATE TABLE pinned (id int);
         INSERT INTO pinned SELECT generate_series(1, 20000);",
    )?;
    client.execute("UPDATE pinned SET id = id + 1")?;
    flush_statistics(&mut client)?;
    wait_for_line(
        cluster,
        "20000 are dead but not yet removable",
        "vacuum of pinned leaving its dead rows",
    )?;
    let (kind, prefix) = prefix_for(major);
    let report = runner::on(
        cluster,
        "report",
        &[
            "-d",
            DATABASE,
            "--format",
            "json",
            "--fail-on",
            "never",
            "--log",
            &log_files(cluster)[0].1.display().to_string(),
            "--log-prefix",
            prefix,
        ],
    )?;
    pinning.execute("COMMIT")?;
    let report_problems = check_report(&report, major, held_xmin)?;

    // XIDs past autovacuum_freeze_max_age = 100000: anti-wraparound vacuums everywhere, and the
    // failsafe (vacuum_failsafe_age = 0: 105% of the freeze max age) on 14+.
    // One transaction per XID (a DO block may COMMIT when it is the whole query string).
    client.execute(
        "DO $$ BEGIN
           FOR i IN 1..200000 LOOP PERFORM txid_current(); COMMIT; END LOOP;
         END $$",
    )?;
    wait_for_line(
        cluster,
        "to prevent wraparound of table",
        "anti-wraparound vacuum",
    )?;
    if major >= 14 {
        wait_for_line(cluster, "as a failsafe after", "failsafe")?;
    }
    // Quiet: no worker, every database's age back under the freeze max age, counters stable;
    // then the counters, the logs, and the counters again, so no run falls between.
    // Shared catalogs are vacuumed from every database and counted once for all of them.
    let counts_sql = "SELECT string_agg(s.schemaname || '.' || s.relname || '=' \
                      || s.autovacuum_count || ',' || s.autoanalyze_count || ',' \
                      || c.relisshared, ' ' ORDER BY s.schemaname, s.relname) \
                      FROM pg_stat_all_tables s JOIN pg_class c ON c.oid = s.relid";
    let files = log_files(cluster);
    let mut attempt = 0;
    let (counted, summaries) = loop {
        attempt += 1;
        let mut last = String::new();
        let mut stable_since = Instant::now();
        let quiet = wait_for(WAIT, || {
            admin.execute("SELECT pg_stat_clear_snapshot()")?;
            let busy = admin.number(
                "SELECT ((SELECT count(*) FROM pg_stat_activity
                          WHERE backend_type = 'autovacuum worker')
                       + (SELECT count(*) FROM pg_database
                          WHERE age(datfrozenxid) > 100000))::text",
            )?;
            client.execute("SELECT pg_stat_clear_snapshot()")?;
            let now = client.text(counts_sql)?.unwrap_or_default();
            if busy > 0 || now != last {
                last = now;
                stable_since = Instant::now();
            }
            Ok(stable_since.elapsed() >= Duration::from_secs(3))
        })?;
        if !quiet {
            return Err(format!(
                "PostgreSQL {}: autovacuum did not settle in {} s:\n{}",
                cluster.version,
                WAIT.as_secs(),
                log_lines_with(cluster, "automatic")
            ));
        }
        client.execute("SELECT pg_stat_clear_snapshot()")?;
        let before = client.text(counts_sql)?.unwrap_or_default();
        let mut summaries = Vec::new();
        for (extension, path) in &files {
            summaries.push((*extension, pgvac_logs(path, prefix)?));
        }
        client.execute("SELECT pg_stat_clear_snapshot()")?;
        let after = client.text(counts_sql)?.unwrap_or_default();
        if before == after || attempt == 3 {
            break (before, summaries);
        }
    };
    let plain_pages =
        client.number("SELECT relpages::text FROM pg_class WHERE relname = 'plain'")?;

    let (_, summary) = &summaries[0];
    let stderr_text = read(&files[0].1);
    let mut problems = report_problems;

    // Every table: pgvac's counts are the server's.
    for pair in counted.split(' ').filter(|p| !p.is_empty()) {
        let (name, counts) = pair.split_once('=').unwrap_or((pair, "0,0,false"));
        let (schema, relname) = name.split_once('.').unwrap_or(("?", name));
        let mut counts = counts.split(',');
        let (vacuums, analyzes) = (counts.next().unwrap_or("0"), counts.next().unwrap_or("0"));
        let shared = counts.next() == Some("true");
        let rows: Vec<&Value> = summary["tables"]
            .as_array()
            .map(|all| {
                all.iter()
                    .filter(|t| {
                        (shared || t["database"] == DATABASE)
                            && t["schema"] == schema
                            && t["name"] == relname
                    })
                    .collect()
            })
            .unwrap_or_default();
        let logged = (
            rows.iter().map(|t| number(&t["vacuums"])).sum::<i64>(),
            rows.iter().map(|t| number(&t["analyzes"])).sum::<i64>(),
        );
        let server = (
            vacuums.parse::<i64>().unwrap_or(-1),
            analyzes.parse::<i64>().unwrap_or(-1),
        );
        if logged != server {
            problems.push(format!(
                "{name}: pgvac counts {logged:?} vacuums/analyzes, pg_stat_all_tables {server:?}"
            ));
        }
    }
    let ours = summary["tables"]
        .as_array()
        .map(|t| t.iter().filter(|t| t["database"] == DATABASE).count())
        .unwrap_or(0);
    if ours == 0 {
        problems.push("no table of the database in the summary".to_string());
    }

    // Each kind of entry: pgvac's total equals the server's lines, counted by substring.
    let lines = |text: &str| stderr_text.matches(text).count() as i64;
    let totals = &summary["totals"];
    for (key, text) in [
        ("vacuums", "vacuum of table \""),
        ("analyzes", "LOG:  automatic analyze of table \""),
        (
            "anti_wraparound_vacuums",
            "vacuum to prevent wraparound of table \"",
        ),
        ("aggressive_vacuums", "automatic aggressive vacuum "),
        ("cancelled", "ERROR:  canceling autovacuum task"),
        ("skipped_lock", "\" --- lock not available"),
        ("failsafe", "as a failsafe after"),
        ("lock_waits", " still waiting for "),
    ] {
        let server = if key == "vacuums" {
            lines("LOG:  automatic vacuum ") + lines("LOG:  automatic aggressive vacuum ")
        } else {
            lines(text)
        };
        if number(&totals[key]) != server {
            problems.push(format!(
                "{key}: pgvac counts {}, the log has {server} lines",
                totals[key]
            ));
        }
    }
    for (key, at_least) in [
        ("cancelled", 1),
        ("skipped_lock", 1),
        ("anti_wraparound_vacuums", 1),
        ("failsafe", i64::from(major >= 14)),
    ] {
        if number(&totals[key]) < at_least {
            problems.push(format!(
                "{key}: {} (expected at least {at_least})",
                totals[key]
            ));
        }
    }
    for (name, samples) in [("unrecognised", "unrecognised"), ("problems", "problems")] {
        for (extension, s) in &summaries {
            if number(&s[samples]["count"]) != 0 {
                problems.push(format!("{extension}: {name}: {}", s[samples]));
            }
        }
    }

    // One run's numbers against the table.
    match table(summary, "public", "plain") {
        None => problems.push("plain is not in the summary".to_string()),
        Some(plain) => {
            if number(&plain["tuples_removed"]) != 5000 {
                problems.push(format!(
                    "plain: {} dead rows removed, 5000 were made",
                    plain["tuples_removed"]
                ));
            }
            if number(&plain["pages_last"]) != plain_pages {
                problems.push(format!(
                    "plain: {} pages after its last vacuum, pg_class.relpages {plain_pages}",
                    plain["pages_last"]
                ));
            }
            if major >= 18 && plain["delay_ms"].is_null() {
                problems.push("plain: no delay time with track_cost_delay_timing".to_string());
            }
        }
    }
    if let Some(slow) = table(summary, "public", "slow") {
        let conflicts = slow["conflicts"].to_string();
        if number(&slow["cancelled_vacuums"]) < 1
            || !conflicts.contains("AccessExclusiveLock")
            || !conflicts.contains("LOCK TABLE slow IN ACCESS EXCLUSIVE MODE")
        {
            problems.push(format!(
                "slow: cancelled {} times, conflicts {conflicts}: the LOCK TABLE is not named",
                slow["cancelled_vacuums"]
            ));
        }
    } else {
        problems.push("slow is not in the summary".to_string());
    }
    let skipped = summary["tables"]
        .as_array()
        .and_then(|t| {
            t.iter()
                .find(|t| t["name"] == "held" && t["schema"].is_null())
        })
        .map_or(0, |t| {
            number(&t["skipped_vacuums"]) + number(&t["skipped_analyzes"])
        });
    if skipped < 1 {
        problems.push("held: no lock skip counted".to_string());
    }
    let passes = table(summary, "public", "passes").map_or(0, |t| number(&t["max_index_scans"]));
    if major <= 16 && passes < 2 {
        problems.push(format!(
            "passes: at most {passes} index scans with a 1 MB autovacuum_work_mem on {major}"
        ));
    }

    // The same entries in every format give the same summary. csvlog and jsonlog times have
    // milliseconds; a `%t` prefix does not, so what is timed from the prefix is compared only
    // when it has them.
    let with_millis = prefix.contains("%m");
    for (extension, other) in &summaries[1..] {
        let mut keys = vec!["totals", "tables", "databases", "failsafe"];
        if with_millis {
            keys.extend(["hours", "concurrency", "first", "last"]);
        }
        for key in keys {
            let (mut ours, mut theirs) = (
                untimed(&summary[key], with_millis),
                untimed(&other[key], with_millis),
            );
            // Each format is its own file: lines of workers logging at the same moment can
            // land in another order in each, so a list in log order is compared as a set.
            if key == "failsafe" {
                for list in [&mut ours, &mut theirs] {
                    if let Value::Array(items) = list {
                        items.sort_by_key(|item| item.to_string());
                    }
                }
            }
            if ours != theirs {
                let (ours, theirs) = first_difference(&ours, &theirs);
                problems.push(format!(
                    "{extension} and stderr differ in {key}:\n{theirs}\n{ours}"
                ));
            }
        }
    }

    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        write_fixtures(major, kind, prefix, &files)?;
    }
    if !problems.is_empty() {
        return Err(format!(
            "PostgreSQL {} ({kind} prefix {prefix:?}):\n{}\n\n{}",
            cluster.version,
            problems.join("\n"),
            log_lines_with(cluster, "LOG:  automatic")
        ));
    }
    eprintln!(
        "pg{major}: logs agree with the server on {ours} tables ({} vacuums, {} analyzes, {} \
         cancelled, {} skipped, {} failsafe) in {:.1} s",
        totals["vacuums"],
        totals["analyzes"],
        totals["cancelled"],
        totals["skipped_lock"],
        totals["failsafe"],
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `pgvac report --log` on the test's log: the LOG findings a user would see, and `explain`.
fn check_report(report: &runner::Run, major: u32, held_xmin: i64) -> Result<Vec<String>, String> {
    if report.status != 0 {
        return Err(format!("pgvac report --log: {}", report.describe()));
    }
    let document: Value =
        serde_json::from_str(&report.stdout).map_err(|e| format!("{e}\n{}", report.describe()))?;
    runner::validate(&document, "docs/report.schema.json")?;
    let findings = document["findings"].as_array().cloned().unwrap_or_default();
    let of =
        |code: &str| -> Vec<&Value> { findings.iter().filter(|f| f["code"] == code).collect() };
    let mut problems = Vec::new();
    let pinned = of("LOG003")
        .into_iter()
        .find(|f| f["object"].to_string().contains("pinned"));
    match pinned {
        None => problems.push(format!(
            "report --log: no LOG003 for pinned; LOG findings: {:?}",
            findings
                .iter()
                .filter(|f| f["code"].as_str().is_some_and(|c| c.starts_with("LOG")))
                .map(|f| format!("{} {}", f["code"], f["message"]))
                .collect::<Vec<_>>()
        )),
        Some(finding) => {
            let message = finding["message"].as_str().unwrap_or("");
            if !message.contains(&format!("horizon was XID {held_xmin}"))
                || !message.contains("holds that XID now")
            {
                problems.push(format!(
                    "LOG003 does not tie pinned's horizon (XID {held_xmin}) to the session that \
                     holds it: {message}"
                ));
            }
        }
    }
    if major <= 16 && of("LOG004").is_empty() {
        problems.push("report --log: no LOG004 for the vacuum with several index passes".into());
    }
    let explain = runner::run(runner::command().args(["explain", "LOG003"]))?;
    if explain.status != 0 || !explain.stdout.contains("## How it is computed") {
        problems.push(format!("pgvac explain LOG003: {}", explain.describe()));
    }
    Ok(problems)
}

/// A summary part without its timestamps, when the stderr prefix has none with milliseconds.
fn untimed(value: &Value, with_millis: bool) -> Value {
    if with_millis {
        return value.clone();
    }
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "first" | "last" | "last_vacuum" | "at"))
                .map(|(k, v)| (k.clone(), untimed(v, with_millis)))
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| untimed(v, with_millis)).collect())
        }
        other => other.clone(),
    }
}

/// The first elements of two arrays that differ (or the values themselves), for a message.
fn first_difference(a: &Value, b: &Value) -> (String, String) {
    if let (Some(a), Some(b)) = (a.as_array(), b.as_array())
        && let Some(i) = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i))
    {
        return (
            format!("[{i}] {}", a.get(i).unwrap_or(&Value::Null)),
            format!("[{i}] {}", b.get(i).unwrap_or(&Value::Null)),
        );
    }
    (a.to_string(), b.to_string())
}

/// How many entries of each kind go into the corpus: the runs on the test's own tables, lock
/// waits, cancellations and skips all; failsafe warnings, other entries of the test database
/// (its catalogs), other autovacuum entries and entries about anything else, the first few.
fn corpus_kind(text: &str) -> (&'static str, usize) {
    if text.contains(&format!("{DATABASE}.public."))
        || text.contains("still waiting for")
        || text.contains(" acquired ")
        || text.contains("--- lock not available")
        || text.contains("canceling autovacuum task")
    {
        ("test tables", usize::MAX)
    } else if text.contains("bypassing nonessential maintenance") {
        ("failsafe", 3)
    } else if text.contains(DATABASE) {
        ("test database", 6)
    } else if text.contains("automatic ") {
        ("other autovacuum", 8)
    } else {
        ("other", 5)
    }
}

/// Write excerpts of the three logs to `tests/fixtures/logs/pgNN-PREFIX.{log,csv,json}`: whole
/// entries, verbatim, chosen by [`corpus_kind`].
fn write_fixtures(
    major: u32,
    kind: &str,
    prefix: &str,
    files: &[(&str, PathBuf)],
) -> Result<(), String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/logs");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    for (extension, path) in files {
        let raw = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let entries = split_entries(extension, &raw, prefix)?;
        let mut taken: std::collections::HashMap<&str, usize> = Default::default();
        let mut excerpt = Vec::new();
        for entry in entries {
            let (what, most) = corpus_kind(&String::from_utf8_lossy(entry));
            let count = taken.entry(what).or_default();
            if *count < most {
                *count += 1;
                excerpt.extend_from_slice(entry);
            }
        }
        let target = dir.join(format!("pg{major}-{kind}.{extension}"));
        std::fs::write(&target, excerpt).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(())
}

/// The byte ranges of a log's entries.
fn split_entries<'r>(
    extension: &str,
    raw: &'r [u8],
    prefix: &str,
) -> Result<Vec<&'r [u8]>, String> {
    let mut starts = Vec::new();
    match extension {
        "csv" => {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(raw);
            let mut record = csv::ByteRecord::new();
            while reader
                .read_byte_record(&mut record)
                .map_err(|e| e.to_string())?
            {
                starts.push(record.position().map_or(0, |p| p.byte()) as usize);
            }
        }
        "json" => {
            let mut at = 0;
            for line in raw.split_inclusive(|&b| b == b'\n') {
                starts.push(at);
                at += line.len();
            }
        }
        _ => {
            // A message line starts an entry; tab lines and DETAIL/CONTEXT/... lines belong to it.
            let parsed = pgvac::logs::Prefix::new(prefix).map_err(|e| e.to_string())?;
            let mut locations = parsed.locations();
            let mut at = 0;
            for line in raw.split_inclusive(|&b| b == b'\n') {
                let text = String::from_utf8_lossy(line);
                let text = text.trim_end_matches(['\n', '\r']);
                let starts_entry = !text.starts_with('\t')
                    && parsed.message_start(text, &mut locations).is_some()
                    && !matches!(
                        parsed.severity(text, &locations),
                        "DETAIL" | "HINT" | "CONTEXT" | "STATEMENT" | "QUERY" | "LOCATION"
                    );
                if starts_entry || starts.is_empty() {
                    starts.push(at);
                }
                at += line.len();
            }
        }
    }
    let mut entries = Vec::new();
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(raw.len());
        entries.push(&raw[start..end]);
    }
    Ok(entries)
}
