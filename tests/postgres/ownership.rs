//! Who owns a temporary schema, against real servers: pgvac names an owner only with proof, and
//! `--terminate` never ends a session that merely has the schema's backend id.
//!
//! - The proof (a weak lock on a btree index of the table, held idle in transaction) must be
//!   impossible to forge: another session tries every way we know to lock another session's
//!   temporary table and its index, and none leaves such a lock.
//! - The crash orphan: a session with a temp table is killed with SIGKILL, the server restarts,
//!   the table stays behind, and a new session gets its backend id. It is not the owner, on any
//!   version, whatever it does to the orphaned table.
//! - Another role's session seen without `pg_read_all_stats` is offered no signal statement.

use serde_json::Value;

use crate::TestFn;
use crate::client::Client;
use crate::cluster::Cluster;
use crate::collect::fresh_database;
use crate::runner;

pub const TESTS: &[(&str, TestFn)] = &[
    (
        "ownership_no_other_session_can_hold_the_proof_lock",
        unforgeable,
    ),
    ("ownership_crash_orphan_is_never_claimed", crash_orphan),
    (
        "ownership_hidden_session_gets_no_signal_statement",
        hidden_session,
    ),
];

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}

/// Locks `session` holds on the relations of `schema` (by name, from the catalog), `mode`s
/// listed as `relation:mode`.
fn locks_on(admin: &mut Client, pid: i32, schema: &str) -> Result<String, String> {
    Ok(admin
        .text(&format!(
            "SELECT coalesce(string_agg(c.relname || ':' || l.mode, ',' ORDER BY 1), '') \
             FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE l.pid = {pid} AND l.granted AND n.nspname = '{schema}'"
        ))?
        .unwrap_or_default())
}

/// The temp schema of a session that has created a temp table.
fn temp_schema(client: &mut Client) -> Result<String, String> {
    client
        .text("SELECT pg_my_temp_schema()::regnamespace::text")?
        .ok_or_else(|| "no temp schema".to_string())
}

/// Everything another session can try on a temporary table and its btree index: none may leave
/// the session holding AccessShareLock or RowShareLock on the index, the proof pgvac relies on.
/// `pg_stat_activity.state` of a session once it has settled after its last statement (the
/// backend reports its idle state just before it tells its client it is ready).
fn session_state(admin: &mut Client, pid: i32) -> Result<Option<String>, String> {
    let sql = format!("SELECT state FROM pg_stat_activity WHERE pid = {pid}");
    for _ in 0..100 {
        let state = admin.text(&sql)?;
        if state.as_deref() != Some("active") {
            return Ok(state);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    admin.text(&sql)
}

fn unforgeable(cluster: &Cluster) -> Result<(), String> {
    let _shared = cluster.exclusive.read().unwrap();
    fresh_database(cluster, "own_forge")?;
    let mut owner = Client::connect(cluster, "own_forge")?;
    owner.execute(
        "CREATE TEMP TABLE scratch (id int PRIMARY KEY, v text);
         CREATE UNIQUE INDEX scratch_v ON scratch (v);
         INSERT INTO scratch VALUES (1, 'a');",
    )?;
    let schema = temp_schema(&mut owner)?;
    let mut other = Client::connect(cluster, "own_forge")?;
    let mut admin = Client::connect(cluster, "own_forge")?;
    let t = format!("{schema}.scratch");
    let attempts = [
        format!("LOCK TABLE {t} IN ACCESS SHARE MODE"),
        format!("LOCK TABLE {t} IN ROW SHARE MODE"),
        format!("LOCK TABLE {schema}.scratch_pkey IN ACCESS SHARE MODE"),
        format!("SELECT * FROM {t}"),
        format!("SELECT * FROM {t} WHERE id = 1"),
        format!("SELECT * FROM {t} FOR SHARE"),
        format!("EXPLAIN SELECT * FROM {t}"),
        format!("PREPARE forge AS SELECT * FROM {t}"),
        format!("DECLARE forge CURSOR FOR SELECT * FROM {t}"),
        format!("INSERT INTO {t} SELECT 2, 'b' WHERE false"),
        format!("UPDATE {t} SET v = v WHERE false"),
        format!("DELETE FROM {t} WHERE false"),
        format!("COPY {t} TO '/dev/null'"),
        format!("ANALYZE {t}"),
        format!("CREATE TEMP TABLE forge (LIKE {t} INCLUDING INDEXES)"),
        format!("SELECT pg_relation_size('{schema}.scratch_pkey')"),
        format!("CREATE INDEX ON {t} (v)"),
        format!("REINDEX INDEX {schema}.scratch_pkey"),
        format!("CLUSTER {t} USING scratch_pkey"),
        format!("TRUNCATE {t}"),
        format!("ALTER TABLE {t} ADD COLUMN w int"),
        format!("ALTER TABLE {t} ADD CONSTRAINT forge UNIQUE USING INDEX scratch_v"),
        format!("ALTER INDEX {schema}.scratch_pkey RENAME TO forge"),
        format!("COMMENT ON INDEX {schema}.scratch_pkey IS 'forge'"),
        format!("GRANT SELECT ON {t} TO PUBLIC"),
        format!("DROP INDEX {schema}.scratch_v"),
        format!("DROP TABLE {t}"),
    ];
    let mut forged = Vec::new();
    for attempt in &attempts {
        other.execute("BEGIN")?;
        // Most fail; what matters is what the session holds afterwards, still in the transaction.
        // A failed statement can leave the locks it took before failing (a cursor's planning
        // locks the index, then reading its metapage fails: seen on 13), but its transaction is
        // then aborted, and the proof takes only a session plainly idle in transaction: such a
        // lock proves nothing, and must not be counted as a forgery either.
        let outcome = other.execute(attempt).err();
        let held = locks_on(&mut admin, other.pid, &schema)?;
        let state = session_state(&mut admin, other.pid)?;
        other.execute("ROLLBACK")?;
        let proof_lock = held.split(',').any(|lock| {
            (lock.starts_with("scratch_pkey:") || lock.starts_with("scratch_v:"))
                && (lock.ends_with(":AccessShareLock") || lock.ends_with(":RowShareLock"))
        });
        if outcome.is_some() && state.as_deref() != Some("idle in transaction (aborted)") {
            return Err(format!(
                "{attempt} failed but left the session {state:?}, not aborted: {outcome:?}"
            ));
        }
        if proof_lock && state.as_deref() == Some("idle in transaction") {
            forged.push(format!("{attempt} -> {held} ({outcome:?})"));
        }
    }
    ensure(forged.is_empty(), || {
        format!("another session holds the proof lock after: {forged:#?}")
    })?;
    // The owner does hold it after reading its table: the proof is reachable.
    owner.execute("BEGIN; SELECT count(*) FROM scratch;")?;
    let held = locks_on(&mut admin, owner.pid, &schema)?;
    owner.execute("COMMIT")?;
    ensure(held.contains("scratch_pkey:AccessShareLock"), || {
        format!("the owner reading its table holds {held:?}")
    })
}

/// `pgvac sessions --format json` plus `args`, parsed and validated.
fn sessions(cluster: &Cluster, args: &[&str]) -> Result<Value, String> {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let run = runner::on(cluster, "sessions", &all)?;
    ensure((0..=2).contains(&run.status), || run.describe())?;
    let document: Value =
        serde_json::from_str(&run.stdout).map_err(|e| format!("JSON: {e}\n{}", run.describe()))?;
    runner::validate(&document, "docs/sessions.schema.json")?;
    Ok(document)
}

fn alive(admin: &mut Client, pid: i32) -> Result<bool, String> {
    Ok(admin.number(&format!(
        "SELECT count(*)::text FROM pg_stat_activity WHERE pid = {pid}"
    ))? == 1)
}

/// The backend id (proc number on 17+) of a session, from its virtualxid: the N of its
/// pg_temp_N.
fn backend_id(client: &mut Client) -> Result<i32, String> {
    client.execute("BEGIN")?;
    let id = client.number(
        "SELECT split_part(virtualxid, '/', 1) FROM pg_locks \
         WHERE pid = pg_backend_pid() AND locktype = 'virtualxid'",
    );
    client.execute("COMMIT")?;
    Ok(id? as i32)
}

/// The crash orphan, on a cluster of its own (a crash restart ends every session on it).
fn crash_orphan(shared: &Cluster) -> Result<(), String> {
    let cluster = &Cluster::start_with(shared.major, &shared.bindir, "autovacuum = off\n")?;
    fresh_database(cluster, "own_crash")?;
    // Sessions that stay, so the victim's id is not the lowest.
    let early: Vec<Client> = (0..2)
        .map(|_| Client::connect(cluster, "own_crash"))
        .collect::<Result<_, _>>()?;
    let mut victim = Client::connect(cluster, "own_crash")?;
    // The test clusters commit asynchronously: the table must be on disk before the crash.
    victim.execute(
        "SET synchronous_commit = on;
         CREATE TEMP TABLE scratch (id int PRIMARY KEY);
         INSERT INTO scratch SELECT generate_series(1, 100);",
    )?;
    let schema = temp_schema(&mut victim)?;
    let n: i32 = schema
        .trim_start_matches("pg_temp_")
        .parse()
        .map_err(|e| format!("{schema}: {e}"))?;
    // pgvac reads a session's id from its virtualxid: it is the N of pg_temp_N.
    let vxid = backend_id(&mut victim)?;
    ensure(vxid == n, || {
        format!("virtualxid {vxid}/.. for {schema}: pgvac's reading of the id is wrong")
    })?;

    // SIGKILL: the postmaster restarts every process, and the temp table stays behind.
    let victim_pid = victim.pid;
    let mut admin = cluster.crash_restart(victim_pid, "own_crash")?;
    drop(early);
    drop(victim);
    let left = admin.number(&format!(
        "SELECT count(*)::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = '{schema}' AND c.relname = 'scratch'"
    ))?;
    ensure(left == 1, || {
        format!("{schema}.scratch did not survive the crash")
    })?;

    // New idle sessions until one gets id N.
    let mut others = Vec::new();
    let mut innocent = None;
    for _ in 0..30 {
        let mut client = Client::connect(cluster, "own_crash")?;
        if backend_id(&mut client)? == n {
            innocent = Some(client);
            break;
        }
        others.push(client);
    }
    let mut innocent =
        innocent.ok_or_else(|| format!("no new session got backend id {n} in 30 tries"))?;
    // Everything else younger than the orphan, and the orphan some XIDs old.
    admin.execute("VACUUM FREEZE")?;
    for _ in 0..5 {
        admin.execute("SELECT txid_current()")?;
    }
    // 12-15 took the virtualxid N/.. of a session in a transaction as proof.
    if cluster.major < 16 {
        innocent.execute("BEGIN; SELECT 1;")?;
    }

    let low = ["--xid-age-warning", "1", "--xid-age-critical", "2"];
    let pid = innocent.pid;
    let pid_text = pid.to_string();
    // What an innocent session with the id may do to the orphan, in an open transaction: lock
    // the table, plan against it, drop it (pgvac's own fix). None of it is ownership.
    let rounds: Vec<(&str, Option<String>)> = vec![
        (
            if cluster.major < 16 {
                "in a transaction"
            } else {
                "idle"
            },
            None,
        ),
        (
            "holding LOCK TABLE",
            Some(format!("LOCK TABLE {schema}.scratch IN ACCESS SHARE MODE")),
        ),
        (
            "holding a PREPAREd query",
            Some(format!("PREPARE p AS SELECT * FROM {schema}.scratch")),
        ),
        ("dropping it", Some(format!("DROP TABLE {schema}.scratch"))),
    ];
    for (state, sql) in rounds {
        if let Some(sql) = sql {
            innocent.execute("ROLLBACK; DEALLOCATE ALL;")?;
            innocent.execute("BEGIN")?;
            innocent.execute(&sql)?;
        }
        let report = sessions(cluster, &["-d", "own_crash"])?;
        let blocker = report["blockers"]
            .as_array()
            .and_then(|all| {
                all.iter().find(|b| {
                    b["holder"]["schema"] == schema.as_str()
                        && (b["kind"] == "temp_table" || b["kind"] == "orphaned_temp_schema")
                })
            })
            .ok_or_else(|| format!("{state}: no blocker for {schema}: {report:#}"))?;
        ensure(
            blocker["holder"]["owner_pid"].is_null()
                && blocker["holder"]["owner_status"] != "known"
                && !blocker["identity"]
                    .as_str()
                    .is_some_and(|i| i.contains("owner pid")),
            || format!("{state}: the orphan was given an owner: {blocker:#}"),
        )?;
        ensure(
            blocker["holder"]["candidate_pid"].as_i64() == Some(pid as i64),
            || format!("{state}: the candidate is not pid {pid}: {blocker:#}"),
        )?;
        // DROP TABLE takes an XID: the session then holds the horizon by itself, and may be
        // ended for that (never for the table). Only the ownership is checked there.
        if !state.starts_with("dropping") {
            // Nothing is terminated on it: not by default, not with every age filter at zero.
            for extra in [&[][..], &["--min-xid-age", "0"][..]] {
                let mut args = vec!["--terminate", "--execute", "--yes", "-d", "own_crash"];
                args.extend_from_slice(&low);
                args.extend_from_slice(extra);
                let run = runner::on(cluster, "sessions", &args)?;
                ensure(
                    (0..=2).contains(&run.status) && !run.stdout.contains(": terminated"),
                    || format!("{state} {extra:?}:\n{}", run.describe()),
                )?;
                ensure(alive(&mut admin, pid)?, || {
                    format!("{state} {extra:?}: the innocent session was terminated")
                })?;
            }
            // Named explicitly: refused with one line, nothing signalled.
            let run = runner::on(
                cluster,
                "sessions",
                &["--terminate", "--execute", "--yes", "--pid", &pid_text],
            )?;
            ensure(
                run.status == 3
                    && run.stderr.trim().lines().count() == 1
                    && run
                        .stderr
                        .contains(&format!("cannot terminate pid {pid} safely"))
                    && run.stdout.is_empty(),
                || format!("{state}: --pid on the candidate:\n{}", run.describe()),
            )?;
            ensure(alive(&mut admin, pid)?, || {
                format!("{state}: the innocent session was terminated by --pid")
            })?;
        }
        // The report offers no statement to end it either.
        let run = runner::on(cluster, "report", &["--format", "json", "-d", "own_crash"])?;
        let document: Value = serde_json::from_str(&run.stdout)
            .map_err(|e| format!("report JSON: {e}\n{}", run.describe()))?;
        ensure(
            !document["sessions_to_terminate"]
                .as_array()
                .is_some_and(|all| all.iter().any(|s| s["pid"].as_i64() == Some(pid as i64))),
            || format!("{state}: the report offers to terminate pid {pid}"),
        )?;
    }
    innocent.execute("ROLLBACK")?;
    // The orphan is still there: nothing pgvac did touched it, and nothing freed it.
    let left = admin.number(&format!(
        "SELECT count(*)::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = '{schema}' AND c.relname = 'scratch'"
    ))?;
    ensure(left == 1, || format!("{schema}.scratch is gone"))
}

/// Another role's old transaction, seen by a role without pg_read_all_stats: listed, but no
/// format offers a statement to end it, and naming it refuses with one line.
fn hidden_session(cluster: &Cluster) -> Result<(), String> {
    let _exclusive = cluster.exclusive.write().unwrap();
    fresh_database(cluster, "own_hidden")?;
    let mut admin = Client::connect(cluster, "own_hidden")?;
    admin.execute(
        "DROP ROLE IF EXISTS pgvac_own_watcher;
         CREATE ROLE pgvac_own_watcher LOGIN PASSWORD 'watcher-pw';
         GRANT pg_signal_backend TO pgvac_own_watcher;",
    )?;
    let mut holder = Client::connect(cluster, "own_hidden")?;
    holder.execute("BEGIN; SELECT txid_current();")?;
    let pid = holder.pid;
    let port = cluster.port.to_string();
    let as_watcher = |args: &[&str]| -> Result<runner::Run, String> {
        runner::run(
            runner::command()
                .arg(args[0])
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port,
                    "-U",
                    "pgvac_own_watcher",
                    "-d",
                    "own_hidden",
                ])
                .args(&args[1..])
                .env("PGPASSWORD", "watcher-pw"),
        )
    };
    let low = ["--xid-age-warning", "1", "--xid-age-critical", "2"];
    let mut outputs = Vec::new();
    for format in ["json", "table"] {
        let mut args = vec!["sessions", "--format", format];
        args.extend_from_slice(&low);
        let run = as_watcher(&args)?;
        ensure((1..=2).contains(&run.status), || run.describe())?;
        outputs.push((format!("sessions {format}"), run.stdout));
    }
    for format in ["table", "json", "sql", "markdown", "prometheus"] {
        let run = as_watcher(&["report", "--format", format, "--include-destructive"][..])?;
        ensure(run.status != 3, || run.describe())?;
        outputs.push((format!("report {format}"), run.stdout));
    }
    let json: Value = serde_json::from_str(&outputs[0].1).map_err(|e| e.to_string())?;
    let blocker = json["blockers"]
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|b| b["holder"]["pid"].as_i64() == Some(pid as i64))
        })
        .ok_or_else(|| format!("the hidden session is not listed: {json:#}"))?;
    ensure(blocker["holder"]["redacted"] == true, || {
        format!("not seen as hidden: {blocker:#}")
    })?;
    let action = &blocker["actions"][0];
    ensure(
        action["statements"]
            .as_array()
            .is_some_and(|s| s.is_empty())
            && action["cost"]
                .as_str()
                .is_some_and(|c| c.contains("GRANT pg_read_all_stats TO pgvac_own_watcher")),
        || format!("the hidden session's action: {action:#}"),
    )?;
    for (name, text) in &outputs {
        let bare = format!("_backend({pid})");
        ensure(
            !text.contains(&bare) && !text.contains(&format!("WHERE pid = {pid} ")),
            || format!("{name} offers a statement for pid {pid}:\n{text}"),
        )?;
    }
    ensure(
        // Whitespace-insensitive: sessions wraps its lines to --width.
        outputs[1]
            .1
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .contains("GRANT pg_read_all_stats TO pgvac_own_watcher"),
        || format!("the table does not say what is missing:\n{}", outputs[1].1),
    )?;
    // --terminate without --pid does not target it; with --pid it refuses with one line.
    let mut args = vec![
        "sessions",
        "--terminate",
        "--execute",
        "--yes",
        "--min-xid-age",
        "0",
    ];
    args.extend_from_slice(&low);
    let run = as_watcher(&args)?;
    ensure(
        (0..=2).contains(&run.status) && run.stdout.contains("No session to terminate"),
        || run.describe(),
    )?;
    let pid_text = pid.to_string();
    let run = as_watcher(&[
        "sessions",
        "--terminate",
        "--execute",
        "--yes",
        "--pid",
        &pid_text,
    ])?;
    ensure(
        run.status == 3
            && run.stderr.trim().lines().count() == 1
            && run.stderr.contains("pg_read_all_stats"),
        || run.describe(),
    )?;
    ensure(alive(&mut admin, pid)?, || {
        "the hidden session was terminated".to_string()
    })?;
    holder.execute("ROLLBACK")
}
