//! The report formats on real servers: the JSON validates against the committed schema, the SQL
//! script runs through psql on tables with the most awkward names and changes only the tables it
//! names, and the terminal report fits 100 columns and reads without colour.
//! `PGVAC_TEST_SHOW_REPORT=1` prints the report and the script the tests checked.

use std::process::Command;

use serde_json::Value;

use crate::TestFn;
use crate::client::Client;
use crate::cluster::Cluster;
use crate::collect::fresh_database;
use crate::runner;

pub const TESTS: &[(&str, TestFn)] = &[
    (
        "formats_json_validates_against_the_committed_schema",
        json_schema,
    ),
    (
        "formats_sql_script_runs_through_psql_and_changes_only_its_tables",
        sql_script,
    ),
    (
        "formats_terminal_report_fits_100_columns_without_colour",
        terminal,
    ),
    (
        "formats_snapshot_file_gives_the_same_report_as_the_live_run",
        offline_equals_live,
    ),
];

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}

/// The database the read-only tests share, and the one the script test changes.
const DB: &str = "formats_names";
const SCRIPT_DB: &str = "formats_script";

/// Tables whose names test the quoting: (schema, table). Each is created with autovacuum
/// disabled, so TABLE005 recommends `ALTER TABLE ... RESET (autovacuum_enabled)` for it.
const AWKWARD: &[(&str, &str)] = &[
    ("public", "it's \"quoted\""),
    ("public", "with space"),
    ("public", "dot.ted"),
    ("public", "UpperCase"),
    ("public", "ünïcødé_表"),
    ("public", "\"; DROP TABLE x; --"),
    ("public", "select"),
    ("My \"Schema\".v1", "Mixed.Case \"T\""),
];

/// Tables the script must leave alone: (table, reloptions as created).
const BYSTANDERS: &[(&str, Option<&str>)] = &[
    ("x", None),
    ("bystander", Some("fillfactor=70")),
    ("tuned", Some("autovacuum_vacuum_scale_factor=0.05")),
];

fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A database with the awkward tables (autovacuum disabled, a few rows) and the bystanders.
fn seed(cluster: &Cluster, database: &str) -> Result<Client, String> {
    fresh_database(cluster, database)?;
    let mut client = Client::connect(cluster, database)?;
    client.execute(&format!("CREATE SCHEMA {}", ident(AWKWARD[7].0)))?;
    for (schema, table) in AWKWARD {
        let name = format!("{}.{}", ident(schema), ident(table));
        client.execute(&format!(
            "CREATE TABLE {name} (id int, note text) WITH (autovacuum_enabled = false);
             INSERT INTO {name} SELECT g, 'n' FROM generate_series(1, 100) g;"
        ))?;
    }
    for (table, options) in BYSTANDERS {
        let with = options.map(|o| format!(" WITH ({o})")).unwrap_or_default();
        client.execute(&format!(
            "CREATE TABLE public.{} (id int){with}; INSERT INTO public.{} VALUES (1);",
            ident(table),
            ident(table)
        ))?;
    }
    Ok(client)
}

/// Every relation of the database's user schemas with its reloptions.
fn reloptions(client: &mut Client) -> Result<Vec<(String, String, String)>, String> {
    let text = client
        .text(
            "SELECT coalesce(json_agg(json_build_array(n.nspname, c.relname, \
             coalesce(array_to_string(c.reloptions, ','), '')) ORDER BY n.nspname, c.relname), \
             '[]')::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
             AND n.nspname NOT LIKE 'pg_toast%'",
        )?
        .unwrap_or_default();
    let rows: Vec<(String, String, String)> =
        serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
    Ok(rows)
}

fn psql() -> std::path::PathBuf {
    let debian = std::path::PathBuf::from("/usr/lib/postgresql/15/bin/psql");
    if debian.is_file() {
        debian
    } else {
        std::path::PathBuf::from("psql")
    }
}

fn json_schema(cluster: &Cluster) -> Result<(), String> {
    let _shared = cluster.exclusive.read().unwrap();
    seed_once(cluster)?;
    let run = runner::on(cluster, "report", &["--format", "json"])?;
    ensure((0..=2).contains(&run.status), || run.describe())?;
    let document: Value =
        serde_json::from_str(&run.stdout).map_err(|e| format!("{e}\n{}", run.describe()))?;
    runner::validate(&document, "docs/report.schema.json")?;
    // A vacuous pass is not a pass: the document has the seeded tables' findings.
    let awkward = document["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter(|f| f["code"] == "TABLE005" && f["object"]["database"] == DB)
                .count()
        })
        .unwrap_or(0);
    ensure(awkward == AWKWARD.len(), || {
        format!(
            "expected {} TABLE005 findings in {DB}, got {awkward}",
            AWKWARD.len()
        )
    })?;
    ensure(
        document["server"]["major"] == cluster.major && document["databases_visited"] != 0,
        || format!("server: {}", document["server"]),
    )
}

/// The shared database is seeded once per cluster; the tests that use it only read it.
fn seed_once(cluster: &Cluster) -> Result<(), String> {
    static SEEDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = SEEDING.lock().unwrap_or_else(|e| e.into_inner());
    let mut admin = Client::connect(cluster, "postgres")?;
    let exists = admin.number(&format!(
        "SELECT count(*)::text FROM pg_database WHERE datname = {}",
        literal(DB)
    ))?;
    if exists == 0 {
        seed(cluster, DB)?;
    }
    Ok(())
}

fn sql_script(cluster: &Cluster) -> Result<(), String> {
    // The script changes server settings (ALTER SYSTEM, reload): nobody else runs meanwhile.
    let _exclusive = cluster.exclusive.write().unwrap();
    let mut client = seed(cluster, SCRIPT_DB)?;
    let before = reloptions(&mut client)?;
    ensure(before.len() == AWKWARD.len() + BYSTANDERS.len(), || {
        format!("seeded tables: {before:?}")
    })?;

    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let script = dir.path().join("fixes.sql");
    let script_text = script.display().to_string();
    let run = runner::on(
        cluster,
        "report",
        &["-d", SCRIPT_DB, "--format", "sql", "-o", &script_text],
    )?;
    ensure(
        (0..=2).contains(&run.status) && run.stdout.is_empty(),
        || run.describe(),
    )?;
    let sql = std::fs::read_to_string(&script).map_err(|e| e.to_string())?;
    if std::env::var_os("PGVAC_TEST_SHOW_REPORT").is_some() {
        eprintln!("{sql}");
    }
    for (schema, table) in AWKWARD {
        let statement = format!(
            "ALTER TABLE {} RESET (autovacuum_enabled);",
            pgvac::sql::qualified(schema, table)
        );
        ensure(sql.contains(&statement), || {
            format!("the script lacks `{statement}`:\n{sql}")
        })?;
    }
    ensure(!sql.lines().any(|l| l.trim() == "BEGIN;"), || sql.clone())?;

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
            "postgres",
        ])
        .arg("-f")
        .arg(&script)
        .output()
        .map_err(|e| format!("running psql: {e}"))?;
    // Whatever happened, put the server settings back for the other tests.
    let mut admin = Client::connect(cluster, "postgres")?;
    admin.execute("ALTER SYSTEM RESET ALL")?;
    admin.execute("SELECT pg_reload_conf()")?;
    ensure(output.status.success(), || {
        format!(
            "psql failed ({}):\n{}\n--- script\n{sql}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    ensure(output.stderr.is_empty(), || {
        format!(
            "psql complained:\n{}\n--- script\n{sql}",
            String::from_utf8_lossy(&output.stderr)
        )
    })?;

    // Every table is still there; the awkward ones lost exactly their autovacuum_enabled, the
    // bystanders kept what they had.
    let checked = check_reloptions(cluster, &before, &sql);
    // Drop the database under the lock: its tables, autovacuumed again, would be analyzed
    // later and consume XIDs while another test holds the cluster still.
    client.close();
    admin.execute(&format!("DROP DATABASE {SCRIPT_DB}"))?;
    checked
}

fn check_reloptions(
    cluster: &Cluster,
    before: &[(String, String, String)],
    sql: &str,
) -> Result<(), String> {
    let mut client = Client::connect(cluster, SCRIPT_DB)?;
    let after = reloptions(&mut client)?;
    client.close();
    ensure(after.len() == before.len(), || {
        format!("tables before {before:?}\nafter {after:?}")
    })?;
    for (schema, table, options) in &after {
        let awkward = AWKWARD.iter().any(|(s, t)| s == schema && t == table);
        let expected = if awkward {
            String::new()
        } else {
            BYSTANDERS
                .iter()
                .find(|(t, _)| t == table)
                .and_then(|(_, o)| *o)
                .unwrap_or("")
                .to_string()
        };
        ensure(*options == expected, || {
            format!("{schema}.{table}: reloptions {options:?}, expected {expected:?}\n{sql}")
        })?;
    }
    Ok(())
}

fn terminal(cluster: &Cluster) -> Result<(), String> {
    let _shared = cluster.exclusive.read().unwrap();
    seed_once(cluster)?;
    // One snapshot, rendered three ways, so other tests' sessions cannot make them differ.
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("snap.json");
    let path_text = path.display().to_string();
    let collected = runner::on(cluster, "collect", &["-d", DB, "-o", &path_text])?;
    ensure(collected.status == 0, || collected.describe())?;
    let report = |extra: &[&str], no_color: bool| {
        let mut command = runner::command();
        if no_color {
            command.env("NO_COLOR", "1");
        }
        runner::run(
            command
                .args(["report", "--snapshot", &path_text])
                .args(extra),
        )
    };
    let run = report(&[], false)?;
    ensure((0..=2).contains(&run.status), || run.describe())?;
    let text = &run.stdout;
    if std::env::var_os("PGVAC_TEST_SHOW_REPORT").is_some() {
        eprintln!("{text}");
    }
    let widest = text
        .lines()
        .map(pgvac::render::text::width)
        .max()
        .unwrap_or(0);
    ensure(widest <= 100, || {
        format!("the widest line is {widest} columns:\n{text}")
    })?;
    ensure(!text.contains('\x1b'), || {
        format!("colour into a pipe:\n{text}")
    })?;
    // It reads without colour: the header, the sections, severity as words, the fixes.
    for expected in [
        "pgvac report · PostgreSQL",
        "databases read · role postgres (superuser)",
        "── Tables (",
        "WARNING  TABLE005",
        "RESET (autovacuum_enabled);",
    ] {
        ensure(text.contains(expected), || {
            format!("the report lacks {expected:?}:\n{text}")
        })?;
    }
    // Each awkward table is named (whole, or shortened with an ellipsis in the table).
    for (_, table) in AWKWARD {
        ensure(text.contains(table), || {
            format!("the report does not name {table:?}:\n{text}")
        })?;
    }
    // Colour forced: the same text once the escapes are taken out.
    let coloured = report(&["--color", "always"], false)?;
    ensure(coloured.stdout.contains("\x1b["), || coloured.describe())?;
    let stripped = strip_ansi(&coloured.stdout);
    ensure(stripped == *text, || {
        format!("colour changed the text:\n{stripped}\n---\n{text}")
    })?;
    // NO_COLOR with --color auto: none.
    let no_color = report(&["--color", "auto"], true)?;
    ensure(!no_color.stdout.contains('\x1b'), || no_color.describe())
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `--snapshot FILE` gives the report the live run gave: the live run keeps the snapshot it
/// analysed (`--history`), and the offline report of that file must agree on every finding,
/// session to terminate, recommended setting and the exit status.
fn offline_equals_live(cluster: &Cluster) -> Result<(), String> {
    // Exclusive, so that nothing else moves the cluster between the runs compared.
    let _exclusive = cluster.exclusive.write().unwrap();
    seed_once(cluster)?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = dir.path().join("snapshot.json");
    let snapshot = file.display().to_string();
    let parse = |text: &str| serde_json::from_str::<Value>(text).map_err(|e| e.to_string());
    let report = || -> Result<(runner::Run, Value), String> {
        let run = runner::on(cluster, "report", &["-d", DB, "--format", "json"])?;
        ensure((0..=2).contains(&run.status), || run.describe())?;
        let doc = parse(&run.stdout)?;
        Ok((run, doc))
    };
    const FIELDS: [&str; 5] = [
        "findings",
        "summary",
        "sessions_to_terminate",
        "recommended_settings",
        "databases",
    ];
    let same = |a: &Value, b: &Value| FIELDS.iter().all(|f| a[*f] == b[*f]);
    // A live report, a snapshot, and a live report again: when both live reports agree, the
    // snapshot taken between them is of that same state. (Autovacuum in the background may
    // move it: then again.)
    let mut attempts = 0;
    let (live, live_doc) = loop {
        let (before, before_doc) = report()?;
        let collect = runner::on(cluster, "collect", &["-d", DB, "-o", &snapshot])?;
        ensure(collect.status == 0, || collect.describe())?;
        let (_, after_doc) = report()?;
        if same(&before_doc, &after_doc) {
            break (before, before_doc);
        }
        attempts += 1;
        // The shared cluster is busy with other tests' sessions and XIDs: a quiet moment comes.
        ensure(attempts < 20, || {
            let moved: Vec<&str> = FIELDS
                .iter()
                .copied()
                .filter(|f| before_doc[*f] != after_doc[*f])
                .collect();
            format!("the cluster kept changing between two live reports ({moved:?} moved)")
        })?;
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    let offline = runner::run(runner::command().args([
        "report",
        "--snapshot",
        &snapshot,
        "--format",
        "json",
    ]))?;
    ensure(offline.status == live.status, || {
        format!("live exit {} but offline {}", live.status, offline.status)
    })?;
    let offline_doc = parse(&offline.stdout)?;
    for field in FIELDS {
        ensure(live_doc[field] == offline_doc[field], || {
            format!(
                "{field} differs:\nlive: {}\noffline: {}",
                live_doc[field], offline_doc[field]
            )
        })?;
    }
    let findings = live_doc["findings"].as_array().map(Vec::len).unwrap_or(0);
    ensure(findings >= AWKWARD.len(), || {
        format!("the live run found only {findings} findings")
    })
}
