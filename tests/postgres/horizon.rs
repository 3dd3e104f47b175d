//! The horizon oracle: pgvac's attribution of the xmin horizon against PostgreSQL's own
//! `VACUUM (VERBOSE)`, for every kind of thing that can hold it, and for the things the server
//! ignores.
//!
//! Each case makes one thing hold the horizon alone (a session with an XID, one with only a
//! snapshot, idle in transaction or running, a prepared transaction, a physical slot with a
//! standby's xmin, a logical slot's `catalog_xmin`, a standby's feedback without a slot,
//! `vacuum_defer_cleanup_age` on 12-15), or one thing the server skips (a lazy manual `VACUUM`,
//! invalidated slots on 13+), then deletes rows (for `catalog_xmin`: catalog rows, and vacuums
//! `pg_class`), asks `pgvac sessions` what holds the horizon, and runs `VACUUM (VERBOSE)`. The
//! horizon pgvac predicts is the XID of its first blocker that applies to the vacuumed table,
//! or the next XID when it names nothing; the server's is the cutoff VACUUM reports. They must
//! be equal, on every version, and VACUUM must keep the rows exactly when pgvac names a holder.
//! Where the case has a fix, pgvac's first action is run where it says and VACUUM must then
//! remove the rows. The table of verdicts is printed; any disagreement fails the test with it.
//!
//! The cases run on a cluster of their own with autovacuum off: nothing else takes an XID
//! between pgvac's snapshot and the VACUUM, which the test checks (the next XID before pgvac and
//! before VACUUM), so the equality is exact, `vacuum_defer_cleanup_age`'s moving horizon
//! included.
//!
//! VACUUM's INFO output is read from the server log (the clusters run with
//! `log_min_messages = info`); its wording per version:
//! - 12-13: `"t": found R removable, N nonremovable row versions in P out of P pages`, then
//!   `DETAIL:  D dead row versions cannot be removed yet, oldest xmin: X`;
//! - 14: the same with `table "t": found ...`;
//! - 15-18: `tuples: R removed, N remain, D are dead but not yet removable` and
//!   `removable cutoff: X, which was M XIDs old when operation ended`.
//!
//! The other helpers here (reading VACUUM's report, running `pgvac sessions`, running a
//! blocker's fix) are shared with `blockers.rs`.

use std::ops::RangeInclusive;
use std::time::Duration;

use serde_json::Value;

use crate::TestFn;
use crate::client::Client;
use crate::cluster::{Cluster, Standby, wait_for};
use crate::collect::fresh_database;
use crate::runner;

pub const TESTS: &[(&str, TestFn)] = &[("horizon_oracle_attribution_matches_vacuum", oracle)];

const DATABASE: &str = "horizon";

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}

/// What one `VACUUM (VERBOSE)` reported.
#[derive(Debug)]
pub struct VacuumReport {
    /// `removable cutoff` (15+) or `oldest xmin` (12-14).
    pub cutoff: i64,
    pub not_yet_removable: i64,
    pub removed: i64,
    /// How many times it scanned the indexes: `index scans: N` (15+), or the number of
    /// `scanned index` lines for the first index (12-14).
    pub index_scans: i64,
    pub text: String,
}

/// The number right after `marker` in `text`.
fn number_after(text: &str, marker: &str) -> Option<i64> {
    let rest = &text[text.find(marker)? + marker.len()..];
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// The number right before `marker` in `text`.
fn number_before(text: &str, marker: &str) -> Option<i64> {
    let head = &text[..text.find(marker)?];
    let digits: String = head
        .trim_end()
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.chars().rev().collect::<String>().parse().ok()
}

/// Run `VACUUM (VERBOSE) table` on `client` and read its report from the server log.
pub fn vacuum_verbose(
    cluster: &Cluster,
    client: &mut Client,
    table: &str,
) -> Result<VacuumReport, String> {
    let before = cluster.log().len();
    client.execute(&format!("VACUUM (VERBOSE) {table}"))?;
    let log = cluster.log();
    let tag = format!(" [{}] ", client.pid);
    let mut text = String::new();
    let mut ours = false;
    for line in log[before.min(log.len())..].lines() {
        if line.starts_with('\t') || line.starts_with(' ') {
            if ours {
                text.push_str(line.trim());
                text.push('\n');
            }
            continue;
        }
        ours = line.contains(&tag);
        if ours {
            text.push_str(line);
            text.push('\n');
        }
    }
    let cutoff = number_after(&text, "oldest xmin: ")
        .or_else(|| number_after(&text, "removable cutoff: "))
        .ok_or_else(|| format!("no oldest xmin / removable cutoff in:\n{text}"))?;
    let not_yet_removable = number_before(&text, " dead row versions cannot be removed yet")
        .or_else(|| number_before(&text, " are dead but not yet removable"))
        .ok_or_else(|| format!("no count of dead rows not yet removable in:\n{text}"))?;
    let removed = number_after(&text, "found ")
        .or_else(|| number_after(&text, "tuples: "))
        .ok_or_else(|| format!("no count of removed rows in:\n{text}"))?;
    let index_scans = number_after(&text, "index scans: ").unwrap_or_else(|| {
        let first_index = text
            .lines()
            .find_map(|l| l.split("scanned index \"").nth(1))
            .and_then(|rest| rest.split('"').next())
            .map(|name| format!("scanned index \"{name}\""));
        first_index.map_or(0, |marker| text.matches(&marker).count() as i64)
    });
    Ok(VacuumReport {
        cutoff,
        not_yet_removable,
        removed,
        index_scans,
        text,
    })
}

/// `pgvac sessions --format json` (plus `args`), parsed and checked against its schema.
pub fn sessions(cluster: &Cluster, args: &[&str]) -> Result<Value, String> {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let run = runner::on(cluster, "sessions", &all)?;
    ensure((0..=2).contains(&run.status), || run.describe())?;
    let document: Value =
        serde_json::from_str(&run.stdout).map_err(|e| format!("JSON: {e}\n{}", run.describe()))?;
    // Every document a real run writes is valid under the committed schema.
    runner::validate(&document, "docs/sessions.schema.json")?;
    ensure(document["schema_version"] == 1, || {
        format!("schema_version: {}", document["schema_version"])
    })?;
    Ok(document)
}

/// The statements of a blocker's first (recommended) action.
pub fn first_action(blocker: &Value) -> Result<Vec<String>, String> {
    let statements = blocker["actions"][0]["statements"]
        .as_array()
        .ok_or_else(|| format!("no action: {blocker:#}"))?;
    Ok(statements
        .iter()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect())
}

pub fn run_all(client: &mut Client, statements: &[String]) -> Result<(), String> {
    for statement in statements {
        client.execute(statement)?;
    }
    Ok(())
}

/// Run a session blocker's fix (its first action: one guarded statement) and wait for the
/// session to let go of the horizon.
pub fn fix_session(cluster: &Cluster, pid: i32, blocker: &Value) -> Result<(), String> {
    let statements = first_action(blocker)?;
    ensure(
        statements.len() == 1 && statements[0].contains(&format!("pid = {pid}")),
        || format!("unexpected fix: {statements:?}"),
    )?;
    let mut admin = Client::connect(cluster, "postgres")?;
    ensure(
        admin
            .text(&format!(
                "SELECT string_agg(signalled::text, ',') FROM ({}) AS s(signalled)",
                statements[0].trim_end_matches(';')
            ))?
            .as_deref()
            == Some("true"),
        || format!("the guarded statement did not signal pid {pid}: {statements:?}"),
    )?;
    let released = wait_for(Duration::from_secs(10), || {
        Ok(admin
            .text(&format!(
                "SELECT coalesce(backend_xid::text, backend_xmin::text, 'none') \
                 FROM pg_stat_activity WHERE pid = {pid}"
            ))
            .ok()
            .flatten()
            .is_none_or(|held| held == "none"))
    })?;
    ensure(released, || format!("pid {pid} still holds the horizon"))
}

/// The next XID, 32 bits, as VACUUM prints a cutoff when nothing holds the horizon.
fn next_xid(client: &mut Client) -> Result<i64, String> {
    Ok(client.number("SELECT txid_snapshot_xmax(txid_current_snapshot())::text")? % (1 << 32))
}

/// Which relation a case vacuums.
#[derive(Clone, Copy, PartialEq)]
enum Vacuumed {
    /// `t`, a user table: every holder but a logical slot's `catalog_xmin` holds it.
    Table,
    /// `pg_class`, a catalog: a logical slot's `catalog_xmin` holds it too.
    Catalog,
}

impl Vacuumed {
    fn name(self) -> &'static str {
        match self {
            Vacuumed::Table => "t",
            Vacuumed::Catalog => "pg_class",
        }
    }
}

/// What pgvac must name first, or nothing (the server ignores what the case set up).
#[derive(Clone, Copy)]
enum Expect {
    Blocker {
        kind: &'static str,
        source: &'static str,
    },
    Nothing,
}

/// How to release the holder once the verdict is in.
enum Fix {
    /// Run the guarded statement of pgvac's first action on the session.
    Session(i32),
    /// Run the first action's statements in this database.
    Statements(&'static str),
    /// Run them on the standby.
    OnStandby,
    /// No fix to check (the excluded cases).
    None,
}

/// What a case left running: sessions, a standby, threads; dropped after the verdict.
#[derive(Default)]
struct Held {
    clients: Vec<Client>,
    standby: Option<Standby>,
    threads: Vec<std::thread::JoinHandle<(Client, Result<(), String>)>>,
    /// SQL run in `DATABASE` afterwards, whatever happened (drop a slot, reset a setting).
    cleanup: Vec<String>,
}

struct Setup {
    held: Held,
    fix: Fix,
}

struct Case {
    name: &'static str,
    versions: RangeInclusive<u32>,
    vacuumed: Vacuumed,
    expect: Expect,
    setup: fn(&Cluster, &mut Client) -> Result<Setup, String>,
}

fn cases() -> Vec<Case> {
    let blocker = |kind, source| Expect::Blocker { kind, source };
    vec![
        Case {
            name: "session with an XID, running",
            versions: 12..=18,
            vacuumed: Vacuumed::Table,
            expect: blocker("long_transaction", "backend_xid"),
            setup: running_with_xid,
        },
        Case {
            name: "snapshot-only session, running",
            versions: 12..=18,
            vacuumed: Vacuumed::Table,
            expect: blocker("long_transaction", "backend_xmin"),
            setup: running_snapshot_only,
        },
        Case {
            name: "idle in transaction with an XID",
            versions: 12..=18,
            vacuumed: Vacuumed::Table,
            expect: blocker("idle_in_transaction", "backend_xid"),
            setup: idle_with_xid,
        },
        Case {
            name: "idle in transaction, snapshot only",
            versions: 12..=18,
            vacuumed: Vacuumed::Table,
            expect: blocker("idle_in_transaction", "backend_xmin"),
            setup: idle_snapshot_only,
        },
        Case {
            name: "prepared transaction",
            versions: 12..=18,
            vacuumed: Vacuumed::Table,
            expect: blocker("prepared_transaction", "prepared_xid"),
            setup: prepared,
        },
        Case {
            name: "physical slot with a standby's xmin",
            versions: 12..=18,
            vacuumed: Vacuumed::Table,
            expect: blocker("replication_slot", "slot_xmin"),
            setup: physical_slot,
        },
        Case {
            name: "standby feedback without a slot",
            versions: 12..=18,
            vacuumed: Vacuumed::Table,
            expect: blocker("standby_feedback", "standby_xmin"),
            setup: standby_without_slot,
        },
        Case {
            name: "logical slot's catalog_xmin",
            versions: 12..=18,
            vacuumed: Vacuumed::Catalog,
            expect: blocker("replication_slot", "slot_catalog_xmin"),
            setup: logical_slot,
        },
        Case {
            name: "manual lazy VACUUM (ignored)",
            versions: 12..=18,
            vacuumed: Vacuumed::Table,
            expect: Expect::Nothing,
            setup: manual_vacuum,
        },
        Case {
            name: "invalidated physical slot with xmin (ignored)",
            versions: 13..=18,
            vacuumed: Vacuumed::Table,
            expect: Expect::Nothing,
            setup: invalidated_physical_slot,
        },
        Case {
            name: "invalidated logical slot (ignored)",
            versions: 13..=18,
            vacuumed: Vacuumed::Catalog,
            expect: Expect::Nothing,
            setup: invalidated_logical_slot,
        },
        Case {
            name: "logical slot past idle_replication_slot_timeout (ignored)",
            versions: 18..=18,
            vacuumed: Vacuumed::Catalog,
            expect: Expect::Nothing,
            setup: idle_timeout_slot,
        },
        Case {
            name: "vacuum_defer_cleanup_age = 100",
            versions: 12..=15,
            vacuumed: Vacuumed::Table,
            expect: blocker("defer_cleanup_age", "defer_cleanup_age"),
            setup: defer_small,
        },
        Case {
            name: "vacuum_defer_cleanup_age past the first XID",
            versions: 12..=15,
            vacuumed: Vacuumed::Table,
            expect: blocker("defer_cleanup_age", "defer_cleanup_age"),
            setup: defer_past_start,
        },
        Case {
            name: "vacuum_defer_cleanup_age behind a snapshot",
            versions: 12..=15,
            vacuumed: Vacuumed::Table,
            expect: blocker("defer_cleanup_age", "defer_cleanup_age"),
            setup: defer_behind_snapshot,
        },
    ]
}

fn running_with_xid(cluster: &Cluster, _: &mut Client) -> Result<Setup, String> {
    // Many short statements in one transaction, then a long one: xact_start is what counts.
    running(
        cluster,
        "BEGIN; INSERT INTO t VALUES (0); SELECT 1; SELECT 2; SELECT pg_sleep(300); COMMIT;",
        true,
    )
}

fn running_snapshot_only(cluster: &Cluster, _: &mut Client) -> Result<Setup, String> {
    running(
        cluster,
        "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM t; SELECT pg_sleep(300); \
         COMMIT;",
        false,
    )
}

/// A session running `sql` in a thread, waited for until it holds a snapshot (and an XID).
fn running(cluster: &Cluster, sql: &'static str, with_xid: bool) -> Result<Setup, String> {
    let mut holder = Client::connect(cluster, DATABASE)?;
    let pid = holder.pid;
    let thread = std::thread::spawn(move || {
        let result = holder.execute(sql);
        (holder, result)
    });
    let mut admin = Client::connect(cluster, "postgres")?;
    let running = wait_for(Duration::from_secs(10), || {
        Ok(admin.text(&format!(
            "SELECT state || ':' || (backend_xid IS NOT NULL) || ':' || (backend_xmin IS NOT NULL) \
             || ':' || coalesce(wait_event, '') FROM pg_stat_activity WHERE pid = {pid}"
        ))? == Some(format!("active:{with_xid}:true:PgSleep")))
    })?;
    ensure(running, || "the transaction never started".to_string())?;
    Ok(Setup {
        held: Held {
            threads: vec![thread],
            ..Held::default()
        },
        fix: Fix::Session(pid),
    })
}

fn idle_with_xid(cluster: &Cluster, _: &mut Client) -> Result<Setup, String> {
    let mut holder = Client::connect(cluster, DATABASE)?;
    holder.execute("BEGIN; INSERT INTO t VALUES (0);")?;
    Ok(Setup {
        fix: Fix::Session(holder.pid),
        held: Held {
            clients: vec![holder],
            ..Held::default()
        },
    })
}

fn idle_snapshot_only(cluster: &Cluster, _: &mut Client) -> Result<Setup, String> {
    let mut holder = Client::connect(cluster, DATABASE)?;
    holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM t;")?;
    Ok(Setup {
        fix: Fix::Session(holder.pid),
        held: Held {
            clients: vec![holder],
            ..Held::default()
        },
    })
}

fn prepared(cluster: &Cluster, _: &mut Client) -> Result<Setup, String> {
    let mut holder = Client::connect(cluster, DATABASE)?;
    // A gid that needs quoting, and a backslash: the fix must quote it as a literal.
    holder.execute("BEGIN; INSERT INTO t VALUES (0); PREPARE TRANSACTION 'pgvac''s \\gid';")?;
    holder.close();
    Ok(Setup {
        held: Held {
            cleanup: vec![
                "ROLLBACK PREPARED 'pgvac''s \\gid'".to_string(), // when the fix did not run
            ],
            ..Held::default()
        },
        fix: Fix::Statements(DATABASE),
    })
}

/// A standby's snapshot, reported through feedback, held on the primary by the standby's
/// physical slot (or, without a slot, by its walsender).
fn standby_snapshot(cluster: &Cluster, name: &str, slot: bool) -> Result<Held, String> {
    let standby = if slot {
        cluster.start_standby(name)?
    } else {
        cluster.start_standby_without_slot(name)?
    };
    let mut on_standby = Client::connect_at(standby.port, "postgres", DATABASE)?;
    on_standby.execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM t;")?;
    let standby_xmin = on_standby.number(&format!(
        "SELECT backend_xmin::text FROM pg_stat_activity WHERE pid = {}",
        on_standby.pid
    ))?;
    // Feedback is sent every second; wait until the primary holds the standby's snapshot.
    let mut admin = Client::connect(cluster, "postgres")?;
    let sql = if slot {
        format!("SELECT xmin::text FROM pg_replication_slots WHERE slot_name = '{name}'")
    } else {
        format!(
            "SELECT backend_xmin::text FROM pg_stat_replication WHERE application_name = '{name}'"
        )
    };
    let held = wait_for(Duration::from_secs(20), || {
        Ok(admin.text(&sql)? == Some(standby_xmin.to_string()))
    })?;
    ensure(held, || {
        format!(
            "the primary never took the standby's xmin {standby_xmin}\n--- standby log\n{}",
            standby.log()
        )
    })?;
    Ok(Held {
        clients: vec![on_standby],
        standby: Some(standby),
        cleanup: if slot {
            vec![drop_slot_sql(name)]
        } else {
            Vec::new()
        },
        ..Held::default()
    })
}

fn drop_slot_sql(name: &str) -> String {
    format!(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
         WHERE slot_name = '{name}' AND NOT active"
    )
}

fn physical_slot(cluster: &Cluster, _: &mut Client) -> Result<Setup, String> {
    Ok(Setup {
        held: standby_snapshot(cluster, "horizon_standby_slot", true)?,
        fix: Fix::OnStandby,
    })
}

fn standby_without_slot(cluster: &Cluster, _: &mut Client) -> Result<Setup, String> {
    Ok(Setup {
        held: standby_snapshot(cluster, "horizon_standby", false)?,
        fix: Fix::OnStandby,
    })
}

fn logical_slot(_: &Cluster, worker: &mut Client) -> Result<Setup, String> {
    worker
        .execute("SELECT pg_create_logical_replication_slot('horizon_logical', 'test_decoding')")?;
    Ok(Setup {
        held: Held {
            cleanup: vec![drop_slot_sql("horizon_logical")],
            ..Held::default()
        },
        fix: Fix::Statements(DATABASE),
    })
}

/// A slow manual VACUUM of another table, running (in `pg_stat_progress_vacuum`) with its
/// snapshot older than the rows the case deletes.
fn manual_vacuum(cluster: &Cluster, worker: &mut Client) -> Result<Setup, String> {
    worker.execute(
        "CREATE TABLE big (id int, pad text) WITH (autovacuum_enabled = false);
         INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 100000) g;
         DELETE FROM big WHERE id % 2 = 0;",
    )?;
    let mut vacuumer = Client::connect(cluster, DATABASE)?;
    let pid = vacuumer.pid;
    let thread = std::thread::spawn(move || {
        // VACUUM refuses a multi-statement string (an implicit transaction block).
        let result = vacuumer
            .execute("SET vacuum_cost_delay = 100; SET vacuum_cost_limit = 1;")
            .and_then(|()| vacuumer.execute("VACUUM big"));
        (vacuumer, result)
    });
    let mut admin = Client::connect(cluster, "postgres")?;
    let running = wait_for(Duration::from_secs(60), || {
        Ok(admin.text(&format!(
            "SELECT (backend_xmin IS NOT NULL)::text FROM pg_stat_activity a \
             JOIN pg_stat_progress_vacuum p USING (pid) WHERE pid = {pid}"
        ))? == Some("true".to_string()))
    })?;
    ensure(running, || {
        "the manual VACUUM never showed in pg_stat_progress_vacuum with a snapshot".to_string()
    })?;
    Ok(Setup {
        held: Held {
            threads: vec![thread],
            cleanup: vec![format!("SELECT pg_cancel_backend({pid})")],
            ..Held::default()
        },
        fix: Fix::None,
    })
}

/// Invalidate the slot `name` for removed WAL: `max_slot_wal_keep_size` at its least, WAL
/// switches and checkpoints until `wal_status` says `lost`.
fn invalidate_for_wal(cluster: &Cluster, worker: &mut Client, name: &str) -> Result<(), String> {
    cluster.reload_with("max_slot_wal_keep_size = 1\n")?;
    let mut status = None;
    for _ in 0..10 {
        worker.execute(
            "CREATE TABLE IF NOT EXISTS wal_filler (id int);
             INSERT INTO wal_filler SELECT generate_series(1, 1000);",
        )?;
        worker.execute("SELECT pg_switch_wal()")?;
        worker.execute("CHECKPOINT")?;
        status = worker.text(&format!(
            "SELECT wal_status FROM pg_replication_slots WHERE slot_name = '{name}'"
        ))?;
        if status.as_deref() == Some("lost") {
            break;
        }
    }
    cluster.reload_with("max_slot_wal_keep_size = -1\n")?;
    ensure(status.as_deref() == Some("lost"), || {
        format!("slot {name} was never invalidated: wal_status {status:?}")
    })
}

/// The slot still shows the XID it held (the view keeps `xmin` and `catalog_xmin` of an
/// invalidated slot): what an older pgvac took for a blocker.
fn still_shows(worker: &mut Client, name: &str, column: &str) -> Result<(), String> {
    let shown = worker.text(&format!(
        "SELECT {column}::text FROM pg_replication_slots WHERE slot_name = '{name}'"
    ))?;
    ensure(shown.is_some(), || {
        format!("the invalidated slot {name} shows no {column}: nothing to check")
    })
}

fn invalidated_physical_slot(cluster: &Cluster, worker: &mut Client) -> Result<Setup, String> {
    let name = "horizon_lost_physical";
    let held = standby_snapshot(cluster, name, true)?;
    // The standby goes; its slot keeps the xmin, until the WAL it needs is gone.
    drop(held.clients);
    drop(held.standby);
    let mut admin = Client::connect(cluster, "postgres")?;
    let inactive = wait_for(Duration::from_secs(20), || {
        Ok(admin.text(&format!(
            "SELECT (NOT active AND xmin IS NOT NULL)::text FROM pg_replication_slots \
             WHERE slot_name = '{name}'"
        ))? == Some("true".to_string()))
    })?;
    ensure(inactive, || {
        format!("slot {name} did not stay behind with its xmin")
    })?;
    invalidate_for_wal(cluster, worker, name)?;
    still_shows(worker, name, "xmin")?;
    Ok(Setup {
        held: Held {
            cleanup: vec![drop_slot_sql(name)],
            ..Held::default()
        },
        fix: Fix::None,
    })
}

fn invalidated_logical_slot(cluster: &Cluster, worker: &mut Client) -> Result<Setup, String> {
    let name = "horizon_lost_logical";
    worker.execute(&format!(
        "SELECT pg_create_logical_replication_slot('{name}', 'test_decoding')"
    ))?;
    invalidate_for_wal(cluster, worker, name)?;
    still_shows(worker, name, "catalog_xmin")?;
    Ok(Setup {
        held: Held {
            cleanup: vec![drop_slot_sql(name)],
            ..Held::default()
        },
        fix: Fix::None,
    })
}

/// 18: a slot idle past `idle_replication_slot_timeout` is invalidated at the next checkpoint,
/// and keeps its `restart_lsn` (only `invalidation_reason` says so).
fn idle_timeout_slot(cluster: &Cluster, worker: &mut Client) -> Result<Setup, String> {
    let name = "horizon_idle_logical";
    worker.execute(&format!(
        "SELECT pg_create_logical_replication_slot('{name}', 'test_decoding')"
    ))?;
    cluster.reload_with("idle_replication_slot_timeout = 1\n")?;
    let mut reason = None;
    let invalidated = wait_for(Duration::from_secs(30), || {
        std::thread::sleep(Duration::from_millis(500));
        worker.execute("CHECKPOINT")?;
        reason = worker.text(&format!(
            "SELECT invalidation_reason || ' ' || (restart_lsn IS NOT NULL) || ' ' || wal_status \
             FROM pg_replication_slots WHERE slot_name = '{name}'"
        ))?;
        Ok(reason.is_some())
    })?;
    cluster.reload_with("idle_replication_slot_timeout = 0\n")?;
    ensure(invalidated, || {
        format!("slot {name} was never invalidated for idling")
    })?;
    ensure(reason.as_deref() == Some("idle_timeout true lost"), || {
        format!("slot {name}: invalidation_reason, restart_lsn kept, wal_status: {reason:?}")
    })?;
    still_shows(worker, name, "catalog_xmin")?;
    Ok(Setup {
        held: Held {
            cleanup: vec![drop_slot_sql(name)],
            ..Held::default()
        },
        fix: Fix::None,
    })
}

/// `vacuum_defer_cleanup_age` set with ALTER SYSTEM (reset afterwards), and reloaded.
fn set_defer(cluster: &Cluster, age: i64) -> Result<Held, String> {
    let mut admin = Client::connect(cluster, "postgres")?;
    admin.execute(&format!(
        "ALTER SYSTEM SET vacuum_defer_cleanup_age = {age}"
    ))?;
    admin.execute("SELECT pg_reload_conf()")?;
    let applied = wait_for(Duration::from_secs(10), || {
        Ok(admin.text("SHOW vacuum_defer_cleanup_age")? == Some(age.to_string()))
    })?;
    ensure(applied, || {
        "vacuum_defer_cleanup_age did not apply".to_string()
    })?;
    Ok(Held {
        cleanup: vec!["ALTER SYSTEM RESET vacuum_defer_cleanup_age".to_string()],
        ..Held::default()
    })
}

fn defer_small(cluster: &Cluster, _: &mut Client) -> Result<Setup, String> {
    Ok(Setup {
        held: set_defer(cluster, 100)?,
        fix: Fix::Statements("postgres"),
    })
}

/// More than every XID used so far: 12-13 subtract in 32 bits (the cutoff wraps around to
/// just below 2^32), 14-15 stop at the first normal XID, 3.
fn defer_past_start(cluster: &Cluster, worker: &mut Client) -> Result<Setup, String> {
    let next = next_xid(worker)?;
    Ok(Setup {
        held: set_defer(cluster, next + 50_000)?,
        fix: Fix::Statements("postgres"),
    })
}

/// The defer moves the horizon back from the oldest snapshot, not from the next XID.
fn defer_behind_snapshot(cluster: &Cluster, worker: &mut Client) -> Result<Setup, String> {
    let mut setup = idle_snapshot_only(cluster, worker)?;
    let defer = set_defer(cluster, 100)?;
    setup.held.cleanup.extend(defer.cleanup);
    // Its fix releases only the defer: the snapshot still holds the rows.
    setup.fix = Fix::None;
    Ok(setup)
}

/// One line of the table of verdicts.
struct Verdict {
    case: &'static str,
    pgvac: String,
    predicted: i64,
    cutoff: i64,
    not_yet_removable: i64,
    fixed: String,
    problem: Option<String>,
}

/// The first blocker of `report` that holds back dead rows of `vacuumed` (a temporary
/// table's relfrozenxid holds none; a catalog_xmin only catalogs).
fn first_applying(report: &Value, vacuumed: Vacuumed) -> Option<&Value> {
    report["blockers"].as_array()?.iter().find(|b| {
        let source = &b["horizon"]["source"];
        source != "relfrozenxid" && (vacuumed == Vacuumed::Catalog || source != "slot_catalog_xmin")
    })
}

fn judge(cluster: &Cluster, worker: &mut Client, case: &Case) -> Result<Verdict, String> {
    worker.execute(
        "DROP TABLE IF EXISTS t, big, wal_filler;
         CREATE TABLE t (id int) WITH (autovacuum_enabled = false);
         INSERT INTO t SELECT g FROM generate_series(1, 1000) g;",
    )?;
    let Setup { held, fix } = (case.setup)(cluster, worker)?;
    let result = verdict(cluster, worker, case, &held, fix);
    release(cluster, held);
    result
}

fn release(cluster: &Cluster, held: Held) {
    let Held {
        clients,
        standby,
        threads,
        cleanup,
    } = held;
    drop(clients);
    if let Ok(mut admin) = Client::connect(cluster, DATABASE) {
        for sql in &cleanup {
            let _ = admin.execute(sql);
        }
        let _ = admin.execute("SELECT pg_reload_conf()");
        // Threads still running (the fix did not end them): cancel what runs in this database.
        if !threads.is_empty() {
            let _ = admin.execute(&format!(
                "SELECT pg_cancel_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{DATABASE}' AND pid <> pg_backend_pid()"
            ));
        }
    }
    for thread in threads {
        let _ = thread.join();
    }
    drop(standby);
}

fn verdict(
    cluster: &Cluster,
    worker: &mut Client,
    case: &Case,
    held: &Held,
    fix: Fix,
) -> Result<Verdict, String> {
    let table = case.vacuumed.name();
    match case.vacuumed {
        Vacuumed::Table => worker.execute("DELETE FROM t WHERE id <= 500")?,
        // Dead catalog rows: a table's pg_class row, created and dropped.
        Vacuumed::Catalog => {
            worker.execute("CREATE TABLE horizon_scratch (id int); DROP TABLE horizon_scratch;")?
        }
    }
    let next_before = next_xid(worker)?;
    let report = sessions(cluster, &[])?;
    let next_at_vacuum = next_xid(worker)?;
    ensure(next_before == next_at_vacuum, || {
        format!(
            "{}: XIDs were used between pgvac's snapshot and VACUUM ({next_before} -> \
             {next_at_vacuum}): the comparison would not be exact",
            case.name
        )
    })?;
    let vacuum = vacuum_verbose(cluster, worker, table)?;
    let first = first_applying(&report, case.vacuumed);
    let predicted = first
        .and_then(|b| b["horizon"]["xid"].as_i64())
        .unwrap_or(next_before);
    let pgvac = match first {
        Some(b) => format!(
            "{} {} xid {} age {}",
            b["kind"].as_str().unwrap_or("?"),
            b["horizon"]["source"].as_str().unwrap_or("?"),
            b["horizon"]["xid"],
            b["horizon"]["age"]
        ),
        None => format!("nothing (next XID {next_before})"),
    };
    let mut problems = Vec::new();
    if predicted != vacuum.cutoff {
        problems.push(format!(
            "pgvac predicts the horizon at {predicted}, VACUUM's cutoff is {}",
            vacuum.cutoff
        ));
    }
    match (case.expect, first) {
        (Expect::Blocker { kind, source }, Some(b)) => {
            if b["kind"] != kind || b["horizon"]["source"] != source {
                problems.push(format!("expected {kind} {source} first: {b:#}"));
            }
            if vacuum.not_yet_removable == 0 {
                problems.push("VACUUM removed every row: the case holds nothing".to_string());
            }
        }
        (Expect::Blocker { kind, source }, None) => {
            problems.push(format!("expected {kind} {source}, pgvac names nothing"))
        }
        (Expect::Nothing, Some(b)) => problems.push(format!("pgvac names a blocker: {b:#}")),
        (Expect::Nothing, None) => {
            if vacuum.not_yet_removable != 0 {
                problems.push("VACUUM kept rows, but pgvac names nothing".to_string());
            }
        }
    }
    let fixed = if problems.is_empty() {
        match run_fix(cluster, worker, case, held, fix, first) {
            Ok(text) => text,
            Err(e) => {
                problems.push(format!("the fix: {e}"));
                "FAILED".to_string()
            }
        }
    } else {
        "-".to_string()
    };
    Ok(Verdict {
        case: case.name,
        pgvac,
        predicted,
        cutoff: vacuum.cutoff,
        not_yet_removable: vacuum.not_yet_removable,
        fixed,
        problem: (!problems.is_empty())
            .then(|| format!("{}\n{}", problems.join("\n"), vacuum.text)),
    })
}

/// Run pgvac's fix where it says, then VACUUM again: it must remove the rows.
fn run_fix(
    cluster: &Cluster,
    worker: &mut Client,
    case: &Case,
    held: &Held,
    fix: Fix,
    first: Option<&Value>,
) -> Result<String, String> {
    let blocker = match (&fix, first) {
        (Fix::None, _) => return Ok("-".to_string()),
        (_, Some(b)) => b,
        (_, None) => return Err("no blocker to fix".to_string()),
    };
    match fix {
        Fix::None => unreachable!(),
        Fix::Session(pid) => fix_session(cluster, pid, blocker)?,
        Fix::Statements(database) => {
            let statements = first_action(blocker)?;
            run_all(&mut Client::connect(cluster, database)?, &statements)?;
        }
        Fix::OnStandby => {
            let statements = first_action(blocker)?;
            ensure(
                statements
                    .iter()
                    .any(|s| s.contains("hot_standby_feedback = off")),
                || format!("fix: {statements:?}"),
            )?;
            let standby = held.standby.as_ref().ok_or("no standby")?;
            run_all(
                &mut Client::connect_at(standby.port, "postgres", "postgres")?,
                &statements,
            )?;
        }
    }
    // Feedback (and a reload) take a moment to reach the horizon.
    let mut freed = None;
    wait_for(Duration::from_secs(20), || {
        let report = vacuum_verbose(cluster, worker, case.vacuumed.name())?;
        let done = report.not_yet_removable == 0;
        freed = Some(report);
        Ok(done)
    })?;
    let freed = freed.ok_or("no VACUUM ran")?;
    ensure(freed.not_yet_removable == 0, || {
        format!(
            "after the fix VACUUM still cannot remove the rows:\n{}",
            freed.text
        )
    })?;
    Ok(format!(
        "{}: removed",
        blocker["actions"][0]["summary"]
            .as_str()
            .unwrap_or("fix")
            .split(' ')
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    ))
}

fn oracle(shared: &Cluster) -> Result<(), String> {
    let cluster = &Cluster::start_with(shared.major, &shared.bindir, "autovacuum = off\n")?;
    fresh_database(cluster, DATABASE)?;
    let mut worker = Client::connect(cluster, DATABASE)?;
    let mut verdicts = Vec::new();
    for case in cases()
        .iter()
        .filter(|c| c.versions.contains(&cluster.major))
    {
        match judge(cluster, &mut worker, case) {
            Ok(verdict) => verdicts.push(verdict),
            Err(e) => verdicts.push(Verdict {
                case: case.name,
                pgvac: "-".to_string(),
                predicted: -1,
                cutoff: -1,
                not_yet_removable: -1,
                fixed: "-".to_string(),
                problem: Some(format!("the case could not run: {e}")),
            }),
        }
    }
    let mut table = vec![format!(
        "PostgreSQL {}: horizon oracle\n  {:<58} {:<52} {:>10} {:>10} {:>6}  {}",
        cluster.version, "case", "pgvac's first blocker", "pgvac", "VACUUM", "kept", "fix"
    )];
    for v in &verdicts {
        table.push(format!(
            "{} {:<58} {:<52} {:>10} {:>10} {:>6}  {}",
            if v.problem.is_some() { "X" } else { " " },
            v.case,
            v.pgvac,
            v.predicted,
            v.cutoff,
            v.not_yet_removable,
            v.fixed
        ));
    }
    let table = table.join("\n");
    eprintln!("{table}");
    let problems: Vec<String> = verdicts
        .iter()
        .filter_map(|v| v.problem.as_ref().map(|p| format!("--- {}\n{p}", v.case)))
        .collect();
    ensure(problems.is_empty(), || {
        format!(
            "{} of {} cases disagree:\n{table}\n{}",
            problems.len(),
            verdicts.len(),
            problems.join("\n")
        )
    })
}
