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
//! - driver errors reach the user as one plain line, never as the driver's protocol text;
//! - an interrupted run ([`collect_until`], Ctrl-C) leaves nothing running on the server: each
//!   session reports its own pid and backend_start when it connects ([`OwnSessions`]), and on
//!   the interrupt pgvac drops its connections and cancels, by that identity, the statements
//!   they still execute (a server reads nothing from a client while a statement runs, so a
//!   closed connection alone would leave it running until its timeout).
//!
//! Each source is one file under `sql/`. The tables source, the one that grows with the
//! catalog, returns typed columns read in binary (extended protocol), found by name once per
//! query; its version-gated lines (`-- N+`) are left out for older servers and their columns
//! read as absent. The other sources, a few rows each, return one JSON text column per row,
//! which serde maps onto the snapshot types by column name; there, columns that only some
//! versions have are read from `to_jsonb(row)` by name and arrive as absent fields, never as
//! errors.

pub mod temp_owner;
pub mod terminate;

use crate::collect::temp_owner::LockRead;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{AssertSqlSafe, Column, Connection, Row};

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
    /// The run was interrupted ([`collect_until`]); what became of pgvac's statements.
    #[error("{0}")]
    Interrupted(Cancelled),
}

/// What an interrupted run did about the statements its sessions were still executing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancelled {
    /// The server cancelled this many (0: none was running).
    Statements(i64),
    /// The cancel could not be sent: they run until their statement timeout.
    Failed(String),
}

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cancelled::Statements(0) => {
                write!(f, "no statement of pgvac's was running on the server")
            }
            Cancelled::Statements(n) => write!(
                f,
                "the server cancelled pgvac's {}",
                plural(
                    usize::try_from(*n).unwrap_or(usize::MAX),
                    "running statement",
                    "running statements"
                )
            ),
            Cancelled::Failed(why) => write!(
                f,
                "could not cancel pgvac's statements on the server ({why}): they stop at their \
                 statement timeout"
            ),
        }
    }
}

/// The server sessions pgvac opened in this run, each named by the pid and backend_start it
/// reported right after connecting, so that an interrupted run can cancel what they still
/// execute, and nothing else.
#[derive(Debug, Clone, Default)]
pub struct OwnSessions(Arc<Mutex<Vec<OwnSession>>>);

#[derive(Debug, Clone, Deserialize)]
struct OwnSession {
    pid: i32,
    /// As the server wrote it (JSON text of a timestamptz): compared by the server, exactly.
    backend_start: String,
}

impl OwnSessions {
    /// Open a session on `database` and note who it is on the server. A session that cannot
    /// say so is used all the same (its statements fail or succeed as they would); only a
    /// cancel could not reach it.
    async fn connect(
        &self,
        settings: &ConnectionSettings,
        database: &str,
    ) -> Result<PgConnection, ConnectError> {
        let mut conn = settings.connect(database).await?;
        let identity = sqlx::raw_sql(include_str!("../../sql/own_session.sql"))
            .fetch_optional(&mut conn)
            .await;
        if let Ok(Some(row)) = identity
            && let Ok(text) = row.try_get::<String, _>(0)
            && let Ok(session) = serde_json::from_str::<OwnSession>(&text)
        {
            self.0.lock().expect("own sessions lock").push(session);
        }
        Ok(conn)
    }

    /// Cancel what these sessions still execute, from a new session on `database`. Their
    /// connections must be closed first, or the next statement would follow the cancelled one.
    async fn cancel(&self, settings: &ConnectionSettings, database: &str) -> Cancelled {
        let (pids, starts): (Vec<i32>, Vec<String>) = self
            .0
            .lock()
            .expect("own sessions lock")
            .iter()
            .map(|s| (s.pid, s.backend_start.clone()))
            .unzip();
        if pids.is_empty() {
            return Cancelled::Statements(0);
        }
        let mut conn = match settings.connect(database).await {
            Ok(conn) => conn,
            Err(error) => return Cancelled::Failed(error.to_string()),
        };
        let cancelled: Result<i64, sqlx::Error> =
            sqlx::query_scalar(include_str!("../../sql/cancel_own_sessions.sql"))
                .bind(pids)
                .bind(starts)
                .fetch_one(&mut conn)
                .await;
        let _ = conn.close().await;
        match cancelled {
            Ok(n) => Cancelled::Statements(n),
            Err(error) => Cancelled::Failed(SourceError::from_sqlx(&error).message),
        }
    }
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

/// Every reader's transaction, and the savepoint each source rolls back to when it fails (it
/// stays defined after `ROLLBACK TO`, so one savepoint serves every source): one round trip.
const BEGIN: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SAVEPOINT pgvac_source";

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
    collect_until(settings, options, &(), std::future::pending()).await
}

/// [`collect`], telling `progress` how far it got.
pub async fn collect_with_progress(
    settings: &ConnectionSettings,
    options: &CollectOptions,
    progress: &dyn Progress,
) -> Result<Snapshot, CollectError> {
    collect_until(settings, options, progress, std::future::pending()).await
}

/// Read the whole snapshot, telling `progress` how far it got, unless `interrupt` completes
/// first (Ctrl-C): then every connection of the run is dropped, the statements pgvac's
/// sessions still execute on the server are cancelled, and the result is
/// [`CollectError::Interrupted`].
pub async fn collect_until(
    settings: &ConnectionSettings,
    options: &CollectOptions,
    progress: &dyn Progress,
    interrupt: impl Future<Output = ()>,
) -> Result<Snapshot, CollectError> {
    let own = OwnSessions::default();
    // The run's future, and with it every connection, is dropped when the select ends.
    let finished = {
        let run = read_all(settings, options, progress, &own);
        tokio::select! {
            result = run => Some(result),
            () = interrupt => None,
        }
    };
    match finished {
        Some(result) => result,
        None => Err(CollectError::Interrupted(
            own.cancel(settings, &first_database(settings, options))
                .await,
        )),
    }
}

/// The database pgvac connects to first (and where it reads the cluster-wide sources).
fn first_database(settings: &ConnectionSettings, options: &CollectOptions) -> String {
    options
        .databases
        .first()
        .cloned()
        .unwrap_or_else(|| settings.initial_database())
}

async fn read_all(
    settings: &ConnectionSettings,
    options: &CollectOptions,
    progress: &dyn Progress,
    own: &OwnSessions,
) -> Result<Snapshot, CollectError> {
    let first_database = first_database(settings, options);
    let mut conn = own.connect(settings, &first_database).await?;
    let (mut cluster, no_connect) = read_cluster(&mut conn, &first_database).await?;

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

    // The first database's visit reuses the session of the cluster-wide read, when that read
    // went well: one connection set-up less per run. Otherwise it is closed now, so that no
    // more than --jobs sessions are open at once.
    let reuse = cluster.missing.is_empty() && to_visit.contains(&first_database);
    let first_session = if reuse {
        Some(conn)
    } else {
        let _ = conn.close().await;
        None
    };
    let first_session = std::sync::Mutex::new(first_session);
    let (first_session, first_database) = (&first_session, &first_database);
    let jobs = options.jobs.max(1);
    progress.visiting(to_visit.len());
    let visits: Vec<(String, DatabaseContents)> = futures::stream::iter(to_visit)
        .map(|name| async move {
            let session = if name == *first_database {
                first_session.lock().map_or(None, |mut s| s.take())
            } else {
                None
            };
            let contents = read_database(
                settings,
                own,
                &name,
                session,
                cluster.server.version_num,
                cluster.server.block_size,
            )
            .await;
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

    recheck_unread_databases(settings, own, first_database, &mut cluster).await;
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
/// How long to wait before each new look at a database whose session was ended (5.25 s at
/// most: DROP DATABASE requests a checkpoint before it removes the row, slow on a busy server).
const RECHECK_WAITS_MS: [u64; 5] = [250, 500, 1000, 1500, 2000];

/// The databases as they are now, from a new session in `first_database`.
async fn read_recheck(
    settings: &ConnectionSettings,
    own: &OwnSessions,
    first_database: &str,
) -> Result<Recheck, String> {
    let mut conn = own
        .connect(settings, first_database)
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
}

async fn recheck_unread_databases(
    settings: &ConnectionSettings,
    own: &OwnSessions,
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
    // A database whose session was ended under pgvac may be on its way out: DROP DATABASE
    // ... WITH (FORCE) ends the sessions first and removes the row a moment later. Those are
    // looked at again a few times, briefly, before the run calls them unread.
    let ended: Vec<u32> = snapshot
        .databases
        .iter()
        .filter(|d| unread.contains(&d.oid))
        .filter(|d| {
            snapshot.missing.iter().any(|m| {
                m.database.as_deref() == Some(d.name.as_str())
                    && (m.cause == MissingCause::ConnectionLost
                        || m.sqlstate.as_deref().is_some_and(|s| s.starts_with("57P0")))
            })
        })
        .map(|d| d.oid)
        .collect();
    let mut attempt = 0;
    let recheck = loop {
        let recheck = match read_recheck(settings, own, first_database).await {
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
        let still_there = ended.iter().any(|oid| {
            recheck
                .databases
                .iter()
                .any(|d| d.oid == *oid && !d.invalid)
        });
        if !still_there || attempt == RECHECK_WAITS_MS.len() {
            break recheck;
        }
        tokio::time::sleep(std::time::Duration::from_millis(RECHECK_WAITS_MS[attempt])).await;
        attempt += 1;
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

/// Hand every row of a result to `each`. After a failure the rest is drained (and dropped), so
/// the connection is ready for the next statement.
async fn drain(
    mut stream: futures::stream::BoxStream<'_, Result<PgRow, sqlx::Error>>,
    mut each: impl FnMut(&PgRow) -> Result<(), String>,
) -> Result<(), SourceError> {
    let mut outcome = Ok(());
    while let Some(row) = stream.next().await {
        let item = row.map_err(|e| SourceError::from_sqlx(&e)).and_then(|row| {
            each(&row).map_err(|e| SourceError {
                cause: MissingCause::UnexpectedData,
                sqlstate: None,
                message: format!("pgvac could not read a row ({e}): please report this"),
            })
        });
        if let (Ok(()), Err(error)) = (&outcome, item) {
            outcome = Err(error);
        }
    }
    outcome
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
        self.check_connection()?;
        let mut items = Vec::new();
        let outcome = drain(sqlx::raw_sql(sql).fetch(&mut *self.conn), |row| {
            let text: String = row.try_get(0).map_err(|e| e.to_string())?;
            items.push(serde_json::from_str(&text).map_err(|e| e.to_string())?);
            Ok(())
        })
        .await;
        self.finish(outcome).await?;
        Ok(items)
    }

    /// Each row of a query with typed columns, handed to `each` as it arrives. The query goes
    /// by the extended protocol, so the rows come in binary: no text is built on the server.
    async fn try_typed(
        &mut self,
        sql: String,
        each: impl FnMut(&PgRow) -> Result<(), String>,
    ) -> Result<(), SourceError> {
        self.check_connection()?;
        let query = sqlx::query(AssertSqlSafe(sql)).persistent(false);
        let outcome = drain(query.fetch(&mut *self.conn), each).await;
        self.finish(outcome).await
    }

    /// After a source failed, roll back to the transaction's savepoint (set by [`BEGIN`]), so
    /// the next source can still be read.
    async fn finish(&mut self, outcome: Result<(), SourceError>) -> Result<(), SourceError> {
        if let Err(error) = outcome {
            let error = self.note(error, "a source");
            // Only a live connection can roll back; a lost one is noted already.
            let _ = self.execute("ROLLBACK TO SAVEPOINT pgvac_source").await;
            return Err(error);
        }
        Ok(())
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
    let role_settings = match reader
        .try_rows(include_str!("../../sql/role_settings.sql"))
        .await
    {
        Ok(rows) => Some(rows),
        Err(error) => {
            reader.record("pg_db_role_setting", error);
            None
        }
    };
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
        role_settings,
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

/// The tables source for a server version: `sql/tables.sql` without the lines marked `-- N+`
/// for a later version N. Their columns are then absent from the rows, and read as absent.
fn tables_sql(version_num: i32) -> String {
    let major = version_num / 10000;
    let mut sql = String::new();
    for line in include_str!("../../sql/tables.sql").lines() {
        let since = line
            .rsplit_once("-- ")
            .filter(|(code, _)| !code.trim().is_empty())
            .and_then(|(_, marker)| marker.trim().strip_suffix('+')?.parse::<i32>().ok());
        if since.is_none_or(|since| major >= since) {
            sql.push_str(line);
            sql.push('\n');
        }
    }
    sql
}

/// Where each column of the tables source is in its rows, found once by name; `None` for a
/// column the server's version does not have.
struct TableColumns {
    oid: usize,
    relkind: usize,
    relpersistence: usize,
    schema: usize,
    name: usize,
    reltuples: usize,
    relpages: usize,
    relallvisible: usize,
    relallfrozen: Option<usize>,
    reltoastrelid: usize,
    indrelid: usize,
    xid_age: usize,
    mxid_age: usize,
    reloptions: usize,
    numscans: usize,
    lastscan: Option<usize>,
    tuples_fetched: usize,
    seq_tup_read: usize,
    n_tup_ins: usize,
    n_tup_upd: usize,
    n_tup_del: usize,
    n_tup_hot_upd: usize,
    n_tup_newpage_upd: Option<usize>,
    n_live_tup: usize,
    n_dead_tup: usize,
    n_mod_since_analyze: usize,
    n_ins_since_vacuum: Option<usize>,
    last_vacuum: usize,
    last_autovacuum: usize,
    last_analyze: usize,
    last_autoanalyze: usize,
    vacuum_count: usize,
    autovacuum_count: usize,
    analyze_count: usize,
    autoanalyze_count: usize,
    total_vacuum_time: Option<usize>,
    total_autovacuum_time: Option<usize>,
    total_analyze_time: Option<usize>,
    total_autoanalyze_time: Option<usize>,
}

impl TableColumns {
    fn find(row: &PgRow) -> Result<TableColumns, String> {
        let optional = |name: &str| row.try_column(name).ok().map(|c| c.ordinal());
        let required = |name: &str| optional(name).ok_or_else(|| format!("no column {name}"));
        Ok(TableColumns {
            oid: required("oid")?,
            relkind: required("relkind")?,
            relpersistence: required("relpersistence")?,
            schema: required("schema")?,
            name: required("name")?,
            reltuples: required("reltuples")?,
            relpages: required("relpages")?,
            relallvisible: required("relallvisible")?,
            relallfrozen: optional("relallfrozen"),
            reltoastrelid: required("reltoastrelid")?,
            indrelid: required("indrelid")?,
            xid_age: required("xid_age")?,
            mxid_age: required("mxid_age")?,
            reloptions: required("reloptions")?,
            numscans: required("numscans")?,
            lastscan: optional("lastscan"),
            tuples_fetched: required("tuples_fetched")?,
            seq_tup_read: required("seq_tup_read")?,
            n_tup_ins: required("n_tup_ins")?,
            n_tup_upd: required("n_tup_upd")?,
            n_tup_del: required("n_tup_del")?,
            n_tup_hot_upd: required("n_tup_hot_upd")?,
            n_tup_newpage_upd: optional("n_tup_newpage_upd"),
            n_live_tup: required("n_live_tup")?,
            n_dead_tup: required("n_dead_tup")?,
            n_mod_since_analyze: required("n_mod_since_analyze")?,
            n_ins_since_vacuum: optional("n_ins_since_vacuum"),
            last_vacuum: required("last_vacuum")?,
            last_autovacuum: required("last_autovacuum")?,
            last_analyze: required("last_analyze")?,
            last_autoanalyze: required("last_autoanalyze")?,
            vacuum_count: required("vacuum_count")?,
            autovacuum_count: required("autovacuum_count")?,
            analyze_count: required("analyze_count")?,
            autoanalyze_count: required("autoanalyze_count")?,
            total_vacuum_time: optional("total_vacuum_time"),
            total_autovacuum_time: optional("total_autovacuum_time"),
            total_analyze_time: optional("total_analyze_time"),
            total_autoanalyze_time: optional("total_autoanalyze_time"),
        })
    }
}

/// One column of a row, NULL as `None`.
fn get<'r, T>(row: &'r PgRow, column: usize) -> Result<Option<T>, String>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(column).map_err(|e| e.to_string())
}

/// A column only some versions have: absent where the version lacks it.
fn get_since<'r, T>(row: &'r PgRow, column: Option<usize>) -> Result<Option<T>, String>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    column.map_or(Ok(None), |column| get(row, column))
}

/// A column that is never NULL.
fn get_value<'r, T>(row: &'r PgRow, column: usize, name: &str) -> Result<T, String>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    get(row, column)?.ok_or_else(|| format!("{name} is NULL"))
}

/// An index's counters, summed per table as `pg_stat_all_tables` sums them.
#[derive(Default)]
struct IndexTotals {
    count: i64,
    pages: i64,
    scans: i64,
    tuples_fetched: i64,
    last_scan: Option<DateTime<Utc>>,
}

/// A table as read, before its indexes and TOAST table are attached.
struct TableRead {
    table: Table,
    toast_oid: u32,
    /// The table's own `pg_stat_get_tuples_fetched`, to which its indexes' are added.
    tuples_fetched: Option<i64>,
}

/// Every relation of the tables source: tables (with statistics on the kinds
/// `pg_stat_all_tables` shows: r, t, m, and p from 14), and indexes, summed per table.
#[derive(Default)]
struct TablesRead {
    columns: Option<TableColumns>,
    tables: Vec<TableRead>,
    indexes: HashMap<u32, IndexTotals>,
}

impl TablesRead {
    fn add(&mut self, row: &PgRow, major: i32, block_size: i64) -> Result<(), String> {
        if self.columns.is_none() {
            self.columns = Some(TableColumns::find(row)?);
        }
        let c = self.columns.as_ref().expect("found above");
        let oid: Oid = get_value(row, c.oid, "oid")?;
        let relkind = get_value::<i8>(row, c.relkind, "relkind")? as u8 as char;
        let relpages = i64::from(get_value::<i32>(row, c.relpages, "relpages")?);
        if matches!(relkind, 'i' | 'I') {
            let Some(table) = get::<Oid>(row, c.indrelid)? else {
                return Ok(());
            };
            let totals = self.indexes.entry(table.0).or_default();
            totals.count += 1;
            totals.pages += relpages;
            totals.scans += get::<i64>(row, c.numscans)?.unwrap_or(0);
            totals.tuples_fetched += get::<i64>(row, c.tuples_fetched)?.unwrap_or(0);
            let last_scan = get_since::<DateTime<Utc>>(row, c.lastscan)?;
            totals.last_scan = totals.last_scan.max(last_scan);
            return Ok(());
        }
        let kind = match RelKind::from_relkind(&relkind.to_string()) {
            Some(kind) => kind,
            None => return Ok(()),
        };
        let persistence = get_value::<i8>(row, c.relpersistence, "relpersistence")? as u8 as char;
        let Some(persistence) = Persistence::from_relpersistence(&persistence.to_string()) else {
            return Ok(());
        };
        let has_stats = kind != RelKind::PartitionedTable || major >= 14;
        let stats = if has_stats {
            Some(TableStats {
                seq_scan: get(row, c.numscans)?,
                last_seq_scan: get_since(row, c.lastscan)?,
                seq_tup_read: get(row, c.seq_tup_read)?,
                // From the indexes, once all rows are read.
                idx_scan: None,
                last_idx_scan: None,
                idx_tup_fetch: None,
                n_tup_ins: get(row, c.n_tup_ins)?,
                n_tup_upd: get(row, c.n_tup_upd)?,
                n_tup_del: get(row, c.n_tup_del)?,
                n_tup_hot_upd: get(row, c.n_tup_hot_upd)?,
                n_tup_newpage_upd: get_since(row, c.n_tup_newpage_upd)?,
                n_live_tup: get(row, c.n_live_tup)?,
                n_dead_tup: get(row, c.n_dead_tup)?,
                n_mod_since_analyze: get(row, c.n_mod_since_analyze)?,
                n_ins_since_vacuum: get_since(row, c.n_ins_since_vacuum)?,
                last_vacuum: get(row, c.last_vacuum)?,
                last_autovacuum: get(row, c.last_autovacuum)?,
                last_analyze: get(row, c.last_analyze)?,
                last_autoanalyze: get(row, c.last_autoanalyze)?,
                vacuum_count: get(row, c.vacuum_count)?,
                autovacuum_count: get(row, c.autovacuum_count)?,
                analyze_count: get(row, c.analyze_count)?,
                autoanalyze_count: get(row, c.autoanalyze_count)?,
                total_vacuum_time: get_since(row, c.total_vacuum_time)?,
                total_autovacuum_time: get_since(row, c.total_autovacuum_time)?,
                total_analyze_time: get_since(row, c.total_analyze_time)?,
                total_autoanalyze_time: get_since(row, c.total_autoanalyze_time)?,
            })
        } else {
            None
        };
        let reloptions: Vec<String> = get(row, c.reloptions)?.unwrap_or_default();
        let table = Table {
            oid: oid.0,
            schema: get_value(row, c.schema, "schema")?,
            name: get_value(row, c.name, "name")?,
            kind,
            persistence,
            reltuples: f64::from(get_value::<f32>(row, c.reltuples, "reltuples")?),
            relpages,
            relallvisible: i64::from(get_value::<i32>(row, c.relallvisible, "relallvisible")?),
            relallfrozen: get_since::<i32>(row, c.relallfrozen)?.map(i64::from),
            heap_bytes: relpages.saturating_mul(block_size),
            xid_age: get::<i32>(row, c.xid_age)?.map(i64::from),
            mxid_age: get::<i32>(row, c.mxid_age)?.map(i64::from),
            options: TableOptions::parse(&reloptions).into(),
            reloptions,
            toast: None,
            owner_oid: None,
            stats,
            index_count: 0,
            index_bytes: 0,
        };
        self.tables.push(TableRead {
            table,
            toast_oid: get::<Oid>(row, c.reltoastrelid)?.map_or(0, |o| o.0),
            tuples_fetched: if has_stats {
                get(row, c.tuples_fetched)?
            } else {
                None
            },
        });
        Ok(())
    }

    /// Attach indexes and TOAST tables to their tables; the tables by oid.
    fn finish(self, block_size: i64) -> Vec<Table> {
        let TablesRead {
            mut tables,
            indexes,
            ..
        } = self;
        let mut toasts: HashMap<u32, Box<ToastTable>> = HashMap::new();
        let mut owners: HashMap<u32, u32> = HashMap::new();
        for read in &tables {
            let table = &read.table;
            if table.kind == RelKind::Toast {
                toasts.insert(
                    table.oid,
                    Box::new(ToastTable {
                        oid: table.oid,
                        xid_age: table.xid_age,
                        mxid_age: table.mxid_age,
                        relpages: table.relpages,
                        reloptions: table.reloptions.clone(),
                        options: (*table.options).clone(),
                    }),
                );
            }
            if read.toast_oid != 0 {
                owners.insert(read.toast_oid, table.oid);
            }
        }
        for read in &mut tables {
            let table = &mut read.table;
            if read.toast_oid != 0 {
                table.toast = toasts.remove(&read.toast_oid);
            }
            if table.kind == RelKind::Toast {
                table.owner_oid = owners.get(&table.oid).copied();
            }
            let totals = indexes.get(&table.oid);
            if let Some(totals) = totals {
                table.index_count = totals.count;
                table.index_bytes = totals.pages.saturating_mul(block_size);
            }
            if let Some(stats) = &mut table.stats {
                // sum() over no index is NULL in the view, and so is NULL + the table's own.
                stats.idx_scan = totals.map(|t| t.scans);
                stats.idx_tup_fetch = totals
                    .zip(read.tuples_fetched)
                    .map(|(t, own)| t.tuples_fetched + own);
                // max() of the indexes' last scans: absent before 16, where none is read.
                stats.last_idx_scan = totals.and_then(|t| t.last_scan);
            }
        }
        let mut tables: Vec<Table> = tables.into_iter().map(|read| read.table).collect();
        tables.sort_unstable_by_key(|t| t.oid);
        tables
    }
}

/// The tables source: every relation of the database in one query.
async fn read_tables(
    reader: &mut Reader<'_>,
    version_num: i32,
    block_size: i64,
) -> Result<Vec<Table>, SourceError> {
    let major = version_num / 10000;
    let mut read = TablesRead::default();
    reader
        .try_typed(tables_sql(version_num), |row| {
            read.add(row, major, block_size)
        })
        .await?;
    Ok(read.finish(block_size))
}

#[derive(Deserialize)]
struct NowRow {
    now: DateTime<Utc>,
}

/// The sources read in each database, in order.
const DATABASE_SOURCES: [&str; 4] = ["clock", "tables", "pg_locks", "temp schemas"];

/// One database's tables and temp schemas, in one read-only transaction, on `session` when
/// one is already open there. Never fails: what could not be read is in the result's
/// `missing`.
async fn read_database(
    settings: &ConnectionSettings,
    own: &OwnSessions,
    database: &str,
    session: Option<PgConnection>,
    version_num: i32,
    block_size: i64,
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
    let connected = match session {
        Some(session) => Ok(session),
        None => own.connect(settings, database).await,
    };
    let mut conn = match connected {
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
    let tables = match read_tables(&mut reader, version_num, block_size).await {
        Ok(tables) => Some(tables),
        Err(error) => {
            reader.record("tables", error);
            None
        }
    };
    // One read of pg_locks serves the temp-schema proof and the locks that keep autovacuum out.
    let mut locks: Option<LockRead> = reader
        .rows("pg_locks", include_str!("../../sql/locks.sql"))
        .await
        .into_iter()
        .next();
    if let Some(locks) = &mut locks {
        contents.relation_locks = std::mem::take(&mut locks.relation_locks);
    }
    let temp_schemas =
        read_temp_schemas(&mut reader, tables.as_deref(), locks.as_ref(), version_num).await;
    let _ = reader.execute("COMMIT").await;
    contents.warnings = reader.warnings;
    contents.missing = reader.missing;
    let _ = conn.close().await;

    contents.tables_read = tables.is_some();
    contents.tables = tables.unwrap_or_default();
    contents.temp_schemas = temp_schemas;
    contents
}

/// The temp schemas of a database and who owns each, as far as it is proven
/// ([`crate::collect::temp_owner`]). The locks are read before the sessions: the proof depends on it.
async fn read_temp_schemas(
    reader: &mut Reader<'_>,
    tables: Option<&[Table]>,
    locks: Option<&LockRead>,
    version_num: i32,
) -> Vec<TempSchema> {
    use crate::collect::temp_owner::{SchemaRead, decide};
    // Nothing to prove without temporary tables (None: the tables could not be read).
    if tables.is_some_and(|tables| {
        !tables
            .iter()
            .any(|t| t.persistence == Persistence::Temporary)
    }) {
        return Vec::new();
    }
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
            owner: decide(version_num / 10000, row, locks, &read),
            table_oids: row.table_oids.clone(),
        })
        .collect()
}

/// Give running vacuums their table names, from the databases that were visited. Tables are
/// kept by oid, so each is a binary search: no name is built for the tables not being vacuumed.
fn name_running_vacuums(snapshot: &mut Snapshot) {
    let Snapshot {
        databases,
        running_vacuums,
        ..
    } = snapshot;
    for vacuum in running_vacuums.iter_mut() {
        let (Some(database), Some(relid)) = (vacuum.database.as_deref(), vacuum.relid) else {
            continue;
        };
        vacuum.relation = databases.iter().find(|d| d.name == database).and_then(|d| {
            d.tables
                .binary_search_by_key(&relid, |t| t.oid)
                .ok()
                .map(|at| d.tables[at].qualified_name())
        });
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
                 (GRANT pg_monitor TO {})",
                plural(redacted, "session", "sessions"),
                if redacted == 1 { "is" } else { "are" },
                snapshot.role.name,
                quote_ident(&snapshot.role.name)
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
                 anti-wraparound are hidden (GRANT pg_monitor TO {})",
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
                quote_ident(&snapshot.role.name)
            ),
        });
    }
}
