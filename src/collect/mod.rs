//! Reading a cluster into a [`Snapshot`]. The only module that talks to PostgreSQL.
//!
//! Invariants this module keeps:
//! - every statement is read-only and runs inside `BEGIN ISOLATION LEVEL REPEATABLE READ READ
//!   ONLY`, one transaction per database, so the numbers of one database agree with each other;
//! - one statement per catalog source per database, whatever the number of tables, and no
//!   function that locks a relation;
//! - a source that fails does not stop the run, and is never passed over in silence: a missing
//!   privilege (SQLSTATE 42501) becomes a [`CollectionWarning`] naming the grant (the snapshot is
//!   degraded but complete), anything else (a timeout, a lost connection, a database that
//!   refuses the connection) becomes a [`Missing`] entry, which makes the snapshot incomplete;
//!   only a failure to reach the first database or to read the server itself is fatal;
//! - a database counts as visited only when every one of its sources was read;
//! - a database that could not be read is re-checked in `pg_database` (by oid) before it is
//!   called missing: one dropped while pgvac ran is said so ([`Visit::Dropped`]) and does not
//!   make the run incomplete;
//! - driver errors reach the user as one plain line, never as the driver's protocol text.
//!
//! Each source is one file under `sql/`; every query returns one JSON text column per row, which
//! serde maps onto the snapshot types by column name. Columns that only some versions have are
//! read from `to_jsonb(row)` by name and arrive as absent fields, never as errors.

pub mod temp_owner;
pub mod terminate;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Row};

use crate::analysis::findings::plural;
use crate::conn::{ConnectError, ConnectionSettings};
use crate::snapshot::*;
use crate::sql::quote_ident;

/// Fatal collection errors. Everything else is a warning or a missing entry inside the
/// snapshot.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("could not read {source_name} from {database}: {message}")]
    Source {
        source_name: String,
        database: String,
        message: String,
    },
    #[error("database \"{0}\" does not exist (named with -d/--dbname)")]
    NoSuchDatabase(String),
}

/// Which databases to visit and how many at once.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// `-d`: visit only these, the first of them first. Empty: every database that accepts
    /// connections.
    pub databases: Vec<String>,
    /// `--exclude-db`.
    pub exclude: Vec<String>,
    /// `--jobs`: databases read at the same time.
    pub jobs: usize,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            databases: Vec::new(),
            exclude: Vec::new(),
            jobs: 4,
        }
    }
}

const BEGIN: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

/// Told as a collection goes, for a progress line ([`crate::cli::progress`]).
pub trait Progress: Sync {
    /// The cluster-wide views are read; `databases` are to be visited.
    fn visiting(&self, _databases: usize) {}
    /// One more database was read, with `tables` tables.
    fn database_read(&self, _tables: usize) {}
}

impl Progress for () {}

/// Read the whole snapshot.
pub async fn collect(
    settings: &ConnectionSettings,
    options: &CollectOptions,
) -> Result<Snapshot, CollectError> {
    collect_with_progress(settings, options, &()).await
}

/// [`collect`], telling `progress` how far it got.
pub async fn collect_with_progress(
    settings: &ConnectionSettings,
    options: &CollectOptions,
    progress: &dyn Progress,
) -> Result<Snapshot, CollectError> {
    let first_database = options
        .databases
        .first()
        .cloned()
        .unwrap_or_else(|| settings.initial_database());
    let mut conn = settings.connect(&first_database).await?;
    let (mut cluster, no_connect) = read_cluster(&mut conn, &first_database).await?;
    let _ = conn.close().await;

    let names: Vec<String> = cluster.databases.iter().map(|d| d.name.clone()).collect();
    for wanted in &options.databases {
        if !names.contains(wanted) {
            return Err(CollectError::NoSuchDatabase(wanted.clone()));
        }
    }
    let mut to_visit = Vec::new();
    for database in &mut cluster.databases {
        let skip = if database.is_invalid() {
            Some("invalid database (datconnlimit = -2, an interrupted DROP DATABASE)")
        } else if !database.allows_connections {
            Some("does not allow connections (datallowconn = false)")
        } else if options.exclude.contains(&database.name) {
            Some("excluded with --exclude-db")
        } else if !options.databases.is_empty() && !options.databases.contains(&database.name) {
            Some("not named with -d/--dbname")
        } else {
            None
        };
        match skip {
            Some(reason) => database.visit = Visit::Skipped(reason.to_string()),
            // Skipped with the grant that would let pgvac in: degraded, not incomplete.
            None if no_connect.contains(&database.name) => {
                if let Visit::Skipped(reason) = &database.visit {
                    cluster.warnings.push(CollectionWarning {
                        source: "database".to_string(),
                        database: Some(database.name.clone()),
                        message: format!("not visited: {reason}"),
                    });
                }
            }
            None => to_visit.push(database.name.clone()),
        }
    }

    let jobs = options.jobs.max(1);
    progress.visiting(to_visit.len());
    let visits: Vec<(String, DatabaseContents)> = futures::stream::iter(to_visit)
        .map(|name| async move {
            let contents = read_database(settings, &name, cluster.server.version_num).await;
            progress.database_read(contents.tables.len());
            (name, contents)
        })
        .buffer_unordered(jobs)
        .collect()
        .await;

    let mut by_name: HashMap<String, DatabaseContents> = visits.into_iter().collect();
    for database in &mut cluster.databases {
        let Some(contents) = by_name.remove(&database.name) else {
            continue;
        };
        database.visit = match contents.missing.first() {
            None => Visit::Visited,
            Some(first) => Visit::Incomplete(format!("{}: {}", first.source, first.message)),
        };
        database.collected_at = contents.collected_at;
        database.size_bytes = contents
            .tables_read
            .then(|| relation_bytes(&contents.tables));
        database.tables = contents.tables;
        database.temp_schemas = contents.temp_schemas;
        database.relation_locks = contents.relation_locks;
        cluster.warnings.extend(contents.warnings);
        cluster.missing.extend(contents.missing);
    }

    recheck_unread_databases(settings, &first_database, &mut cluster).await;
    name_running_vacuums(&mut cluster);
    note_hidden_data(&mut cluster);
    Ok(cluster)
}

/// Bytes of a database's relations from their `relpages` (heap, TOAST and indexes; a TOAST
/// table is a relation of its own in the list).
fn relation_bytes(tables: &[Table]) -> i64 {
    tables
        .iter()
        .map(|t| t.heap_bytes.saturating_add(t.index_bytes))
        .fold(0i64, i64::saturating_add)
}

#[derive(Deserialize)]
struct StillThere {
    oid: u32,
    invalid: bool,
}

#[derive(Deserialize)]
struct Recheck {
    postmaster_start_time: DateTime<Utc>,
    databases: Vec<StillThere>,
}

/// Look again at `pg_database` for the databases that could not be read: one that is gone (by
/// oid: a database re-created under the same name is another one) or now invalid was dropped
/// while pgvac ran, which is no reason to call the run incomplete. A server restart seen here is
/// noted. If the check itself cannot be made, the databases stay missing.
async fn recheck_unread_databases(
    settings: &ConnectionSettings,
    first_database: &str,
    snapshot: &mut Snapshot,
) {
    let unread: Vec<u32> = snapshot
        .databases
        .iter()
        .filter(|d| matches!(d.visit, Visit::Incomplete(_)))
        .map(|d| d.oid)
        .collect();
    if unread.is_empty() {
        return;
    }
    let recheck = async {
        let mut conn = settings
            .connect(first_database)
            .await
            .map_err(|e| e.to_string())?;
        let mut reader = Reader::new(&mut conn, first_database);
        reader.execute(BEGIN).await.map_err(|e| e.message)?;
        let rows: Vec<Recheck> = reader
            .try_rows(include_str!("../../sql/recheck_databases.sql"))
            .await
            .map_err(|e| e.message)?;
        let _ = conn.close().await;
        rows.into_iter()
            .next()
            .ok_or_else(|| "no row returned".to_string())
    };
    let recheck = match recheck.await {
        Ok(recheck) => recheck,
        Err(message) => {
            snapshot.warnings.push(CollectionWarning {
                source: "pg_database".to_string(),
                database: None,
                message: format!(
                    "could not check whether the databases that were not read still exist: \
                     {message}"
                ),
            });
            return;
        }
    };
    if recheck.postmaster_start_time != snapshot.server.postmaster_start_time {
        snapshot.warnings.push(CollectionWarning {
            source: "server".to_string(),
            database: None,
            message: format!(
                "the server restarted while pgvac ran (started {}, now {})",
                snapshot.server.postmaster_start_time, recheck.postmaster_start_time
            ),
        });
    }
    for database in &mut snapshot.databases {
        if !unread.contains(&database.oid) {
            continue;
        }
        let dropped = match recheck.databases.iter().find(|d| d.oid == database.oid) {
            None => true,
            Some(now) => now.invalid,
        };
        if !dropped {
            continue;
        }
        database.visit = Visit::Dropped;
        database.tables.clear();
        database.temp_schemas.clear();
        database.size_bytes = None;
        let name = database.name.clone();
        snapshot
            .missing
            .retain(|m| m.database.as_deref() != Some(name.as_str()));
        snapshot
            .warnings
            .retain(|w| w.database.as_deref() != Some(name.as_str()));
        snapshot.warnings.push(CollectionWarning {
            source: "database".to_string(),
            database: Some(name),
            message: "dropped while pgvac ran: nothing left to read".to_string(),
        });
    }
}

/// How a source failed, in the terms pgvac decides with.
#[derive(Debug, Clone)]
struct SourceError {
    cause: MissingCause,
    sqlstate: Option<String>,
    message: String,
}

/// `insufficient_privilege`: a grant would fix it.
const INSUFFICIENT_PRIVILEGE: &str = "42501";

impl SourceError {
    /// Classify a driver error by what the server said (its SQLSTATE) or by the kind of driver
    /// error, never by message text; and put it in one plain line.
    fn from_sqlx(error: &sqlx::Error) -> SourceError {
        let lost = |message: String| SourceError {
            cause: MissingCause::ConnectionLost,
            sqlstate: None,
            message,
        };
        match error {
            sqlx::Error::Database(db) => {
                let sqlstate = db.code().map(|c| c.to_string());
                let cause = match sqlstate.as_deref() {
                    Some("55P03") => MissingCause::LockTimeout,
                    Some("57014") => MissingCause::Canceled,
                    // 08: connection exceptions; 57P01-57P05: shutdown, crash, cannot connect
                    // now, session timeouts.
                    Some(code) if code.starts_with("08") || code.starts_with("57P") => {
                        MissingCause::ConnectionLost
                    }
                    _ => MissingCause::ServerError,
                };
                SourceError {
                    cause,
                    sqlstate,
                    message: first_line(db.message()),
                }
            }
            sqlx::Error::Io(io) => lost(format!("the connection was lost ({io})")),
            sqlx::Error::Tls(_) => lost("the connection was lost (TLS error)".to_string()),
            sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => lost(
                "the connection broke: the server closed it or answered out of turn".to_string(),
            ),
            other => SourceError {
                cause: MissingCause::UnexpectedData,
                sqlstate: None,
                message: format!(
                    "pgvac could not read the server's answer ({}): please report this",
                    first_line(&other.to_string())
                ),
            },
        }
    }

    fn is_privilege(&self) -> bool {
        self.sqlstate.as_deref() == Some(INSUFFICIENT_PRIVILEGE)
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").trim().to_string()
}

/// Runs each source inside a savepoint, so one failing source leaves the transaction usable,
/// and records what failed. Once the connection is lost, later sources are not sent.
struct Reader<'c> {
    conn: &'c mut PgConnection,
    database: String,
    /// The database recorded with a failure; `None` for the cluster-wide sources.
    scope: Option<String>,
    warnings: Vec<CollectionWarning>,
    missing: Vec<Missing>,
    /// Why the connection is gone, once it is.
    lost: Option<String>,
}

impl<'c> Reader<'c> {
    fn new(conn: &'c mut PgConnection, database: &str) -> Reader<'c> {
        Reader {
            conn,
            database: database.to_string(),
            scope: Some(database.to_string()),
            warnings: Vec::new(),
            missing: Vec::new(),
            lost: None,
        }
    }

    /// A reader of the cluster-wide sources, on `database`.
    fn cluster_wide(conn: &'c mut PgConnection, database: &str) -> Reader<'c> {
        Reader {
            scope: None,
            ..Reader::new(conn, database)
        }
    }

    fn check_connection(&self) -> Result<(), SourceError> {
        match &self.lost {
            None => Ok(()),
            Some(why) => Err(SourceError {
                cause: MissingCause::ConnectionLost,
                sqlstate: None,
                message: format!("not read: {why}"),
            }),
        }
    }

    /// Remember a lost connection, so nothing more is sent on it.
    fn note(&mut self, error: SourceError, source: &str) -> SourceError {
        if error.cause == MissingCause::ConnectionLost && self.lost.is_none() {
            self.lost = Some(format!(
                "the connection was lost while reading {source} ({})",
                error.message
            ));
        }
        error
    }

    async fn execute(&mut self, sql: &'static str) -> Result<(), SourceError> {
        self.check_connection()?;
        let result = sqlx::raw_sql(sql)
            .execute(&mut *self.conn)
            .await
            .map(|_| ())
            .map_err(|e| SourceError::from_sqlx(&e));
        result.map_err(|e| self.note(e, "a transaction statement"))
    }

    /// All rows of a JSON-per-row query, or why not. Rows are parsed as they arrive, so a
    /// database of 100,000 tables never holds its raw rows and its parsed ones at once.
    async fn try_rows<T: DeserializeOwned>(
        &mut self,
        sql: &'static str,
    ) -> Result<Vec<T>, SourceError> {
        self.execute("SAVEPOINT pgvac_source").await?;
        let parsed = {
            let mut stream = sqlx::raw_sql(sql).fetch(&mut *self.conn);
            let mut parsed: Result<Vec<T>, SourceError> = Ok(Vec::new());
            while let Some(row) = stream.next().await {
                let item = row.map_err(|e| SourceError::from_sqlx(&e)).and_then(|row| {
                    let text: String = row.try_get(0).map_err(|e| SourceError::from_sqlx(&e))?;
                    serde_json::from_str(&text).map_err(|e| SourceError {
                        cause: MissingCause::UnexpectedData,
                        sqlstate: None,
                        message: format!("pgvac could not read a row ({e}): please report this"),
                    })
                });
                match (&mut parsed, item) {
                    (Ok(items), Ok(item)) => items.push(item),
                    (Ok(_), Err(error)) => parsed = Err(error),
                    // Keep draining so the connection is ready for the next statement.
                    (Err(_), _) => {}
                }
            }
            parsed
        };
        match parsed {
            Ok(rows) => {
                self.execute("RELEASE SAVEPOINT pgvac_source").await?;
                Ok(rows)
            }
            Err(error) => {
                let error = self.note(error, "a source");
                // Only a live connection can roll back; a lost one is noted already.
                let _ = self.execute("ROLLBACK TO SAVEPOINT pgvac_source").await;
                Err(error)
            }
        }
    }

    /// Record a source that was not read: a note naming the grant when a privilege is missing
    /// (degraded, still complete), else a missing entry (incomplete).
    fn record(&mut self, source: &str, error: SourceError) {
        if error.is_privilege() {
            self.warnings.push(CollectionWarning {
                source: source.to_string(),
                database: self.scope.clone(),
                message: format!(
                    "{source} is hidden from this role: {} (pgvac needs only what pg_monitor \
                     grants)",
                    error.message
                ),
            });
            return;
        }
        self.missing.push(Missing {
            database: self.scope.clone(),
            source: source.to_string(),
            cause: error.cause,
            sqlstate: error.sqlstate,
            message: error.message,
        });
    }

    /// Rows of a source the run goes on without: on failure, recorded, and nothing.
    async fn rows<T: DeserializeOwned>(&mut self, source: &str, sql: &'static str) -> Vec<T> {
        match self.try_rows(sql).await {
            Ok(rows) => rows,
            Err(error) => {
                self.record(source, error);
                Vec::new()
            }
        }
    }

    /// The single row of a source, or why not.
    async fn try_one<T: DeserializeOwned>(&mut self, sql: &'static str) -> Result<T, SourceError> {
        self.try_rows(sql).await?.pop().ok_or_else(|| SourceError {
            cause: MissingCause::UnexpectedData,
            sqlstate: None,
            message: "no row returned".to_string(),
        })
    }

    /// The single row of a required source: a failure is fatal.
    async fn one<T: DeserializeOwned>(
        &mut self,
        source: &str,
        sql: &'static str,
    ) -> Result<T, CollectError> {
        self.try_one(sql)
            .await
            .map_err(|error| CollectError::Source {
                source_name: source.to_string(),
                database: self.database.clone(),
                message: error.message,
            })
    }
}

#[derive(Deserialize)]
struct ServerRow {
    version_num: i32,
    version: String,
    in_recovery: bool,
    postmaster_start_time: DateTime<Utc>,
    stats_reset: Option<DateTime<Utc>>,
    collected_at: DateTime<Utc>,
    next_xid: i64,
    block_size: i64,
    connected_database: String,
    connected_user: String,
    rds_settings: i64,
    rdsadmin_role: bool,
    aurora_function: bool,
    session: SessionSettings,
}

#[derive(Deserialize)]
struct RoleRow {
    name: String,
    superuser: bool,
    memberships: Vec<String>,
}

#[derive(Deserialize)]
struct DatabaseRow {
    oid: u32,
    name: String,
    allows_connections: bool,
    connection_limit: i32,
    is_template: bool,
    xid_age: i64,
    mxid_age: i64,
    /// `has_database_privilege(oid, 'CONNECT')` for the connecting role.
    may_connect: bool,
    stats_reset: Option<DateTime<Utc>>,
}

/// The cluster-wide sources, read in one transaction on the first database.
/// Also returns the databases the role may not connect to.
async fn read_cluster(
    conn: &mut PgConnection,
    database: &str,
) -> Result<(Snapshot, Vec<String>), CollectError> {
    let mut reader = Reader::cluster_wide(conn, database);
    reader
        .execute(BEGIN)
        .await
        .map_err(|error| CollectError::Source {
            source_name: "a read-only transaction".to_string(),
            database: database.to_string(),
            message: error.message,
        })?;
    let server: ServerRow = reader
        .one("the server", include_str!("../../sql/server.sql"))
        .await?;
    let mut evidence = Vec::new();
    if server.rds_settings > 0 {
        evidence.push(format!("{} rds.* settings", server.rds_settings));
    }
    if server.rdsadmin_role {
        evidence.push("role rdsadmin".to_string());
    }
    let mut aurora_version = None;
    if server.aurora_function {
        evidence.push("function aurora_version()".to_string());
        let rows: Vec<String> = reader
            .rows(
                "aurora_version()",
                include_str!("../../sql/aurora_version.sql"),
            )
            .await;
        aurora_version = rows.into_iter().next();
    }
    let kind = if server.aurora_function {
        PlatformKind::Aurora
    } else if !evidence.is_empty() {
        PlatformKind::Rds
    } else {
        PlatformKind::Postgres
    };

    let role: RoleRow = reader
        .one("the role's memberships", include_str!("../../sql/role.sql"))
        .await?;
    let member = |name: &str| role.superuser || role.memberships.iter().any(|m| m == name);
    let role = RoleCapabilities {
        name: role.name.clone(),
        superuser: role.superuser,
        pg_monitor: member("pg_monitor"),
        pg_read_all_stats: member("pg_read_all_stats") || member("pg_monitor"),
        pg_signal_backend: member("pg_signal_backend"),
        rds_superuser: role.memberships.iter().any(|m| m == "rds_superuser"),
        pg_signal_autovacuum_worker: member("pg_signal_autovacuum_worker")
            && server.version_num >= 180000,
    };

    let system_identifier: Option<String> = reader
        .rows(
            "pg_control_system",
            include_str!("../../sql/system_identifier.sql"),
        )
        .await
        .into_iter()
        .next();
    let settings: Vec<Setting> = reader
        .rows("pg_settings", include_str!("../../sql/settings.sql"))
        .await;
    let database_rows: Vec<DatabaseRow> = reader
        .try_rows(include_str!("../../sql/databases.sql"))
        .await
        .map_err(|error| CollectError::Source {
            source_name: "pg_database".to_string(),
            database: database.to_string(),
            message: error.message,
        })?;
    let sessions: Vec<Session> = reader
        .rows("pg_stat_activity", include_str!("../../sql/sessions.sql"))
        .await;
    let prepared_transactions = reader
        .rows(
            "pg_prepared_xacts",
            include_str!("../../sql/prepared_transactions.sql"),
        )
        .await;
    let replication_slots = reader
        .rows(
            "pg_replication_slots",
            include_str!("../../sql/replication_slots.sql"),
        )
        .await;
    let standbys = reader
        .rows(
            "pg_stat_replication",
            include_str!("../../sql/standbys.sql"),
        )
        .await;
    let running_vacuums = reader
        .rows(
            "pg_stat_progress_vacuum",
            include_str!("../../sql/running_vacuums.sql"),
        )
        .await;
    let _ = reader.execute("COMMIT").await;

    let user = &server.connected_user;
    let no_connect: Vec<String> = database_rows
        .iter()
        .filter(|d| !d.may_connect)
        .map(|d| d.name.clone())
        .collect();
    let databases = database_rows
        .into_iter()
        .map(|row| Database {
            visit: if row.may_connect {
                Visit::Skipped("not visited".to_string())
            } else {
                Visit::Skipped(format!(
                    "\"{user}\" may not connect to it (GRANT CONNECT ON DATABASE {} TO {})",
                    quote_ident(&row.name),
                    quote_ident(user)
                ))
            },
            oid: row.oid,
            name: row.name,
            allows_connections: row.allows_connections,
            connection_limit: row.connection_limit,
            is_template: row.is_template,
            xid_age: row.xid_age,
            mxid_age: row.mxid_age,
            size_bytes: None,
            stats_reset: row.stats_reset,
            collected_at: None,
            tables: Vec::new(),
            temp_schemas: Vec::new(),
            relation_locks: Vec::new(),
        })
        .collect();

    let snapshot = Snapshot {
        snapshot_version: SNAPSHOT_VERSION,
        pgvac_version: env!("CARGO_PKG_VERSION").to_string(),
        server: Server {
            version_num: server.version_num,
            version: server.version,
            in_recovery: server.in_recovery,
            postmaster_start_time: server.postmaster_start_time,
            stats_reset: server.stats_reset,
            collected_at: server.collected_at,
            next_xid: server.next_xid,
            system_identifier,
            block_size: server.block_size,
            platform: Platform {
                kind,
                aurora_version,
                evidence,
            },
            connected_database: server.connected_database,
            connected_user: server.connected_user,
            session: server.session,
        },
        role,
        settings,
        databases,
        sessions,
        prepared_transactions,
        replication_slots,
        standbys,
        running_vacuums,
        warnings: reader.warnings,
        missing: reader.missing,
    };
    Ok((snapshot, no_connect))
}

/// What was read of one database, and what was not.
struct DatabaseContents {
    collected_at: Option<DateTime<Utc>>,
    /// Whether the tables source was read (`tables` may be empty either way).
    tables_read: bool,
    tables: Vec<Table>,
    temp_schemas: Vec<TempSchema>,
    relation_locks: Vec<RelationLock>,
    warnings: Vec<CollectionWarning>,
    missing: Vec<Missing>,
}

#[derive(Deserialize)]
struct TableRow {
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
    stats: Option<TableStats>,
    index_count: i64,
    index_bytes: i64,
}

impl TableRow {
    fn into_table(self) -> Option<Table> {
        let reloptions = self.reloptions.unwrap_or_default();
        let toast = self.toast_oid.map(|oid| {
            let reloptions = self.toast_reloptions.unwrap_or_default();
            ToastTable {
                oid,
                xid_age: self.toast_xid_age,
                mxid_age: self.toast_mxid_age,
                relpages: self.toast_relpages.unwrap_or(0),
                options: TableOptions::parse(&reloptions),
                reloptions,
            }
        });
        Some(Table {
            oid: self.oid,
            schema: self.schema,
            name: self.name,
            kind: RelKind::from_relkind(&self.relkind)?,
            persistence: Persistence::from_relpersistence(&self.relpersistence)?,
            reltuples: self.reltuples,
            relpages: self.relpages,
            relallvisible: self.relallvisible,
            relallfrozen: self.relallfrozen,
            heap_bytes: self.heap_bytes,
            xid_age: self.xid_age,
            mxid_age: self.mxid_age,
            options: TableOptions::parse(&reloptions),
            reloptions,
            toast,
            owner_oid: self.owner_oid,
            stats: self.stats,
            index_count: self.index_count,
            index_bytes: self.index_bytes,
        })
    }
}

#[derive(Deserialize)]
struct NowRow {
    now: DateTime<Utc>,
}

/// The sources read in each database, in order.
const DATABASE_SOURCES: [&str; 5] = [
    "clock",
    "tables",
    "pg_locks",
    "temp schemas",
    "relation locks",
];

/// One database's tables and temp schemas, in one read-only transaction. Never fails: what
/// could not be read is in the result's `missing`.
async fn read_database(
    settings: &ConnectionSettings,
    database: &str,
    version_num: i32,
) -> DatabaseContents {
    let mut contents = DatabaseContents {
        collected_at: None,
        tables_read: false,
        tables: Vec::new(),
        temp_schemas: Vec::new(),
        relation_locks: Vec::new(),
        warnings: Vec::new(),
        missing: Vec::new(),
    };
    let mut conn = match settings.connect(database).await {
        Ok(conn) => conn,
        Err(error) => {
            contents.missing.push(Missing {
                database: Some(database.to_string()),
                source: "connection".to_string(),
                cause: MissingCause::CouldNotConnect,
                sqlstate: None,
                message: error.to_string(),
            });
            return contents;
        }
    };
    let mut reader = Reader::new(&mut conn, database);
    if let Err(error) = reader.execute(BEGIN).await {
        for source in DATABASE_SOURCES {
            reader.record(
                source,
                SourceError {
                    message: format!(
                        "not read: could not begin a read-only transaction: {}",
                        error.message
                    ),
                    ..error.clone()
                },
            );
        }
        contents.missing = reader.missing;
        return contents;
    }
    contents.collected_at = match reader
        .try_one::<NowRow>("SELECT json_build_object('now', now())::text")
        .await
    {
        Ok(now) => Some(now.now),
        Err(error) => {
            reader.record("clock", error);
            None
        }
    };
    let tables: Option<Vec<TableRow>> =
        match reader.try_rows(include_str!("../../sql/tables.sql")).await {
            Ok(rows) => Some(rows),
            Err(error) => {
                reader.record("tables", error);
                None
            }
        };
    let temp_schemas = read_temp_schemas(&mut reader, tables.as_deref(), version_num).await;
    contents.relation_locks = reader
        .rows(
            "relation locks",
            include_str!("../../sql/relation_locks.sql"),
        )
        .await;
    let _ = reader.execute("COMMIT").await;
    contents.warnings = reader.warnings;
    contents.missing = reader.missing;
    let _ = conn.close().await;

    contents.tables_read = tables.is_some();
    contents.tables = tables
        .unwrap_or_default()
        .into_iter()
        .filter_map(TableRow::into_table)
        .collect();
    contents.temp_schemas = temp_schemas;
    contents
}

/// The temp schemas of a database and who owns each, as far as it is proven
/// ([`crate::collect::temp_owner`]). The locks are read before the sessions: the proof depends on it.
async fn read_temp_schemas(
    reader: &mut Reader<'_>,
    tables: Option<&[TableRow]>,
    version_num: i32,
) -> Vec<TempSchema> {
    use crate::collect::temp_owner::{LockRead, SchemaRead, decide};
    // Nothing to prove without temporary tables (None: the tables could not be read).
    if tables.is_some_and(|tables| !tables.iter().any(|t| t.relpersistence == "t")) {
        return Vec::new();
    }
    let locks: Option<LockRead> = reader
        .rows("pg_locks", include_str!("../../sql/temp_locks.sql"))
        .await
        .into_iter()
        .next();
    let temp_sql = if version_num >= 160000 {
        include_str!("../../sql/temp_schemas_16.sql")
    } else {
        include_str!("../../sql/temp_schemas_12.sql")
    };
    let Some(read) = reader
        .rows::<SchemaRead>("temp schemas", temp_sql)
        .await
        .into_iter()
        .next()
    else {
        return Vec::new();
    };
    read.schemas
        .iter()
        .map(|row| TempSchema {
            schema: row.schema.clone(),
            backend_id: row.backend_id,
            owner: decide(version_num / 10000, row, locks.as_ref(), &read),
            table_oids: row.table_oids.clone(),
        })
        .collect()
}

/// Give running vacuums their table names, from the databases that were visited.
fn name_running_vacuums(snapshot: &mut Snapshot) {
    let mut names: BTreeMap<(&str, u32), String> = BTreeMap::new();
    for database in &snapshot.databases {
        for table in &database.tables {
            names.insert((database.name.as_str(), table.oid), table.qualified_name());
        }
    }
    let named: Vec<Option<String>> = snapshot
        .running_vacuums
        .iter()
        .map(|v| {
            v.database
                .as_deref()
                .zip(v.relid)
                .and_then(|key| names.get(&key).cloned())
        })
        .collect();
    for (vacuum, name) in snapshot.running_vacuums.iter_mut().zip(named) {
        vacuum.relation = name;
    }
}

/// Say what the role could not see, so a quiet report is never mistaken for a healthy one.
fn note_hidden_data(snapshot: &mut Snapshot) {
    let redacted = snapshot.sessions.iter().filter(|s| s.redacted).count();
    if redacted > 0 {
        snapshot.warnings.push(CollectionWarning {
            source: "pg_stat_activity".to_string(),
            database: None,
            message: format!(
                "{} of other roles {} hidden from \"{}\": their query, state and start times are \
                 unknown, so idle-in-transaction and long-running sessions cannot be told apart \
                 (GRANT pg_monitor TO \"{}\")",
                plural(redacted, "session", "sessions"),
                if redacted == 1 { "is" } else { "are" },
                snapshot.role.name,
                snapshot.role.name
            ),
        });
    }
    let hidden_vacuums = snapshot
        .running_vacuums
        .iter()
        .filter(|v| v.is_autovacuum.is_none())
        .count();
    if hidden_vacuums > 0 {
        snapshot.warnings.push(CollectionWarning {
            source: "pg_stat_progress_vacuum".to_string(),
            database: None,
            message: format!(
                "{} {} to other roles: {} table, progress and whether {} autovacuum or \
                 anti-wraparound are hidden (GRANT pg_monitor TO \"{}\")",
                plural(hidden_vacuums, "running vacuum", "running vacuums"),
                if hidden_vacuums == 1 {
                    "belongs"
                } else {
                    "belong"
                },
                if hidden_vacuums == 1 { "its" } else { "their" },
                if hidden_vacuums == 1 {
                    "it is"
                } else {
                    "they are"
                },
                snapshot.role.name
            ),
        });
    }
}
