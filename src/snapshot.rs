//! The snapshot: everything pgvac reads from a cluster, as plain serializable data.
//!
//! This is the one seam between I/O and analysis. `collect` fills it from PostgreSQL; the rules and
//! renderers read only this, so a snapshot taken on production (`pgvac collect > snap.json`) can be
//! analysed anywhere else. The JSON form is documented in `docs/snapshot.md`; a change that removes
//! or renames a field bumps [`SNAPSHOT_VERSION`], additions keep it.
//!
//! Numbers are kept as the server reports them (raw `reltuples`, which is -1 for a never-analyzed
//! table on 14+); interpretation belongs to the rules. Fields that exist only on some server
//! versions are `Option`s and absent (not zero) where the server does not have them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Version of the snapshot format. Readers refuse a snapshot with a different major format.
pub const SNAPSHOT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Snapshot {
    pub snapshot_version: u32,
    /// Version of the pgvac that collected it.
    pub pgvac_version: String,
    pub server: Server,
    /// What the connecting role may see and do.
    pub role: RoleCapabilities,
    /// The vacuum-related settings, sorted by name, as pgvac's own session sees them.
    pub settings: Vec<Setting>,
    /// The vacuum settings stored per database and per role (`pg_db_role_setting`): what
    /// autovacuum's workers in each database apply on top of the server's settings. Absent when
    /// it could not be read, and in snapshots of pgvac versions that did not collect it.
    #[serde(default)]
    pub role_settings: Option<Vec<RoleSetting>>,
    /// Every database in `pg_database`, visited or not, sorted by name.
    pub databases: Vec<Database>,
    /// `pg_stat_activity`, every backend of the cluster, pgvac's own included (`is_pgvac`).
    pub sessions: Vec<Session>,
    pub prepared_transactions: Vec<PreparedTransaction>,
    pub replication_slots: Vec<ReplicationSlot>,
    /// Standbys connected to this server (`pg_stat_replication`).
    pub standbys: Vec<Standby>,
    /// `pg_stat_progress_vacuum` joined with `pg_stat_activity`.
    pub running_vacuums: Vec<RunningVacuum>,
    /// What the role could not see, each naming the grant that fixes it: the snapshot is
    /// degraded but complete. (And notes such as a database dropped while pgvac ran.)
    pub warnings: Vec<CollectionWarning>,
    /// What the run set out to read and did not (a timeout, a lost connection, a database that
    /// refused the connection): empty when the snapshot is complete. A snapshot written by a
    /// pgvac that did not record this reads as one entry of cause `not_recorded`, so it is never
    /// taken for complete.
    #[serde(default = "Missing::not_recorded")]
    pub missing: Vec<Missing>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Server {
    /// `server_version_num`, e.g. 170010.
    pub version_num: i32,
    /// `version()`.
    pub version: String,
    pub in_recovery: bool,
    pub postmaster_start_time: DateTime<Utc>,
    /// Most recent statistics reset of any database (`pg_stat_database.stats_reset`).
    pub stats_reset: Option<DateTime<Utc>>,
    /// Server clock when the cluster-wide sources were read.
    pub collected_at: DateTime<Utc>,
    /// Next transaction ID (64-bit, with epoch), read without assigning one.
    pub next_xid: i64,
    /// `pg_control_system().system_identifier` as text: which cluster this is (kept across
    /// restarts and shared with physical standbys). Absent when it could not be read, and in
    /// snapshots of pgvac versions that did not collect it.
    #[serde(default)]
    pub system_identifier: Option<String>,
    pub block_size: i64,
    pub platform: Platform,
    /// The database pgvac first connected to, and the role it connected as.
    pub connected_database: String,
    pub connected_user: String,
    /// pgvac's own session settings as the server reported them, as proof of how it read.
    /// (Added after the first release of format 1: absent in older snapshots.)
    #[serde(default)]
    pub session: SessionSettings,
}

/// The settings of pgvac's own session, read back from the server (`current_setting`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct SessionSettings {
    pub application_name: String,
    pub default_transaction_read_only: String,
    pub transaction_read_only: String,
    pub transaction_isolation: String,
    pub statement_timeout: String,
    pub lock_timeout: String,
}

impl Server {
    /// The major version: 12 for 120022, 18 for 180004.
    pub fn major(&self) -> i32 {
        self.version_num / 10000
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Platform {
    pub kind: PlatformKind,
    /// `aurora_version()` on Aurora.
    pub aurora_version: Option<String>,
    /// How the platform was recognised (the settings or roles seen).
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlatformKind {
    Postgres,
    Rds,
    Aurora,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct RoleCapabilities {
    pub name: String,
    pub superuser: bool,
    pub pg_monitor: bool,
    pub pg_read_all_stats: bool,
    pub pg_signal_backend: bool,
    /// RDS's `rds_superuser` (acts like `pg_signal_backend` for signalling).
    pub rds_superuser: bool,
    /// 18+: `pg_signal_autovacuum_worker`.
    pub pg_signal_autovacuum_worker: bool,
}

impl RoleCapabilities {
    /// Whether other roles' queries, states and timestamps are visible.
    pub fn sees_all_activity(&self) -> bool {
        self.superuser || self.pg_read_all_stats || self.pg_monitor
    }
}

/// One setting stored in `pg_db_role_setting` by `ALTER DATABASE ... SET`, `ALTER ROLE ... [IN
/// DATABASE ...] SET` or `ALTER ROLE ALL [IN DATABASE ...] SET`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct RoleSetting {
    /// `setdatabase`: the database's oid, 0 for every database.
    pub database_oid: u32,
    /// The database's name (absent for 0).
    pub database: Option<String>,
    /// `setrole`: the role's oid, 0 for every role.
    pub role_oid: u32,
    /// The role's name (absent for 0).
    pub role: Option<String>,
    /// The setting's name, lower case.
    pub name: String,
    /// The value as it was given (`1GB`, `5ms`, `off`): in any unit the setting accepts.
    pub value: String,
}

/// One row of `pg_settings`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Setting {
    pub name: String,
    /// `setting`, in the setting's base unit (see `unit`).
    pub setting: String,
    pub unit: Option<String>,
    /// `bool`, `integer`, `real`, `string` or `enum`.
    pub vartype: String,
    /// Where the value came from: `default`, `configuration file`, ...
    pub source: String,
    /// `postmaster` (restart), `sighup` (reload), `superuser`, `user`, ...
    pub context: String,
    /// The compiled-in default (`boot_val`).
    pub boot_val: Option<String>,
    pub reset_val: Option<String>,
    pub pending_restart: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Database {
    pub oid: u32,
    pub name: String,
    pub allows_connections: bool,
    /// `datconnlimit`; -2 marks an invalid database (an interrupted `DROP DATABASE`).
    pub connection_limit: i32,
    pub is_template: bool,
    /// `age(datfrozenxid)`.
    pub xid_age: i64,
    /// `mxid_age(datminmxid)`.
    pub mxid_age: i64,
    /// The database's relations (tables, TOAST tables, materialized views and their indexes) in
    /// bytes, from `pg_class.relpages` as of each one's last VACUUM, ANALYZE or CREATE INDEX:
    /// summed from the tables pgvac read, so it costs nothing and cannot fail. Absent when the
    /// tables were not read. Not `pg_database_size()`, which stats every file of the database.
    pub size_bytes: Option<i64>,
    pub stats_reset: Option<DateTime<Utc>>,
    /// Whether pgvac read this database's tables, and if not, why.
    pub visit: Visit,
    /// Server clock when this database's tables were read.
    pub collected_at: Option<DateTime<Utc>>,
    /// Tables, materialized views, TOAST tables and partitioned tables, by oid.
    pub tables: Vec<Table>,
    /// Temporary schemas that hold tables.
    pub temp_schemas: Vec<TempSchema>,
    /// Granted locks on this database's relations that conflict with the SHARE UPDATE EXCLUSIVE
    /// lock of VACUUM and ANALYZE (`sql/locks.sql`): autovacuum skips a relation while
    /// one is held (an anti-wraparound vacuum waits).
    #[serde(default)]
    pub relation_locks: Vec<RelationLock>,
}

/// A granted lock that keeps autovacuum off a relation (`pg_locks`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct RelationLock {
    /// The locked relation's oid (a table of [`Database::tables`], or an index or sequence).
    pub relid: u32,
    /// The holding session; `None` for a prepared transaction.
    pub pid: Option<i32>,
    /// `ShareUpdateExclusiveLock`, `ShareLock`, `ShareRowExclusiveLock`, `ExclusiveLock` or
    /// `AccessExclusiveLock`.
    pub mode: String,
    /// `pg_locks.virtualtransaction`: `-1/<xid>` for a prepared transaction.
    pub virtualtransaction: Option<String>,
}

impl Database {
    /// `datconnlimit = -2`: left behind by an interrupted `DROP DATABASE`.
    pub fn is_invalid(&self) -> bool {
        self.connection_limit == -2
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum Visit {
    /// Every source of the database was read.
    Visited,
    /// Deliberately not visited: template0, `datallowconn = false`, invalid, excluded, not
    /// selected with `-d`, or the role may not connect (the reason says which).
    Skipped(String),
    /// pgvac set out to read it and did not read all of it: the connection failed or was lost,
    /// or a source timed out. What was read is kept; [`Snapshot::missing`] says what was not.
    Incomplete(String),
    /// Dropped while pgvac ran (it was in `pg_database` at the start and is gone now): nothing
    /// to read, and no reason to call the run incomplete.
    Dropped,
}

impl Visit {
    /// Whether pgvac connected and read at least part of it (its tables may be partial).
    pub fn was_read(&self) -> bool {
        matches!(self, Visit::Visited | Visit::Incomplete(_))
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RelKind {
    Table,
    MaterializedView,
    Toast,
    PartitionedTable,
}

impl RelKind {
    pub fn from_relkind(relkind: &str) -> Option<RelKind> {
        match relkind {
            "r" => Some(RelKind::Table),
            "m" => Some(RelKind::MaterializedView),
            "t" => Some(RelKind::Toast),
            "p" => Some(RelKind::PartitionedTable),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Persistence {
    Permanent,
    Unlogged,
    Temporary,
}

impl Persistence {
    pub fn from_relpersistence(relpersistence: &str) -> Option<Persistence> {
        match relpersistence {
            "p" => Some(Persistence::Permanent),
            "u" => Some(Persistence::Unlogged),
            "t" => Some(Persistence::Temporary),
            _ => None,
        }
    }
}

/// One relation that vacuum cares about, with its `pg_class` and `pg_stat_all_tables` data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Table {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    pub kind: RelKind,
    pub persistence: Persistence,
    /// `pg_class.reltuples` as stored: -1 on 14+ for a table never vacuumed or analyzed.
    pub reltuples: f64,
    pub relpages: i64,
    pub relallvisible: i64,
    /// 18+.
    pub relallfrozen: Option<i64>,
    /// `relpages * block_size`: the heap size as of the last vacuum or analyze, read without a lock.
    pub heap_bytes: i64,
    /// `age(relfrozenxid)`; absent for partitioned tables, which have none.
    pub xid_age: Option<i64>,
    /// `mxid_age(relminmxid)`.
    pub mxid_age: Option<i64>,
    /// `pg_class.reloptions` as stored.
    pub reloptions: Vec<String>,
    /// The vacuum-related reloptions, typed.
    pub options: SetOptions,
    /// The table's TOAST table, when it has one.
    // Boxed: nine tables in ten have none, and a table is kept in memory for every relation of
    // the cluster.
    pub toast: Option<Box<ToastTable>>,
    /// For a TOAST table: the table that owns it.
    pub owner_oid: Option<u32>,
    /// `pg_stat_all_tables`; absent when the server has no row for the relation.
    pub stats: Option<TableStats>,
    pub index_count: i64,
    /// Sum of the indexes' `relpages * block_size`.
    pub index_bytes: i64,
}

impl Table {
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

/// A table's TOAST table, as seen from the table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct ToastTable {
    pub oid: u32,
    pub xid_age: Option<i64>,
    pub mxid_age: Option<i64>,
    pub relpages: i64,
    /// The TOAST relation's own reloptions (set on the table as `toast.*`, stored without prefix).
    pub reloptions: Vec<String>,
    /// Those options typed: the table's `toast.*` settings.
    pub options: TableOptions,
}

/// Per-table vacuum settings from reloptions. `None` means "not set here".
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct TableOptions {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub autovacuum_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub autovacuum_vacuum_threshold: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub autovacuum_vacuum_scale_factor: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub autovacuum_vacuum_max_threshold: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub autovacuum_vacuum_insert_threshold: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub autovacuum_vacuum_insert_scale_factor: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub autovacuum_analyze_threshold: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub autovacuum_analyze_scale_factor: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub autovacuum_vacuum_cost_delay: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub autovacuum_vacuum_cost_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub autovacuum_freeze_min_age: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub autovacuum_freeze_max_age: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub autovacuum_freeze_table_age: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub autovacuum_multixact_freeze_min_age: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub autovacuum_multixact_freeze_max_age: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub autovacuum_multixact_freeze_table_age: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub log_autovacuum_min_duration: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub vacuum_truncate: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub vacuum_index_cleanup: Option<String>,
}

impl TableOptions {
    pub fn is_empty(&self) -> bool {
        *self == TableOptions::default()
    }

    /// Type the vacuum-related entries of a `reloptions` array (`name=value` strings, as the
    /// server stores them after validating them). Other options are left to `reloptions`.
    pub fn parse(reloptions: &[String]) -> TableOptions {
        let mut options = TableOptions::default();
        for entry in reloptions {
            let Some((name, value)) = entry.split_once('=') else {
                continue;
            };
            let int = || value.trim().parse::<i64>().ok();
            let real = || value.trim().parse::<f64>().ok();
            let boolean = || parse_bool(value);
            match name.trim() {
                "autovacuum_enabled" => options.autovacuum_enabled = boolean(),
                "autovacuum_vacuum_threshold" => options.autovacuum_vacuum_threshold = int(),
                "autovacuum_vacuum_scale_factor" => options.autovacuum_vacuum_scale_factor = real(),
                "autovacuum_vacuum_max_threshold" => {
                    options.autovacuum_vacuum_max_threshold = int()
                }
                "autovacuum_vacuum_insert_threshold" => {
                    options.autovacuum_vacuum_insert_threshold = int()
                }
                "autovacuum_vacuum_insert_scale_factor" => {
                    options.autovacuum_vacuum_insert_scale_factor = real()
                }
                "autovacuum_analyze_threshold" => options.autovacuum_analyze_threshold = int(),
                "autovacuum_analyze_scale_factor" => {
                    options.autovacuum_analyze_scale_factor = real()
                }
                "autovacuum_vacuum_cost_delay" => options.autovacuum_vacuum_cost_delay = real(),
                "autovacuum_vacuum_cost_limit" => options.autovacuum_vacuum_cost_limit = int(),
                "autovacuum_freeze_min_age" => options.autovacuum_freeze_min_age = int(),
                "autovacuum_freeze_max_age" => options.autovacuum_freeze_max_age = int(),
                "autovacuum_freeze_table_age" => options.autovacuum_freeze_table_age = int(),
                "autovacuum_multixact_freeze_min_age" => {
                    options.autovacuum_multixact_freeze_min_age = int()
                }
                "autovacuum_multixact_freeze_max_age" => {
                    options.autovacuum_multixact_freeze_max_age = int()
                }
                "autovacuum_multixact_freeze_table_age" => {
                    options.autovacuum_multixact_freeze_table_age = int()
                }
                "log_autovacuum_min_duration" => options.log_autovacuum_min_duration = int(),
                "vacuum_truncate" => options.vacuum_truncate = boolean(),
                "vacuum_index_cleanup" => {
                    options.vacuum_index_cleanup = Some(value.trim().to_ascii_lowercase())
                }
                _ => {}
            }
        }
        options
    }
}

/// A table's typed vacuum options, held in a box only when one is set: most tables set none,
/// and a table is kept in memory for every relation of the cluster. Reads as [`TableOptions`]
/// (through `Deref`) and is written as it, so the snapshot format is unchanged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetOptions(Option<Box<TableOptions>>);

/// No option set.
static NO_OPTIONS: TableOptions = TableOptions {
    autovacuum_enabled: None,
    autovacuum_vacuum_threshold: None,
    autovacuum_vacuum_scale_factor: None,
    autovacuum_vacuum_max_threshold: None,
    autovacuum_vacuum_insert_threshold: None,
    autovacuum_vacuum_insert_scale_factor: None,
    autovacuum_analyze_threshold: None,
    autovacuum_analyze_scale_factor: None,
    autovacuum_vacuum_cost_delay: None,
    autovacuum_vacuum_cost_limit: None,
    autovacuum_freeze_min_age: None,
    autovacuum_freeze_max_age: None,
    autovacuum_freeze_table_age: None,
    autovacuum_multixact_freeze_min_age: None,
    autovacuum_multixact_freeze_max_age: None,
    autovacuum_multixact_freeze_table_age: None,
    log_autovacuum_min_duration: None,
    vacuum_truncate: None,
    vacuum_index_cleanup: None,
};

/// Described as the options it reads and is written as.
impl schemars::JsonSchema for SetOptions {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        TableOptions::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        TableOptions::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        TableOptions::json_schema(generator)
    }
}

impl std::ops::Deref for SetOptions {
    type Target = TableOptions;

    fn deref(&self) -> &TableOptions {
        self.0.as_deref().unwrap_or(&NO_OPTIONS)
    }
}

impl From<TableOptions> for SetOptions {
    fn from(options: TableOptions) -> SetOptions {
        SetOptions((!options.is_empty()).then(|| Box::new(options)))
    }
}

impl Serialize for SetOptions {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        TableOptions::serialize(self, serializer)
    }
}

impl<'de> Deserialize<'de> for SetOptions {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<SetOptions, D::Error> {
        TableOptions::deserialize(deserializer).map(SetOptions::from)
    }
}

/// PostgreSQL's boolean spellings: on/off, true/false, yes/no, 1/0 and unique prefixes.
fn parse_bool(value: &str) -> Option<bool> {
    let value = value.trim().to_ascii_lowercase();
    if value.is_empty() {
        return None;
    }
    let matches = |word: &str| word.starts_with(value.as_str());
    match value.as_str() {
        "1" | "on" => Some(true),
        "0" | "of" | "off" => Some(false),
        "o" => None,
        _ if matches("true") || matches("yes") => Some(true),
        _ if matches("false") || matches("no") => Some(false),
        _ => None,
    }
}

/// `pg_stat_all_tables` counters. Each is absent on versions that lack the column.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct TableStats {
    pub seq_scan: Option<i64>,
    /// 16+.
    pub last_seq_scan: Option<DateTime<Utc>>,
    pub seq_tup_read: Option<i64>,
    pub idx_scan: Option<i64>,
    /// 16+.
    pub last_idx_scan: Option<DateTime<Utc>>,
    pub idx_tup_fetch: Option<i64>,
    pub n_tup_ins: Option<i64>,
    pub n_tup_upd: Option<i64>,
    pub n_tup_del: Option<i64>,
    pub n_tup_hot_upd: Option<i64>,
    /// 16+.
    pub n_tup_newpage_upd: Option<i64>,
    pub n_live_tup: Option<i64>,
    pub n_dead_tup: Option<i64>,
    pub n_mod_since_analyze: Option<i64>,
    /// 13+.
    pub n_ins_since_vacuum: Option<i64>,
    pub last_vacuum: Option<DateTime<Utc>>,
    pub last_autovacuum: Option<DateTime<Utc>>,
    pub last_analyze: Option<DateTime<Utc>>,
    pub last_autoanalyze: Option<DateTime<Utc>>,
    pub vacuum_count: Option<i64>,
    pub autovacuum_count: Option<i64>,
    pub analyze_count: Option<i64>,
    pub autoanalyze_count: Option<i64>,
    /// 18+, milliseconds.
    pub total_vacuum_time: Option<f64>,
    /// 18+, milliseconds.
    pub total_autovacuum_time: Option<f64>,
    /// 18+, milliseconds.
    pub total_analyze_time: Option<f64>,
    /// 18+, milliseconds.
    pub total_autoanalyze_time: Option<f64>,
}

/// A temporary schema (`pg_temp_N`) that holds tables, and the session that owns it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct TempSchema {
    pub schema: String,
    /// N in `pg_temp_N`: the owner's backend id (12-16) or proc number (17+).
    pub backend_id: i32,
    pub owner: TempOwner,
    /// Oids of its tables (they are also in the database's `tables`).
    pub table_oids: Vec<u32>,
}

/// Who owns a temp schema, only as far as it is proven (docs/snapshot.md says how, per version).
///
/// Holding backend id N does not make a session the owner of `pg_temp_N`: a backend owns it only
/// once it has used temporary tables itself (which clears what an earlier holder of the id left).
/// So `Known` needs proof that the session itself owns the schema now; a session that merely has
/// the id is a `candidate` of an `Unknown` owner.
///
/// Snapshots of earlier pgvac versions said `known` for that candidate (`source`
/// `backend_status` or `virtualxid_lock`, no `proof`): they are read as `Unknown` with that
/// candidate, never as proven.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case", from = "TempOwnerWire")]
pub enum TempOwner {
    /// The session that owns the schema now, proven.
    Known {
        pid: i32,
        /// How it was proven: `index_lock` (see docs/snapshot.md).
        source: String,
        /// The owner's `backend_start`, read with the proof: what a terminate statement
        /// rechecks.
        backend_start: Option<DateTime<Utc>>,
        /// The evidence, in words.
        proof: String,
    },
    /// Provably no live session owns the schema.
    Orphaned {
        /// Why, in words.
        reason: String,
    },
    /// Not proven either way.
    Unknown {
        /// A session that has the schema's backend id, when one is known: it may or may not
        /// own the schema.
        candidate: Option<TempCandidate>,
        /// Why ownership is not proven, in words.
        reason: String,
    },
}

impl TempOwner {
    /// The proven owner's pid.
    pub fn known_pid(&self) -> Option<i32> {
        match self {
            TempOwner::Known { pid, .. } => Some(*pid),
            _ => None,
        }
    }

    /// The session that may own the schema without proof.
    pub fn candidate(&self) -> Option<&TempCandidate> {
        match self {
            TempOwner::Unknown { candidate, .. } => candidate.as_ref(),
            _ => None,
        }
    }
}

/// A session that has a temp schema's backend id, its ownership not proven.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct TempCandidate {
    pub pid: i32,
    pub backend_start: Option<DateTime<Utc>>,
}

/// [`TempOwner`] as every snapshot of format 1 has written it.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
enum TempOwnerWire {
    Known {
        pid: i32,
        source: String,
        #[serde(default)]
        backend_start: Option<DateTime<Utc>>,
        #[serde(default)]
        proof: Option<String>,
    },
    Orphaned {
        #[serde(default)]
        reason: Option<String>,
    },
    Unknown {
        #[serde(default)]
        candidate: Option<TempCandidate>,
        #[serde(default)]
        reason: Option<String>,
    },
}

impl From<TempOwnerWire> for TempOwner {
    fn from(wire: TempOwnerWire) -> TempOwner {
        match wire {
            TempOwnerWire::Known {
                pid,
                source,
                backend_start,
                proof: Some(proof),
            } => TempOwner::Known {
                pid,
                source,
                backend_start,
                proof,
            },
            // Written by a pgvac that took the backend id as proof of ownership: it is not.
            TempOwnerWire::Known {
                pid,
                source,
                backend_start,
                proof: None,
            } => TempOwner::Unknown {
                candidate: Some(TempCandidate { pid, backend_start }),
                reason: format!(
                    "collected by an older pgvac, which named pid {pid} from its backend id \
                     ({source}) without proof that it owns the schema"
                ),
            },
            TempOwnerWire::Orphaned { reason } => TempOwner::Orphaned {
                reason: reason.unwrap_or_else(|| {
                    "no session connected to this database had its backend id".to_string()
                }),
            },
            TempOwnerWire::Unknown { candidate, reason } => TempOwner::Unknown {
                candidate,
                reason: reason.unwrap_or_else(|| {
                    "the owner could not be identified (PostgreSQL 12-15, outside a transaction)"
                        .to_string()
                }),
            },
        }
    }
}

/// One row of `pg_stat_activity`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Session {
    pub pid: i32,
    pub database: Option<String>,
    pub user: Option<String>,
    pub application_name: Option<String>,
    pub client_addr: Option<String>,
    pub backend_type: Option<String>,
    pub state: Option<String>,
    pub backend_start: Option<DateTime<Utc>>,
    pub xact_start: Option<DateTime<Utc>>,
    pub query_start: Option<DateTime<Utc>>,
    pub state_change: Option<DateTime<Utc>>,
    pub backend_xid: Option<i64>,
    pub backend_xmin: Option<i64>,
    pub backend_xid_age: Option<i64>,
    pub backend_xmin_age: Option<i64>,
    pub wait_event_type: Option<String>,
    pub wait_event: Option<String>,
    /// The query text, cut to 1 KB.
    pub query: Option<String>,
    /// 13+: the leader of a parallel worker.
    pub leader_pid: Option<i32>,
    /// pgvac's own session.
    pub is_pgvac: bool,
    /// Another role's session seen without `pg_read_all_stats`: query, state and times hidden.
    pub redacted: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct PreparedTransaction {
    pub gid: String,
    pub xid: i64,
    pub xid_age: i64,
    pub prepared: DateTime<Utc>,
    pub owner: String,
    pub database: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct ReplicationSlot {
    pub slot_name: String,
    /// `physical` or `logical`.
    pub slot_type: String,
    pub plugin: Option<String>,
    pub database: Option<String>,
    pub temporary: bool,
    pub active: bool,
    pub active_pid: Option<i32>,
    pub xmin: Option<i64>,
    pub xmin_age: Option<i64>,
    pub catalog_xmin: Option<i64>,
    pub catalog_xmin_age: Option<i64>,
    pub restart_lsn: Option<String>,
    pub confirmed_flush_lsn: Option<String>,
    /// 13+: `reserved`, `extended`, `unreserved` or `lost`.
    pub wal_status: Option<String>,
    /// 13+.
    pub safe_wal_size: Option<i64>,
    /// 17+.
    pub inactive_since: Option<DateTime<Utc>>,
    /// 17+.
    pub invalidation_reason: Option<String>,
}

/// A standby connected to this server (`pg_stat_replication`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Standby {
    pub pid: i32,
    pub user: Option<String>,
    pub application_name: Option<String>,
    pub client_addr: Option<String>,
    pub state: Option<String>,
    pub sync_state: Option<String>,
    /// The xmin the standby reports with `hot_standby_feedback = on`.
    pub backend_xmin: Option<i64>,
    pub backend_xmin_age: Option<i64>,
    pub reply_time: Option<DateTime<Utc>>,
}

/// A vacuum in progress (`pg_stat_progress_vacuum` with `pg_stat_activity`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct RunningVacuum {
    pub pid: i32,
    pub database: Option<String>,
    /// The table's oid; hidden (absent) for other roles' vacuums without `pg_read_all_stats`,
    /// whose pid and database every role sees.
    pub relid: Option<u32>,
    /// `schema.name`, where the database was visited.
    pub relation: Option<String>,
    pub phase: Option<String>,
    /// True for autovacuum workers, false for a manual `VACUUM`; unknown when hidden.
    pub is_autovacuum: Option<bool>,
    /// The worker's query says `(to prevent wraparound)`; unknown when hidden.
    pub is_wraparound: Option<bool>,
    pub backend_type: Option<String>,
    pub query: Option<String>,
    /// When the vacuum of this table began (`xact_start`).
    pub started_at: Option<DateTime<Utc>>,
    pub heap_blks_total: Option<i64>,
    pub heap_blks_scanned: Option<i64>,
    pub heap_blks_vacuumed: Option<i64>,
    pub index_vacuum_count: Option<i64>,
    /// 12-16: dead tuples the memory can hold, and those collected.
    pub max_dead_tuples: Option<i64>,
    pub num_dead_tuples: Option<i64>,
    /// 17+: the same in bytes, and dead item ids.
    pub max_dead_tuple_bytes: Option<i64>,
    pub dead_tuple_bytes: Option<i64>,
    pub num_dead_item_ids: Option<i64>,
    /// 17+.
    pub indexes_total: Option<i64>,
    pub indexes_processed: Option<i64>,
    /// 18+: milliseconds slept in cost-based delay (needs `track_cost_delay_timing`).
    pub delay_time: Option<f64>,
}

/// Something that could not be read. The snapshot is otherwise usable.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, Deserialize, PartialEq)]
pub struct CollectionWarning {
    /// The catalog source, e.g. `pg_stat_activity` or `tables`.
    pub source: String,
    /// The database it concerns, when it concerns one.
    pub database: Option<String>,
    pub message: String,
}

/// Something a run set out to read and did not. Any of them makes the run incomplete.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Missing {
    /// The database it concerns; absent for the cluster-wide sources (read on the first
    /// database).
    pub database: Option<String>,
    /// What was not read: `connection` (the database could not be reached at all), `tables`,
    /// `temp schemas`, `clock`, or a cluster-wide view such as `pg_stat_activity`.
    pub source: String,
    pub cause: MissingCause,
    /// The server's SQLSTATE, where the server gave one (e.g. `55P03` for a lock timeout).
    pub sqlstate: Option<String>,
    /// Why, in one line.
    pub message: String,
}

/// Why a source was not read.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MissingCause {
    /// The database refused or never answered the connection (but still exists).
    CouldNotConnect,
    /// The connection was lost while reading: the server restarted or shut down, or pgvac's
    /// session was terminated. Sources after it in that database were not read either.
    ConnectionLost,
    /// `lock_timeout` ran out (SQLSTATE 55P03).
    LockTimeout,
    /// The statement was cancelled (SQLSTATE 57014): `statement_timeout`, or a cancel request;
    /// the message says which.
    Canceled,
    /// Another error from the server; `sqlstate` says which.
    ServerError,
    /// The server sent something pgvac could not read (a pgvac bug: please report it).
    UnexpectedData,
    /// The snapshot was written by a pgvac that did not record what it missed.
    NotRecorded,
}

impl Missing {
    /// What a snapshot without a `missing` field is read as.
    pub fn not_recorded() -> Vec<Missing> {
        vec![Missing {
            database: None,
            source: "snapshot".to_string(),
            cause: MissingCause::NotRecorded,
            sqlstate: None,
            message: "written by a pgvac that did not record whether it read everything: \
                      collect it again to know"
                .to_string(),
        }]
    }

    /// `app: tables: canceling statement due to lock timeout`.
    pub fn describe(&self) -> String {
        match &self.database {
            Some(database) => format!("{database}: {}: {}", self.source, self.message),
            None => format!("{}: {}", self.source, self.message),
        }
    }
}

impl Snapshot {
    /// Whether the run read everything it set out to read.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }

    /// Databases dropped while pgvac ran.
    pub fn dropped_databases(&self) -> impl Iterator<Item = &Database> {
        self.databases.iter().filter(|d| d.visit == Visit::Dropped)
    }

    pub fn setting(&self, name: &str) -> Option<&Setting> {
        self.settings.iter().find(|s| s.name == name)
    }

    pub fn database(&self, name: &str) -> Option<&Database> {
        self.databases.iter().find(|d| d.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_pgvacs_known_owner_is_read_as_an_unproven_candidate() {
        for source in ["backend_status", "virtualxid_lock"] {
            let old = format!(r#"{{"status": "known", "pid": 4242, "source": "{source}"}}"#);
            let owner: TempOwner = serde_json::from_str(&old).unwrap();
            assert_eq!(owner.known_pid(), None);
            assert_eq!(owner.candidate().map(|c| c.pid), Some(4242));
        }
        let orphaned: TempOwner = serde_json::from_str(r#"{"status": "orphaned"}"#).unwrap();
        assert!(matches!(orphaned, TempOwner::Orphaned { .. }));
        let unknown: TempOwner = serde_json::from_str(r#"{"status": "unknown"}"#).unwrap();
        assert!(matches!(
            unknown,
            TempOwner::Unknown {
                candidate: None,
                ..
            }
        ));
    }

    #[test]
    fn a_proven_owner_reads_back_as_written() {
        let owner = TempOwner::Known {
            pid: 7,
            source: "index_lock".into(),
            backend_start: Some(Utc::now()),
            proof: "holds AccessShareLock on btree index pg_temp_3.i".into(),
        };
        let text = serde_json::to_string(&owner).unwrap();
        assert_eq!(serde_json::from_str::<TempOwner>(&text).unwrap(), owner);
        let unknown = TempOwner::Unknown {
            candidate: Some(TempCandidate {
                pid: 8,
                backend_start: None,
            }),
            reason: "idle".into(),
        };
        let text = serde_json::to_string(&unknown).unwrap();
        assert_eq!(serde_json::from_str::<TempOwner>(&text).unwrap(), unknown);
    }
}
