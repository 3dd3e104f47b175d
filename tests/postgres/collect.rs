//! `pgvac collect` against real servers: the states the tests create must show in the snapshot.

use std::time::Duration;

use pgvac::snapshot::{Persistence, Snapshot, Table, TempOwner, Visit};

use crate::TestFn;
use crate::client::Client;
use crate::cluster::{Cluster, wait_for};
use crate::runner;

pub const TESTS: &[(&str, TestFn)] = &[
    (
        "collect_dead_rows_of_a_table_with_autovacuum_off",
        dead_rows,
    ),
    ("collect_parses_table_and_toast_reloptions", reloptions),
    (
        "collect_reads_every_relation_as_pg_stat_all_tables_shows_it",
        same_as_the_view,
    ),
    ("collect_names_the_owner_of_a_temp_table", temp_table_owner),
    (
        "collect_shows_idle_in_transaction_xmin_age",
        idle_in_transaction,
    ),
    (
        "collect_shows_prepared_transactions_and_logical_slots",
        prepared_and_slot,
    ),
    ("collect_visits_the_whole_cluster", whole_cluster),
    (
        "collect_statement_count_does_not_grow_with_tables",
        statement_count,
    ),
    (
        "collect_with_pg_monitor_is_complete_and_without_grants_warns",
        privileges,
    ),
    (
        "collect_without_pg_monitor_degrades_on_another_roles_vacuum",
        hidden_vacuum,
    ),
    ("collect_rejects_bad_input_with_one_line", bad_input),
    ("collect_verifies_the_server_certificate", tls),
];

pub const UNSUPPORTED_TESTS: &[(&str, TestFn)] = &[(
    "collect_refuses_an_unsupported_version",
    unsupported_version,
)];

/// A new, empty database for one test.
pub fn fresh_database(cluster: &Cluster, name: &str) -> Result<(), String> {
    let mut admin = Client::connect(cluster, "postgres")?;
    admin.execute(&format!("DROP DATABASE IF EXISTS {name}"))?;
    admin.execute(&format!("CREATE DATABASE {name}"))
}

pub fn table<'s>(snapshot: &'s Snapshot, database: &str, name: &str) -> Result<&'s Table, String> {
    snapshot
        .database(database)
        .ok_or_else(|| format!("database {database} missing from the snapshot"))?
        .tables
        .iter()
        .find(|t| t.name == name && t.schema == "public")
        .ok_or_else(|| format!("table {name} missing from the snapshot of {database}"))
}

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}

/// Wait until the server's statistics show what the test did. They are flushed asynchronously:
/// on 15+ an idle backend that flushed less than a second ago retries only after 10 s, so the
/// bound leaves room for a loaded machine.
pub fn wait_for_stat(client: &mut Client, sql: &str, expected: i64) -> Result<(), String> {
    let seen = wait_for(Duration::from_secs(30), || {
        client.execute("SELECT pg_stat_clear_snapshot()")?;
        Ok(client.number(sql)? == expected)
    })?;
    ensure(seen, || {
        format!("statistics never showed {expected} for: {sql}")
    })
}

fn dead_rows(cluster: &Cluster) -> Result<(), String> {
    let _shared = cluster.exclusive.read().unwrap();
    fresh_database(cluster, "collect_dead")?;
    let mut client = Client::connect(cluster, "collect_dead")?;
    client.execute(
        "CREATE TABLE churn (id int PRIMARY KEY, payload text) WITH (autovacuum_enabled = false);
         INSERT INTO churn SELECT g, 'row ' || g FROM generate_series(1, 5000) g;
         DELETE FROM churn WHERE id <= 1000;",
    )?;
    wait_for_stat(
        &mut client,
        "SELECT n_dead_tup::text FROM pg_stat_user_tables WHERE relname = 'churn'",
        1000,
    )?;
    let snapshot = runner::collect(cluster, "collect_dead")?;
    let churn = table(&snapshot, "collect_dead", "churn")?;
    let stats = churn.stats.as_ref().ok_or("churn has no statistics")?;
    ensure(stats.n_dead_tup == Some(1000), || {
        format!("n_dead_tup: {:?}", stats.n_dead_tup)
    })?;
    ensure(stats.n_tup_del == Some(1000), || {
        format!("n_tup_del: {:?}", stats.n_tup_del)
    })?;
    ensure(churn.options.autovacuum_enabled == Some(false), || {
        format!("autovacuum_enabled: {:?}", churn.options)
    })?;
    ensure(churn.index_count == 1 && churn.index_bytes > 0, || {
        format!(
            "indexes: {} / {} bytes",
            churn.index_count, churn.index_bytes
        )
    })?;
    // Version-gated columns: present exactly on the versions that have them.
    ensure(
        stats.n_ins_since_vacuum.is_some() == (cluster.major >= 13),
        || {
            format!(
                "n_ins_since_vacuum on {}: {:?}",
                cluster.major, stats.n_ins_since_vacuum
            )
        },
    )?;
    ensure(
        stats.n_tup_newpage_upd.is_some() == (cluster.major >= 16),
        || {
            format!(
                "n_tup_newpage_upd on {}: {:?}",
                cluster.major, stats.n_tup_newpage_upd
            )
        },
    )?;
    ensure(
        stats.total_vacuum_time.is_some() == (cluster.major >= 18),
        || {
            format!(
                "total_vacuum_time on {}: {:?}",
                cluster.major, stats.total_vacuum_time
            )
        },
    )?;
    ensure(
        churn.relallfrozen.is_some() == (cluster.major >= 18),
        || {
            format!(
                "relallfrozen on {}: {:?}",
                cluster.major, churn.relallfrozen
            )
        },
    )?;
    ensure(churn.xid_age.is_some_and(|a| a >= 0), || {
        format!("xid_age {:?}", churn.xid_age)
    })?;
    let db = snapshot.database("collect_dead").unwrap();
    ensure(
        db.visit == Visit::Visited && db.collected_at.is_some(),
        || format!("visit {:?}", db.visit),
    )
}

fn reloptions(cluster: &Cluster) -> Result<(), String> {
    let _shared = cluster.exclusive.read().unwrap();
    fresh_database(cluster, "collect_relopts")?;
    let mut client = Client::connect(cluster, "collect_relopts")?;
    client.execute(
        "CREATE TABLE tuned (id int, body text)
           WITH (autovacuum_vacuum_scale_factor = 0.01, toast.autovacuum_vacuum_threshold = 5000,
                 autovacuum_freeze_max_age = 100000000, fillfactor = 90);
         CREATE TABLE plain (id int);",
    )?;
    let snapshot = runner::collect(cluster, "collect_relopts")?;
    let tuned = table(&snapshot, "collect_relopts", "tuned")?;
    ensure(
        tuned.options.autovacuum_vacuum_scale_factor == Some(0.01),
        || format!("scale factor: {:?}", tuned.options),
    )?;
    ensure(
        tuned.options.autovacuum_freeze_max_age == Some(100_000_000),
        || format!("freeze max age: {:?}", tuned.options),
    )?;
    ensure(
        tuned.reloptions.iter().any(|o| o == "fillfactor=90"),
        || format!("raw reloptions: {:?}", tuned.reloptions),
    )?;
    let toast = tuned.toast.as_ref().ok_or("tuned has no TOAST table")?;
    ensure(
        toast.options.autovacuum_vacuum_threshold == Some(5000),
        || format!("toast options: {:?}", toast.options),
    )?;
    ensure(tuned.options.autovacuum_vacuum_threshold.is_none(), || {
        "the toast.* threshold leaked into the table's own options".to_string()
    })?;
    // The TOAST table is its own entry too, pointing back at its owner.
    let db = snapshot.database("collect_relopts").unwrap();
    let toast_entry = db
        .tables
        .iter()
        .find(|t| t.oid == toast.oid)
        .ok_or("TOAST table missing as an entry")?;
    ensure(toast_entry.owner_oid == Some(tuned.oid), || {
        format!("TOAST owner {:?}", toast_entry.owner_oid)
    })?;
    let plain = table(&snapshot, "collect_relopts", "plain")?;
    ensure(
        plain.options.is_empty() && plain.reloptions.is_empty(),
        || format!("plain options: {:?}", plain.options),
    )
}

fn temp_table_owner(cluster: &Cluster) -> Result<(), String> {
    let _shared = cluster.exclusive.read().unwrap();
    fresh_database(cluster, "collect_temp")?;
    // Sessions that come and go first, so a backend slot below the owner's is freed: this is
    // what makes pg_stat_get_backend_pid() name the wrong session on 12-15.
    let early = Client::connect(cluster, "collect_temp")?;
    let mut owner = Client::connect(cluster, "collect_temp")?;
    early.close();
    owner.execute("CREATE TEMP TABLE scratch (id int); INSERT INTO scratch VALUES (1);")?;

    let find = |snapshot: &Snapshot| -> Result<TempOwner, String> {
        let db = snapshot.database("collect_temp").ok_or("no collect_temp")?;
        let schema = db
            .temp_schemas
            .iter()
            .find(|s| {
                s.table_oids.iter().any(|oid| {
                    db.tables
                        .iter()
                        .any(|t| t.oid == *oid && t.name == "scratch")
                })
            })
            .ok_or_else(|| format!("no temp schema holds scratch: {:?}", db.temp_schemas))?;
        let scratch = db.tables.iter().find(|t| t.name == "scratch").unwrap();
        ensure(scratch.persistence == Persistence::Temporary, || {
            format!("scratch persistence {:?}", scratch.persistence)
        })?;
        Ok(schema.owner.clone())
    };

    // Outside a transaction nothing proves the owner: on 16+ the session with the schema's
    // backend id is named as a candidate, on 12-15 its id cannot even be read.
    let idle = find(&runner::collect(cluster, "collect_temp")?)?;
    let candidate = idle.candidate().map(|c| c.pid);
    let expected = (cluster.major >= 16).then_some(owner.pid);
    ensure(idle.known_pid().is_none() && candidate == expected, || {
        format!(
            "idle owner: {idle:?}, expected unknown with candidate {expected:?} on {}",
            cluster.major
        )
    })?;

    // In a transaction that used the table, but the table has no index: a lock on the table
    // itself proves nothing (any session can take one), so still a candidate, on every version.
    owner.execute("BEGIN; SELECT count(*) FROM scratch;")?;
    let table_lock = find(&runner::collect(cluster, "collect_temp")?)?;
    owner.execute("COMMIT")?;
    ensure(
        table_lock.known_pid().is_none()
            && table_lock.candidate().map(|c| c.pid) == Some(owner.pid),
        || format!("owner holding a table lock: {table_lock:?}"),
    )?;

    // With a btree index read in a transaction the owner is now idle in: proven, with the
    // identity a terminate statement rechecks.
    owner.execute("CREATE INDEX ON scratch (id)")?;
    owner.execute("BEGIN; SELECT count(*) FROM scratch;")?;
    let backend_start = owner.text(
        "SELECT to_json(backend_start)::text FROM pg_stat_activity WHERE pid = pg_backend_pid()",
    )?;
    let busy = find(&runner::collect(cluster, "collect_temp")?)?;
    owner.execute("COMMIT")?;
    match &busy {
        TempOwner::Known {
            pid,
            source,
            backend_start: Some(start),
            proof,
        } if *pid == owner.pid && source == "index_lock" && proof.contains("btree index") => {
            let server: Option<chrono::DateTime<chrono::Utc>> = backend_start
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| e.to_string())?;
            ensure(server == Some(*start), || {
                format!("backend_start {start}, the server says {backend_start:?}")
            })
        }
        other => Err(format!(
            "owner idle in transaction after reading its indexed table: {other:?}, expected \
             known pid {}",
            owner.pid
        )),
    }
}

fn idle_in_transaction(cluster: &Cluster) -> Result<(), String> {
    let _exclusive = cluster.exclusive.write().unwrap();
    fresh_database(cluster, "collect_idle")?;
    let mut holder = Client::connect(cluster, "collect_idle")?;
    holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1;")?;
    let xmin = holder.number(&format!(
        "SELECT backend_xmin::text FROM pg_stat_activity WHERE pid = {}",
        holder.pid
    ))?;
    let mut worker = Client::connect(cluster, "collect_idle")?;
    worker.execute("CREATE TABLE t (id int)")?;
    for i in 0..20 {
        worker.execute(&format!("INSERT INTO t VALUES ({i})"))?;
    }
    let snapshot = runner::collect(cluster, "collect_idle")?;
    holder.execute("ROLLBACK")?;
    let session = snapshot
        .sessions
        .iter()
        .find(|s| s.pid == holder.pid)
        .ok_or("the idle-in-transaction session is missing")?;
    ensure(
        session.state.as_deref() == Some("idle in transaction"),
        || format!("state {:?}", session.state),
    )?;
    ensure(session.backend_xmin == Some(xmin), || {
        format!(
            "backend_xmin {:?}, server says {xmin}",
            session.backend_xmin
        )
    })?;
    // 21 transactions took an XID since the snapshot was taken.
    ensure(
        session.backend_xmin_age.is_some_and(|age| age >= 21),
        || format!("backend_xmin_age {:?}", session.backend_xmin_age),
    )?;
    ensure(
        session.xact_start.is_some() && session.state_change.is_some(),
        || "xact_start/state_change missing".to_string(),
    )
}

fn prepared_and_slot(cluster: &Cluster) -> Result<(), String> {
    let _exclusive = cluster.exclusive.write().unwrap();
    fresh_database(cluster, "collect_holders")?;
    let mut client = Client::connect(cluster, "collect_holders")?;
    client.execute("CREATE TABLE t (id int)")?;
    client.execute("SELECT pg_create_logical_replication_slot('pgvac_test_slot', 'pgoutput')")?;
    client.execute("BEGIN; INSERT INTO t VALUES (1); PREPARE TRANSACTION 'pgvac test gid';")?;
    for i in 0..10 {
        client.execute(&format!("INSERT INTO t VALUES ({i})"))?;
    }
    let result = runner::collect(cluster, "collect_holders");
    client.execute("ROLLBACK PREPARED 'pgvac test gid'")?;
    client.execute("SELECT pg_drop_replication_slot('pgvac_test_slot')")?;
    let snapshot = result?;
    let prepared = snapshot
        .prepared_transactions
        .iter()
        .find(|p| p.gid == "pgvac test gid")
        .ok_or("prepared transaction missing")?;
    ensure(
        prepared.database == "collect_holders" && prepared.owner == "postgres",
        || format!("{prepared:?}"),
    )?;
    ensure(prepared.xid_age >= 10, || {
        format!("prepared xid_age {}", prepared.xid_age)
    })?;
    let slot = snapshot
        .replication_slots
        .iter()
        .find(|s| s.slot_name == "pgvac_test_slot")
        .ok_or("slot missing")?;
    ensure(slot.slot_type == "logical" && !slot.active, || {
        format!("{slot:?}")
    })?;
    ensure(slot.catalog_xmin_age.is_some_and(|a| a >= 10), || {
        format!("catalog_xmin_age {:?}", slot.catalog_xmin_age)
    })?;
    ensure(slot.wal_status.is_some() == (cluster.major >= 13), || {
        format!("wal_status on {}: {:?}", cluster.major, slot.wal_status)
    })
}

fn whole_cluster(cluster: &Cluster) -> Result<(), String> {
    let _exclusive = cluster.exclusive.write().unwrap();
    fresh_database(cluster, "collect_invalid")?;
    let mut admin = Client::connect(cluster, "postgres")?;
    // What an interrupted DROP DATABASE leaves behind.
    admin.execute("UPDATE pg_database SET datconnlimit = -2 WHERE datname = 'collect_invalid'")?;
    let run = runner::on(cluster, "collect", &[]);
    admin.execute("UPDATE pg_database SET datconnlimit = -1 WHERE datname = 'collect_invalid'")?;
    admin.execute("DROP DATABASE collect_invalid")?;
    let run = run?;
    ensure(run.status == 0, || run.describe())?;
    let snapshot: Snapshot = serde_json::from_str(&run.stdout).map_err(|e| e.to_string())?;
    ensure(snapshot.server.major() == cluster.major as i32, || {
        format!("server major {}", snapshot.server.major())
    })?;
    ensure(snapshot.server.connected_database == "postgres", || {
        format!("first database {}", snapshot.server.connected_database)
    })?;
    // pgvac's session is read-only, repeatable read, named and bounded by the default timeouts.
    let session = &snapshot.server.session;
    ensure(
        session.application_name == "pgvac"
            && session.default_transaction_read_only == "on"
            && session.transaction_read_only == "on"
            && session.transaction_isolation == "repeatable read"
            && session.statement_timeout == "30s"
            && session.lock_timeout == "1s",
        || format!("session settings: {session:?}"),
    )?;
    for name in ["postgres", "template1"] {
        let db = snapshot.database(name).ok_or(format!("{name} missing"))?;
        ensure(db.visit == Visit::Visited && !db.tables.is_empty(), || {
            format!("{name}: {:?}, {} tables", db.visit, db.tables.len())
        })?;
    }
    let template0 = snapshot.database("template0").ok_or("template0 missing")?;
    ensure(
        matches!(template0.visit, Visit::Skipped(_)) && template0.xid_age > 0,
        || format!("template0: {:?} age {}", template0.visit, template0.xid_age),
    )?;
    let invalid = snapshot
        .database("collect_invalid")
        .ok_or("the invalid database is missing")?;
    ensure(
        invalid.is_invalid() && matches!(invalid.visit, Visit::Skipped(_)),
        || format!("invalid database: {:?}", invalid.visit),
    )?;
    // The next XID is read, not assigned: two runs in a row see the same value when nothing
    // else writes, and pgvac never takes an XID itself.
    let first = runner::collect(cluster, "postgres")?.server.next_xid;
    let second = runner::collect(cluster, "postgres")?.server.next_xid;
    ensure(first == second, || {
        format!("next_xid moved from {first} to {second} between two read-only runs")
    })?;
    // --exclude-db leaves a database out.
    let run = runner::on(cluster, "collect", &["--exclude-db", "template1"])?;
    let snapshot: Snapshot = serde_json::from_str(&run.stdout).map_err(|e| e.to_string())?;
    let template1 = snapshot.database("template1").unwrap();
    ensure(matches!(template1.visit, Visit::Skipped(_)), || {
        format!("excluded template1: {:?}", template1.visit)
    })
}

/// Statements pgvac sent to `database`, counted from the server log: `log_statement = all`
/// logs a simple-protocol query as `statement:` and an extended-protocol one at its
/// `execute`.
fn statements_logged(cluster: &Cluster, database: &str) -> usize {
    let simple = format!(" pgvac@{database} LOG:  statement:");
    let extended = format!(" pgvac@{database} LOG:  execute ");
    cluster
        .log()
        .lines()
        .filter(|l| l.contains(&simple) || l.contains(&extended))
        .count()
}

fn statement_count(cluster: &Cluster) -> Result<(), String> {
    // Exclusive: another test visiting every database would add its statements to the count.
    let _exclusive = cluster.exclusive.write().unwrap();
    fresh_database(cluster, "collect_counted")?;
    let mut admin = Client::connect(cluster, "postgres")?;
    admin.execute("ALTER DATABASE collect_counted SET log_statement = 'all'")?;
    let mut client = Client::connect(cluster, "collect_counted")?;
    client.execute(
        "DO $$ BEGIN FOR i IN 1..10 LOOP
             EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v text)', i);
         END LOOP; END $$;",
    )?;
    let before = statements_logged(cluster, "collect_counted");
    let small = runner::collect(cluster, "collect_counted")?;
    let with_10 = statements_logged(cluster, "collect_counted") - before;
    client.execute(
        "DO $$ BEGIN FOR i IN 11..1000 LOOP
             EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v text)', i);
         END LOOP; END $$;",
    )?;
    let before = statements_logged(cluster, "collect_counted");
    let large = runner::collect(cluster, "collect_counted")?;
    let with_1000 = statements_logged(cluster, "collect_counted") - before;
    let user_tables = |s: &Snapshot| {
        s.database("collect_counted")
            .map(|d| d.tables.iter().filter(|t| t.schema == "public").count())
            .unwrap_or(0)
    };
    ensure(
        user_tables(&small) == 10 && user_tables(&large) == 1000,
        || {
            format!(
                "tables seen: {} and {}",
                user_tables(&small),
                user_tables(&large)
            )
        },
    )?;
    ensure(with_10 > 0 && with_10 == with_1000, || {
        format!("statements sent: {with_10} with 10 tables, {with_1000} with 1000")
    })?;
    eprintln!(
        "pg{}: pgvac sent {with_10} statements to a database of 10 tables and {with_1000} to one of 1000",
        cluster.major
    );
    Ok(())
}

fn privileges(cluster: &Cluster) -> Result<(), String> {
    let _shared = cluster.exclusive.read().unwrap();
    let mut admin = Client::connect(cluster, "postgres")?;
    admin.execute(
        "DROP ROLE IF EXISTS pgvac_monitor; DROP ROLE IF EXISTS pgvac_plain;
         CREATE ROLE pgvac_monitor LOGIN PASSWORD 'monitor-pw' IN ROLE pg_monitor;
         CREATE ROLE pgvac_plain LOGIN PASSWORD 'plain-pw';",
    )?;
    // A database the plain role may not connect to: a warning, not an abort.
    fresh_database(cluster, "collect_private")?;
    admin.execute("REVOKE CONNECT ON DATABASE collect_private FROM PUBLIC")?;
    // Another role's session with an open transaction, for the plain role not to see.
    let mut other = Client::connect(cluster, "postgres")?;
    other.execute("BEGIN; SELECT 1;")?;
    let as_role = |user: &str, password: &str| -> Result<Snapshot, String> {
        let port = cluster.port.to_string();
        let run = runner::run(
            runner::command()
                .args([
                    "collect",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port,
                    "-U",
                    user,
                    "-d",
                    "postgres",
                    "-d",
                    "collect_private",
                ])
                .env("PGPASSWORD", password),
        )?;
        ensure(run.status == 0, || format!("{user}: {}", run.describe()))?;
        serde_json::from_str(&run.stdout).map_err(|e| e.to_string())
    };
    let monitor = as_role("pgvac_monitor", "monitor-pw")?;
    let plain = as_role("pgvac_plain", "plain-pw")?;
    other.execute("COMMIT")?;
    let private_warnings = |s: &Snapshot| {
        s.warnings
            .iter()
            .filter(|w| w.database.as_deref() == Some("collect_private"))
            .count()
    };
    ensure(
        monitor.warnings.len() == private_warnings(&monitor) && private_warnings(&monitor) == 1,
        || {
            format!(
                "pg_monitor should only miss collect_private: {:?}",
                monitor.warnings
            )
        },
    )?;
    ensure(monitor.role.pg_monitor && !monitor.role.superuser, || {
        format!("{:?}", monitor.role)
    })?;
    let seen = monitor
        .sessions
        .iter()
        .find(|s| s.pid == other.pid)
        .ok_or("pg_monitor does not see the other session")?;
    ensure(
        !seen.redacted && seen.state.as_deref() == Some("idle in transaction"),
        || format!("pg_monitor sees {seen:?}"),
    )?;
    ensure(
        !monitor.databases.iter().all(|d| d.tables.is_empty()),
        || "pg_monitor saw no tables".to_string(),
    )?;

    ensure(
        !plain.role.pg_monitor && !plain.role.pg_read_all_stats,
        || format!("{:?}", plain.role),
    )?;
    let hidden = plain
        .sessions
        .iter()
        .find(|s| s.pid == other.pid)
        .ok_or("the plain role does not see the other session at all")?;
    ensure(hidden.redacted && hidden.state.is_none(), || {
        format!("plain role sees {hidden:?}")
    })?;
    let warning = plain
        .warnings
        .iter()
        .find(|w| w.source == "pg_stat_activity")
        .ok_or_else(|| format!("no pg_stat_activity warning: {:?}", plain.warnings))?;
    ensure(warning.message.contains("pg_monitor"), || {
        warning.message.clone()
    })?;
    ensure(
        plain
            .database("postgres")
            .is_some_and(|d| !d.tables.is_empty()),
        || "the plain role saw no tables".to_string(),
    )
}

/// A role without pg_monitor sees another role's running vacuum with its table hidden (relid
/// is NULL): a degraded source with a note naming the grant, not a failure.
fn hidden_vacuum(cluster: &Cluster) -> Result<(), String> {
    let _shared = cluster.exclusive.read().unwrap();
    fresh_database(cluster, "collect_vacuum")?;
    let mut admin = Client::connect(cluster, "collect_vacuum")?;
    admin.execute(
        "DROP ROLE IF EXISTS pgvac_nomon; CREATE ROLE pgvac_nomon LOGIN PASSWORD 'nomon-pw';
         CREATE TABLE big (id int, pad text) WITH (autovacuum_enabled = false);
         INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g;
         DELETE FROM big WHERE id % 2 = 0;",
    )?;
    // A vacuum slowed to a crawl (one page per 100 ms), in a thread of its own.
    let vacuum = std::thread::spawn({
        let port = cluster.port;
        move || -> Result<(), String> {
            let mut session = Client::connect_at(port, "postgres", "collect_vacuum")?;
            session.execute("SET vacuum_cost_delay = 100; SET vacuum_cost_limit = 1;")?;
            // Cancelled by the test once pgvac has seen it.
            let _ = session.execute("VACUUM big");
            Ok(())
        }
    });
    let running = wait_for(Duration::from_secs(30), || {
        Ok(admin.number(
            "SELECT count(*)::text FROM pg_stat_progress_vacuum p
             JOIN pg_database d ON d.oid = p.datid WHERE d.datname = 'collect_vacuum'",
        )? > 0)
    })?;
    let port = cluster.port.to_string();
    let run = runner::run(
        runner::command()
            .args([
                "collect",
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "pgvac_nomon",
                "-d",
                "postgres",
            ])
            .env("PGPASSWORD", "nomon-pw"),
    );
    admin.execute(
        "SELECT pg_cancel_backend(pid) FROM pg_stat_progress_vacuum p
         JOIN pg_database d ON d.oid = p.datid WHERE d.datname = 'collect_vacuum'",
    )?;
    let _ = vacuum.join();
    ensure(running, || "the slowed VACUUM never showed".to_string())?;
    let run = run?;
    ensure(run.status == 0, || run.describe())?;
    let snapshot: Snapshot = serde_json::from_str(&run.stdout).map_err(|e| e.to_string())?;
    ensure(snapshot.is_complete(), || {
        format!("missing: {:?}", snapshot.missing)
    })?;
    let hidden = snapshot
        .running_vacuums
        .iter()
        .find(|v| v.database.as_deref() == Some("collect_vacuum"))
        .ok_or_else(|| format!("the vacuum is missing: {:?}", snapshot.running_vacuums))?;
    ensure(
        hidden.relid.is_none() && hidden.is_autovacuum.is_none(),
        || format!("{hidden:?}"),
    )?;
    let note = snapshot
        .warnings
        .iter()
        .find(|w| w.source == "pg_stat_progress_vacuum")
        .ok_or_else(|| format!("no note: {:?}", snapshot.warnings))?;
    ensure(note.message.contains("GRANT pg_monitor"), || {
        note.message.clone()
    })
}

fn bad_input(cluster: &Cluster) -> Result<(), String> {
    let _shared = cluster.exclusive.read().unwrap();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let output = dir.path().join("snapshot.json");
    let out = output.to_str().unwrap();
    let port = cluster.port.to_string();
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        listener.local_addr().unwrap().port().to_string()
    };
    // A port that accepts TCP connections but never answers: the connect timeout must end it.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let silent_port = silent
        .local_addr()
        .map_err(|e| e.to_string())?
        .port()
        .to_string();
    let mut admin = Client::connect(cluster, "postgres")?;
    admin.execute(
        "DROP ROLE IF EXISTS pgvac_pw; CREATE ROLE pgvac_pw LOGIN PASSWORD 'right-password';",
    )?;
    let cases: Vec<(&str, Vec<String>, Option<&str>, &str)> = vec![
        (
            "malformed connection string",
            vec!["host=127.0.0.1 port".into()],
            None,
            "invalid connection string",
        ),
        (
            "refused port",
            vec![
                "-h".into(),
                "127.0.0.1".into(),
                "-p".into(),
                closed_port.clone(),
            ],
            None,
            "could not connect",
        ),
        (
            "silent server",
            vec![
                "-h".into(),
                "127.0.0.1".into(),
                "-p".into(),
                silent_port.clone(),
                "--connect-timeout".into(),
                "2s".into(),
            ],
            None,
            "no answer within 2 s",
        ),
        (
            "wrong password",
            vec![format!(
                "postgres://pgvac_pw:wrong-password@127.0.0.1:{port}/postgres"
            )],
            None,
            "password authentication failed",
        ),
        (
            "wrong password from PGPASSWORD",
            vec![
                "-h".into(),
                "127.0.0.1".into(),
                "-p".into(),
                port.clone(),
                "-U".into(),
                "pgvac_pw".into(),
            ],
            Some("wrong-password"),
            "password authentication failed",
        ),
        (
            "missing database",
            vec![
                "-h".into(),
                "127.0.0.1".into(),
                "-p".into(),
                port.clone(),
                "-U".into(),
                "postgres".into(),
                "-d".into(),
                "no_such_db".into(),
            ],
            None,
            "does not exist",
        ),
    ];
    for (what, args, password, expected) in cases {
        let mut command = runner::command();
        command.arg("collect").args(&args).args(["-o", out]);
        if let Some(password) = password {
            command.env("PGPASSWORD", password);
        }
        let run = runner::run(&mut command)?;
        ensure(run.status == 3, || format!("{what}: {}", run.describe()))?;
        let lines: Vec<&str> = run.stderr.lines().collect();
        ensure(
            lines.len() == 1
                && lines[0].starts_with("pgvac: error: ")
                && lines[0].contains(expected),
            || {
                format!(
                    "{what}: stderr should be one line containing {expected:?}: {}",
                    run.describe()
                )
            },
        )?;
        ensure(!run.stderr.contains("wrong-password"), || {
            format!("{what}: the password appears in the error")
        })?;
        ensure(run.stdout.is_empty(), || {
            format!("{what}: stdout not empty")
        })?;
        ensure(!runner::exists(&output), || {
            format!("{what}: {out} was written")
        })?;
        ensure(
            std::fs::read_dir(dir.path())
                .map(|d| d.count())
                .unwrap_or(0)
                == 0,
            || format!("{what}: a temporary file was left behind"),
        )?;
    }
    // And the same flags with the right password do write the file.
    let run = runner::run(
        runner::command()
            .args([
                "collect",
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "pgvac_pw",
                "-d",
                "postgres",
                "-o",
                out,
            ])
            .env("PGPASSWORD", "right-password"),
    )?;
    ensure(run.status == 0 && run.stdout.is_empty(), || run.describe())?;
    let written: Snapshot =
        serde_json::from_str(&std::fs::read_to_string(&output).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    ensure(!written.to_owned().databases.is_empty(), || {
        "the written snapshot has no databases".to_string()
    })?;
    let text = std::fs::read_to_string(&output).unwrap_or_default();
    ensure(!text.contains("right-password"), || {
        "the password appears in the snapshot".to_string()
    })
}

fn unsupported_version(cluster: &Cluster) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let output = dir.path().join("snapshot.json");
    let run = runner::on(cluster, "collect", &["-o", output.to_str().unwrap()])?;
    ensure(run.status == 3, || run.describe())?;
    let lines: Vec<&str> = run.stderr.lines().collect();
    let expected_version = format!("PostgreSQL {}", cluster.major);
    ensure(
        lines.len() == 1
            && lines[0].contains(&expected_version)
            && lines[0].contains("needs PostgreSQL 12 or newer"),
        || {
            format!(
                "stderr should name the version and the minimum: {}",
                run.describe()
            )
        },
    )?;
    ensure(!output.exists(), || {
        "an output file was written".to_string()
    })
}

fn tls(cluster: &Cluster) -> Result<(), String> {
    let _shared = cluster.exclusive.read().unwrap();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    // A CA that did not sign the server's certificate.
    let stranger = dir.path().join("stranger.crt");
    let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
    let mut params =
        rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
    std::fs::write(&stranger, cert.pem()).map_err(|e| e.to_string())?;

    let conninfo = |sslmode: &str, root: &std::path::Path| {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode={sslmode} sslrootcert='{}'",
            cluster.port,
            root.display()
        )
    };
    let ca = cluster.ca_path();
    for sslmode in ["verify-full", "verify-ca", "require", "disable"] {
        let run = runner::run(runner::command().args([
            "collect",
            &conninfo(sslmode, &ca),
            "-d",
            "postgres",
        ]))?;
        ensure(run.status == 0, || {
            format!("sslmode={sslmode}: {}", run.describe())
        })?;
    }
    // The same as a URL, and with the root certificate from PGSSLROOTCERT.
    let url = format!(
        "postgres://postgres@127.0.0.1:{}/postgres?sslmode=verify-full",
        cluster.port
    );
    let run = runner::run(
        runner::command()
            .args(["collect", &url])
            .env("PGSSLROOTCERT", &ca),
    )?;
    ensure(run.status == 0, || {
        format!("URL with PGSSLROOTCERT: {}", run.describe())
    })?;
    // A certificate from another CA is refused, in one line.
    let run =
        runner::run(runner::command().args(["collect", &conninfo("verify-full", &stranger)]))?;
    ensure(
        run.status == 3
            && run.stderr.lines().count() == 1
            && run.stderr.contains("could not connect"),
        || format!("verify-full against the wrong CA: {}", run.describe()),
    )?;
    ensure(run.stdout.is_empty(), || {
        "output despite a failed verification".to_string()
    })
}

/// The tables source as pgvac read it before it read plain columns: `pg_class` joined with the
/// `pg_stat_all_tables` view, one JSON object per relation. The test reads it itself, as the
/// oracle for every field of every relation of its schema (and their TOAST tables).
const VIEW_ORACLE: &str = "
SELECT coalesce(json_agg(row_to_json(t) ORDER BY t.oid), '[]')::text
FROM (
    SELECT c.oid::bigint AS oid,
           n.nspname AS schema,
           c.relname AS name,
           c.relkind::text AS relkind,
           c.relpersistence::text AS relpersistence,
           c.reltuples::float8 AS reltuples,
           c.relpages::bigint AS relpages,
           c.relallvisible::bigint AS relallvisible,
           (to_jsonb(c) ->> 'relallfrozen')::bigint AS relallfrozen,
           c.relpages::bigint * current_setting('block_size')::bigint AS heap_bytes,
           CASE WHEN c.relfrozenxid <> '0'::xid THEN age(c.relfrozenxid) END AS xid_age,
           CASE WHEN c.relminmxid <> '0'::xid THEN mxid_age(c.relminmxid) END AS mxid_age,
           c.reloptions,
           tc.oid::bigint AS toast_oid,
           CASE WHEN tc.relfrozenxid <> '0'::xid THEN age(tc.relfrozenxid) END AS toast_xid_age,
           CASE WHEN tc.relminmxid <> '0'::xid THEN mxid_age(tc.relminmxid) END AS toast_mxid_age,
           tc.relpages::bigint AS toast_relpages,
           tc.reloptions AS toast_reloptions,
           owner.oid::bigint AS owner_oid,
           to_jsonb(s) AS stats,
           coalesce(ix.index_count, 0) AS index_count,
           coalesce(ix.index_bytes, 0) AS index_bytes
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_class tc ON tc.oid = c.reltoastrelid
    LEFT JOIN pg_class owner ON c.relkind = 't' AND owner.reltoastrelid = c.oid
    LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
    LEFT JOIN (
        SELECT i.indrelid,
               count(*) AS index_count,
               sum(ic.relpages::bigint) * current_setting('block_size')::bigint AS index_bytes
        FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid
        GROUP BY i.indrelid
    ) ix ON ix.indrelid = c.oid
    WHERE c.relkind IN ('r', 'm', 't', 'p')
      AND (n.nspname = 'public' OR owner.relnamespace = 'public'::regnamespace)
) t";

/// One relation as the view oracle gives it.
#[derive(serde::Deserialize)]
struct OracleRow {
    oid: u32,
    schema: String,
    name: String,
    relkind: String,
    relpersistence: String,
    reltuples: f64,
    relpages: i64,
    relallvisible: i64,
    relallfrozen: Option<i64>,
    heap_bytes: i64,
    xid_age: Option<i64>,
    mxid_age: Option<i64>,
    reloptions: Option<Vec<String>>,
    toast_oid: Option<u32>,
    toast_xid_age: Option<i64>,
    toast_mxid_age: Option<i64>,
    toast_relpages: Option<i64>,
    toast_reloptions: Option<Vec<String>>,
    owner_oid: Option<u32>,
    stats: Option<pgvac::snapshot::TableStats>,
    index_count: i64,
    index_bytes: i64,
}

impl OracleRow {
    fn into_table(self) -> Table {
        use pgvac::snapshot::{RelKind, TableOptions, ToastTable};
        let reloptions = self.reloptions.unwrap_or_default();
        let toast = self.toast_oid.map(|oid| {
            let reloptions = self.toast_reloptions.unwrap_or_default();
            Box::new(ToastTable {
                oid,
                xid_age: self.toast_xid_age,
                mxid_age: self.toast_mxid_age,
                relpages: self.toast_relpages.unwrap_or(0),
                options: TableOptions::parse(&reloptions),
                reloptions,
            })
        });
        Table {
            oid: self.oid,
            schema: self.schema,
            name: self.name,
            kind: RelKind::from_relkind(&self.relkind).expect("r, m, t or p"),
            persistence: Persistence::from_relpersistence(&self.relpersistence).expect("p, u or t"),
            reltuples: self.reltuples,
            relpages: self.relpages,
            relallvisible: self.relallvisible,
            relallfrozen: self.relallfrozen,
            heap_bytes: self.heap_bytes,
            xid_age: self.xid_age,
            mxid_age: self.mxid_age,
            options: TableOptions::parse(&reloptions).into(),
            reloptions,
            toast,
            owner_oid: self.owner_oid,
            stats: self.stats,
            index_count: self.index_count,
            index_bytes: self.index_bytes,
        }
    }
}

/// pgvac reads plain columns and the pg_stat_get_*() functions, and sums the indexes itself:
/// every field of every relation must be what pg_class and the pg_stat_all_tables view say,
/// on every version (the view's columns differ by version; so do the functions).
fn same_as_the_view(cluster: &Cluster) -> Result<(), String> {
    // Exclusive: ages grow with every XID another test takes.
    let _exclusive = cluster.exclusive.write().unwrap();
    fresh_database(cluster, "collect_same")?;
    let mut client = Client::connect(cluster, "collect_same")?;
    // Autovacuum off everywhere it can be, so no counter moves between the two reads.
    client.execute(
        "CREATE TABLE indexed (id int PRIMARY KEY, k int, body text)
           WITH (autovacuum_enabled = false, toast.autovacuum_enabled = false,
                 toast.autovacuum_vacuum_threshold = 77, fillfactor = 80);
         CREATE INDEX indexed_k ON indexed (k);
         CREATE TABLE bare (v int) WITH (autovacuum_enabled = false);
         CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY) WITH (autovacuum_enabled = false);
         CREATE TABLE parted (id int, at date) PARTITION BY RANGE (at);
         CREATE TABLE parted_2025 PARTITION OF parted
           FOR VALUES FROM ('2025-01-01') TO ('2026-01-01') WITH (autovacuum_enabled = false);
         CREATE INDEX parted_id ON parted (id);
         INSERT INTO indexed SELECT g, g % 10, repeat('x', 3000) || g FROM generate_series(1, 300) g;
         UPDATE indexed SET k = k + 1 WHERE id <= 50;
         DELETE FROM indexed WHERE id > 280;
         INSERT INTO bare SELECT generate_series(1, 100);
         DELETE FROM bare WHERE v <= 10;
         INSERT INTO scratch SELECT generate_series(1, 20);
         INSERT INTO parted SELECT g, '2025-06-01' FROM generate_series(1, 40) g;
         CREATE MATERIALIZED VIEW summary AS SELECT k, count(*) FROM indexed GROUP BY k;
         CREATE UNIQUE INDEX summary_k ON summary (k);",
    )?;
    client.execute("VACUUM ANALYZE bare")?;
    client.execute(
        "ANALYZE indexed;
         SET enable_seqscan = off;
         SELECT count(*) FROM indexed WHERE id = 5;
         SELECT count(*) FROM indexed WHERE k = 3;
         SELECT count(*) FROM parted WHERE id = 3;
         RESET enable_seqscan;
         SELECT count(*) FROM bare;
         SELECT count(*) FROM summary;",
    )?;
    // A session flushes its statistics when it ends.
    client.close();
    let mut client = Client::connect(cluster, "collect_same")?;
    wait_for_stat(
        &mut client,
        "SELECT n_tup_del::text FROM pg_stat_user_tables WHERE relname = 'indexed'",
        20,
    )?;
    wait_for_stat(
        &mut client,
        "SELECT n_tup_ins::text FROM pg_stat_user_tables WHERE relname = 'parted_2025'",
        40,
    )?;
    // The oracle before and after pgvac's read; should anything in the background (an
    // autoanalyze of a catalog takes an XID) move them in between, read again.
    let mut attempts = 0;
    let (before, snapshot) = loop {
        let before = client
            .text(VIEW_ORACLE)?
            .ok_or("the oracle returned NULL")?;
        let snapshot = runner::collect(cluster, "collect_same")?;
        let after = client
            .text(VIEW_ORACLE)?
            .ok_or("the oracle returned NULL")?;
        if before == after {
            break (before, snapshot);
        }
        attempts += 1;
        ensure(attempts < 5, || {
            "the statistics kept moving while pgvac read them: no comparison is possible"
                .to_string()
        })?;
    };
    let oracle: Vec<OracleRow> = serde_json::from_str(&before).map_err(|e| e.to_string())?;
    let oracle: Vec<Table> = oracle.into_iter().map(OracleRow::into_table).collect();
    let db = snapshot
        .database("collect_same")
        .ok_or("collect_same missing")?;
    let wanted: Vec<u32> = oracle.iter().map(|t| t.oid).collect();
    let read: Vec<&Table> = db
        .tables
        .iter()
        .filter(|t| wanted.contains(&t.oid))
        .collect();
    ensure(read.len() == oracle.len(), || {
        format!(
            "pgvac read {} of the {} relations: {:?}",
            read.len(),
            oracle.len(),
            oracle.iter().map(|t| &t.name).collect::<Vec<_>>()
        )
    })?;
    for (ours, truth) in read.iter().zip(&oracle) {
        ensure(*ours == truth, || {
            format!(
                "{} differs from the view\npgvac: {ours:#?}\nview:  {truth:#?}",
                truth.name
            )
        })?;
    }
    // The fixture exercises what the per-table sums and version gates decide.
    let by_name = |name: &str| oracle.iter().find(|t| t.name == name);
    let indexed = by_name("indexed").ok_or("no indexed")?;
    let stats = indexed.stats.as_ref().ok_or("indexed has no stats")?;
    ensure(
        indexed.index_count == 2 && stats.idx_scan.is_some_and(|n| n >= 2),
        || format!("indexed: {} indexes, {:?}", indexed.index_count, stats),
    )?;
    ensure(indexed.toast.is_some(), || {
        "indexed has no TOAST".to_string()
    })?;
    let bare = by_name("bare").ok_or("no bare")?;
    ensure(
        bare.stats
            .as_ref()
            .is_some_and(|s| s.idx_scan.is_none() && s.idx_tup_fetch.is_none()),
        || format!("bare: {:?}", bare.stats),
    )?;
    let parted = by_name("parted").ok_or("no parted")?;
    ensure(parted.stats.is_some() == (cluster.major >= 14), || {
        format!("parted on {}: {:?}", cluster.major, parted.stats)
    })?;
    eprintln!(
        "pg{}: {} relations read the same as pg_class and pg_stat_all_tables show them",
        cluster.major,
        oracle.len()
    );
    Ok(())
}
