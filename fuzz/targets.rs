//! The bodies of pgvac's fuzz targets, shared by the libFuzzer binaries (`fuzz_targets/`) and by
//! the test that runs them over the committed seeds in CI (`tests/fuzz_seeds.rs`), so the seeds
//! CI checks are exactly what the fuzzer starts from.
//!
//! Each target feeds bytes to one parser the way pgvac meets that input, then runs everything
//! downstream of it, since a parser that accepts a value is only as safe as what later reads the
//! value: a snapshot file is analysed and rendered in every format; reloptions are typed and
//! then drive the autovacuum model and the rules of a table; a connection string is resolved
//! into connection settings. A panic anywhere is a crash; so is a broken promise checked here
//! (what pgvac writes, pgvac reads back; a JSON report is JSON).

use std::sync::OnceLock;
use std::time::Duration;

use pgvac::analysis::Analysis;
use pgvac::render::{self, Format, Report};
use pgvac::snapshot::{Snapshot, TableOptions, ToastTable};

/// The one analysis, every report format, then the sessions report and the `--terminate` dry
/// run: what a user of the snapshot could ask for.
fn analyse_and_render(snapshot: &Snapshot) {
    let analysis = Analysis::new(snapshot);
    let report = Report::new(&analysis, snapshot.server.collected_at);
    for format in [
        Format::Table,
        Format::Json,
        Format::Sql,
        Format::Markdown,
        Format::Prometheus,
    ] {
        for verbose in [false, true] {
            let options = render::Options {
                verbose,
                top: verbose.then_some(1),
                ..render::Options::default()
            };
            let mut out = Vec::new();
            render::write(&mut out, format, &report, &options).expect("rendering into memory");
            if format == Format::Json {
                serde_json::from_slice::<serde_json::Value>(&out).expect("the JSON report is JSON");
            }
        }
    }
    let plan = analysis.terminate_plan(&Default::default());
    let dry = render::sessions::TerminateReport {
        mode: "dry_run",
        outcomes: pgvac::analysis::terminate::dry_run(&plan),
        excluded: plan.excluded.clone(),
    };
    let sessions = render::sessions::SessionsReport::new(&analysis, Some(&dry));
    let mut out = Vec::new();
    for width in [60, render::DEFAULT_WIDTH] {
        render::sessions::write_table(&mut out, &sessions, width).expect("rendering into memory");
    }
    out.clear();
    render::sessions::write_json(&mut out, &sessions).expect("rendering into memory");
    serde_json::from_slice::<serde_json::Value>(&out).expect("the sessions JSON is JSON");
}

/// A snapshot file, as `pgvac report --snapshot FILE` reads it. Whether pgvac accepted it.
pub fn snapshot(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Ok(snapshot) = pgvac::store::snapshot_file::parse(text) else {
        return false;
    };
    // What pgvac accepts it can write, and what it writes (history keeps snapshots) it reads.
    let written = serde_json::to_string(&snapshot).expect("a snapshot serializes");
    let again = pgvac::store::snapshot_file::parse(&written)
        .unwrap_or_else(|e| panic!("a snapshot pgvac wrote does not read back: {e:#}"));
    assert_eq!(
        serde_json::to_string(&again).expect("a snapshot serializes"),
        written,
        "a snapshot changes when written and read again"
    );
    analyse_and_render(&snapshot);
    true
}

/// The fixture the reloptions target changes: a cluster with warnings, whose first table
/// (`app.public.orders`, 2M rows, 300k dead) gets the fuzzed options.
fn base() -> &'static Snapshot {
    static BASE: OnceLock<Snapshot> = OnceLock::new();
    BASE.get_or_init(|| {
        pgvac::store::snapshot_file::parse(include_str!("../tests/fixtures/report-warning.json"))
            .expect("the fixture parses")
    })
}

/// `pg_class.reloptions` of a table and of its TOAST table, as the server stores them
/// (`name=value` strings, the TOAST table's set as `toast.name`), one per line. Input that starts
/// with a zero byte has 24 bytes of numbers after it that set the table's size and statistics
/// (reltuples, dead rows, rows inserted since the last vacuum, XID age), so the options meet
/// extreme numbers too.
/// Whether any vacuum option was recognised.
pub fn reloptions(data: &[u8]) -> bool {
    let (numbers, options) = match data.split_first() {
        Some((0, rest)) if rest.len() >= 24 => rest.split_at(24),
        _ => (&[][..], data),
    };
    let options = String::from_utf8_lossy(options);
    let mut table_options = Vec::new();
    let mut toast_options = Vec::new();
    for line in options.lines() {
        match line.strip_prefix("toast.") {
            Some(toast) => toast_options.push(toast.to_string()),
            None => table_options.push(line.to_string()),
        }
    }
    let mut snapshot = base().clone();
    let table = &mut snapshot.databases[0].tables[0];
    if numbers.len() >= 24 {
        let word = |i: usize| i64::from_le_bytes(numbers[i..i + 8].try_into().unwrap());
        let stats = table.stats.get_or_insert_with(Default::default);
        table.reltuples = word(0) as f64;
        stats.n_dead_tup = Some(word(8) >> 16);
        stats.n_ins_since_vacuum = Some(word(8) & 0xffff);
        table.xid_age = Some(word(16));
    }
    table.options = TableOptions::parse(&table_options).into();
    table.reloptions = table_options;
    let toast = table.toast.get_or_insert_with(|| {
        Box::new(ToastTable {
            oid: 99_999,
            xid_age: Some(1_000),
            mxid_age: Some(1),
            relpages: 10,
            reloptions: Vec::new(),
            options: TableOptions::default(),
        })
    });
    toast.options = TableOptions::parse(&toast_options);
    toast.reloptions = toast_options;
    let global = pgvac::analysis::autovacuum::GlobalSettings::from_snapshot(&snapshot);
    let database = &snapshot.databases[0];
    for table in &database.tables {
        let _ = pgvac::analysis::autovacuum::evaluate(&global, database, table);
    }
    analyse_and_render(&snapshot);
    let table = &snapshot.databases[0].tables[0];
    !table.options.is_empty() || table.toast.as_ref().is_some_and(|t| !t.options.is_empty())
}

/// A connection string (the CONNINFO argument or `--dsn`): libpq's two syntaxes, then the whole
/// resolution into connection settings, with an environment that sets nothing. Whether the
/// string resolved.
pub fn conninfo(data: &[u8]) -> bool {
    use pgvac::conn::conninfo;
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let parsed = conninfo::parse(text);
    assert_eq!(parsed, conninfo::parse(text), "parsing is deterministic");
    // A service file named in the string would be read: the fuzzer does not get to pick files.
    if parsed
        .as_ref()
        .is_ok_and(|params| params.contains_key("servicefile"))
    {
        return false;
    }
    let environment = pgvac::conn::Environment {
        vars: Default::default(),
        home: None,
        os_user: Some("fuzz".to_string()),
        socket_dir: "/nonexistent/socket".to_string(),
        sysconfdir: "/nonexistent/sysconf".into(),
    };
    let args = pgvac::conn::ConnectionArgs {
        dsn: Some(text.to_string()),
        statement_timeout: Duration::from_secs(30),
        lock_timeout: Duration::from_secs(1),
        ..Default::default()
    };
    match pgvac::conn::resolve(&args, &environment) {
        Ok(settings) => {
            let _ = settings.initial_database();
            let _ = format!("{settings:?}");
            true
        }
        Err(_) => false,
    }
}
