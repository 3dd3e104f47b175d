//! The problems the demo plants, in the order that makes each of them show.
//!
//! Everything here writes, so it only ever runs against the demo's own throwaway server, or an
//! existing one the user named with `--server` after [`check_server`] found it empty. Each step
//! is plain SQL a DBA can read; the order matters:
//!
//! 1. A session creates a temporary table and stays in a transaction (so its pid is known on
//!    12-15 too), then `VACUUM (FREEZE)` makes every other relation of `shop` younger than it:
//!    once XIDs are consumed, the temporary table is the one that pins `shop`'s datfrozenxid.
//! 2. `audit_archive`, autovacuum off and a cost limit of 1, is loaded before the XIDs are
//!    consumed: past `autovacuum_freeze_max_age` only a forced (anti-wraparound) vacuum can touch
//!    it, and that vacuum crawls, so the report catches it running.
//! 3. 150,000 XIDs are consumed (aborted subtransactions, about 100,000 a second), past the
//!    demo's `autovacuum_freeze_max_age` of 100,000.
//! 4. The tables the TABLE rules look at are made after that, young, so no forced vacuum cleans
//!    them up before the report: `orders` (1,000,000 rows, 8% updated: under the default 20%
//!    scale factor), `events` (append-only), `staging_import` (autovacuum off, half deleted).
//!    Their autovacuum is off while they are loaded, and each vacuum or analyze waits until the
//!    statistics of the load have arrived, so autovacuum never races the seeding.
//! 5. A logical slot nobody reads (before the transactions below: creating it waits for open
//!    ones), a prepared transaction, a session idle in transaction, then 20,000 more XIDs so
//!    they hold the horizon visibly behind.
//!
//! The consumed XIDs are the only thing that cannot be undone, which is why `--server` refuses
//! a server that has databases of its own.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection, Row};

use crate::conn::ConnectionSettings;

/// The database the problems are planted in.
pub const DATABASE: &str = "shop";
/// The invalid database (an interrupted `DROP DATABASE`), where the server knows them.
pub const INVALID_DATABASE: &str = "archive_2019";
/// The table whose forced vacuum the report catches running.
pub const SLOW_TABLE: &str = "audit_archive";
/// XIDs consumed before the young tables are made, and after the horizon holders.
pub const XIDS_BEFORE: u32 = 150_000;
pub const XIDS_AFTER: u32 = 20_000;

/// Server settings the demo needs, with why. The throwaway server gets them in its
/// postgresql.conf; `--server` checks them, and `docker-compose.yml` passes them with `-c`.
pub const SETTINGS: &[(&str, &str, &str)] = &[
    (
        "autovacuum_freeze_max_age",
        "100000",
        "200 million by default: scaled down so that XID ages matter within a minute",
    ),
    (
        "autovacuum_naptime",
        "1s",
        "so that autovacuum reacts within seconds",
    ),
    (
        "autovacuum_vacuum_cost_delay",
        "20ms",
        "the PostgreSQL 11 default, which upgraded servers often keep",
    ),
    (
        "log_autovacuum_min_duration",
        "-1",
        "autovacuum logging off, the default before PostgreSQL 15",
    ),
    (
        "max_prepared_transactions",
        "5",
        "for the prepared transaction",
    ),
    ("wal_level", "logical", "for the logical replication slot"),
];

/// Whether this server marks an interrupted `DROP DATABASE` as invalid
/// (`datconnlimit = -2`): the August 2023 minor releases and later.
pub fn knows_invalid_databases(version_num: i32) -> bool {
    match version_num / 10000 {
        12 => version_num >= 120016,
        13 => version_num >= 130012,
        14 => version_num >= 140009,
        15 => version_num >= 150004,
        major => major >= 16,
    }
}

/// The sessions the demo keeps open: a horizon holder and the owner of a temporary table. They
/// end when this is dropped (or when someone terminates them).
pub struct Held {
    pub temp_owner_pid: i32,
    pub idle_pid: i32,
    _connections: Vec<PgConnection>,
}

/// A session for seeding: pgvac's sessions are read-only with timeouts; these write, and the
/// consumption of XIDs and the vacuums take longer than a report's statement timeout.
async fn open(settings: &ConnectionSettings, database: &str) -> Result<PgConnection> {
    let mut conn = settings.connect(database).await?;
    run(
        &mut conn,
        "SET default_transaction_read_only = off; SET statement_timeout = 0; \
         SET lock_timeout = 0; SET application_name = 'pgvac demo'",
    )
    .await?;
    Ok(conn)
}

/// Run SQL (one statement, or several in one implicit transaction).
async fn run(conn: &mut PgConnection, sql: &str) -> Result<()> {
    sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .with_context(|| format!("demo statement failed: {sql}"))
}

async fn number(conn: &mut PgConnection, sql: &str) -> Result<i64> {
    let row = sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
        .fetch_one(&mut *conn)
        .await
        .with_context(|| format!("demo query failed: {sql}"))?;
    Ok(row.try_get::<i64, _>(0)?)
}

async fn backend_pid(conn: &mut PgConnection) -> Result<i32> {
    Ok(number(conn, "SELECT pg_backend_pid()::int8").await? as i32)
}

/// What the server is, for the checks of `--server` and the version-dependent steps.
pub struct ServerFacts {
    pub version_num: i32,
    pub version: String,
}

/// Refuse a server the demo must not write to: not a superuser, databases of its own (it is not
/// a throwaway server), or without the settings the demo needs (named as `-c` flags to add).
pub async fn check_server(settings: &ConnectionSettings) -> Result<ServerFacts> {
    let mut conn = settings.connect(&settings.initial_database()).await?;
    let superuser = number(
        &mut conn,
        "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)::int::int8",
    )
    .await?;
    if superuser != 1 {
        bail!("pgvac demo --server needs a superuser: it creates databases and sessions");
    }
    let own: Vec<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database \
         WHERE datname NOT IN ('postgres', 'template0', 'template1') ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await?;
    if !own.is_empty() {
        bail!(
            "pgvac demo --server only seeds an empty, throwaway server, and this one has databases \
             of its own ({}): it would consume XIDs and leave problems behind",
            own.join(", ")
        );
    }
    let mut missing = Vec::new();
    for (name, value, _) in SETTINGS {
        let current: String = sqlx::query_scalar("SELECT current_setting($1)")
            .bind(name)
            .fetch_one(&mut conn)
            .await?;
        if current != *value {
            missing.push(format!("-c {name}={value}"));
        }
    }
    if !missing.is_empty() {
        bail!(
            "the server lacks the settings the demo needs: start it with {}",
            missing.join(" ")
        );
    }
    let facts = server_facts(&mut conn).await?;
    let _ = conn.close().await;
    Ok(facts)
}

async fn server_facts(conn: &mut PgConnection) -> Result<ServerFacts> {
    let version_num = number(conn, "SELECT current_setting('server_version_num')::int8").await?;
    let version: String = sqlx::query_scalar("SELECT current_setting('server_version')")
        .fetch_one(&mut *conn)
        .await?;
    Ok(ServerFacts {
        version_num: version_num as i32,
        version,
    })
}

/// Consume `count` transaction IDs: each aborted subtransaction that wrote assigns one.
async fn consume_xids(settings: &ConnectionSettings, count: u32) -> Result<()> {
    let mut conn = open(settings, "postgres").await?;
    run(
        &mut conn,
        "CREATE UNLOGGED TABLE IF NOT EXISTS pgvac_demo_xids (n int)",
    )
    .await?;
    let mut left = count;
    while left > 0 {
        let chunk = left.min(50_000);
        run(
            &mut conn,
            &format!(
                "DO $$ BEGIN FOR i IN 1..{chunk} LOOP BEGIN INSERT INTO pgvac_demo_xids VALUES (i); \
                 RAISE EXCEPTION 'undo'; EXCEPTION WHEN raise_exception THEN END; END LOOP; END $$"
            ),
        )
        .await?;
        left -= chunk;
    }
    run(&mut conn, "DROP TABLE pgvac_demo_xids").await?;
    let _ = conn.close().await;
    Ok(())
}

/// Wait until the statistics show a table's inserts, updates and deletes, so that a vacuum or
/// analyze that follows is not overtaken by counts still on their way (12-14 send them to the
/// collector; 15+ flush them when the session is idle).
async fn wait_for_counts(
    conn: &mut PgConnection,
    table: &str,
    (inserted, updated, deleted): (i64, i64, i64),
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let sql = format!(
        "SELECT (n_tup_ins = {inserted} AND n_tup_upd = {updated} AND n_tup_del = {deleted})::int::int8 \
         FROM pg_stat_user_tables WHERE relid = 'public.{table}'::regclass"
    );
    loop {
        run(conn, "SELECT pg_stat_clear_snapshot()").await?;
        if number(conn, &sql).await? == 1 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the statistics of {table} did not arrive within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Load a table in one session and close it, so its counts are sent; then wait for them.
async fn load(
    settings: &ConnectionSettings,
    conn: &mut PgConnection,
    table: &str,
    sql: &str,
    counts: (i64, i64, i64),
) -> Result<()> {
    let mut loader = open(settings, DATABASE).await?;
    run(&mut loader, sql).await?;
    let _ = loader.close().await;
    wait_for_counts(conn, table, counts).await
}

/// Plant every problem. `say` tells the user each step as it starts.
pub async fn seed(
    settings: &ConnectionSettings,
    facts: &ServerFacts,
    say: &mut dyn FnMut(String),
) -> Result<Held> {
    let mut admin = open(settings, "postgres").await?;
    run(&mut admin, &format!("CREATE DATABASE {DATABASE}")).await?;
    if knows_invalid_databases(facts.version_num) {
        say(format!(
            "database {INVALID_DATABASE}, marked invalid (datconnlimit = -2) as an interrupted \
             DROP DATABASE leaves it"
        ));
        run(&mut admin, &format!("CREATE DATABASE {INVALID_DATABASE}")).await?;
        run(
            &mut admin,
            &format!(
                "UPDATE pg_database SET datconnlimit = -2 WHERE datname = '{INVALID_DATABASE}'"
            ),
        )
        .await?;
    } else {
        say(format!(
            "no invalid database: PostgreSQL {} predates the invalid-database marker",
            facts.version
        ));
    }
    let _ = admin.close().await;

    let mut temp_owner = open(settings, DATABASE).await?;
    run(
        &mut temp_owner,
        "SET application_name = 'cart-service'; \
         CREATE TEMP TABLE cart_scratch (cart_id int, note text); \
         INSERT INTO cart_scratch SELECT g, 'item ' || g FROM generate_series(1, 100) g",
    )
    .await?;
    let temp_owner_pid = backend_pid(&mut temp_owner).await?;
    run(&mut temp_owner, "BEGIN").await?;
    say(format!(
        "a session (pid {temp_owner_pid}, cart-service) holding the temporary table cart_scratch, \
         in an open transaction"
    ));
    let mut shop = open(settings, DATABASE).await?;
    run(&mut shop, "VACUUM (FREEZE)").await?;

    say(format!(
        "{SLOW_TABLE}: 100,000 rows, autovacuum off, autovacuum_vacuum_cost_limit = 1 \
         (only a forced vacuum will touch it, and slowly)"
    ));
    load(
        settings,
        &mut shop,
        SLOW_TABLE,
        &format!(
            "CREATE TABLE {SLOW_TABLE} (id bigint, logged_at timestamptz, payload text) \
             WITH (autovacuum_enabled = off, autovacuum_vacuum_cost_delay = 100, \
             autovacuum_vacuum_cost_limit = 1); \
             INSERT INTO {SLOW_TABLE} SELECT g, now(), repeat('x', 40) \
             FROM generate_series(1, 100000) g"
        ),
        (100_000, 0, 0),
    )
    .await?;
    run(&mut shop, &format!("VACUUM ANALYZE {SLOW_TABLE}")).await?;

    say(format!(
        "consuming {} transaction IDs, past autovacuum_freeze_max_age",
        crate::analysis::findings::group_digits(i64::from(XIDS_BEFORE))
    ));
    consume_xids(settings, XIDS_BEFORE).await?;

    say(
        "orders: 1,000,000 rows, 80,000 of them updated (8%, under the default 20% scale factor)"
            .into(),
    );
    load(
        settings,
        &mut shop,
        "orders",
        "CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL, \
         amount numeric(10,2) NOT NULL) WITH (autovacuum_enabled = off); \
         INSERT INTO orders SELECT g, g % 5000, 'new', g % 100 + 0.99 \
         FROM generate_series(1, 1000000) g",
        (1_000_000, 0, 0),
    )
    .await?;
    run(&mut shop, "VACUUM ANALYZE orders").await?;
    run(
        &mut shop,
        "UPDATE orders SET status = 'paid' WHERE id % 25 < 2",
    )
    .await?;

    say("events: 1,090,000 rows, inserts only".into());
    load(
        settings,
        &mut shop,
        "events",
        "CREATE TABLE events (id bigint, happened_at timestamptz NOT NULL, kind text NOT NULL) \
         WITH (autovacuum_enabled = off); \
         INSERT INTO events SELECT g, now(), 'page_view' FROM generate_series(1, 1000000) g",
        (1_000_000, 0, 0),
    )
    .await?;
    run(&mut shop, "VACUUM events").await?;
    load(
        settings,
        &mut shop,
        "events",
        "INSERT INTO events SELECT g, now(), 'click' FROM generate_series(1000001, 1090000) g",
        (1_090_000, 0, 0),
    )
    .await?;
    run(&mut shop, "ANALYZE events").await?;

    say("staging_import: autovacuum off, 50,000 of its 100,000 rows deleted".into());
    load(
        settings,
        &mut shop,
        "staging_import",
        "CREATE TABLE staging_import (line_no int, line text) WITH (autovacuum_enabled = off); \
         INSERT INTO staging_import SELECT g, 'line ' || g FROM generate_series(1, 100000) g",
        (100_000, 0, 0),
    )
    .await?;
    run(&mut shop, "ANALYZE staging_import").await?;
    run(
        &mut shop,
        "DELETE FROM staging_import WHERE line_no % 2 = 0; \
         ALTER TABLE orders RESET (autovacuum_enabled); \
         ALTER TABLE events RESET (autovacuum_enabled); \
         CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL); \
         INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 5000) g; \
         CREATE TABLE payments (id int PRIMARY KEY, order_id int NOT NULL, \
         amount numeric(10,2) NOT NULL)",
    )
    .await?;

    say("a logical replication slot cdc_orders that nobody reads".into());
    run(
        &mut shop,
        "SELECT pg_create_logical_replication_slot('cdc_orders', 'pgoutput')",
    )
    .await?;
    say("a prepared transaction 'payment-4711' that was never committed".into());
    run(&mut shop, "BEGIN").await?;
    run(
        &mut shop,
        "INSERT INTO payments VALUES (4711, 42, 99.90); PREPARE TRANSACTION 'payment-4711'",
    )
    .await?;

    let mut idle = open(settings, DATABASE).await?;
    let idle_pid = backend_pid(&mut idle).await?;
    run(
        &mut idle,
        "SET application_name = 'billing-worker'; BEGIN; \
         UPDATE customers SET name = name WHERE id = 42",
    )
    .await?;
    say(format!(
        "a session (pid {idle_pid}, billing-worker) idle in transaction after an UPDATE"
    ));

    say(format!(
        "consuming {} more transaction IDs, so these hold the horizon behind",
        crate::analysis::findings::group_digits(i64::from(XIDS_AFTER))
    ));
    consume_xids(settings, XIDS_AFTER).await?;
    wait_for_counts(&mut shop, "orders", (1_000_000, 80_000, 0)).await?;
    wait_for_counts(&mut shop, "staging_import", (100_000, 0, 50_000)).await?;
    let _ = shop.close().await;
    Ok(Held {
        temp_owner_pid,
        idle_pid,
        _connections: vec![temp_owner, idle],
    })
}

/// Wait until an autovacuum worker runs the forced vacuum of [`SLOW_TABLE`], for the report's
/// Running vacuums section; false if it has not started within `timeout`.
pub async fn wait_for_forced_vacuum(
    settings: &ConnectionSettings,
    timeout: Duration,
) -> Result<bool> {
    let mut conn = settings.connect(DATABASE).await?;
    let deadline = Instant::now() + timeout;
    let sql = format!(
        "SELECT count(*) FROM pg_stat_progress_vacuum p JOIN pg_stat_activity a USING (pid) \
         WHERE p.relid = 'public.{SLOW_TABLE}'::regclass \
         AND a.query LIKE '%(to prevent wraparound)%'"
    );
    let found = loop {
        if number(&mut conn, &sql).await? > 0 {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = conn.close().await;
    Ok(found)
}

/// Which of `pids` are gone: for `--keep`, to say when someone terminated a held session.
pub async fn gone(conn: &mut PgConnection, pids: &[i32]) -> Result<Vec<i32>> {
    let alive: Vec<i32> =
        sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE pid = ANY($1)")
            .bind(pids)
            .fetch_all(&mut *conn)
            .await?;
    Ok(pids
        .iter()
        .copied()
        .filter(|p| !alive.contains(p))
        .collect())
}

/// A read-only session for watching the held ones.
pub async fn watcher(settings: &ConnectionSettings) -> Result<PgConnection> {
    Ok(settings.connect(DATABASE).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_databases_from_the_august_2023_minors() {
        assert!(!knows_invalid_databases(120015));
        assert!(knows_invalid_databases(120016));
        assert!(!knows_invalid_databases(150003));
        assert!(knows_invalid_databases(150004));
        assert!(knows_invalid_databases(160000));
        assert!(knows_invalid_databases(180004));
    }
}
