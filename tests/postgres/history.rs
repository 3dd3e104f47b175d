//! Trends between runs on real servers: snapshots of the real `pgvac collect`, kept in a
//! history directory and compared through the library (`pgvac::store::history`).
//!
//! The XID rate is checked against what the test itself knows: it consumes exactly 50,000
//! XIDs between two runs, reads the next XID and the server clock around each run, and so
//! knows the truth independently of pgvac.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use pgvac::analysis::trends::{Direction, Estimate, EventKind, Limit, NotCompared, Trends, trends};
use pgvac::snapshot::Snapshot;
use pgvac::store::history::HistoryDir;

use crate::TestFn;
use crate::client::Client;
use crate::cluster::{Cluster, wait_for};
use crate::collect::{fresh_database, wait_for_stat};
use crate::runner;

pub const TESTS: &[(&str, TestFn)] = &[
    (
        "history_xid_rate_estimates_and_stats_reset",
        xid_rate_and_resets,
    ),
    ("history_report_shows_trends_between_runs", report_history),
];

const DATABASE: &str = "history_trends";
const XIDS: i64 = 50_000;

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}

/// The next XID and the server clock (microseconds since the epoch), read without assigning
/// an XID.
fn next_xid_and_clock(client: &mut Client) -> Result<(i64, i64), String> {
    let xid = client.number("SELECT txid_snapshot_xmax(txid_current_snapshot())::text")?;
    let clock =
        client.number("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text")?;
    Ok((xid, clock))
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn hours(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (micros(to) - micros(from)) as f64 / 3_600_000_000.0
}

fn relative_error(value: f64, truth: f64) -> f64 {
    ((value - truth) / truth).abs()
}

fn hours_to(trends: &Trends, database: &str, limit: Limit) -> Result<f64, String> {
    let db = trends
        .databases
        .iter()
        .find(|d| d.name == database)
        .ok_or_else(|| format!("no trend for database {database}"))?;
    let estimate = db
        .xid_limits
        .iter()
        .find(|l| l.limit == limit)
        .ok_or_else(|| format!("{database}: no {limit:?} estimate"))?;
    match estimate.estimate {
        Estimate::In { hours, .. } => Ok(hours),
        ref other => Err(format!("{database} {limit:?}: {other:?}")),
    }
}

fn autovacuum_count(client: &mut Client, table: &str) -> Result<i64, String> {
    client.execute("SELECT pg_stat_clear_snapshot()")?;
    client.number(&format!(
        "SELECT autovacuum_count::text FROM pg_stat_user_tables WHERE relname = '{table}'"
    ))
}

fn xid_rate_and_resets(cluster: &Cluster) -> Result<(), String> {
    // Nothing else may consume XIDs or reset statistics while this runs.
    let _exclusive = cluster.exclusive.write().unwrap();
    fresh_database(cluster, DATABASE)?;
    let mut db = Client::connect(cluster, DATABASE)?;
    let mut admin = Client::connect(cluster, "postgres")?;
    db.execute(
        "CREATE TABLE growing (id int PRIMARY KEY) WITH (autovacuum_enabled = false);
         INSERT INTO growing SELECT generate_series(1, 1000);
         DELETE FROM growing WHERE id <= 100;
         CREATE TABLE cleaned (id int PRIMARY KEY) WITH (autovacuum_enabled = false);
         INSERT INTO cleaned SELECT generate_series(1, 1000);
         DELETE FROM cleaned WHERE id <= 500;",
    )?;
    let dead = |table: &str| {
        format!("SELECT n_dead_tup::text FROM pg_stat_user_tables WHERE relname = '{table}'")
    };
    wait_for_stat(&mut db, &dead("growing"), 100)?;
    wait_for_stat(&mut db, &dead("cleaned"), 500)?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let history = HistoryDir::open(&dir.path().join("history")).map_err(|e| e.to_string())?;

    // Runs 1 and 2 with exactly 50,000 XIDs consumed in between, and a measured gap.
    let (xid_a, clock_a) = next_xid_and_clock(&mut admin)?;
    let first = runner::collect(cluster, DATABASE)?;
    let (xid_b, clock_b) = next_xid_and_clock(&mut admin)?;
    let wall = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let (before_loop, _) = next_xid_and_clock(&mut admin)?;
    admin.execute(&format!(
        "DO $$ BEGIN FOR i IN 1..{XIDS} LOOP PERFORM txid_current(); COMMIT; END LOOP; END $$"
    ))?;
    let (after_loop, _) = next_xid_and_clock(&mut admin)?;
    // Each iteration takes one XID and commits it, on every version.
    ensure(
        (XIDS..XIDS + 20).contains(&(after_loop - before_loop)),
        || {
            format!(
                "the loop should consume {XIDS} XIDs; the next XID moved by {}",
                after_loop - before_loop
            )
        },
    )?;
    std::thread::sleep(Duration::from_secs(3));
    let (xid_c, clock_c) = next_xid_and_clock(&mut admin)?;
    let second = runner::collect(cluster, DATABASE)?;
    let (xid_d, clock_d) = next_xid_and_clock(&mut admin)?;
    let wall = wall.elapsed();

    let system_identifier =
        admin.text("SELECT system_identifier::text FROM pg_control_system()")?;
    ensure(
        first.server.system_identifier == system_identifier
            && second.server.system_identifier == system_identifier,
        || {
            format!(
                "system identifier {:?} / {:?}, server says {system_identifier:?}",
                first.server.system_identifier, second.server.system_identifier
            )
        },
    )?;
    // Between the runs: the loop's XIDs, and any taken in the background (autoanalyze).
    let gap_xids = xid_c - xid_b;
    ensure((XIDS..XIDS + 100).contains(&gap_xids), || {
        format!("{XIDS} XIDs consumed between the runs, but the next XID moved by {gap_xids}")
    })?;
    // Each snapshot was read between the test's own clock readings around it.
    for (run, before, after) in [(&first, clock_a, clock_b), (&second, clock_c, clock_d)] {
        let at = micros(run.server.collected_at);
        ensure(before <= at && at <= after, || {
            format!("collected_at {at} outside the run's bracket [{before}, {after}]")
        })?;
    }

    // A single run never gives a rate.
    let alone = trends(&first, &pgvac::store::history::History::default());
    ensure(
        alone.xid_consumption.is_none() && alone.databases.is_empty(),
        || format!("a single run gave trends: {alone:?}"),
    )?;

    history.save(&first).map_err(|e| e.to_string())?;
    let two = history
        .record(&second, 3, false)
        .map_err(|e| e.to_string())?;
    let xid = two
        .xid_consumption
        .as_ref()
        .ok_or_else(|| format!("no XID rate from two runs: {:?}", two.notes))?;
    // The truth: the XIDs consumed between the two readings, over the time between them.
    let interval = hours(first.server.collected_at, second.server.collected_at);
    let truth = gap_xids as f64 / interval;
    let error = relative_error(xid.per_hour, truth);
    ensure(error <= 0.05, || {
        format!(
            "rate {:.0}/h, truth {truth:.0}/h ({gap_xids} XIDs in {:.3} s): {:.2}% off",
            xid.per_hour,
            interval * 3600.0,
            error * 100.0
        )
    })?;
    // Independently of pgvac's timestamps: the rate lies within what the brackets allow.
    let slowest = (xid_c - xid_b) as f64 / ((clock_d - clock_a) as f64 / 3.6e9);
    let fastest = (xid_d - xid_a) as f64 / ((clock_c - clock_b) as f64 / 3.6e9);
    ensure(slowest <= xid.per_hour && xid.per_hour <= fastest, || {
        format!(
            "rate {:.0}/h outside [{slowest:.0}, {fastest:.0}] from the test's own readings",
            xid.per_hour
        )
    })?;
    ensure((interval * 3600.0 - wall.as_secs_f64()).abs() < 2.0, || {
        format!(
            "server interval {:.3} s, wall clock {:.3} s",
            interval * 3600.0,
            wall.as_secs_f64()
        )
    })?;

    // The time-to-limit estimates follow from the rate and the ages the test reads itself.
    let freeze_max_age = admin.number("SELECT current_setting('autovacuum_freeze_max_age')")?;
    let stop_age: i64 = if cluster.major <= 13 {
        2_146_483_647
    } else {
        2_144_483_647
    };
    let mut checked = 0;
    for database in &second.databases {
        if database.is_invalid() {
            continue;
        }
        let age = admin.number(&format!(
            "SELECT age(datfrozenxid)::text FROM pg_database WHERE oid = {}",
            database.oid
        ))?;
        for (limit, at_age) in [
            (Limit::FreezeMaxAge, freeze_max_age),
            (Limit::OneBillion, 1_000_000_000),
            (Limit::StopLimit, stop_age),
        ] {
            let expected = (at_age - age) as f64 / truth;
            let estimated = hours_to(&two, &database.name, limit)?;
            ensure(relative_error(estimated, expected) <= 0.05, || {
                format!(
                    "{} {limit:?}: {estimated:.3} h estimated, {expected:.3} h from age {age} \
                     at {truth:.0} XIDs/h",
                    database.name
                )
            })?;
        }
        checked += 1;
    }
    ensure(checked >= 3, || {
        format!("only {checked} databases estimated")
    })?;

    // Run 3: dead rows grow in one table; autovacuum cleans the other.
    let second_cleaned = autovacuum_count(&mut db, "cleaned")?;
    db.execute(
        "DELETE FROM growing WHERE id <= 300;
         ALTER TABLE cleaned SET (autovacuum_enabled = true, autovacuum_vacuum_threshold = 0,
                                  autovacuum_vacuum_scale_factor = 0);",
    )?;
    wait_for_stat(&mut db, &dead("growing"), 300)?;
    let cleaned = wait_for(Duration::from_secs(30), || {
        db.execute("SELECT pg_stat_clear_snapshot()")?;
        Ok(db.number(&dead("cleaned"))? == 0 && autovacuum_count(&mut db, "cleaned")? > 0)
    })?;
    ensure(cleaned, || "autovacuum never cleaned the table".to_string())?;
    let third_cleaned = autovacuum_count(&mut db, "cleaned")?;
    let third = runner::collect(cluster, DATABASE)?;
    let three = history
        .record(&third, 3, false)
        .map_err(|e| e.to_string())?;
    ensure(three.events.is_empty(), || {
        format!("events: {:?}", three.events)
    })?;
    let table = |t: &Trends, name: &str| {
        t.tables
            .iter()
            .find(|x| x.database == DATABASE && x.name == name)
            .cloned()
            .ok_or_else(|| format!("no trend for {name}"))
    };
    let growing = table(&three, "growing")?;
    ensure(
        growing.dead_rows_change == Some(200)
            && growing.dead_rows_direction == Some(Direction::Growing),
        || format!("growing: {growing:?}"),
    )?;
    let tables_at = |s: &Snapshot| {
        s.database(DATABASE)
            .and_then(|d| d.collected_at)
            .unwrap_or(s.server.collected_at)
    };
    let expected_per_hour = 200.0 / hours(tables_at(&second), tables_at(&third));
    ensure(
        growing
            .dead_rows_per_hour
            .is_some_and(|r| relative_error(r, expected_per_hour) < 1e-6),
        || {
            format!(
                "growing per hour {:?}, expected {expected_per_hour}",
                growing.dead_rows_per_hour
            )
        },
    )?;
    let cleaned = table(&three, "cleaned")?;
    ensure(
        cleaned.dead_rows_change == Some(-500)
            && cleaned.dead_rows_direction == Some(Direction::Shrinking)
            && cleaned.autovacuums_since_previous == Some(third_cleaned - second_cleaned),
        || format!("cleaned ({second_cleaned} then {third_cleaned} autovacuums): {cleaned:?}"),
    )?;
    // Both tables existed in all three runs: the window starts at the first.
    let days = hours(tables_at(&first), tables_at(&third)) / 24.0;
    ensure(
        cleaned.window_start == Some(tables_at(&first))
            && cleaned
                .autovacuums_per_day
                .is_some_and(|r| relative_error(r, third_cleaned as f64 / days) < 1e-6),
        || format!("cleaned window: {cleaned:?}, {third_cleaned} autovacuums in {days} days"),
    )?;

    // Run 4: a statistics reset and a freeze of the database.
    let reset_before = db.text(
        "SELECT stats_reset::text FROM pg_stat_database WHERE datname = current_database()",
    )?;
    db.execute("SELECT pg_stat_reset()")?;
    db.execute("VACUUM FREEZE")?;
    let reset_seen = wait_for(Duration::from_secs(15), || {
        db.execute("SELECT pg_stat_clear_snapshot()")?;
        let now = db.text(
            "SELECT stats_reset::text FROM pg_stat_database WHERE datname = current_database()",
        )?;
        Ok(now.is_some() && now != reset_before)
    })?;
    ensure(reset_seen, || "pg_stat_reset() never showed".to_string())?;
    let fourth = runner::collect(cluster, DATABASE)?;
    let four = history
        .record(&fourth, 3, false)
        .map_err(|e| e.to_string())?;
    ensure(
        four.events
            .iter()
            .any(|e| e.kind == EventKind::StatsReset && e.database.as_deref() == Some(DATABASE)),
        || format!("no stats reset said: {:?}", four.events),
    )?;
    let ours: Vec<_> = four
        .tables
        .iter()
        .filter(|t| t.database == DATABASE)
        .collect();
    ensure(
        !ours.is_empty()
            && ours.iter().all(|t| {
                t.not_compared == Some(NotCompared::StatsReset)
                    && t.dead_rows_change.is_none()
                    && t.autovacuums_since_previous.is_none()
                    && t.autovacuums_per_day.is_none()
            }),
        || format!("rates across the reset: {ours:?}"),
    )?;
    let frozen = four
        .databases
        .iter()
        .find(|d| d.name == DATABASE)
        .ok_or("no trend for the frozen database")?;
    let rate = four
        .xid_consumption
        .as_ref()
        .ok_or("no XID rate after the reset")?
        .per_hour;
    ensure(
        frozen.frozen_since_previous && frozen.xid_age_change.is_some_and(|c| c < 0),
        || format!("the freeze is not seen: {frozen:?}"),
    )?;
    let estimated = hours_to(&four, DATABASE, Limit::FreezeMaxAge)?;
    let expected = (freeze_max_age - frozen.xid_age) as f64 / rate;
    ensure(relative_error(estimated, expected) < 1e-9, || {
        format!("after the freeze: {estimated} h, expected {expected} h at {rate}/h")
    })?;
    ensure(
        history.list().map_err(|e| e.to_string())?.len() == 3,
        || "the history keeps 3 snapshots".to_string(),
    )?;

    // The same truth on the test's own clock: the midpoints of the brackets around the runs.
    let midpoints = ((clock_c + clock_d) - (clock_a + clock_b)) as f64 / 2.0 / 3.6e9;
    let own_clock_error = relative_error(xid.per_hour, gap_xids as f64 / midpoints);
    eprintln!(
        "pg{}: {gap_xids} XIDs ({} by the loop) in {:.3} s: pgvac {:.0}/h, truth {truth:.0}/h, \
         error {:.4}% ({:.2}% against the test's own clock); {:.3} h to freeze_max_age",
        cluster.major,
        after_loop - before_loop,
        interval * 3600.0,
        xid.per_hour,
        error * 100.0,
        own_clock_error * 100.0,
        hours_to(&two, "postgres", Limit::FreezeMaxAge).unwrap_or(f64::NAN),
    );
    Ok(())
}

/// `pgvac report --history DIR` as a cron job runs it: the first run says it has nothing to
/// compare with, the next ones show the rate and the estimates, and --keep bounds the directory.
fn report_history(cluster: &Cluster) -> Result<(), String> {
    let _shared = cluster.exclusive.read().unwrap();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let history = dir.path().join("runs");
    let history_arg = history.to_string_lossy().into_owned();
    let report = |format: &str| -> Result<runner::Run, String> {
        let run = runner::on(
            cluster,
            "report",
            &[
                "-d",
                "postgres",
                "--history",
                &history_arg,
                "--keep",
                "2",
                "--format",
                format,
            ],
        )?;
        ensure((0..=2).contains(&run.status), || run.describe())?;
        Ok(run)
    };
    let json = |run: &runner::Run| -> Result<serde_json::Value, String> {
        serde_json::from_str(&run.stdout).map_err(|e| format!("{e}: {}", run.describe()))
    };

    let first = json(&report("json")?)?;
    let trends = &first["trends"];
    ensure(
        trends["xid_consumption"].is_null()
            && trends["notes"].as_array().is_some_and(|n| {
                n.iter()
                    .any(|n| n.as_str().unwrap_or("").contains("two runs"))
            }),
        || format!("first run: {trends}"),
    )?;

    let mut client = Client::connect(cluster, "postgres")?;
    client.execute(
        "DO $$ BEGIN FOR i IN 1..1000 LOOP PERFORM txid_current(); COMMIT; END LOOP; END $$",
    )?;
    let second = json(&report("json")?)?;
    let xid = &second["trends"]["xid_consumption"];
    ensure(
        xid["last_interval"]["xids"]
            .as_i64()
            .is_some_and(|x| x >= 1000)
            && xid["per_hour"].as_f64().is_some_and(|r| r > 0.0),
        || format!("second run: {xid}"),
    )?;
    let postgres = second["trends"]["databases"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["name"] == "postgres"))
        .ok_or_else(|| format!("no postgres trend: {}", second["trends"]))?;
    ensure(
        postgres["xid_limits"]
            .as_array()
            .is_some_and(|l| l.iter().all(|l| l["estimate"]["status"] == "in")),
        || format!("postgres estimates: {postgres}"),
    )?;

    let third = report("table")?;
    ensure(
        third.stdout.contains("Trends since") && third.stdout.contains("XIDs consumed:"),
        || third.describe(),
    )?;
    // The trends section (up to the blank line that ends it) fits in 100 columns.
    let section: Vec<&str> = third
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Trends since"))
        .take_while(|l| !l.is_empty())
        .collect();
    let widest = section.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    ensure(section.len() > 2 && widest <= 100, || {
        format!("trends section {widest} columns wide:\n{}", third.stdout)
    })?;
    let kept = std::fs::read_dir(&history)
        .map_err(|e| e.to_string())?
        .flatten()
        .count();
    ensure(kept == 2, || format!("--keep 2 left {kept} files"))?;

    // An unusable directory: one line, exit 3, before anything is collected.
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "x").map_err(|e| e.to_string())?;
    let bad = blocker.join("history").to_string_lossy().into_owned();
    let run = runner::on(cluster, "report", &["-d", "postgres", "--history", &bad])?;
    ensure(
        run.status == 3
            && run.stderr.trim().lines().count() == 1
            && run.stderr.starts_with("pgvac: error: history directory"),
        || run.describe(),
    )
}
