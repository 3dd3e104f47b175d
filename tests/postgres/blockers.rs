//! `pgvac sessions` against real servers: what it names as holding the horizon, checked
//! against PostgreSQL's own `VACUUM (VERBOSE)`, and `--terminate` checked to end exactly what it
//! should.
//!
//! The attribution of each kind of holder is the horizon oracle's (`horizon.rs`); the tests here
//! check what is done about them: maintenance commands and backups are named as such and ended
//! only by `--pid`, lazy VACUUMs are never blockers, temp table owners are ended only when
//! proven, and `--terminate` respects its filters and privileges.

use std::time::Duration;

use serde_json::Value;

use crate::TestFn;
use crate::client::Client;
use crate::cluster::{Cluster, wait_for};
use crate::collect::fresh_database;
use crate::horizon::{fix_session, sessions, vacuum_verbose};
use crate::runner;

pub const TESTS: &[(&str, TestFn)] = &[
    (
        "blockers_temp_table_owner_terminated_frees_datfrozenxid",
        temp_table,
    ),
    (
        "blockers_terminate_respects_filters_and_never_kills_autovacuum",
        terminate_filters,
    ),
    ("blockers_terminate_never_kills_a_reused_pid", reused_pid),
    (
        "blockers_manual_vacuum_and_autovacuum_hold_nothing_back",
        manual_vacuum,
    ),
    (
        "blockers_analyze_and_vacuum_full_match_vacuum",
        maintenance_holds,
    ),
    ("blockers_pg_dump_is_a_backup_ended_only_by_pid", pg_dump),
    (
        "blockers_terminate_without_privilege_kills_nothing",
        privileges,
    ),
];

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}

fn first_blocker(report: &Value) -> Result<&Value, String> {
    report["blockers"]
        .get(0)
        .ok_or_else(|| format!("no blocker reported: {report:#}"))
}

/// A table with 1000 rows and autovacuum off, in a fresh database.
fn table_with_rows(cluster: &Cluster, database: &str, options: &str) -> Result<Client, String> {
    fresh_database(cluster, database)?;
    let mut client = Client::connect(cluster, database)?;
    client.execute(&format!(
        "CREATE TABLE t (id int) WITH (autovacuum_enabled = false{options});
         INSERT INTO t SELECT g FROM generate_series(1, 1000) g;"
    ))?;
    Ok(client)
}

/// The attribution oracle, once the blocker exists: 500 dead rows that VACUUM cannot remove,
/// pgvac's first blocker holding exactly VACUUM's cutoff, then pgvac's fix and a VACUUM that
/// removes them. `run_fix` runs the fix's statements where they belong.
fn oracle(
    cluster: &Cluster,
    worker: &mut Client,
    expected_kind: &str,
    expected_source: &str,
    run_fix: &mut dyn FnMut(&Value) -> Result<(), String>,
) -> Result<(), String> {
    worker.execute("DELETE FROM t WHERE id <= 500")?;
    let report = sessions(cluster, &[])?;
    let first = first_blocker(&report)?.clone();
    let held = vacuum_verbose(cluster, worker, "t")?;
    ensure(held.not_yet_removable == 500, || {
        format!(
            "VACUUM could remove the rows: the blocker holds nothing?\n{}",
            held.text
        )
    })?;
    ensure(first["kind"] == expected_kind, || {
        format!(
            "first blocker is {}, expected {expected_kind}: {first:#}",
            first["kind"]
        )
    })?;
    ensure(first["horizon"]["source"] == expected_source, || {
        format!("horizon source: {first:#}")
    })?;
    ensure(
        first["horizon"]["xid"].as_i64() == Some(held.cutoff),
        || {
            format!(
                "pgvac's first blocker holds {}, VACUUM's cutoff is {}\n{first:#}\n{}",
                first["horizon"]["xid"], held.cutoff, held.text
            )
        },
    )?;
    run_fix(&first)?;
    let freed = vacuum_verbose(cluster, worker, "t")?;
    ensure(freed.not_yet_removable == 0 && freed.removed >= 500, || {
        format!(
            "after the fix VACUUM still cannot remove the rows:\n{}",
            freed.text
        )
    })
}

fn session_exists(client: &mut Client, pid: i32) -> Result<bool, String> {
    Ok(client.number(&format!(
        "SELECT count(*)::text FROM pg_stat_activity WHERE pid = {pid}"
    ))? == 1)
}

fn wait_gone(client: &mut Client, pid: i32) -> Result<(), String> {
    let gone = wait_for(Duration::from_secs(10), || {
        Ok(!session_exists(client, pid)?)
    })?;
    ensure(gone, || format!("pid {pid} is still there"))
}

fn temp_table(cluster: &Cluster) -> Result<(), String> {
    let _exclusive = cluster.exclusive.write().unwrap();
    fresh_database(cluster, "blk_temp")?;
    let mut admin = Client::connect(cluster, "blk_temp")?;
    // A session that comes and goes first, so the owner's backend slot is not the lowest.
    Client::connect(cluster, "blk_temp")?.close();
    let mut owner = Client::connect(cluster, "blk_temp")?;
    owner.execute(
        "CREATE TEMP TABLE scratch (id int PRIMARY KEY); INSERT INTO scratch VALUES (1);",
    )?;
    // Another owner, idle: it has the id of its schema, which proves nothing, so it is only a
    // candidate and must outlive every --terminate below.
    let mut idle_owner = Client::connect(cluster, "blk_temp")?;
    idle_owner.execute("CREATE TEMP TABLE other (id int PRIMARY KEY)")?;
    for _ in 0..20 {
        admin.execute("SELECT txid_current()")?;
    }
    // Everything but the temp tables is frozen now: they pin datfrozenxid.
    admin.execute("VACUUM FREEZE")?;
    let pinned_age = admin
        .number("SELECT age(datfrozenxid)::text FROM pg_database WHERE datname = 'blk_temp'")?;
    ensure(pinned_age >= 20, || {
        format!("datfrozenxid age {pinned_age}: the temp table does not pin it")
    })?;
    // The proof, on every version: idle in transaction after reading its indexed table.
    owner.execute("BEGIN; SELECT count(*) FROM scratch;")?;
    let report = sessions(cluster, &["-d", "blk_temp"])?;
    let temp_blockers: Vec<&Value> = report["blockers"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|b| b["kind"] == "temp_table" && b["database"] == "blk_temp")
                .collect()
        })
        .unwrap_or_default();
    let blocker = temp_blockers
        .iter()
        .find(|b| b["holder"]["owner_pid"].as_i64() == Some(owner.pid as i64))
        .ok_or_else(|| format!("no proven owner pid {} in blk_temp: {report:#}", owner.pid))?;
    ensure(
        blocker["holder"]["owner_status"] == "known"
            && blocker["holder"]["owner_source"] == "index_lock",
        || format!("not proven: {blocker:#}"),
    )?;
    ensure(
        blocker["identity"]
            .as_str()
            .is_some_and(|i| i.contains(&format!("pid {}", owner.pid))),
        || format!("identity does not name the pid: {}", blocker["identity"]),
    )?;
    let age = blocker["horizon"]["age"].as_i64().unwrap_or(-1);
    // Autovacuum's ANALYZE takes XIDs meanwhile: the age can only have grown.
    ensure(age >= pinned_age, || {
        format!("temp table age {age}, datfrozenxid age {pinned_age}")
    })?;
    ensure(
        temp_blockers.iter().any(|b| {
            b["holder"]["owner_status"] == "unknown"
                && b["holder"]["candidate_pid"].as_i64() == Some(idle_owner.pid as i64)
        }) || cluster.major < 16,
        || format!("the idle owner is not a candidate: {report:#}"),
    )?;

    // --terminate without --pid, the thresholds at 1 XID: the proven owner, and only it.
    let run = runner::on(
        cluster,
        "sessions",
        &[
            "--terminate",
            "--execute",
            "--yes",
            "-d",
            "blk_temp",
            "--xid-age-warning",
            "1",
            "--xid-age-critical",
            "2",
        ],
    )?;
    ensure(run.status == 0, || run.describe())?;
    ensure(
        run.stdout
            .contains(&format!("pid {}: terminated", owner.pid))
            && run.stdout.matches(": terminated").count() == 1,
        || run.describe(),
    )?;
    wait_gone(&mut admin, owner.pid)?;
    ensure(session_exists(&mut admin, idle_owner.pid)?, || {
        "the unproven owner was terminated".to_string()
    })?;
    // Its tables went with it: only the unproven owner's pin datfrozenxid now.
    let left = admin.number(
        "SELECT count(*)::text FROM pg_class WHERE relname = 'scratch' AND relpersistence = 't'",
    )?;
    ensure(left == 0, || {
        "the owner's temp table is still there".to_string()
    })?;
    // Named, the unproven owner is refused with one line on 16+, where it is a candidate; on
    // 12-15 its backend id cannot even be read, so it is not tied to the tables at all.
    let idle_pid = idle_owner.pid.to_string();
    let run = runner::on(
        cluster,
        "sessions",
        &["--terminate", "--execute", "--yes", "--pid", &idle_pid],
    )?;
    let refused = run.status == 3 && run.stderr.trim().lines().count() == 1;
    let left_alone = run.status == 0
        && run.stdout.contains(&format!(
            "pid {idle_pid}: left alone (does not hold vacuum back"
        ));
    ensure(
        if cluster.major >= 16 {
            refused
        } else {
            left_alone
        },
        || run.describe(),
    )?;
    ensure(session_exists(&mut admin, idle_owner.pid)?, || {
        "the unproven owner was terminated by --pid".to_string()
    })?;
    let idle = idle_owner.pid;
    idle_owner.close();
    wait_gone(&mut admin, idle)?;
    admin.execute("VACUUM FREEZE")?;
    let after = admin
        .number("SELECT age(datfrozenxid)::text FROM pg_database WHERE datname = 'blk_temp'")?;
    ensure(after < pinned_age, || {
        format!("age(datfrozenxid) stayed at {after} (was {pinned_age}) after the owners ended")
    })
}

fn terminate_filters(cluster: &Cluster) -> Result<(), String> {
    let _exclusive = cluster.exclusive.write().unwrap();
    let mut admin = table_with_rows(cluster, "blk_filters", "")?;
    admin.execute(
        "DROP ROLE IF EXISTS pgvac_blk_other;
         CREATE ROLE pgvac_blk_other LOGIN PASSWORD 'other-pw';
         GRANT ALL ON t TO pgvac_blk_other;",
    )?;
    let mut mine = Client::connect(cluster, "blk_filters")?;
    mine.execute("BEGIN; INSERT INTO t VALUES (0);")?;
    let mut theirs = Client::connect_url(&format!(
        "postgres://pgvac_blk_other:other-pw@127.0.0.1:{}/blk_filters",
        cluster.port
    ))?;
    theirs.execute("BEGIN; INSERT INTO t VALUES (0);")?;

    // An autovacuum worker kept busy on a slow table.
    admin.execute(
        "CREATE TABLE slow (id int, pad text) WITH (autovacuum_vacuum_cost_delay = 100,
                                                    autovacuum_vacuum_cost_limit = 1);
         INSERT INTO slow SELECT g, repeat('x', 200) FROM generate_series(1, 50000) g;
         DELETE FROM slow;",
    )?;
    let mut worker_pid = None;
    wait_for(Duration::from_secs(60), || {
        worker_pid = admin
            .text(
                "SELECT max(pid)::text FROM pg_stat_activity \
                 WHERE backend_type = 'autovacuum worker' AND datname = 'blk_filters' \
                 AND query LIKE 'autovacuum: VACUUM%public.slow%'",
            )?
            .and_then(|p| p.parse::<i32>().ok());
        Ok(worker_pid.is_some())
    })?;
    let Some(worker_pid) = worker_pid else {
        let seen = admin.text(
            "SELECT string_agg(pid || ' ' || backend_type || ' ' || coalesce(datname, '-') || ' ' \
             || coalesce(query, ''), '; ') FROM pg_stat_activity",
        )?;
        let dead = admin
            .text("SELECT n_dead_tup::text FROM pg_stat_user_tables WHERE relname = 'slow'")?;
        return Err(format!(
            "no autovacuum worker ever started on the slow table (n_dead_tup {dead:?}); sessions: {seen:?}"
        ));
    };

    let own = |args: &[&str]| -> Result<runner::Run, String> {
        let mut all = vec!["--terminate", "--execute", "--yes"];
        all.extend_from_slice(args);
        runner::on(cluster, "sessions", &all)
    };
    // --execute without a terminal and without --yes: refused, nothing killed.
    let run = runner::on(
        cluster,
        "sessions",
        &["--terminate", "--execute", "--min-idle", "0s"],
    )?;
    ensure(
        run.status == 3 && run.stderr.trim().lines().count() == 1 && run.stderr.contains("--yes"),
        || run.describe(),
    )?;
    ensure(
        session_exists(&mut admin, mine.pid)? && session_exists(&mut admin, theirs.pid)?,
        || "--execute without confirmation terminated a session".to_string(),
    )?;
    // Outside the filters: another database, a longer idle time, another role.
    for args in [
        vec!["--min-idle", "0s", "-d", "postgres"],
        vec!["--min-idle", "1h"],
        vec!["--min-xact-age", "0s", "--user", "nobody_here"],
    ] {
        let run = own(&args)?;
        ensure(run.status == 0, || run.describe())?;
        ensure(!run.stdout.contains(": terminated"), || {
            format!("{args:?} terminated something:\n{}", run.describe())
        })?;
    }
    ensure(
        session_exists(&mut admin, mine.pid)? && session_exists(&mut admin, theirs.pid)?,
        || "a session outside the filters was terminated".to_string(),
    )?;
    // The autovacuum worker, named explicitly, is left alone.
    let worker = worker_pid.to_string();
    let run = own(&["--pid", &worker])?;
    ensure(run.status == 0, || run.describe())?;
    ensure(
        run.stdout
            .contains(&format!("pid {worker}: left alone (an autovacuum worker")),
        || run.describe(),
    )?;
    ensure(session_exists(&mut admin, worker_pid)?, || {
        "the autovacuum worker was terminated".to_string()
    })?;
    // The broadest filter ends the two blocking sessions, and never pgvac's own session.
    let run = own(&[
        "--min-xact-age",
        "0s",
        "--user",
        "pgvac_blk_other",
        "-d",
        "blk_filters",
    ])?;
    ensure(run.status == 0, || run.describe())?;
    ensure(
        run.stdout
            .contains(&format!("pid {}: terminated", theirs.pid)),
        || run.describe(),
    )?;
    wait_gone(&mut admin, theirs.pid)?;
    ensure(session_exists(&mut admin, mine.pid)?, || {
        "a session of another role was terminated by --user".to_string()
    })?;
    let run = own(&["--min-xact-age", "0s"])?;
    ensure(run.status == 0, || run.describe())?;
    ensure(
        run.stdout
            .contains(&format!("pid {}: terminated", mine.pid)),
        || run.describe(),
    )?;
    ensure(!run.stderr.contains("terminating connection"), || {
        run.describe()
    })?;
    admin.execute("DROP TABLE slow")?;
    Ok(())
}

/// Make the next backend the server forks take `pid`, where the kernel lets us (root in the
/// same pid namespace): /proc/sys/kernel/ns_last_pid is the last pid handed out.
fn connect_with_pid(cluster: &Cluster, database: &str, pid: i32) -> Result<Option<Client>, String> {
    for _ in 0..200 {
        if std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string()).is_err() {
            return Ok(None);
        }
        let client = Client::connect(cluster, database)?;
        if client.pid == pid {
            return Ok(Some(client));
        }
        client.close();
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(None)
}

fn reused_pid(cluster: &Cluster) -> Result<(), String> {
    let _exclusive = cluster.exclusive.write().unwrap();
    fresh_database(cluster, "blk_reuse")?;
    let mut admin = Client::connect(cluster, "blk_reuse")?;
    let mut victim = Client::connect(cluster, "blk_reuse")?;
    let pid = victim.pid;
    victim.execute("BEGIN; SELECT txid_current();")?;
    // The look: a snapshot taken while the victim blocks.
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let snapshot = dir.path().join("snap.json");
    let snapshot_arg = snapshot.display().to_string();
    let run = runner::on(
        cluster,
        "collect",
        &["-d", "blk_reuse", "-o", &snapshot_arg],
    )?;
    ensure(run.status == 0, || run.describe())?;
    // Between the look and the act the victim ends and a new session takes its pid.
    victim.close();
    wait_gone(&mut admin, pid)?;
    let (mut newcomer, reused) = match connect_with_pid(cluster, "blk_reuse", pid)? {
        Some(client) => (client, true),
        None => {
            eprintln!(
                "pg{}: could not make the server reuse pid {pid} (ns_last_pid not writable or \
                 raced): checking a gone session instead",
                cluster.major
            );
            (Client::connect(cluster, "blk_reuse")?, false)
        }
    };
    newcomer.execute("BEGIN; SELECT txid_current();")?;
    let pid_text = pid.to_string();
    let run = runner::on(
        cluster,
        "sessions",
        &[
            "--snapshot",
            &snapshot_arg,
            "--terminate",
            "--execute",
            "--yes",
            "--pid",
            &pid_text,
        ],
    )?;
    ensure(run.status == 0, || run.describe())?;
    let expected = if reused {
        format!("pid {pid}: changed, skipped (the pid now belongs to another session")
    } else {
        format!("pid {pid}: already gone")
    };
    ensure(run.stdout.contains(&expected), || {
        format!("expected {expected:?}\n{}", run.describe())
    })?;
    ensure(session_exists(&mut admin, newcomer.pid)?, || {
        "the session that reused the pid was killed".to_string()
    })?;
    newcomer.execute("COMMIT")?;

    // The same pid in a new transaction is not the planned target either.
    let mut holder = Client::connect(cluster, "blk_reuse")?;
    holder.execute("BEGIN; SELECT txid_current();")?;
    let run = runner::on(
        cluster,
        "collect",
        &["-d", "blk_reuse", "-o", &snapshot_arg],
    )?;
    ensure(run.status == 0, || run.describe())?;
    holder.execute("COMMIT; BEGIN; SELECT txid_current();")?;
    let holder_pid = holder.pid.to_string();
    let run = runner::on(
        cluster,
        "sessions",
        &[
            "--snapshot",
            &snapshot_arg,
            "--terminate",
            "--execute",
            "--yes",
            "--pid",
            &holder_pid,
        ],
    )?;
    ensure(run.status == 0, || run.describe())?;
    ensure(
        run.stdout.contains(&format!(
            "pid {holder_pid}: changed, skipped (the session is in another transaction"
        )),
        || run.describe(),
    )?;
    ensure(session_exists(&mut admin, holder.pid)?, || {
        "a session in a new transaction was killed".to_string()
    })
}

fn privileges(cluster: &Cluster) -> Result<(), String> {
    let _exclusive = cluster.exclusive.write().unwrap();
    fresh_database(cluster, "blk_priv")?;
    let mut admin = Client::connect(cluster, "blk_priv")?;
    admin.execute(
        "DROP ROLE IF EXISTS pgvac_blk_watcher; DROP ROLE IF EXISTS pgvac_blk_app;
         CREATE ROLE pgvac_blk_watcher LOGIN PASSWORD 'watcher-pw' IN ROLE pg_monitor;
         CREATE ROLE pgvac_blk_app LOGIN PASSWORD 'app-pw';",
    )?;
    let mut superuser_session = Client::connect(cluster, "blk_priv")?;
    superuser_session.execute("BEGIN; SELECT txid_current();")?;
    let port = cluster.port.to_string();
    let as_watcher = |pid: i32| -> Result<runner::Run, String> {
        let pid = pid.to_string();
        runner::run(
            runner::command()
                .args([
                    "sessions",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port,
                    "-U",
                    "pgvac_blk_watcher",
                ])
                .args([
                    "-d",
                    "blk_priv",
                    "--terminate",
                    "--execute",
                    "--yes",
                    "--pid",
                    &pid,
                ])
                .env("PGPASSWORD", "watcher-pw"),
        )
    };
    let run = as_watcher(superuser_session.pid)?;
    ensure(run.status != 0, || {
        format!(
            "terminating a superuser's session succeeded:\n{}",
            run.describe()
        )
    })?;
    ensure(
        run.stderr.trim().lines().count() == 1 && run.stderr.contains("superuser"),
        || run.describe(),
    )?;
    ensure(session_exists(&mut admin, superuser_session.pid)?, || {
        "the superuser's session was killed".to_string()
    })?;

    let app_url = format!(
        "postgres://pgvac_blk_app:app-pw@127.0.0.1:{}/blk_priv",
        cluster.port
    );
    let mut app = AppSession::connect(&app_url)?;
    app.execute("BEGIN; SELECT txid_current();")?;
    let run = as_watcher(app.pid)?;
    ensure(run.status != 0, || run.describe())?;
    ensure(
        run.stderr.trim().lines().count() == 1 && run.stderr.contains("pg_signal_backend"),
        || run.describe(),
    )?;
    ensure(session_exists(&mut admin, app.pid)?, || {
        "the session was killed without pg_signal_backend".to_string()
    })?;
    ensure(session_exists(&mut admin, superuser_session.pid)?, || {
        "the superuser's session was killed".to_string()
    })?;
    // With the privilege, the same command ends it.
    admin.execute("GRANT pg_signal_backend TO pgvac_blk_watcher")?;
    let run = as_watcher(app.pid)?;
    ensure(run.status == 0, || run.describe())?;
    ensure(
        run.stdout.contains(&format!("pid {}: terminated", app.pid)),
        || run.describe(),
    )
}

/// A session as a password-authenticated role (the test clusters want md5 over TCP for every
/// role but postgres).
struct AppSession {
    client: Client,
    pid: i32,
}

impl AppSession {
    fn connect(url: &str) -> Result<AppSession, String> {
        let client = Client::connect_url(url)?;
        let pid = client.pid;
        Ok(AppSession { client, pid })
    }

    fn execute(&mut self, sql: &str) -> Result<(), String> {
        self.client.execute(sql)
    }
}

/// `pid`'s blocker in a `pgvac sessions` document, if it has one.
fn blocker_of(report: &Value, pid: i32) -> Option<&Value> {
    report["blockers"]
        .as_array()?
        .iter()
        .find(|b| b["holder"]["pid"].as_i64() == Some(pid as i64))
}

/// Wait until `pid` shows in `pg_stat_progress_vacuum`.
fn wait_vacuuming(admin: &mut Client, pid: i32, what: &str) -> Result<(), String> {
    let running = wait_for(Duration::from_secs(60), || {
        Ok(admin.number(&format!(
            "SELECT count(*)::text FROM pg_stat_progress_vacuum WHERE pid = {pid}"
        ))? == 1)
    })?;
    ensure(running, || {
        format!("{what} never showed in pg_stat_progress_vacuum")
    })
}

/// A role without pg_read_all_stats, for what another role's sessions look like to it.
const WATCHER: (&str, &str) = ("pgvac_blk_plain", "plain-pw");

fn sessions_as_watcher(cluster: &Cluster, args: &[&str]) -> Result<Value, String> {
    let port = cluster.port.to_string();
    let run = runner::run(
        runner::command()
            .args([
                "sessions",
                "--format",
                "json",
                "-h",
                "127.0.0.1",
                "-p",
                &port,
            ])
            .args(["-U", WATCHER.0])
            .args(args)
            .env("PGPASSWORD", WATCHER.1),
    )?;
    ensure((0..=2).contains(&run.status), || run.describe())?;
    let document: Value =
        serde_json::from_str(&run.stdout).map_err(|e| format!("JSON: {e}\n{}", run.describe()))?;
    runner::validate(&document, "docs/sessions.schema.json")?;
    Ok(document)
}

/// A slow manual VACUUM in a client session: VACUUM elsewhere removes rows deleted after it
/// began (the server skips PROC_IN_VACUUM), so pgvac lists no blocker for it and --terminate
/// leaves it alone, also as a role that sees it hidden; the same for an autovacuum worker.
fn manual_vacuum(cluster: &Cluster) -> Result<(), String> {
    let _exclusive = cluster.exclusive.write().unwrap();
    let mut worker = table_with_rows(cluster, "blk_vacuum", "")?;
    worker.execute(&format!(
        "DROP ROLE IF EXISTS {0}; CREATE ROLE {0} LOGIN PASSWORD '{1}';
         CREATE TABLE big (id int, pad text) WITH (autovacuum_enabled = false);
         INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 100000) g;
         DELETE FROM big WHERE id % 2 = 0;",
        WATCHER.0, WATCHER.1
    ))?;
    let mut admin = Client::connect(cluster, "blk_vacuum")?;
    let mut vacuumer = Client::connect(cluster, "blk_vacuum")?;
    let pid = vacuumer.pid;
    let thread = std::thread::spawn(move || {
        // VACUUM refuses a multi-statement string (an implicit transaction block).
        let result = vacuumer
            .execute("SET vacuum_cost_delay = 100; SET vacuum_cost_limit = 1;")
            .and_then(|()| vacuumer.execute("VACUUM big"));
        (vacuumer, result)
    });
    let result = (|| -> Result<(), String> {
        wait_vacuuming(&mut admin, pid, "the manual VACUUM")?;
        let started = admin.text(&format!(
            "SELECT backend_xmin::text FROM pg_stat_activity WHERE pid = {pid}"
        ))?;
        // The server's view: rows deleted while it runs are removable.
        worker.execute("DELETE FROM t WHERE id <= 500")?;
        let vacuum = vacuum_verbose(cluster, &mut worker, "t")?;
        ensure(
            vacuum.not_yet_removable == 0 && vacuum.removed >= 500,
            || {
                format!(
                    "the manual VACUUM (xmin {started:?}) held the horizon:\n{}",
                    vacuum.text
                )
            },
        )?;
        let low = [
            "-d",
            "blk_vacuum",
            "--xid-age-warning",
            "1",
            "--xid-age-critical",
            "2",
            "--transaction-threshold",
            "0s",
        ];
        let report = sessions(cluster, &low)?;
        ensure(blocker_of(&report, pid).is_none(), || {
            format!("the manual VACUUM is a blocker: {report:#}")
        })?;
        let hidden = sessions_as_watcher(cluster, &low)?;
        ensure(blocker_of(&hidden, pid).is_none(), || {
            format!("seen hidden, the manual VACUUM is a blocker: {hidden:#}")
        })?;
        let run = runner::on(
            cluster,
            "sessions",
            &[
                "--terminate",
                "--execute",
                "--yes",
                "-d",
                "blk_vacuum",
                "--min-xact-age",
                "0s",
            ],
        )?;
        ensure(
            (0..=2).contains(&run.status) && !run.stdout.contains(&format!("pid {pid}:")),
            || run.describe(),
        )?;
        ensure(session_exists(&mut admin, pid)?, || {
            "the manual VACUUM was terminated".to_string()
        })?;

        // An autovacuum worker kept busy on a slow table, seen hidden.
        admin.execute(
            "CREATE TABLE slow (id int, pad text) WITH (autovacuum_vacuum_cost_delay = 100,
                                                        autovacuum_vacuum_cost_limit = 1);
             INSERT INTO slow SELECT g, repeat('x', 200) FROM generate_series(1, 50000) g;
             DELETE FROM slow;",
        )?;
        let mut worker_pid = None;
        wait_for(Duration::from_secs(60), || {
            worker_pid = admin
                .text(
                    "SELECT max(p.pid)::text FROM pg_stat_progress_vacuum p \
                     JOIN pg_stat_activity a ON a.pid = p.pid \
                     WHERE a.backend_type = 'autovacuum worker' AND p.datname = 'blk_vacuum'",
                )?
                .and_then(|p| p.parse::<i32>().ok());
            Ok(worker_pid.is_some())
        })?;
        let worker_pid = worker_pid.ok_or("no autovacuum worker started on the slow table")?;
        let hidden = sessions_as_watcher(cluster, &low)?;
        ensure(blocker_of(&hidden, worker_pid).is_none(), || {
            format!("seen hidden, the autovacuum worker is a blocker: {hidden:#}")
        })?;
        admin.execute("DROP TABLE slow")
    })();
    let _ = admin.execute(&format!("SELECT pg_cancel_backend({pid})"));
    let (_vacuumer, _) = thread.join().map_err(|_| "vacuum thread panicked")?;
    result
}

/// ANALYZE and VACUUM FULL hold the horizon, on every version: pgvac's first blocker holds
/// VACUUM's cutoff, is named as maintenance, and --terminate ends it only when named.
fn maintenance_holds(cluster: &Cluster) -> Result<(), String> {
    let _exclusive = cluster.exclusive.write().unwrap();
    // VACUUM FULL has an XID before it waits: it logs its AccessExclusiveLock.
    for (database, command, source) in [
        ("blk_analyze", "ANALYZE big", "backend_xmin"),
        ("blk_full", "VACUUM FULL big", "backend_xid"),
    ] {
        let mut worker = table_with_rows(cluster, database, "")?;
        worker.execute(
            "CREATE TABLE big (id int, pad text) WITH (autovacuum_enabled = false);
             INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 100000) g;",
        )?;
        // ANALYZE is slowed by the cost delay; VACUUM FULL waits for a lock held without a
        // snapshot, which it does with one.
        let mut locker = Client::connect(cluster, database)?;
        if command.starts_with("VACUUM FULL") {
            locker.execute("BEGIN; LOCK TABLE big IN ACCESS SHARE MODE;")?;
        }
        let mut runner_session = Client::connect(cluster, database)?;
        let pid = runner_session.pid;
        let thread = std::thread::spawn(move || {
            let result = runner_session
                .execute("SET vacuum_cost_delay = 100; SET vacuum_cost_limit = 1;")
                .and_then(|()| runner_session.execute(command));
            (runner_session, result)
        });
        let mut admin = Client::connect(cluster, database)?;
        let holding = wait_for(Duration::from_secs(30), || {
            Ok(admin
                .text(&format!(
                    "SELECT (state = 'active' AND backend_xmin IS NOT NULL)::text \
                     FROM pg_stat_activity WHERE pid = {pid}"
                ))?
                .as_deref()
                == Some("true"))
        })?;
        ensure(holding, || format!("{command} never held a snapshot"))?;
        let result = oracle(
            cluster,
            &mut worker,
            "long_transaction",
            source,
            &mut |blocker: &Value| {
                ensure(
                    blocker["holder"]["pid"].as_i64() == Some(pid as i64)
                        && blocker["holder"]["activity"] == "maintenance",
                    || format!("{command}: not named as maintenance: {blocker:#}"),
                )?;
                let run = runner::on(
                    cluster,
                    "sessions",
                    &[
                        "--terminate",
                        "--execute",
                        "--yes",
                        "-d",
                        database,
                        "--min-xact-age",
                        "0s",
                    ],
                )?;
                ensure(
                    run.stdout
                        .contains(&format!("pid {pid}: left alone (a maintenance command")),
                    || format!("{command}:\n{}", run.describe()),
                )?;
                fix_session(cluster, pid, blocker)
            },
        );
        let _ = locker.execute("ROLLBACK");
        let (_session, _) = thread.join().map_err(|_| "maintenance thread panicked")?;
        result?;
    }
    Ok(())
}

/// A pg_dump holding its snapshot: named as a backup, not ended by --terminate unless named
/// with --pid. The real pg_dump where the Debian one can dump the server (12-15): its output is
/// never read, so it stalls in the COPY of a big table with its snapshot held; a session that
/// calls itself pg_dump otherwise.
fn pg_dump(cluster: &Cluster) -> Result<(), String> {
    let _exclusive = cluster.exclusive.write().unwrap();
    let mut worker = table_with_rows(cluster, "blk_dump", "")?;
    let mut admin = Client::connect(cluster, "blk_dump")?;
    let pg_dump_bin = std::path::Path::new("/usr/lib/postgresql/15/bin/pg_dump");
    let (mut child, mut fake, kind) = if cluster.major <= 15 {
        ensure(pg_dump_bin.is_file(), || {
            format!(
                "{} is missing: install postgresql-client-15",
                pg_dump_bin.display()
            )
        })?;
        // Far more than the pipe and the socket buffers hold.
        worker.execute(
            "CREATE TABLE big (id int, pad text) WITH (autovacuum_enabled = false);
             INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 200000) g;",
        )?;
        let child = std::process::Command::new(pg_dump_bin)
            .env_clear()
            .env("HOME", "/nonexistent")
            .args(["-h", "127.0.0.1", "-p", &cluster.port.to_string()])
            .args(["-U", "postgres", "-d", "blk_dump", "-t", "big"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("pg_dump: {e}"))?;
        (Some(child), None, "long_transaction")
    } else {
        let mut fake = Client::connect_named(cluster, "blk_dump", "pg_dump")?;
        fake.execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM t;")?;
        (None, Some(fake), "idle_in_transaction")
    };
    let mut dump_pid = None;
    let result = (|| -> Result<(), String> {
        wait_for(Duration::from_secs(30), || {
            dump_pid = admin
                .text(
                    "SELECT max(pid)::text FROM pg_stat_activity WHERE datname = 'blk_dump' \
                     AND application_name = 'pg_dump' AND backend_xmin IS NOT NULL \
                     AND (state = 'idle in transaction' OR query LIKE 'COPY public.big %')",
                )?
                .and_then(|p| p.parse::<i32>().ok());
            Ok(dump_pid.is_some())
        })?;
        let pid = dump_pid.ok_or("pg_dump never held a snapshot")?;
        oracle(
            cluster,
            &mut worker,
            kind,
            "backend_xmin",
            &mut |blocker: &Value| {
                ensure(
                    blocker["holder"]["pid"].as_i64() == Some(pid as i64)
                        && blocker["holder"]["activity"] == "backup"
                        && blocker["identity"]
                            .as_str()
                            .is_some_and(|i| i.contains("a backup")),
                    || format!("pg_dump is not named as a backup: {blocker:#}"),
                )?;
                let run = runner::on(
                    cluster,
                    "sessions",
                    &[
                        "--terminate",
                        "--execute",
                        "--yes",
                        "-d",
                        "blk_dump",
                        "--min-xact-age",
                        "0s",
                    ],
                )?;
                ensure(
                    run.stdout
                        .contains(&format!("pid {pid}: left alone (a backup (pg_dump)")),
                    || run.describe(),
                )?;
                ensure(session_exists(&mut admin, pid)?, || {
                    "--terminate without --pid ended the pg_dump".to_string()
                })?;
                let pid_text = pid.to_string();
                let run = runner::on(
                    cluster,
                    "sessions",
                    &["--terminate", "--execute", "--yes", "--pid", &pid_text],
                )?;
                ensure(
                    run.status == 0 && run.stdout.contains(&format!("pid {pid}: terminated")),
                    || run.describe(),
                )?;
                wait_gone(&mut admin, pid)
            },
        )
    })();
    if let Some(child) = child.as_mut() {
        let _ = child.kill();
        let _ = child.wait();
    }
    fake.take();
    result
}
