//! What docs/reliability.md promises and no other file proves: Ctrl-C stops pgvac's statements
//! on the server, every statement pgvac sends is a read in a read-only transaction, and the
//! names and values pgvac quotes into SQL reach exactly the object and the value they name.

use std::io::Read;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::TestFn;
use crate::client::Client;
use crate::cluster::{Cluster, wait_for};
use crate::collect::fresh_database;
use crate::runner::{self, Run};

pub const TESTS: &[(&str, TestFn)] = &[
    (
        "reliability_ctrl_c_cancels_the_statement_on_the_server_and_writes_nothing",
        ctrl_c,
    ),
    (
        "reliability_every_statement_is_a_read_in_a_read_only_transaction",
        read_only,
    ),
    (
        "reliability_quoted_names_reach_exactly_their_object",
        quoted_names,
    ),
    (
        "reliability_quoted_literals_read_back_as_themselves",
        quoted_literals,
    ),
];

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}

/// pgvac in the background, its output piped.
fn spawn(args: &[&str]) -> Result<Child, String> {
    runner::command()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting pgvac: {e}"))
}

/// Wait for the child, at most `limit`, draining its pipes.
fn finish(mut child: Child, limit: Duration) -> Result<Run, String> {
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let mut stderr = child.stderr.take().ok_or("no stderr")?;
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "pgvac was still running {} s after Ctrl-C: {}",
                limit.as_secs(),
                err.join().unwrap_or_default()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    use std::os::unix::process::ExitStatusExt;
    Ok(Run {
        // Killed by a signal: -signal, so a default SIGINT death reads as -2.
        status: status
            .code()
            .unwrap_or_else(|| -status.signal().unwrap_or(0)),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// Ctrl-C while pgvac waits on a lock the test holds: pgvac exits 130 with one line, writes
/// nothing, and its statement is gone from the server while the lock is still held (so it was
/// cancelled, not released); the server log shows the cancel.
fn ctrl_c(cluster: &Cluster) -> Result<(), String> {
    // Exclusive: a run of another test visiting every database would wait on the lock too.
    let _exclusive = cluster.exclusive.write().unwrap();
    fresh_database(cluster, "rel_sigint")?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let previous = dir.path().join("report.json");
    std::fs::write(&previous, "previous\n").map_err(|e| e.to_string())?;
    let new_file = dir.path().join("new.json");
    let history = dir.path().join("history");
    let port = cluster.port.to_string();
    let mut admin = Client::connect(cluster, "postgres")?;
    let common = [
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-U",
        "postgres",
        "-d",
        "rel_sigint",
        // Long timeouts: without the cancel, pgvac's statement would wait a minute.
        "--lock-timeout",
        "60s",
        "--statement-timeout",
        "120s",
    ];
    let previous_text = previous.to_str().unwrap();
    let new_text = new_file.to_str().unwrap();
    let history_text = history.to_str().unwrap();
    let runs: Vec<(&str, Vec<&str>)> = vec![
        (
            "report -o over an existing file, with --history",
            vec![
                "report",
                "--format",
                "json",
                "-o",
                previous_text,
                "--history",
                history_text,
            ],
        ),
        ("collect -o a new file", vec!["collect", "-o", new_text]),
        ("collect to stdout", vec!["collect"]),
        ("sessions", vec!["sessions", "--format", "json"]),
    ];
    for (what, mut args) in runs {
        args.splice(1..1, common.iter().copied());
        // pgvac's first statement in its first database after BEGIN reads pg_settings, a view
        // over a function alone (so locking it locks nothing else): with it locked there, that
        // statement waits, and neither connecting nor pgvac's earlier statements do.
        let mut lock = Client::connect(cluster, "rel_sigint")?;
        lock.execute("BEGIN; LOCK TABLE pg_catalog.pg_settings IN ACCESS EXCLUSIVE MODE;")?;
        let child = spawn(&args)?;
        let child_pid = child.id();
        let waiting = "SELECT coalesce(min(pid), 0)::text FROM pg_stat_activity
                       WHERE application_name = 'pgvac' AND datname = 'rel_sigint'
                         AND wait_event_type = 'Lock'";
        let mut pid = 0;
        let paused = wait_for(Duration::from_secs(60), || {
            pid = admin.number(waiting)?;
            Ok(pid != 0)
        })?;
        if !paused {
            let _ = child_kill(child);
            return Err(format!(
                "{what}: pgvac never waited on the lock in rel_sigint: {:?}",
                admin.text(
                    "SELECT string_agg(concat_ws(' ', pid, datname, application_name, state, \
                     wait_event_type, left(query, 60)), '; ') FROM pg_stat_activity"
                )?
            ));
        }
        let query = admin
            .text(&format!(
                "SELECT query FROM pg_stat_activity WHERE pid = {pid}"
            ))?
            .unwrap_or_default();
        let interrupted = std::process::Command::new("kill")
            .args(["-INT", &child_pid.to_string()])
            .status()
            .map_err(|e| e.to_string())?;
        ensure(interrupted.success(), || {
            format!("{what}: kill -INT failed")
        })?;
        let run = finish(child, Duration::from_secs(30));
        // The statement is gone while the lock is still held: cancelled, not released.
        let gone = wait_for(Duration::from_secs(10), || {
            Ok(admin.number(&format!(
                "SELECT count(*)::text FROM pg_stat_activity WHERE pid = {pid}"
            ))? == 0)
        })?;
        let still_locked = admin.number(
            "SELECT count(*)::text FROM pg_locks l JOIN pg_database d ON d.oid = l.database
             WHERE d.datname = 'rel_sigint' AND l.mode = 'AccessExclusiveLock' AND l.granted
               AND l.relation = 'pg_catalog.pg_settings'::regclass",
        )?;
        lock.execute("COMMIT")?;
        let run = run?;
        ensure(run.status == 130, || {
            format!("{what}: Ctrl-C should exit 130: {}", run.describe())
        })?;
        let lines: Vec<&str> = run.stderr.lines().collect();
        ensure(
            lines.len() == 1
                && lines[0].starts_with(
                    "pgvac: interrupted: the server cancelled pgvac's 1 running statement",
                )
                && lines[0].ends_with("nothing was written"),
            || format!("{what}: stderr should be one line: {}", run.describe()),
        )?;
        ensure(run.stdout.is_empty(), || {
            format!("{what}: output on stdout: {}", run.describe())
        })?;
        ensure(gone && still_locked == 1, || {
            format!(
                "{what}: pgvac's statement ({query:?}, pid {pid}) was still on the server 10 s \
                 after Ctrl-C (lock held: {still_locked})"
            )
        })?;
        let log = cluster.log();
        let cancelled =
            format!("[{pid}] pgvac@rel_sigint ERROR:  canceling statement due to user request");
        ensure(log.contains(&cancelled), || {
            format!("{what}: the server log does not show the cancel of pid {pid}")
        })?;
    }
    // Nothing was written: the old file as it was, no new file, no history, no temporary file.
    ensure(
        std::fs::read_to_string(&previous).map_err(|e| e.to_string())? == "previous\n",
        || "the existing -o file was changed".to_string(),
    )?;
    ensure(!new_file.exists(), || {
        "collect -o wrote its file".to_string()
    })?;
    let history_files = std::fs::read_dir(&history).map(|d| d.count()).unwrap_or(0);
    ensure(history_files == 0, || {
        format!("--history recorded {history_files} files")
    })?;
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .map_err(|e| e.to_string())?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    ensure(
        names.iter().all(|n| n == "report.json" || n == "history"),
        || format!("left in the output directory: {names:?}"),
    )?;
    admin.execute("DROP DATABASE rel_sigint")
}

fn child_kill(mut child: Child) -> std::io::Result<()> {
    child.kill()?;
    child.wait().map(|_| ())
}

/// One statement pgvac sent, from the server log.
#[derive(Debug)]
struct Logged {
    pid: String,
    xid: String,
    text: String,
}

/// The log line prefix of the read-only test's cluster: pid, application, database, XID.
const READ_ONLY_PREFIX: &str = "'%m [%p] %a@%d xid=%x '";

/// Every entry of pgvac's sessions in a `READ_ONLY_PREFIX` log: its pid, XID and message.
fn pgvac_entries(log: &str) -> Vec<Logged> {
    let mut entries: Vec<Logged> = Vec::new();
    let mut in_pgvac = false;
    for line in log.lines() {
        if let Some(rest) = line.strip_prefix('\t') {
            if in_pgvac && let Some(last) = entries.last_mut() {
                last.text.push('\n');
                last.text.push_str(rest);
            }
            continue;
        }
        in_pgvac = false;
        // "2026-01-02 03:04:05.678 UTC [123] pgvac@db xid=0 LOG:  statement: ..."
        let Some(open) = line.find(" [") else {
            continue;
        };
        let rest = &line[open + 2..];
        let Some((pid, rest)) = rest.split_once("] ") else {
            continue;
        };
        let Some((application, rest)) = rest.split_once('@') else {
            continue;
        };
        let Some((_database, rest)) = rest.split_once(" xid=") else {
            continue;
        };
        let Some((xid, message)) = rest.split_once(' ') else {
            continue;
        };
        if application != "pgvac" {
            continue;
        }
        in_pgvac = true;
        entries.push(Logged {
            pid: pid.to_string(),
            xid: xid.to_string(),
            text: message.to_string(),
        });
    }
    entries
}

/// The SQL of a `LOG:  statement:` or `LOG:  execute <name>:` entry.
fn statement_of(entry: &Logged) -> Option<String> {
    let text = entry.text.strip_prefix("LOG:  ")?;
    if let Some(sql) = text.strip_prefix("statement: ") {
        return Some(sql.to_string());
    }
    let rest = text.strip_prefix("execute ")?;
    let (_, sql) = rest.split_once(": ")?;
    Some(sql.to_string())
}

/// The statement without its comments, on one line, upper-cased keywords left as they are.
fn normalized(sql: &str) -> String {
    let mut out = String::new();
    for line in sql.lines() {
        let line = match line.find("--") {
            Some(at) => &line[..at],
            None => line,
        };
        out.push_str(line.trim());
        out.push(' ');
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The statements of a query string: split at each `;` outside quotes and dollar quotes.
fn statements(sql: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quote, mut dollar): (usize, Option<char>, Option<&str>) = (0, None, None);
    let mut at = 0;
    while at < sql.len() {
        let rest = &sql[at..];
        let c = rest.chars().next().unwrap();
        if let Some(tag) = dollar {
            if rest.starts_with(tag) {
                dollar = None;
                at += tag.len();
                continue;
            }
        } else if let Some(q) = quote {
            if c == q {
                quote = None;
            }
        } else if c == '\'' || c == '"' {
            quote = Some(c);
        } else if c == '$' {
            if let Some(end) = rest[1..].find('$') {
                let tag = &rest[..end + 2];
                if tag[1..tag.len() - 1]
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_')
                {
                    dollar = Some(tag);
                    at += tag.len();
                    continue;
                }
            }
        } else if c == ';' {
            out.push(sql[start..at].trim());
            start = at + 1;
        }
        at += c.len_utf8();
    }
    out.push(sql[start..].trim());
    out.retain(|s| !s.is_empty());
    out
}

/// What kind of statement this is, or why it is not one pgvac may send.
fn classify(sql: &str) -> Result<&'static str, String> {
    let upper = sql.to_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    let calls = |name: &str| {
        upper
            .match_indices(name)
            .any(|(at, _)| upper[at + name.len()..].trim_start().starts_with('('))
    };
    for action in [
        "PG_TERMINATE_BACKEND",
        "PG_CANCEL_BACKEND",
        "NEXTVAL",
        "SETVAL",
        "TXID_CURRENT",
    ] {
        if calls(action) && !(action == "TXID_CURRENT" && upper.contains("TXID_CURRENT_SNAPSHOT")) {
            return Err(format!("calls {action}"));
        }
    }
    match words.as_slice() {
        ["BEGIN", ..] if upper.contains("READ ONLY") => Ok("BEGIN ... READ ONLY"),
        ["BEGIN", ..] | ["START", "TRANSACTION", ..] => Err("a transaction not READ ONLY".into()),
        // A WITH query is a read when none of its parts modifies data (a SELECT in the end).
        ["WITH", ..]
            if ![" INSERT ", " UPDATE ", " DELETE ", " MERGE "]
                .iter()
                .any(|w| format!(" {upper} ").contains(w)) =>
        {
            match upper.rfind(") SELECT ") {
                Some(at) => classify(&upper[at + 2..]),
                None => Err("a WITH query that does not end in a SELECT".into()),
            }
        }
        ["SELECT", ..] => {
            if [
                " FOR UPDATE",
                " FOR SHARE",
                " FOR NO KEY",
                " FOR KEY SHARE",
                " INTO ",
            ]
            .iter()
            .any(|w| upper.contains(w))
            {
                Err("a SELECT that locks rows or writes".into())
            } else {
                Ok("SELECT")
            }
        }
        ["SAVEPOINT", ..] => Ok("SAVEPOINT"),
        ["RELEASE", ..] => Ok("RELEASE SAVEPOINT"),
        ["ROLLBACK", "TO", ..] => Ok("ROLLBACK TO SAVEPOINT"),
        ["COMMIT"] => Ok("COMMIT"),
        ["SET", "DEFAULT_TRANSACTION_READ_ONLY", "=", "ON"] => Ok("SET (session)"),
        ["SET", "TRANSACTION", ..] | ["SET", "SESSION", "CHARACTERISTICS", ..] => {
            Err("changes the transaction's characteristics".into())
        }
        ["SET", name, ..] if !name.contains("READ_ONLY") && !name.contains("ROLE") => {
            Ok("SET (session)")
        }
        _ => Err("not a read".into()),
    }
}

/// From a `log_statement = all` server log of full report, collect, sessions, ping and
/// `--terminate` dry runs, as a superuser, a pg_monitor member and a role without grants, on a
/// cluster with tables, a temporary table held open, a prepared transaction and a replication
/// slot: every statement is a BEGIN ... READ ONLY, SELECT, SAVEPOINT, RELEASE, ROLLBACK TO,
/// COMMIT or a SET of a session setting; none calls a function that signals or writes; no
/// pgvac session was assigned an XID (the log's %x), and the server's next XID did not move.
fn read_only(shared: &Cluster) -> Result<(), String> {
    let settings =
        format!("log_statement = 'all'\nlog_line_prefix = {READ_ONLY_PREFIX}\nautovacuum = off\n");
    let cluster = &Cluster::start_with(shared.major, &shared.bindir, &settings)?;
    fresh_database(cluster, "rel_ro")?;
    let mut admin = Client::connect(cluster, "rel_ro")?;
    admin.execute(
        "CREATE ROLE rel_monitor LOGIN PASSWORD 'monitor' IN ROLE pg_monitor;
         CREATE ROLE rel_plain LOGIN PASSWORD 'plain';
         CREATE TABLE orders (id int PRIMARY KEY, note text)
             WITH (autovacuum_vacuum_scale_factor = 0.01, toast.autovacuum_enabled = off);
         INSERT INTO orders SELECT g, repeat('x', 100) FROM generate_series(1, 1000) g;
         DELETE FROM orders WHERE id % 3 = 0;
         CREATE TABLE parted (id int) PARTITION BY RANGE (id);
         CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100);",
    )?;
    // Each on its own: a slot is made outside a transaction, before any other is open.
    admin.execute("SELECT pg_create_logical_replication_slot('rel_ro_slot', 'test_decoding')")?;
    admin.execute(
        "BEGIN; CREATE TABLE prepared_here (id int); PREPARE TRANSACTION 'rel_ro_prepared';",
    )?;
    // A session holding a temporary table, idle in transaction: the temp-schema sources run.
    let mut temp = Client::connect(cluster, "rel_ro")?;
    temp.execute("CREATE TEMP TABLE scratch (id int)")?;
    temp.execute("BEGIN; SELECT count(*) FROM scratch;")?;
    let next_xid = |admin: &mut Client| {
        admin.number("SELECT txid_snapshot_xmax(txid_current_snapshot())::text")
    };
    let log_start = cluster.log().len();

    let port = cluster.port.to_string();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let history = dir.path().join("history");
    let history = history.to_str().unwrap();
    let runs: Vec<(&str, &str, Vec<&str>)> = vec![
        ("postgres", "", vec!["report"]),
        (
            "postgres",
            "",
            vec!["report", "--format", "json", "--history", history],
        ),
        (
            "postgres",
            "",
            vec!["report", "--format", "sql", "--history", history],
        ),
        ("postgres", "", vec!["collect"]),
        ("postgres", "", vec!["sessions"]),
        (
            "postgres",
            "",
            vec!["sessions", "--terminate", "--min-xid-age", "0"],
        ),
        ("postgres", "", vec!["ping"]),
        ("rel_monitor", "monitor", vec!["report", "--format", "json"]),
        (
            "rel_monitor",
            "monitor",
            vec!["sessions", "--terminate", "--min-idle", "0s"],
        ),
        ("rel_plain", "plain", vec!["report"]),
        ("rel_plain", "plain", vec!["collect"]),
        ("rel_plain", "plain", vec!["sessions"]),
        // Last, with pg_locks locked in rel_ro: the temp-table lock source there fails by lock
        // timeout, and is rolled back to its savepoint.
        (
            "postgres",
            "",
            vec!["report", "--allow-partial", "--lock-timeout", "100ms"],
        ),
    ];
    let mut ran = Vec::new();
    let mut xids = Vec::new();
    let mut locker = Client::connect(cluster, "rel_ro")?;
    for (i, (user, password, args)) in runs.iter().enumerate() {
        if i + 1 == runs.len() {
            // Taking the lock assigns the locker an XID: before the count of this run starts.
            locker.execute("BEGIN; LOCK TABLE pg_catalog.pg_locks IN ACCESS EXCLUSIVE MODE;")?;
        }
        let before = next_xid(&mut admin)?;
        let mut command = runner::command();
        command
            .arg(args[0])
            .args(["-h", "127.0.0.1", "-p", &port, "-U", user, "postgres"])
            .args(&args[1..]);
        if !password.is_empty() {
            command.env("PGPASSWORD", password);
        }
        let run = runner::run(&mut command)?;
        // Findings may make the status 1 or 2; 3 would be an incomplete run.
        ensure((0..=2).contains(&run.status), || {
            format!("{user} {args:?}: {}", run.describe())
        })?;
        ran.push(format!("{user}: pgvac {}", args.join(" ")));
        xids.push((ran.len() - 1, before, next_xid(&mut admin)?));
    }
    locker.execute("COMMIT")?;
    temp.execute("COMMIT")?;
    // The cluster is the test's own and goes with it: no clean-up of the slot and the prepared
    // transaction.

    let log = cluster.log();
    let new = log.get(log_start..).unwrap_or("");
    let entries = pgvac_entries(new);
    let mut kinds: std::collections::BTreeMap<&'static str, usize> = Default::default();
    let mut distinct: std::collections::BTreeSet<String> = Default::default();
    let mut refused = Vec::new();
    let mut sessions: std::collections::BTreeSet<&str> = Default::default();
    for entry in &entries {
        sessions.insert(&entry.pid);
        if entry.xid != "0" {
            refused.push(format!(
                "pid {} was assigned XID {}: {}",
                entry.pid, entry.xid, entry.text
            ));
        }
        let Some(sql) = statement_of(entry) else {
            continue;
        };
        let sql = normalized(&sql);
        // One simple-protocol entry can hold several statements (pgvac's `BEGIN ...;
        // SAVEPOINT ...`): each is judged, so nothing hides behind a harmless first one.
        for statement in statements(&sql) {
            match classify(statement) {
                Ok(kind) => *kinds.entry(kind).or_default() += 1,
                Err(why) => refused.push(format!("{why}: {statement}")),
            }
        }
        let mut shown: String = sql.chars().take(110).collect();
        if shown.len() < sql.len() {
            shown.push_str("...");
        }
        distinct.insert(shown);
    }
    let listing = distinct
        .iter()
        .map(|s| format!("  {s}"))
        .collect::<Vec<_>>()
        .join("\n");
    eprintln!(
        "pg{}: {} runs ({}), {} pgvac sessions, {} statements, {} distinct; by kind {kinds:?}:\n{listing}",
        cluster.major,
        ran.len(),
        ran.join("; "),
        sessions.len(),
        kinds.values().sum::<usize>(),
        distinct.len(),
    );
    ensure(refused.is_empty(), || {
        format!(
            "statements that are not reads in a read-only transaction:\n{}",
            refused.join("\n")
        )
    })?;
    // The log really holds the runs: each kind of statement pgvac sends was seen.
    for kind in ["BEGIN ... READ ONLY", "SELECT", "SAVEPOINT", "COMMIT"] {
        ensure(kinds.get(kind).copied().unwrap_or(0) >= runs.len(), || {
            format!("fewer {kind} statements than runs in the log: {kinds:?}\n{listing}")
        })?;
    }
    // The source that timed out was rolled back to its savepoint.
    ensure(kinds.contains_key("ROLLBACK TO SAVEPOINT"), || {
        format!("no source failed in the --allow-partial run: {kinds:?}")
    })?;
    for (run, before, after) in xids {
        ensure(before == after, || {
            format!(
                "the server's next XID moved from {before} to {after} during {}",
                ran[run]
            )
        })?;
    }
    Ok(())
}

/// Names the generators draw from: keywords, upper case, quotes, spaces, punctuation, Unicode.
fn name_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        // Keywords of every category, reserved or not, and their case variants.
        prop::sample::select(vec![
            "user",
            "order",
            "select",
            "table",
            "all",
            "analyse",
            "analyze",
            "between",
            "char",
            "collation",
            "current_user",
            "default",
            "do",
            "end",
            "false",
            "interval",
            "json",
            "json_table",
            "merge",
            "none",
            "offset",
            "overlaps",
            "system_user",
            "time",
            "values",
            "window",
            "xmltable",
            "abort",
            "zone",
            "Select",
            "USER",
            "pg_temp",
        ])
        .prop_map(str::to_string),
        // Plain names PostgreSQL leaves bare, and names just outside that.
        "[a-z_][a-z0-9_$]{0,20}",
        // Anything printable: quotes, backslashes, spaces, dots, semicolons, Unicode.
        "[ -~]{1,20}",
        "[\"'\\\\ .;$a-zA-Z0-9é日本\u{1F418}]{1,16}",
    ]
    // PostgreSQL truncates identifiers to 63 bytes and refuses NUL.
    .prop_filter("fits in NAMEDATALEN", |name| {
        !name.is_empty() && name.len() <= 63
    })
}

fn run_property(
    cases: u32,
    strategy: impl Strategy<Value = (String, String)>,
    test: impl FnMut(&str, &str) -> Result<(), String>,
) -> Result<(), String> {
    // The runner takes a Fn; the test drives a connection.
    let test = std::cell::RefCell::new(test);
    // The same cases on every run, so CI is repeatable; PROPTEST_RNG_SEED draws others.
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(8);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = proptest::test_runner::TestRng::from_seed(
        proptest::test_runner::RngAlgorithm::ChaCha,
        &bytes,
    );
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        },
        rng,
    );
    runner
        .run(&strategy, |(a, b)| {
            (test.borrow_mut())(&a, &b).map_err(TestCaseError::fail)
        })
        .map_err(|e| e.to_string())
}

/// For generated schema and table names: pgvac's quoted `schema.table` in the ALTER TABLE its
/// findings recommend changes exactly that table (read back from pg_class.reloptions by oid),
/// and its quoted role name in a GRANT reaches exactly that role.
fn quoted_names(cluster: &Cluster) -> Result<(), String> {
    use pgvac::sql::{qualified, quote_ident, quote_literal};
    let _shared = cluster.exclusive.read().unwrap();
    fresh_database(cluster, "rel_quoting")?;
    let mut client = Client::connect(cluster, "rel_quoting")?;
    let mut checked = 0;
    // The server reserves schema names that start with pg_.
    let schema_names =
        name_strategy().prop_filter("not a reserved schema name", |s| !s.starts_with("pg_"));
    run_property(200, (schema_names, name_strategy()), |schema, table| {
        client.execute("BEGIN")?;
        let result = (|| {
            // Created through the server's own quoting, so the test does not trust pgvac's.
            for create in [
                format!(
                    "SELECT format('CREATE SCHEMA %I', {})",
                    quote_literal(schema)
                ),
                format!(
                    "SELECT format('CREATE TABLE %I.%I (id int)', {}, {})",
                    quote_literal(schema),
                    quote_literal(table)
                ),
            ] {
                let statement = client.text(&create)?.unwrap_or_default();
                client.execute(&statement)?;
            }
            let oid = client.number(&format!(
                "SELECT c.oid::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = {} AND c.relname = {}",
                quote_literal(schema),
                quote_literal(table)
            ))?;
            let server_quoted = client
                .text(&format!(
                    "SELECT quote_ident({}) || '.' || quote_ident({})",
                    quote_literal(schema),
                    quote_literal(table)
                ))?
                .unwrap_or_default();
            let ours = qualified(schema, table);
            client.execute(&format!(
                "ALTER TABLE {ours} SET (autovacuum_vacuum_scale_factor = 0.01)"
            ))?;
            let options = client
                .text(&format!(
                    "SELECT array_to_string(reloptions, ',') FROM pg_class WHERE oid = {oid}"
                ))?
                .unwrap_or_default();
            ensure(options == "autovacuum_vacuum_scale_factor=0.01", || {
                format!(
                    "ALTER TABLE {ours} did not reach {schema:?}.{table:?} (oid {oid}): reloptions {options:?}"
                )
            })?;
            // Bare only where the server leaves it bare too (it may quote more, never less).
            let ours_bare = !ours.contains('"');
            ensure(!ours_bare || ours == server_quoted, || {
                format!("pgvac left {ours} bare where quote_ident gives {server_quoted}")
            })?;
            // A role named like the table gets what pgvac's GRANT hints would give it.
            let role = table;
            if !role.starts_with("pg_") && !["public", "none"].contains(&role) {
                let create = client.text(&format!(
                    "SELECT format('CREATE ROLE %I NOLOGIN', {})",
                    quote_literal(role)
                ))?;
                client.execute(&create.unwrap_or_default())?;
                client.execute(&format!("GRANT pg_monitor TO {}", quote_ident(role)))?;
                let granted = client.number(&format!(
                    "SELECT count(*)::text FROM pg_auth_members m
                         JOIN pg_roles r ON r.oid = m.member
                         WHERE r.rolname = {} AND m.roleid = 'pg_monitor'::regrole",
                    quote_literal(role)
                ))?;
                ensure(granted == 1, || {
                    format!(
                        "GRANT pg_monitor TO {} missed the role {role:?}",
                        quote_ident(role)
                    )
                })?;
            }
            Ok(())
        })();
        client.execute("ROLLBACK")?;
        checked += 1;
        result
    })?;
    eprintln!(
        "pg{}: {checked} generated schema/table/role names quoted and executed",
        cluster.major
    );
    drop(client);
    let mut admin = Client::connect(cluster, "postgres")?;
    admin.execute("DROP DATABASE rel_quoting")
}

/// For generated text: pgvac's quoted literal reads back as the same text through `SELECT`,
/// whatever `standard_conforming_strings` is.
fn quoted_literals(cluster: &Cluster) -> Result<(), String> {
    use pgvac::sql::quote_literal;
    let _shared = cluster.exclusive.read().unwrap();
    let mut client = Client::connect(cluster, "postgres")?;
    let text = prop_oneof![
        "[ -~]{0,40}",
        "['\\\\\"$%_ a-z]{0,20}",
        "\\PC{0,20}",
        Just("$$".to_string()),
        Just("E'\\''".to_string()),
        Just("\\".to_string()),
    ];
    let mut checked = 0;
    for conforming in ["on", "off"] {
        client.execute(&format!("SET standard_conforming_strings = {conforming}"))?;
        run_property(300, (text.clone(), Just(String::new())), |value, _| {
            let quoted = quote_literal(value);
            let back = client
                .text(&format!("SELECT {quoted}::text"))?
                .unwrap_or_default();
            checked += 1;
            ensure(back == value, || {
                format!(
                    "standard_conforming_strings = {conforming}: {quoted} read back as {back:?}, not {value:?}"
                )
            })
        })?;
    }
    client.execute("RESET standard_conforming_strings")?;
    eprintln!(
        "pg{}: {checked} generated literals read back",
        cluster.major
    );
    Ok(())
}
