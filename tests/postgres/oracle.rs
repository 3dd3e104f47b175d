//! The oracle: pgvac's model of autovacuum (`pgvac::analysis::autovacuum`) against the real daemon.
//!
//! Tables are prepared so that each sits exactly at, or one row past, the trigger pgvac computes
//! for it from a `pgvac collect` snapshot: dead rows under the defaults and under per-table
//! options, TOAST tables with their own `toast.*` option and with their owner's options, analyze,
//! the insert trigger (13+, with the unfrozen fraction on 18), the 18 cap, and tables autovacuum
//! must leave alone (disabled, partitioned, temporary). Then autovacuum is switched on and every
//! table pgvac calls due must be vacuumed (or analyzed) within the wait, and none other.
//!
//! The test runs on a cluster of its own (same binaries as the version's shared cluster), started
//! with autovacuum off, so nothing acts early and the reloptions the verdict sees are the ones
//! the daemon will use. When autovacuum is switched on, the `oracle` database is the only one with
//! work to do: what other tests leave behind on the shared cluster (their databases, orphaned temp
//! tables, the launcher's schedule) cannot delay the daemon. A CI run once saw the shared
//! cluster's launcher send no worker to `oracle` for 125 s.
//!
//! The changes avoid feedback between runs: dead rows come from UPDATEs (an autoanalyze of a
//! table below its vacuum trigger keeps reltuples, so it stays below), and the tables are never
//! read after the changes (a read could prune dead rows and lower `n_dead_tup`).

use std::collections::{BTreeMap, HashSet};
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use pgvac::analysis::autovacuum::{
    GlobalSettings, SettingOrigin, TableAutovacuum, Trigger, evaluate,
};
use pgvac::snapshot::{Database, Persistence, RelKind, Snapshot, Table};

use crate::TestFn;
use crate::client::Client;
use crate::cluster::{Cluster, wait_for};
use crate::collect::fresh_database;
use crate::runner;

pub const TESTS: &[(&str, TestFn)] = &[
    ("oracle_autovacuum_does_what_pgvac_predicts", oracle),
    (
        "oracle_workers_use_the_settings_pgvac_predicts",
        worker_settings,
    ),
    (
        "oracle_autovacuum_off_forces_only_databases_past_the_server_limit",
        autovacuum_off,
    ),
];

const DATABASE: &str = "oracle";

/// Longest wait for the daemon to process every table pgvac calls due. Generous, for a loaded
/// machine: the wait ends as soon as all are done (about 6 s with a 1 s naptime).
const DUE_WAIT: Duration = Duration::from_secs(120);
/// After that, how long the daemon gets to (wrongly) process the others: five naptimes.
const SETTLE: Duration = Duration::from_secs(5);

/// How a case's table is made.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// `(id int, n int)`: no TOAST table, no index.
    Plain,
    /// `(id int, doc text EXTERNAL, note text MAIN)`: each row keeps exactly one TOAST chunk.
    Toasted,
    /// A partition of the partitioned table `parted`.
    Partition,
    /// A temporary table, owned by another session.
    Temporary,
}

/// The trigger a case is built around, and the change that moves its counter.
#[derive(Clone, Copy, PartialEq)]
enum Driver {
    /// UPDATEs: dead rows in the table.
    DeadRows,
    /// UPDATEs of the TOAST-ed column: dead rows in the TOAST table.
    ToastDeadRows,
    /// INSERTs.
    Inserts,
    /// UPDATEs, measured against the analyze trigger.
    Analyze,
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    /// Exactly at the trigger: not due.
    At,
    /// One past it: due.
    Past,
}

struct Case {
    name: &'static str,
    shape: Shape,
    /// The `WITH (...)` options, as given to CREATE TABLE.
    options: &'static str,
    rows: i64,
    /// `VACUUM (FREEZE)` after loading, so every page is all-frozen (the 18 insert trigger).
    freeze: bool,
    driver: Driver,
    side: Side,
    versions: RangeInclusive<u32>,
}

fn cases() -> Vec<Case> {
    use Driver::*;
    use Shape::*;
    use Side::*;
    let case = |name, shape, options, rows, driver, side| Case {
        name,
        shape,
        options,
        rows,
        freeze: false,
        driver,
        side,
        versions: 12..=18,
    };
    // 1234 rows give fractional triggers (50 + 0.2 * 1234 = 296.8), 567 TOAST chunks too.
    let tuned = "autovacuum_vacuum_threshold = 10, autovacuum_vacuum_scale_factor = 0.05, \
                 autovacuum_analyze_threshold = 100000";
    let analyze = "autovacuum_analyze_threshold = 20, autovacuum_analyze_scale_factor = 0.02";
    let toast_own = "autovacuum_vacuum_threshold = 100000, autovacuum_vacuum_scale_factor = 0, \
                     autovacuum_analyze_threshold = 100000, toast.autovacuum_vacuum_threshold = 20";
    let toast_inherit = "autovacuum_vacuum_threshold = 30, autovacuum_vacuum_scale_factor = 0.1, \
                         autovacuum_analyze_threshold = 100000";
    let inserts_tuned =
        "autovacuum_vacuum_insert_threshold = 100, autovacuum_vacuum_insert_scale_factor = 0.01";
    let mut all = vec![
        case("defaults_at", Plain, "", 1234, DeadRows, At),
        case("defaults_past", Plain, "", 1234, DeadRows, Past),
        case("tuned_at", Plain, tuned, 1234, DeadRows, At),
        case("tuned_past", Plain, tuned, 1234, DeadRows, Past),
        case("analyze_at", Plain, analyze, 1234, Analyze, At),
        case("analyze_past", Plain, analyze, 1234, Analyze, Past),
        case(
            "disabled_past",
            Plain,
            "autovacuum_enabled = false",
            1234,
            DeadRows,
            Past,
        ),
        // The TOAST table's own option: its other settings come from the server, not the owner.
        case("toast_own_at", Toasted, toast_own, 567, ToastDeadRows, At),
        case(
            "toast_own_past",
            Toasted,
            toast_own,
            567,
            ToastDeadRows,
            Past,
        ),
        // No TOAST option: the TOAST table takes all of its owner's options.
        case(
            "toast_inherit_at",
            Toasted,
            toast_inherit,
            567,
            ToastDeadRows,
            At,
        ),
        case(
            "toast_inherit_past",
            Toasted,
            toast_inherit,
            567,
            ToastDeadRows,
            Past,
        ),
        // Owner disabled: a TOAST option of its own re-enables the TOAST table...
        case(
            "toast_own_owner_disabled_past",
            Toasted,
            "autovacuum_enabled = false, toast.autovacuum_vacuum_threshold = 20",
            567,
            ToastDeadRows,
            Past,
        ),
        // ...without one it is disabled with its owner.
        case(
            "toast_inherit_owner_disabled_past",
            Toasted,
            "autovacuum_enabled = false",
            567,
            ToastDeadRows,
            Past,
        ),
        case("partition_past", Partition, "", 1234, DeadRows, Past),
        case("temporary_past", Temporary, "", 1234, DeadRows, Past),
    ];
    let from = |mut case: Case, versions: RangeInclusive<u32>| {
        case.versions = versions;
        case
    };
    all.extend([
        // 12 has no insert trigger: three times the table in inserts is not enough.
        from(
            case("inserts_no_trigger", Plain, "", 1234, Inserts, Past),
            12..=12,
        ),
        from(case("inserts_at", Plain, "", 1234, Inserts, At), 13..=18),
        from(
            case("inserts_past", Plain, "", 1234, Inserts, Past),
            13..=18,
        ),
        from(
            case("inserts_tuned_at", Plain, inserts_tuned, 1234, Inserts, At),
            13..=18,
        ),
        from(
            case(
                "inserts_tuned_past",
                Plain,
                inserts_tuned,
                1234,
                Inserts,
                Past,
            ),
            13..=18,
        ),
        from(
            case(
                "inserts_switched_off_past",
                Plain,
                "autovacuum_vacuum_insert_threshold = -1",
                1234,
                Inserts,
                Past,
            ),
            13..=18,
        ),
        from(
            case(
                "capped_at",
                Plain,
                "autovacuum_vacuum_max_threshold = 100",
                1234,
                DeadRows,
                At,
            ),
            18..=18,
        ),
        from(
            case(
                "capped_past",
                Plain,
                "autovacuum_vacuum_max_threshold = 100",
                1234,
                DeadRows,
                Past,
            ),
            18..=18,
        ),
    ]);
    // All pages frozen: on 18 the insert trigger loses its scale part, before 18 nothing changes.
    for (name, side) in [("inserts_frozen_at", At), ("inserts_frozen_past", Past)] {
        let mut frozen = case(name, Plain, "", 1234, Inserts, side);
        frozen.freeze = true;
        all.push(from(frozen, 13..=18));
    }
    all
}

impl Case {
    fn with(&self) -> String {
        if self.options.is_empty() {
            String::new()
        } else {
            format!(" WITH ({})", self.options)
        }
    }

    /// CREATE and load, in one transaction.
    fn load_sql(&self) -> String {
        let (name, rows) = (self.name, self.rows);
        let with = self.with();
        match self.shape {
            Shape::Plain => format!(
                "CREATE TABLE {name} (id int, n int){with};
                 INSERT INTO {name} SELECT g, g FROM generate_series(1, {rows}) g;"
            ),
            Shape::Temporary => format!(
                "CREATE TEMP TABLE {name} (id int, n int){with};
                 INSERT INTO {name} SELECT g, g FROM generate_series(1, {rows}) g;"
            ),
            Shape::Partition => format!(
                "CREATE TABLE parted (id int, n int) PARTITION BY RANGE (id);
                 CREATE TABLE {name} PARTITION OF parted
                   FOR VALUES FROM (MINVALUE) TO (MAXVALUE){with};
                 INSERT INTO parted SELECT g, g FROM generate_series(1, {rows}) g;"
            ),
            // 1200 bytes of doc (stored out of line, uncompressed) and 1000 of note (kept
            // inline) make the row too big for a page quarter, and moving doc out is enough:
            // one TOAST chunk per row.
            Shape::Toasted => format!(
                "CREATE TABLE {name} (id int, doc text, note text){with};
                 ALTER TABLE {name} ALTER COLUMN doc SET STORAGE EXTERNAL,
                                    ALTER COLUMN note SET STORAGE MAIN;
                 INSERT INTO {name}
                   SELECT g, repeat('d', 1200), repeat('n', 1000) FROM generate_series(1, {rows}) g;"
            ),
        }
    }

    /// VACUUM and ANALYZE, so reltuples is exact and every counter starts at zero.
    fn vacuum_sql(&self) -> String {
        let target = if self.shape == Shape::Partition {
            "parted"
        } else {
            self.name
        };
        if self.freeze {
            format!("VACUUM (FREEZE, ANALYZE) {target}")
        } else {
            format!("VACUUM (ANALYZE) {target}")
        }
    }

    /// One statement (one transaction: the statistics arrive together) that adds `count`.
    fn change_sql(&self, count: i64) -> String {
        let name = self.name;
        match self.driver {
            Driver::DeadRows | Driver::Analyze => {
                format!("UPDATE {name} SET n = n + 1 WHERE id <= {count}")
            }
            Driver::ToastDeadRows => {
                format!("UPDATE {name} SET doc = repeat('e', 1200) WHERE id <= {count}")
            }
            Driver::Inserts => format!(
                "INSERT INTO {name} SELECT g, g FROM generate_series({}, {}) g",
                self.rows + 1,
                self.rows + count
            ),
        }
    }
}

/// A case with the counts pgvac's trigger asks for.
struct Planned<'c> {
    case: &'c Case,
    /// The relation whose counter is driven: the table, or its TOAST table.
    oid: u32,
    /// `pg_stat_all_tables` column the driver moves.
    column: &'static str,
    /// The count it must reach.
    target: i64,
}

/// What the autovacuum processes logged after byte `from` of the server log, for a failure.
fn autovacuum_log(cluster: &Cluster, from: usize) -> String {
    let log = cluster.log();
    let lines: Vec<&str> = log
        .get(from..)
        .unwrap_or("")
        .lines()
        .filter(|l| {
            l.contains("autovacuum")
                || l.contains("automatic ")
                || l.contains("ERROR")
                || l.contains("FATAL")
                || l.contains("WARNING")
        })
        .collect();
    let shown = lines.len().min(60);
    format!(
        "{} autovacuum log lines since it was switched on, the last {shown}:\n{}",
        lines.len(),
        lines[lines.len() - shown..].join("\n")
    )
}

fn find<'s>(db: &'s Database, name: &str) -> Result<&'s Table, String> {
    db.tables
        .iter()
        .find(|t| {
            t.name == name && (t.schema == "public" || t.persistence == Persistence::Temporary)
        })
        .ok_or_else(|| format!("table {name} missing from the snapshot"))
}

fn toast_of<'s>(db: &'s Database, table: &Table) -> Result<&'s Table, String> {
    let oid = table
        .toast
        .as_ref()
        .ok_or_else(|| format!("{} has no TOAST table", table.name))?
        .oid;
    db.tables
        .iter()
        .find(|t| t.oid == oid)
        .ok_or_else(|| format!("the TOAST table of {} is missing", table.name))
}

fn database(snapshot: &Snapshot) -> Result<&Database, String> {
    snapshot
        .database(DATABASE)
        .ok_or_else(|| format!("database {DATABASE} missing from the snapshot"))
}

/// The trigger a case is built around, in pgvac's verdict.
fn driven(verdict: &TableAutovacuum, driver: Driver) -> Option<&Trigger> {
    match driver {
        Driver::DeadRows | Driver::ToastDeadRows => Some(&verdict.dead_rows),
        Driver::Inserts => verdict.inserts.as_ref(),
        Driver::Analyze => verdict.analyze.as_ref(),
    }
}

/// `column` of `pg_stat_all_tables` for each oid (absent rows are absent).
fn counters(
    client: &mut Client,
    oids: &[u32],
    columns: &[&str],
) -> Result<BTreeMap<u32, Vec<i64>>, String> {
    let list: Vec<String> = oids.iter().map(u32::to_string).collect();
    let values: Vec<String> = columns
        .iter()
        .map(|c| format!("coalesce((to_jsonb(s) ->> '{c}')::bigint, 0)"))
        .collect();
    client.execute("SELECT pg_stat_clear_snapshot()")?;
    let text = client
        .text(&format!(
            "SELECT coalesce(string_agg(concat_ws(':', relid, {}), ','), '')
             FROM pg_stat_all_tables s WHERE relid IN ({})",
            values.join(", "),
            list.join(", ")
        ))?
        .unwrap_or_default();
    let mut result = BTreeMap::new();
    for row in text.split(',').filter(|r| !r.is_empty()) {
        let numbers: Vec<i64> = row
            .split(':')
            .map(|n| n.parse::<i64>().map_err(|e| format!("{e}: {row}")))
            .collect::<Result<_, _>>()?;
        result.insert(numbers[0] as u32, numbers[1..].to_vec());
    }
    Ok(result)
}

/// A statistics counter a relation must show before the test goes on.
#[derive(Clone)]
struct Expected {
    what: String,
    oid: u32,
    column: &'static str,
    value: i64,
    /// `>=` rather than `=`.
    at_least: bool,
}

impl Expected {
    fn exactly(what: &str, oid: u32, column: &'static str, value: i64) -> Expected {
        Expected {
            what: what.to_string(),
            oid,
            column,
            value,
            at_least: false,
        }
    }

    fn met(&self, seen: Option<i64>) -> bool {
        match seen {
            Some(seen) if self.at_least => seen >= self.value,
            Some(seen) => seen == self.value,
            None => false,
        }
    }
}

/// Wait until the statistics show every expected count. Polling from the session that made the
/// changes also makes it flush its pending statistics.
fn wait_for_counts(client: &mut Client, expected: &[Expected]) -> Result<(), String> {
    let oids: Vec<u32> = expected.iter().map(|e| e.oid).collect();
    let mut columns: Vec<&str> = expected.iter().map(|e| e.column).collect();
    columns.sort();
    columns.dedup();
    let index = |column: &str| columns.iter().position(|c| *c == column).unwrap_or(0);
    let mut last = BTreeMap::new();
    let seen = wait_for(Duration::from_secs(20), || {
        last = counters(client, &oids, &columns)?;
        Ok(expected
            .iter()
            .all(|e| e.met(last.get(&e.oid).map(|values| values[index(e.column)]))))
    })?;
    if seen {
        return Ok(());
    }
    let missing: Vec<String> = expected
        .iter()
        .filter_map(|e| {
            let seen = last.get(&e.oid).map(|values| values[index(e.column)]);
            (!e.met(seen)).then(|| {
                format!(
                    "{}: {} = {seen:?}, wanted {}{}",
                    e.what,
                    e.column,
                    if e.at_least { ">= " } else { "" },
                    e.value
                )
            })
        })
        .collect();
    Err(format!(
        "the statistics never showed the prepared counts:\n  {}",
        missing.join("\n  ")
    ))
}

/// The session a case's statements run in: the temporary table's owner, or the main one.
fn session_for<'a>(
    case: &Case,
    client: &'a mut Client,
    temp_owner: &'a mut Client,
) -> &'a mut Client {
    if case.shape == Shape::Temporary {
        temp_owner
    } else {
        client
    }
}

/// The names of the cases whose table is temporary (their session must flush their statistics).
fn temporary_names(cases: &[Case]) -> Vec<&'static str> {
    cases
        .iter()
        .filter(|c| c.shape == Shape::Temporary)
        .map(|c| c.name)
        .collect()
}

/// The expectations about the named cases' tables.
fn pick(expected: &[Expected], names: &[&str]) -> Vec<Expected> {
    expected
        .iter()
        .filter(|e| names.contains(&e.what.as_str()))
        .cloned()
        .collect()
}

/// Every relation the test made: its tables, their TOAST tables, the partitioned table.
fn our_tables(db: &Database) -> Vec<&Table> {
    let ours = |t: &Table| t.schema == "public" || t.persistence == Persistence::Temporary;
    let owners: HashSet<u32> = db
        .tables
        .iter()
        .filter(|t| ours(t))
        .map(|t| t.oid)
        .collect();
    db.tables
        .iter()
        .filter(|t| ours(t) || t.owner_oid.is_some_and(|o| owners.contains(&o)))
        .collect()
}

fn describe_trigger(trigger: Option<&Trigger>) -> String {
    match trigger {
        None => "-".to_string(),
        Some(t) if t.switched_off => format!("{} (off)", t.count.unwrap_or(0)),
        // The server's float4, printed as float4 (296.8, not 296.79998779296875).
        Some(t) => format!("{} > {}?", t.count.unwrap_or(0), t.rows as f32),
    }
}

fn yes(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

fn oracle(shared: &Cluster) -> Result<(), String> {
    let started = Instant::now();
    let cluster = &Cluster::start_with(shared.major, &shared.bindir, "autovacuum = off\n")?;
    fresh_database(cluster, DATABASE)?;
    let mut client = Client::connect(cluster, DATABASE)?;
    let mut temp_owner = Client::connect(cluster, DATABASE)?;
    // The cluster commits asynchronously; VACUUM only marks a page all-visible (and all-frozen)
    // once its rows' commits are flushed, so the frozen case needs synchronous commits.
    for session in [&mut client, &mut temp_owner] {
        session.execute("SET synchronous_commit = on")?;
    }
    let quiet = client.number(
        "SELECT count(*)::text FROM pg_stat_activity
         WHERE backend_type IN ('autovacuum launcher', 'autovacuum worker')",
    )?;
    if quiet != 0 {
        return Err(format!(
            "{quiet} autovacuum processes run with autovacuum = off"
        ));
    }

    let cases: Vec<Case> = cases()
        .into_iter()
        .filter(|c| c.versions.contains(&cluster.major))
        .collect();
    // Load, wait for the load's statistics (a backend flushes them at most once a second, and
    // late ones would land after the VACUUM's reset), then VACUUM and wait for that.
    let mut loaded = Vec::new();
    let mut vacuumed = Vec::new();
    for case in &cases {
        let session = session_for(case, &mut client, &mut temp_owner);
        session.execute(&case.load_sql())?;
        let oid = session.number(&format!("SELECT '{}'::regclass::oid::text", case.name))? as u32;
        let toast = session.number(&format!(
            "SELECT reltoastrelid::bigint::text FROM pg_class WHERE oid = {oid}"
        ))? as u32;
        loaded.push(Expected::exactly(case.name, oid, "n_tup_ins", case.rows));
        let mut driven = vec![(case.name.to_string(), oid)];
        if case.driver == Driver::ToastDeadRows {
            driven.push((format!("TOAST of {}", case.name), toast));
        }
        for (what, oid) in driven {
            let mut counted = Expected::exactly(&what, oid, "vacuum_count", 1);
            counted.at_least = true;
            vacuumed.push(counted);
            for column in ["n_dead_tup", "n_ins_since_vacuum"] {
                vacuumed.push(Expected::exactly(&what, oid, column, 0));
            }
            if oid != toast {
                vacuumed.push(Expected::exactly(&what, oid, "n_mod_since_analyze", 0));
            }
        }
    }
    let temporary = temporary_names(&cases);
    wait_for_counts(&mut temp_owner, &pick(&loaded, &temporary))?;
    wait_for_counts(&mut client, &loaded)?;
    for case in &cases {
        session_for(case, &mut client, &mut temp_owner).execute(&case.vacuum_sql())?;
    }
    wait_for_counts(&mut temp_owner, &pick(&vacuumed, &temporary))?;
    wait_for_counts(&mut client, &vacuumed)?;

    // pgvac's triggers decide how many rows each table gets.
    let prepared = runner::collect(cluster, DATABASE)?;
    let global = GlobalSettings::from_snapshot(&prepared);
    let db = database(&prepared)?;
    let mut planned = Vec::new();
    for case in &cases {
        let table = find(db, case.name)?;
        let driven_table = if case.driver == Driver::ToastDeadRows {
            toast_of(db, table)?
        } else {
            table
        };
        if case.freeze
            && cluster.major >= 18
            && (driven_table.relpages == 0
                || driven_table.relallfrozen != Some(driven_table.relpages))
        {
            return Err(format!(
                "{}: VACUUM (FREEZE) left {:?} of {} pages all-frozen: the case would not test \
                 the unfrozen fraction",
                case.name, driven_table.relallfrozen, driven_table.relpages
            ));
        }
        let verdict = evaluate(&global, db, driven_table);
        let trigger = driven(&verdict, case.driver);
        let start = trigger.and_then(|t| t.count).unwrap_or(0);
        let target = match (trigger, case.side) {
            (Some(t), Side::At) => t.first_exceeding_count() - 1,
            (Some(t), Side::Past) => t.first_exceeding_count(),
            // No such trigger on this version: far past where later versions would act.
            (None, _) => 3 * case.rows,
        };
        let updates = matches!(
            case.driver,
            Driver::DeadRows | Driver::ToastDeadRows | Driver::Analyze
        );
        if updates && target > case.rows {
            return Err(format!(
                "{}: pgvac's trigger asks for {target} changed rows, more than the table's {}: \
                 {trigger:?}",
                case.name, case.rows
            ));
        }
        if start != 0 || target <= 0 {
            return Err(format!(
                "{}: unexpected starting point: count {start}, target {target}",
                case.name
            ));
        }
        let column = match case.driver {
            Driver::DeadRows | Driver::ToastDeadRows => "n_dead_tup",
            Driver::Inserts if cluster.major >= 13 => "n_ins_since_vacuum",
            Driver::Inserts | Driver::Analyze => "n_mod_since_analyze",
        };
        planned.push(Planned {
            case,
            oid: driven_table.oid,
            column,
            target,
        });
    }
    let mut changed = Vec::new();
    for plan in &planned {
        session_for(plan.case, &mut client, &mut temp_owner)
            .execute(&plan.case.change_sql(plan.target))?;
        changed.push(Expected::exactly(
            plan.case.name,
            plan.oid,
            plan.column,
            plan.target,
        ));
    }
    wait_for_counts(&mut temp_owner, &pick(&changed, &temporary))?;
    wait_for_counts(&mut client, &changed)?;

    // The verdict, from a snapshot of the tables exactly as the daemon will find them.
    let snapshot = runner::collect(cluster, DATABASE)?;
    let db = database(&snapshot)?;
    let mut global = GlobalSettings::from_snapshot(&snapshot);
    if global.autovacuum {
        return Err("the snapshot shows autovacuum on while it was off".to_string());
    }
    let tables = our_tables(db);
    // While it is off, pgvac expects nothing (no table is near wraparound).
    let while_off: Vec<&str> = tables
        .iter()
        .filter(|t| {
            let verdict = evaluate(&global, db, t);
            verdict.vacuum_due || verdict.analyze_due
        })
        .map(|t| t.name.as_str())
        .collect();
    if !while_off.is_empty() {
        return Err(format!(
            "pgvac calls {while_off:?} due while autovacuum is off"
        ));
    }
    // The verdict for the moment autovacuum is back on: the only setting that will change.
    global.autovacuum = true;
    let verdicts: Vec<(&Table, TableAutovacuum)> = tables
        .iter()
        .map(|t| (*t, evaluate(&global, db, t)))
        .collect();
    for plan in &planned {
        let (_, verdict) = verdicts
            .iter()
            .find(|(t, _)| t.oid == plan.oid)
            .ok_or_else(|| format!("{} missing from the verdicts", plan.case.name))?;
        let count = driven(verdict, plan.case.driver).and_then(|t| t.count);
        if count.is_some_and(|c| c != plan.target) {
            return Err(format!(
                "{}: the snapshot shows {count:?}, not the prepared {}",
                plan.case.name, plan.target
            ));
        }
    }

    let oids: Vec<u32> = tables.iter().map(|t| t.oid).collect();
    let activity = ["autovacuum_count", "autoanalyze_count"];
    let before = counters(&mut client, &oids, &activity)?;
    if let Some((oid, _)) = before.iter().find(|(_, v)| v.iter().any(|n| *n != 0)) {
        return Err(format!(
            "relation {oid} was processed by autovacuum while it was off: {before:?}"
        ));
    }
    let processed = |now: &BTreeMap<u32, Vec<i64>>, oid: u32| -> (bool, bool) {
        let then = before.get(&oid).cloned().unwrap_or_else(|| vec![0, 0]);
        let now = now.get(&oid).cloned().unwrap_or_else(|| vec![0, 0]);
        (now[0] > then[0], now[1] > then[1])
    };

    // Autovacuum on, with the workers' decisions in the server log (`debug1` names each
    // database a worker processes), for a failure to show what the daemon did.
    let log_from = cluster.log().len();
    cluster.reload_with(
        "autovacuum = on\nlog_min_messages = debug1\nlog_autovacuum_min_duration = 0\n",
    )?;
    let enabled_at = Instant::now();
    let mut now = BTreeMap::new();
    wait_for(DUE_WAIT, || {
        now = counters(&mut client, &oids, &activity)?;
        Ok(verdicts.iter().all(|(t, v)| {
            let (vacuumed, analyzed) = processed(&now, t.oid);
            (vacuumed || !v.vacuum_due) && (analyzed || !v.analyze_due)
        }))
    })?;
    std::thread::sleep(SETTLE);
    let now = counters(&mut client, &oids, &activity)?;
    let waited = enabled_at.elapsed();

    let mut lines = Vec::new();
    let mut disagreements = 0;
    for (table, verdict) in &verdicts {
        let (vacuumed, analyzed) = processed(&now, table.oid);
        let agree = vacuumed == verdict.vacuum_due && analyzed == verdict.analyze_due;
        if !agree {
            disagreements += 1;
        }
        let name = if table.kind == RelKind::Toast {
            let owner = tables
                .iter()
                .find(|t| Some(t.oid) == table.owner_oid)
                .map(|t| t.name.as_str())
                .unwrap_or("?");
            format!("TOAST of {owner}")
        } else {
            table.name.clone()
        };
        lines.push(format!(
            "{mark} {name:<40} pgvac: vacuum {:<3} analyze {:<3} [{:?}; dead {}; inserts {}; \
             changes {}; reltuples {}] | server: vacuumed {:<3} analyzed {}",
            yes(verdict.vacuum_due),
            yes(verdict.analyze_due),
            verdict.reach,
            describe_trigger(Some(&verdict.dead_rows)),
            describe_trigger(verdict.inserts.as_ref()),
            describe_trigger(verdict.analyze.as_ref()),
            verdict.reltuples,
            yes(vacuumed),
            yes(analyzed),
            mark = if agree { " " } else { "X" },
        ));
    }
    let due = verdicts
        .iter()
        .filter(|(_, v)| v.vacuum_due || v.analyze_due)
        .count();
    if disagreements > 0 {
        // What the daemon was doing instead, to tell a model error from a busy daemon.
        let workers = Client::connect(cluster, "postgres")
            .and_then(|mut c| {
                c.text(
                    "SELECT coalesce(string_agg(backend_type || ' in ' || coalesce(datname, '-') \
                     || ': ' || left(coalesce(query, ''), 80), '; '), 'none') \
                     FROM pg_stat_activity WHERE backend_type LIKE 'autovacuum%'",
                )
            })
            .unwrap_or_else(Some)
            .unwrap_or_default();
        return Err(format!(
            "PostgreSQL {}: pgvac and autovacuum disagree on {disagreements} of {} relations \
             (X), after {:.1} s with autovacuum on (autovacuum processes now: {workers}):\n{}\n{}",
            cluster.version,
            verdicts.len(),
            waited.as_secs_f64(),
            lines.join("\n"),
            autovacuum_log(cluster, log_from)
        ));
    }
    eprintln!(
        "pg{}: oracle agreed on {} relations ({due} due) after {:.1} s with autovacuum on, {:.1} s in all",
        cluster.major,
        verdicts.len(),
        waited.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The settings autovacuum's workers use, as the workers themselves report them.

const WSET_APP: &str = "wset_app";
const WSET_PLAIN: &str = "wset_plain";
const WSET_NOCOUNT: &str = "wset_nocount";
const WSET_MONITOR: (&str, &str) = ("wset_monitor", "monitor-pw");
/// Marks the line an autovacuum worker writes with its settings.
const READOUT: &str = "pgvac-readout ";

/// The settings a worker reads, as the worker's own `pg_settings` shows them (base units).
const READOUT_SETTINGS: &[&str] = &[
    "autovacuum_work_mem",
    "maintenance_work_mem",
    "autovacuum_vacuum_cost_delay",
    "vacuum_cost_delay",
    "autovacuum_vacuum_cost_limit",
    "vacuum_cost_limit",
    "vacuum_freeze_min_age",
    "vacuum_freeze_table_age",
    "vacuum_multixact_freeze_min_age",
    "vacuum_multixact_freeze_table_age",
    "track_counts",
];

/// What a worker uses, in the terms of pgvac's model.
#[derive(Debug, Clone, PartialEq)]
struct WorkerView {
    work_mem_bytes: i64,
    cost_delay_ms: f64,
    cost_limit: i64,
    freeze_min_age: i64,
    freeze_table_age: i64,
    multixact_freeze_min_age: i64,
    multixact_freeze_table_age: i64,
    track_counts: bool,
}

impl WorkerView {
    /// From a worker's readout, resolved as the server resolves the -1 fallbacks
    /// (`table_recheck_autovac`, `dead_items_alloc`/`lazy_space_alloc`).
    fn from_readout(major: u32, readout: &BTreeMap<String, String>) -> Result<WorkerView, String> {
        let text = |name: &str| {
            readout
                .get(name)
                .cloned()
                .ok_or_else(|| format!("the readout has no {name}: {readout:?}"))
        };
        let int = |name: &str| -> Result<i64, String> {
            text(name)?.parse().map_err(|e| format!("{name}: {e}"))
        };
        let real = |name: &str| -> Result<f64, String> {
            text(name)?.parse().map_err(|e| format!("{name}: {e}"))
        };
        let kb = match int("autovacuum_work_mem")? {
            -1 => int("maintenance_work_mem")?,
            own => own,
        };
        let mut work_mem_bytes = kb * 1024;
        if major < 17 {
            work_mem_bytes = work_mem_bytes.min(1024 * 1024 * 1024);
        }
        let delay = real("autovacuum_vacuum_cost_delay")?;
        let limit = int("autovacuum_vacuum_cost_limit")?;
        Ok(WorkerView {
            work_mem_bytes,
            cost_delay_ms: if delay >= 0.0 {
                delay
            } else {
                real("vacuum_cost_delay")?
            },
            cost_limit: if limit > 0 {
                limit
            } else {
                int("vacuum_cost_limit")?
            },
            freeze_min_age: int("vacuum_freeze_min_age")?,
            freeze_table_age: int("vacuum_freeze_table_age")?,
            multixact_freeze_min_age: int("vacuum_multixact_freeze_min_age")?,
            multixact_freeze_table_age: int("vacuum_multixact_freeze_table_age")?,
            track_counts: text("track_counts")? == "on",
        })
    }
}

/// pgvac's prediction of what the workers of `database` use, and the settings whose server-wide
/// value pgvac could not see and assumed (each must be in `GlobalSettings::hidden`).
fn predicted(snapshot: &Snapshot, database: &Database) -> (WorkerView, Vec<&'static str>) {
    let global = GlobalSettings::from_snapshot(snapshot);
    let workers = global.in_database(database.oid);
    let mut assumed = Vec::new();
    let mut note = |name: &'static str, origin: &SettingOrigin| {
        if !origin.is_known() {
            assumed.push(name);
        }
    };
    note("maintenance_work_mem", &workers.work_mem_bytes.origin);
    note("vacuum_cost_delay", &workers.cost_delay_ms.origin);
    note("vacuum_cost_limit", &workers.cost_limit.origin);
    note("vacuum_freeze_min_age", &workers.freeze_min_age.origin);
    note("vacuum_freeze_table_age", &workers.freeze_table_age.origin);
    note(
        "vacuum_multixact_freeze_min_age",
        &workers.multixact_freeze_min_age.origin,
    );
    note(
        "vacuum_multixact_freeze_table_age",
        &workers.multixact_freeze_table_age.origin,
    );
    note("track_counts", &workers.track_counts.origin);
    let view = WorkerView {
        work_mem_bytes: workers.work_mem_bytes.value,
        cost_delay_ms: workers.cost_delay_ms.value,
        cost_limit: workers.cost_limit.value,
        freeze_min_age: workers.freeze_min_age.value,
        freeze_table_age: workers.freeze_table_age.value,
        multixact_freeze_min_age: workers.multixact_freeze_min_age.value,
        multixact_freeze_table_age: workers.multixact_freeze_table_age.value,
        track_counts: workers.track_counts.value,
    };
    (view, assumed)
}

/// `pgvac` with the values it assumed (and said so) replaced by the worker's: the comparison
/// is on what pgvac claims to know.
fn without_assumed(mut pgvac: WorkerView, worker: &WorkerView, assumed: &[&str]) -> WorkerView {
    for name in assumed {
        match *name {
            "maintenance_work_mem" => pgvac.work_mem_bytes = worker.work_mem_bytes,
            "vacuum_cost_delay" => pgvac.cost_delay_ms = worker.cost_delay_ms,
            "vacuum_cost_limit" => pgvac.cost_limit = worker.cost_limit,
            "vacuum_freeze_min_age" => pgvac.freeze_min_age = worker.freeze_min_age,
            "vacuum_freeze_table_age" => pgvac.freeze_table_age = worker.freeze_table_age,
            "vacuum_multixact_freeze_min_age" => {
                pgvac.multixact_freeze_min_age = worker.multixact_freeze_min_age
            }
            "vacuum_multixact_freeze_table_age" => {
                pgvac.multixact_freeze_table_age = worker.multixact_freeze_table_age
            }
            _ => pgvac.track_counts = worker.track_counts,
        }
    }
    pgvac
}

/// A function that an autovacuum worker's ANALYZE runs (it is in an index expression) and that
/// writes the worker's settings to the server log: the worker itself says what it uses.
fn readout_sql() -> String {
    let names: Vec<String> = READOUT_SETTINGS.iter().map(|n| format!("'{n}'")).collect();
    format!(
        "CREATE FUNCTION public.pgvac_readout(i int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $f$
         BEGIN
           IF (SELECT backend_type FROM pg_catalog.pg_stat_activity
               WHERE pid = pg_catalog.pg_backend_pid()) = 'autovacuum worker' THEN
             RAISE WARNING '{READOUT}%', (SELECT pg_catalog.json_build_object(
                 'database', pg_catalog.current_database(),
                 'settings', pg_catalog.json_object_agg(name, setting))::text
               FROM pg_catalog.pg_settings WHERE name IN ({}));
           END IF;
           RETURN i;
         END $f$;
         CREATE TABLE readout (id int)
           WITH (autovacuum_analyze_threshold = 0, autovacuum_analyze_scale_factor = 0);
         CREATE INDEX ON readout (public.pgvac_readout(id));
         INSERT INTO readout VALUES (1);",
        names.join(", ")
    )
}

/// The readouts in the server log after byte `from`, by database (the first of each).
fn readouts(cluster: &Cluster, from: usize) -> BTreeMap<String, BTreeMap<String, String>> {
    let log = cluster.log();
    let mut found = BTreeMap::new();
    for line in log.get(from..).unwrap_or("").lines() {
        let Some(json) = line.split_once(READOUT).map(|(_, json)| json) else {
            continue;
        };
        let Ok(value) = serde_json::from_str::<serde_json::Value>(json) else {
            continue;
        };
        let (Some(database), Some(settings)) =
            (value["database"].as_str(), value["settings"].as_object())
        else {
            continue;
        };
        let settings = settings
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        found.entry(database.to_string()).or_insert(settings);
    }
    found
}

/// `pgvac collect` as `user` (password-authenticated unless postgres), first database first.
fn collect_as(
    cluster: &Cluster,
    user: (&str, &str),
    databases: &[&str],
) -> Result<Snapshot, String> {
    let port = cluster.port.to_string();
    let mut command = runner::command();
    command.args(["collect", "-h", "127.0.0.1", "-p", &port, "-U", user.0]);
    for database in databases {
        command.args(["-d", database]);
    }
    command.env("PGPASSWORD", user.1);
    let run = runner::run(&mut command)?;
    if run.status != 0 {
        return Err(format!(
            "pgvac collect as {} failed: {}",
            user.0,
            run.describe()
        ));
    }
    serde_json::from_str(&run.stdout).map_err(|e| format!("snapshot JSON: {e}\n{}", run.describe()))
}

/// `ALTER ROLE ... SET` and `ALTER DATABASE ... SET` on the settings workers read, pgvac run as a
/// role with settings of its own, and what the workers of each database report using.
fn worker_settings(shared: &Cluster) -> Result<(), String> {
    let major = shared.major;
    let cluster = &Cluster::start_with(
        major,
        &shared.bindir,
        "autovacuum = off\nautovacuum_vacuum_cost_delay = -1\nautovacuum_vacuum_cost_limit = -1\n\
         maintenance_work_mem = '32MB'\nlog_autovacuum_min_duration = 0\n",
    )?;
    let mut admin = Client::connect(cluster, "postgres")?;
    for database in [WSET_APP, WSET_PLAIN, WSET_NOCOUNT] {
        admin.execute(&format!("CREATE DATABASE {database}"))?;
    }
    let (monitor, password) = WSET_MONITOR;
    admin.execute(&format!(
        "CREATE ROLE {monitor} LOGIN PASSWORD '{password}' IN ROLE pg_monitor;
         -- pgvac's own role: none of this reaches a worker.
         ALTER ROLE {monitor} SET maintenance_work_mem = '1GB';
         ALTER ROLE {monitor} SET vacuum_cost_delay = 0;
         ALTER ROLE {monitor} SET vacuum_cost_limit = 10000;
         ALTER ROLE {monitor} SET vacuum_freeze_min_age = 0;
         ALTER ROLE {monitor} IN DATABASE {WSET_PLAIN} SET vacuum_freeze_table_age = 99000000;
         -- The database's settings: its workers use them.
         ALTER DATABASE {WSET_APP} SET maintenance_work_mem = '1MB';
         ALTER DATABASE {WSET_APP} SET vacuum_cost_delay = '7ms';
         ALTER DATABASE {WSET_APP} SET vacuum_freeze_min_age = 1000000;
         ALTER DATABASE {WSET_NOCOUNT} SET track_counts = off;
         -- Every role's, and the bootstrap superuser's (workers run as it).
         ALTER ROLE ALL SET vacuum_cost_limit = 345;
         ALTER ROLE postgres SET vacuum_multixact_freeze_min_age = 2345678;
         ALTER ROLE postgres IN DATABASE {WSET_APP} SET vacuum_freeze_table_age = 12345678;"
    ))?;

    // A worker that analyzes `readout` writes its settings to the log.
    for database in [WSET_APP, WSET_PLAIN] {
        Client::connect(cluster, database)?.execute(&readout_sql())?;
    }
    // 12-16: dead rows that need two passes in the app's 1 MB (174,762 dead rows a pass), and
    // none in the session's 1 GB. The indexed column changes, so no update is HOT.
    let passes = major <= 16;
    let mut app = Client::connect(cluster, WSET_APP)?;
    if passes {
        app.execute(
            "CREATE TABLE churn (id int PRIMARY KEY, n int);
             INSERT INTO churn SELECT g, g FROM generate_series(1, 200000) g;",
        )?;
        app.execute("VACUUM (ANALYZE) churn")?;
        app.execute("UPDATE churn SET id = id + 1000000")?;
        crate::collect::wait_for_stat(
            &mut app,
            "SELECT n_dead_tup::text FROM pg_stat_user_tables WHERE relname = 'churn'",
            200_000,
        )?;
    }
    // track_counts = off for the database: its workers act on no threshold. The counts are
    // made in a session that counts.
    let mut nocount = Client::connect(cluster, WSET_NOCOUNT)?;
    nocount.execute(
        "SET track_counts = on;
         CREATE TABLE stale (id int, n int);
         INSERT INTO stale SELECT g, g FROM generate_series(1, 1000) g;
         UPDATE stale SET n = n + 1;",
    )?;
    crate::collect::wait_for_stat(
        &mut nocount,
        "SELECT n_dead_tup::text FROM pg_stat_user_tables WHERE relname = 'stale'",
        1000,
    )?;

    let as_monitor = collect_as(cluster, WSET_MONITOR, &[WSET_APP, WSET_PLAIN, WSET_NOCOUNT])?;
    let as_postgres = collect_as(
        cluster,
        ("postgres", ""),
        &[WSET_PLAIN, WSET_APP, WSET_NOCOUNT],
    )?;

    let log_from = cluster.log().len();
    cluster.reload_with("autovacuum = on\nlog_min_messages = debug1\n")?;
    let mut seen = BTreeMap::new();
    let mut churn_passes = None;
    let processed_nocount = format!("processing database \"{WSET_NOCOUNT}\"");
    let churn_line = regex::Regex::new(&format!(
        r#"vacuum of table "{WSET_APP}\.public\.churn": index scans: (\d+)"#
    ))
    .map_err(|e| e.to_string())?;
    wait_for(DUE_WAIT, || {
        seen = readouts(cluster, log_from);
        let log = cluster.log();
        let since = log.get(log_from..).unwrap_or("");
        churn_passes = churn_line
            .captures(since)
            .and_then(|c| c[1].parse::<i64>().ok());
        Ok(seen.len() == 2
            && (!passes || churn_passes.is_some())
            && since.contains(&processed_nocount))
    })?;
    // A few more rounds for the workers of the database without counts.
    std::thread::sleep(SETTLE);
    nocount.execute("SELECT pg_stat_clear_snapshot()")?;
    let stale_vacuums = nocount
        .number("SELECT autovacuum_count::text FROM pg_stat_user_tables WHERE relname = 'stale'")?;

    let mut failures = Vec::new();
    let mut lines = Vec::new();
    for (run, snapshot) in [("postgres", &as_postgres), (monitor, &as_monitor)] {
        for name in [WSET_APP, WSET_PLAIN] {
            let db = snapshot
                .database(name)
                .ok_or_else(|| format!("{name} missing from the snapshot as {run}"))?;
            let Some(readout) = seen.get(name) else {
                failures.push(format!("no worker readout from {name}"));
                continue;
            };
            let worker = WorkerView::from_readout(major, readout)?;
            let (pgvac, assumed) = predicted(snapshot, db);
            let agree = worker == without_assumed(pgvac.clone(), &worker, &assumed);
            lines.push(format!(
                "{} pgvac as {run}, {name}:\n    pgvac:  {pgvac:?}\n    worker: {worker:?}\n    \
                 assumed (server-wide value hidden from pgvac's session): {assumed:?}",
                if agree { " " } else { "X" }
            ));
            if !agree {
                failures.push(format!("{name} as {run}"));
            }
            // What pgvac assumed, it says it assumed.
            let hidden = GlobalSettings::from_snapshot(snapshot).hidden;
            for setting in &assumed {
                if !hidden.iter().any(|h| h.name == *setting) {
                    failures.push(format!("{setting} assumed as {run} but not reported"));
                }
            }
        }
    }
    // The database without counts: the model must not expect a vacuum for thresholds.
    let db = as_monitor
        .database(WSET_NOCOUNT)
        .ok_or("wset_nocount missing from the snapshot")?;
    let stale = find(db, "stale")?;
    // The verdict for the moment autovacuum is on (the snapshot was taken while it was off).
    let mut global = GlobalSettings::from_snapshot(&as_monitor);
    global.autovacuum = true;
    let verdict = evaluate(&global, db, stale);
    lines.push(format!(
        "stale in {WSET_NOCOUNT}: pgvac vacuum {} ({:?}, dead {}) | server: autovacuums {stale_vacuums}",
        yes(verdict.vacuum_due),
        verdict.reach,
        describe_trigger(Some(&verdict.dead_rows))
    ));
    if verdict.vacuum_due != (stale_vacuums > 0) {
        failures.push(format!("stale in {WSET_NOCOUNT}"));
    }
    if passes {
        let report = pgvac::analysis::Analysis::new(&as_monitor);
        let config005 = report.findings.iter().find(|f| f.code == "CONFIG005");
        let said = config005.map(|f| f.message.clone());
        lines.push(format!(
            "churn: worker index scans {churn_passes:?} | pgvac CONFIG005: {said:?}"
        ));
        let agree = match (churn_passes, &said) {
            (Some(n), Some(message)) => message.contains(&format!("about {n} index passes")),
            _ => false,
        };
        if !agree {
            failures.push("churn's index passes".to_string());
        }
    }
    if !failures.is_empty() {
        return Err(format!(
            "PostgreSQL {}: pgvac and the workers disagree on {}:\n{}\n{}",
            cluster.version,
            failures.join(", "),
            lines.join("\n"),
            autovacuum_log(cluster, log_from)
        ));
    }
    eprintln!(
        "pg{major}: the workers of {} databases use the settings pgvac predicts:\n{}",
        seen.len() + 1,
        lines.join("\n")
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// autovacuum = off: forced vacuums come only for a database past the server's freeze max age.

const WRAPOFF: &str = "wrapoff";
/// The server's `autovacuum_freeze_max_age` in this test (its minimum is 100,000).
const WRAPOFF_SERVER_MAX_AGE: i64 = 300_000;

/// `n` XIDs, one transaction each, in `client`'s database.
fn consume_xids(client: &mut Client, n: i64) -> Result<(), String> {
    client.execute(&format!(
        "DO $$ BEGIN FOR i IN 1..{n} LOOP PERFORM txid_current(); COMMIT; END LOOP; END $$"
    ))
}

/// With `autovacuum = off`, a table past its lowered per-table `autovacuum_freeze_max_age` gets no
/// worker while its database is below the server's `autovacuum_freeze_max_age`; once the
/// database is past it, the postmaster starts the launcher and a worker force-vacuums every table
/// of the database past its own limit, and no other.
fn autovacuum_off(shared: &Cluster) -> Result<(), String> {
    let major = shared.major;
    let cluster = &Cluster::start_with(
        major,
        &shared.bindir,
        &format!(
            "autovacuum = off\nautovacuum_freeze_max_age = {WRAPOFF_SERVER_MAX_AGE}\n\
             log_autovacuum_min_duration = 0\n"
        ),
    )?;
    fresh_database(cluster, WRAPOFF)?;
    let mut client = Client::connect(cluster, WRAPOFF)?;
    client.execute(
        "CREATE TABLE lowered (id int) WITH (autovacuum_freeze_max_age = 100000,
             autovacuum_freeze_table_age = 95000, autovacuum_freeze_min_age = 50000);
         CREATE TABLE plain (id int);
         INSERT INTO lowered SELECT generate_series(1, 100);
         INSERT INTO plain SELECT generate_series(1, 100);",
    )?;
    let mut admin = Client::connect(cluster, "postgres")?;

    // 1. The table past its own 100,000, the database below the server's 300,000.
    consume_xids(&mut admin, 150_000)?;
    // Made now: young at the end, whatever the limits.
    client.execute(
        "CREATE TABLE young (id int); INSERT INTO young SELECT generate_series(1, 100);",
    )?;
    let mut lines = Vec::new();
    let mut failures = Vec::new();
    let verdicts = |snapshot: &Snapshot| -> Result<Vec<(String, u32, TableAutovacuum)>, String> {
        let db = snapshot
            .database(WRAPOFF)
            .ok_or("wrapoff missing from the snapshot")?;
        let global = GlobalSettings::from_snapshot(snapshot);
        if global.autovacuum || global.freeze_max_age != WRAPOFF_SERVER_MAX_AGE {
            return Err(format!(
                "the snapshot shows autovacuum {} and autovacuum_freeze_max_age {}",
                global.autovacuum, global.freeze_max_age
            ));
        }
        ["lowered", "plain", "young"]
            .iter()
            .map(|name| {
                let table = find(db, name)?;
                Ok((name.to_string(), table.oid, evaluate(&global, db, table)))
            })
            .collect()
    };
    let below = runner::collect(cluster, WRAPOFF)?;
    let below_age = below.database(WRAPOFF).map(|d| d.xid_age).unwrap_or(-1);
    let first = verdicts(&below)?;
    let oids: Vec<u32> = first.iter().map(|(_, oid, _)| *oid).collect();
    // No worker can come: give one the time of many naptimes anyway.
    std::thread::sleep(SETTLE * 2);
    let activity = ["autovacuum_count"];
    let now = counters(&mut client, &oids, &activity)?;
    let workers_seen = admin.number(
        "SELECT count(*)::text FROM pg_stat_activity WHERE backend_type LIKE 'autovacuum%'",
    )?;
    for (name, oid, verdict) in &first {
        let vacuumed = now.get(oid).is_some_and(|v| v[0] > 0);
        let agree = vacuumed == verdict.vacuum_due;
        lines.push(format!(
            "{} below: {name:<8} age {:?} of {} | database age {below_age} | pgvac: vacuum {} \
             (waits for the database: {}) | server: vacuumed {}",
            if agree { " " } else { "X" },
            verdict.wraparound.xid_age,
            verdict.wraparound.freeze_max_age.value,
            yes(verdict.vacuum_due),
            verdict.wraparound.waits_for_database,
            yes(vacuumed)
        ));
        if !agree {
            failures.push(format!("{name} below the server's limit"));
        }
    }
    if workers_seen != 0 {
        failures.push(format!(
            "{workers_seen} autovacuum processes below the limit"
        ));
    }
    let lowered_first = &first[0].2;
    if !lowered_first.wraparound.due {
        failures.push("lowered is not past its own limit: the case tests nothing".to_string());
    }
    // What the DBA reads: WRAP005 calls no forced vacuum due, and says lowered waits.
    let analysis = pgvac::analysis::Analysis::new(&below);
    let wrap005 = analysis.findings.iter().find(|f| {
        f.code == "WRAP005" && f.object == pgvac::analysis::findings::Object::database(WRAPOFF)
    });
    let count = |key: &str| {
        wrap005.and_then(|f| match f.evidence(key) {
            Some(pgvac::analysis::findings::Value::Int(n)) => Some(*n),
            _ => None,
        })
    };
    lines.push(format!(
        "  WRAP005: {:?}",
        wrap005.map(|f| f.message.as_str())
    ));
    if count("due_now") != Some(0) || count("waiting_for_database") != Some(1) {
        failures.push("WRAP005 below the server's limit".to_string());
    }

    // 2. Every database past the server's limit, and past a multiple of 65,536 XIDs after it
    //    (when GetNewTransactionId signals the postmaster). A SHARE lock holds the forced
    //    vacuums of our tables (they wait for locks) until the snapshot is taken.
    let mut holder = Client::connect(cluster, WRAPOFF)?;
    holder.execute("BEGIN; LOCK TABLE lowered, plain, young IN SHARE MODE")?;
    consume_xids(&mut admin, WRAPOFF_SERVER_MAX_AGE - 150_000 + 70_000)?;
    let log_from = cluster.log().len();
    let past = runner::collect(cluster, WRAPOFF)?;
    let past_age = past.database(WRAPOFF).map(|d| d.xid_age).unwrap_or(-1);
    let second = verdicts(&past)?;
    let before = counters(&mut client, &oids, &activity)?;
    holder.execute("COMMIT")?;
    let vacuumed_since = |now: &BTreeMap<u32, Vec<i64>>, oid: u32| {
        now.get(&oid).map_or(0, |v| v[0]) > before.get(&oid).map_or(0, |v| v[0])
    };
    let mut now = BTreeMap::new();
    wait_for(DUE_WAIT, || {
        now = counters(&mut client, &oids, &activity)?;
        Ok(second
            .iter()
            .all(|(_, oid, v)| !v.vacuum_due || vacuumed_since(&now, *oid)))
    })?;
    std::thread::sleep(SETTLE);
    let now = counters(&mut client, &oids, &activity)?;
    for (name, oid, verdict) in &second {
        let vacuumed = vacuumed_since(&now, *oid);
        let agree = vacuumed == verdict.vacuum_due;
        lines.push(format!(
            "{} past:  {name:<8} age {:?} of {} | database age {past_age} | pgvac: vacuum {} \
             (waits for the database: {}) | server: vacuumed {}",
            if agree { " " } else { "X" },
            verdict.wraparound.xid_age,
            verdict.wraparound.freeze_max_age.value,
            yes(verdict.vacuum_due),
            verdict.wraparound.waits_for_database,
            yes(vacuumed)
        ));
        if !agree {
            failures.push(format!("{name} past the server's limit"));
        }
    }
    if !second[0].2.vacuum_due || second[2].2.vacuum_due {
        failures.push("the case needs lowered due and young not".to_string());
    }
    if !failures.is_empty() {
        return Err(format!(
            "PostgreSQL {}: pgvac and autovacuum = off disagree on {}:\n{}\n{}",
            cluster.version,
            failures.join(", "),
            lines.join("\n"),
            autovacuum_log(cluster, log_from)
        ));
    }
    eprintln!(
        "pg{major}: with autovacuum = off, forced vacuums as pgvac predicts:\n{}",
        lines.join("\n")
    );
    Ok(())
}
