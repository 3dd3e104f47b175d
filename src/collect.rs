//! Reading a cluster into a [`Snapshot`]. The only module that talks to PostgreSQL.
//!
//! Invariants this module keeps:
//! - every statement is read-only and runs inside `BEGIN ISOLATION LEVEL REPEATABLE READ READ
//!   ONLY`, one transaction per database, so the numbers of one database agree with each other;
//! - one statement per catalog source per database, whatever the number of tables, and no
//!   function that locks a relation;
//! - a source that fails (permission, timeout) becomes a [`CollectionWarning`] and the run goes on;
//!   only a failure to reach the first database or to read the server itself is fatal.
//!
//! Each source is one file under `sql/`; every query returns one JSON text column per row, which
//! serde maps onto the snapshot types by column name. Columns that only some versions have are
//! read from `to_jsonb(row)` by name and arrive as absent fields, never as errors.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Row};

use crate::conn::{ConnectError, ConnectionSettings, describe_sqlx_error};
use crate::snapshot::*;

/// Fatal collection errors. Everything else is a warning inside the snapshot.
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

/// Told as a collection goes, for a progress line ([`crate::progress`]).
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
    let mut cluster = read_cluster(&mut conn, &first_database).await?;
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
            None => to_visit.push(database.name.clone()),
        }
    }

    let jobs = options.jobs.max(1);
    progress.visiting(to_visit.len());
    let visits: Vec<(String, Result<DatabaseContents, String>)> = futures::stream::iter(to_visit)
        .map(|name| async move {
            let result = read_database(settings, &name, cluster.server.version_num).await;
            progress.database_read(result.as_ref().map_or(0, |c| c.tables.len()));
            (name, result)
        })
        .buffer_unordered(jobs)
        .collect()
        .await;

    let mut by_name: HashMap<String, Result<DatabaseContents, String>> =
        visits.into_iter().collect();
    for database in &mut cluster.databases {
        match by_name.remove(&database.name) {
            None => {}
            Some(Ok(contents)) => {
                database.visit = Visit::Visited;
                database.collected_at = Some(contents.collected_at);
                database.tables = contents.tables;
                database.temp_schemas = contents.temp_schemas;
                cluster.warnings.extend(contents.warnings);
            }
            Some(Err(message)) => {
                database.visit = Visit::Skipped(format!("could not be read: {message}"));
                cluster.warnings.push(CollectionWarning {
                    source: "database".to_string(),
                    database: Some(database.name.clone()),
                    message: format!("not visited: {message}"),
                });
            }
        }
    }

    name_running_vacuums(&mut cluster);
    note_hidden_data(&mut cluster);
    Ok(cluster)
}

/// Runs each source inside a savepoint, so one failing source leaves the transaction usable.
struct Reader<'c> {
    conn: &'c mut PgConnection,
    database: String,
    warnings: Vec<CollectionWarning>,
}

impl Reader<'_> {
    async fn execute(&mut self, sql: &'static str) -> Result<(), String> {
        sqlx::raw_sql(sql)
            .execute(&mut *self.conn)
            .await
            .map(|_| ())
            .map_err(|e| describe_sqlx_error(&e))
    }

    /// All rows of a JSON-per-row query, or the error message. Rows are parsed as they arrive,
    /// so a database of 100,000 tables never holds its raw rows and its parsed ones at once.
    async fn try_rows<T: DeserializeOwned>(&mut self, sql: &'static str) -> Result<Vec<T>, String> {
        self.execute("SAVEPOINT pgvac_source").await?;
        let parsed = {
            let mut stream = sqlx::raw_sql(sql).fetch(&mut *self.conn);
            let mut parsed: Result<Vec<T>, String> = Ok(Vec::new());
            while let Some(row) = stream.next().await {
                let item = row.map_err(|e| describe_sqlx_error(&e)).and_then(|row| {
                    let text: String = row.try_get(0).map_err(|e| e.to_string())?;
                    serde_json::from_str(&text)
                        .map_err(|e| format!("unexpected row shape ({e}): {text}"))
                });
                match (&mut parsed, item) {
                    (Ok(items), Ok(item)) => items.push(item),
                    (Ok(_), Err(message)) => parsed = Err(message),
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
            Err(message) => {
                self.execute("ROLLBACK TO SAVEPOINT pgvac_source").await?;
                Err(message)
            }
        }
    }

    /// Rows of an optional source: on failure, a warning and nothing.
    async fn rows<T: DeserializeOwned>(&mut self, source: &str, sql: &'static str) -> Vec<T> {
        match self.try_rows(sql).await {
            Ok(rows) => rows,
            Err(message) => {
                self.warnings.push(CollectionWarning {
                    source: source.to_string(),
                    database: Some(self.database.clone()),
                    message: format!("{source} could not be read: {message}"),
                });
                Vec::new()
            }
        }
    }

    /// The single row of a required source.
    async fn one<T: DeserializeOwned>(
        &mut self,
        source: &str,
        sql: &'static str,
    ) -> Result<T, CollectError> {
        let database = self.database.clone();
        let error = |message: String| CollectError::Source {
            source_name: source.to_string(),
            database: database.clone(),
            message,
        };
        let mut rows: Vec<T> = self.try_rows(sql).await.map_err(error)?;
        match rows.pop() {
            Some(row) => Ok(row),
            None => Err(CollectError::Source {
                source_name: source.to_string(),
                database: self.database.clone(),
                message: "no row returned".to_string(),
            }),
        }
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
    size_bytes: Option<i64>,
    stats_reset: Option<DateTime<Utc>>,
}

/// The cluster-wide sources, read in one transaction on the first database.
async fn read_cluster(conn: &mut PgConnection, database: &str) -> Result<Snapshot, CollectError> {
    let mut reader = Reader {
        conn,
        database: database.to_string(),
        warnings: Vec::new(),
    };
    reader
        .execute(BEGIN)
        .await
        .map_err(|message| CollectError::Source {
            source_name: "a read-only transaction".to_string(),
            database: database.to_string(),
            message,
        })?;
    let server: ServerRow = reader
        .one("the server", include_str!("../sql/server.sql"))
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
            .try_rows(include_str!("../sql/aurora_version.sql"))
            .await
            .unwrap_or_default();
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
        .one("the role's memberships", include_str!("../sql/role.sql"))
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
            include_str!("../sql/system_identifier.sql"),
        )
        .await
        .into_iter()
        .next();
    let settings: Vec<Setting> = reader
        .rows("pg_settings", include_str!("../sql/settings.sql"))
        .await;
    let database_rows: Vec<DatabaseRow> = reader
        .try_rows(include_str!("../sql/databases.sql"))
        .await
        .map_err(|message| CollectError::Source {
            source_name: "pg_database".to_string(),
            database: database.to_string(),
            message,
        })?;
    let sessions: Vec<Session> = reader
        .rows("pg_stat_activity", include_str!("../sql/sessions.sql"))
        .await;
    let prepared_transactions = reader
        .rows(
            "pg_prepared_xacts",
            include_str!("../sql/prepared_transactions.sql"),
        )
        .await;
    let replication_slots = reader
        .rows(
            "pg_replication_slots",
            include_str!("../sql/replication_slots.sql"),
        )
        .await;
    let standbys = reader
        .rows("pg_stat_replication", include_str!("../sql/standbys.sql"))
        .await;
    let running_vacuums = reader
        .rows(
            "pg_stat_progress_vacuum",
            include_str!("../sql/running_vacuums.sql"),
        )
        .await;
    let _ = reader.execute("COMMIT").await;

    let databases = database_rows
        .into_iter()
        .map(|row| Database {
            oid: row.oid,
            name: row.name,
            allows_connections: row.allows_connections,
            connection_limit: row.connection_limit,
            is_template: row.is_template,
            xid_age: row.xid_age,
            mxid_age: row.mxid_age,
            size_bytes: row.size_bytes,
            stats_reset: row.stats_reset,
            visit: Visit::Skipped("not visited".to_string()),
            collected_at: None,
            tables: Vec::new(),
            temp_schemas: Vec::new(),
        })
        .collect();

    Ok(Snapshot {
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
    })
}

struct DatabaseContents {
    collected_at: DateTime<Utc>,
    tables: Vec<Table>,
    temp_schemas: Vec<TempSchema>,
    warnings: Vec<CollectionWarning>,
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
struct TempSchemaRow {
    schema: String,
    backend_id: i32,
    owner_pid: Option<i32>,
    table_oids: Vec<u32>,
}

#[derive(Deserialize)]
struct NowRow {
    now: DateTime<Utc>,
}

/// One database's tables and temp schemas, in one read-only transaction.
async fn read_database(
    settings: &ConnectionSettings,
    database: &str,
    version_num: i32,
) -> Result<DatabaseContents, String> {
    let mut conn = settings
        .connect(database)
        .await
        .map_err(|e| e.to_string())?;
    let mut reader = Reader {
        conn: &mut conn,
        database: database.to_string(),
        warnings: Vec::new(),
    };
    reader.execute(BEGIN).await?;
    let now: NowRow = reader
        .one("the clock", "SELECT json_build_object('now', now())::text")
        .await
        .map_err(|e| e.to_string())?;
    let tables: Vec<TableRow> = reader
        .rows("tables", include_str!("../sql/tables.sql"))
        .await;
    let temp_sql = if version_num >= 160000 {
        include_str!("../sql/temp_schemas_16.sql")
    } else {
        include_str!("../sql/temp_schemas_12.sql")
    };
    let temp_rows: Vec<TempSchemaRow> = reader.rows("temp schemas", temp_sql).await;
    let _ = reader.execute("COMMIT").await;
    let warnings = reader.warnings;
    let _ = conn.close().await;

    let temp_schemas = temp_rows
        .into_iter()
        .map(|row| {
            let owner = match (row.owner_pid, version_num >= 160000) {
                (Some(pid), true) => TempOwner::Known {
                    pid,
                    source: "backend_status".to_string(),
                },
                (Some(pid), false) => TempOwner::Known {
                    pid,
                    source: "virtualxid_lock".to_string(),
                },
                (None, true) => TempOwner::Orphaned,
                (None, false) => TempOwner::Unknown,
            };
            TempSchema {
                schema: row.schema,
                backend_id: row.backend_id,
                owner,
                table_oids: row.table_oids,
            }
        })
        .collect();
    Ok(DatabaseContents {
        collected_at: now.now,
        tables: tables
            .into_iter()
            .filter_map(TableRow::into_table)
            .collect(),
        temp_schemas,
        warnings,
    })
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
                .and_then(|d| names.get(&(d, v.relid)).cloned())
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
                "{redacted} sessions of other roles are hidden from \"{}\": their query, state and \
                 start times are unknown, so idle-in-transaction and long-running sessions cannot be \
                 told apart (GRANT pg_monitor TO \"{}\")",
                snapshot.role.name, snapshot.role.name
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
                "{hidden_vacuums} running vacuums belong to other roles: their progress and \
                 whether they are autovacuum or anti-wraparound are hidden (GRANT pg_monitor TO \"{}\")",
                snapshot.role.name
            ),
        });
    }
    let unsized_databases = snapshot
        .databases
        .iter()
        .filter(|d| d.size_bytes.is_none() && !d.is_invalid())
        .count();
    if unsized_databases > 0 {
        snapshot.warnings.push(CollectionWarning {
            source: "pg_database_size".to_string(),
            database: None,
            message: format!(
                "the size of {unsized_databases} databases is unknown: \"{}\" may not connect to them \
                 (GRANT pg_monitor TO \"{}\")",
                snapshot.role.name, snapshot.role.name
            ),
        });
    }
}
