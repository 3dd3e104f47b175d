//! The settings autovacuum runs with: the server's, and those its workers use in each database.
//!
//! A session's settings are the server's (configuration file, command line, compiled-in
//! defaults) with `pg_db_role_setting` applied on top. `process_settings` (postinit.c, 12-18)
//! applies, the first one found winning, what is stored for (its database, its role), (every
//! database, its role), (its database, every role) and (every database, every role). An
//! autovacuum worker is a session of its database whose role is the bootstrap superuser
//! (`InitializeSessionUserIdStandalone`: oid 10, `postgres` on most servers, `rdsadmin` on RDS),
//! so it applies its database's settings and that role's, never those of the role pgvac connects
//! as. pgvac's own `pg_settings` shows what *its* session uses, which can differ from what every
//! worker uses; [`WorkerSettings`] rebuilds the workers' values of each database from the
//! server-wide values and `pg_db_role_setting`.
//!
//! Only the settings a session may change are concerned (`maintenance_work_mem`, the
//! `vacuum_cost_*` fallbacks, `vacuum_freeze_*`, `vacuum_multixact_freeze_*`, the failsafe ages,
//! and `track_counts` for superusers). The `autovacuum_*` settings are `sighup` or `postmaster`:
//! they cannot be set per database or role, and pgvac reads them as its session shows them.
//!
//! The server-wide value of such a setting is what pgvac's session shows when `pg_settings.source`
//! is the server's (`default`, `configuration file`, `command line`, `environment variable`,
//! `override`). When the session's value came from a database or role setting, or from the
//! connection (`database`, `user`, `database user`, `global`, `client`, `session`), the server-wide
//! value is hidden from this session (`reset_val` is the session's own start value;
//! `pg_file_settings` is for superusers and omits `-c` options). pgvac then assumes the
//! compiled-in default (`boot_val`) for the workers that fall back to it, and says so
//! ([`HiddenSetting`]): never a guess presented as fact.
//!
//! Values in `pg_db_role_setting` are stored as they were given (`1GB`, `7ms`, `off`); they are
//! read into the setting's base unit as `parse_int`, `parse_real` and `parse_bool` (guc.c) read
//! them. Autovacuum uses freeze ages of 0 in template databases and in those that do not allow
//! connections (`do_autovacuum`).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::analysis::units::{unit_bytes, unit_millis};
use crate::snapshot::{Database, RoleSetting, Snapshot};

/// Autovacuum's memory for dead tuples could not exceed `MaxAllocSize` (1 GB) before 17.
const WORK_MEM_CAP_BEFORE_17: i64 = 1024 * 1024 * 1024;

/// `BOOTSTRAP_SUPERUSERID`: the role autovacuum workers run as, in every version.
pub const BOOTSTRAP_SUPERUSER_OID: u32 = 10;

/// `pg_settings.source` values that mean the session has the server-wide value.
const SERVER_SOURCES: &[&str] = &[
    "default",
    "configuration file",
    "command line",
    "environment variable",
    "override",
];

/// The server-wide autovacuum settings, typed and resolved, and the values autovacuum's workers
/// use in each database ([`GlobalSettings::in_database`]).
///
/// Read from `pg_settings` in each setting's base unit. A setting missing from the snapshot (or
/// unreadable) takes the version's compiled-in default, and its name is listed in
/// `assumed_defaults`, so a rule can say that it guessed.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalSettings {
    /// The server's major version (12 to 18).
    pub server_major: i32,
    /// `autovacuum`.
    pub autovacuum: bool,
    /// `track_counts` as the launcher has it (server-wide: the launcher connects to no database
    /// and applies no database or role setting): without it autovacuum has no counts to act on.
    /// A database's workers may have it off on their own ([`WorkerSettings::track_counts`]).
    pub track_counts: bool,
    pub vacuum_threshold: i64,
    pub vacuum_scale_factor: f64,
    /// 13+: `autovacuum_vacuum_insert_threshold` (-1 switches the insert trigger off).
    pub vacuum_insert_threshold: Option<i64>,
    /// 13+.
    pub vacuum_insert_scale_factor: Option<f64>,
    /// 18+: `autovacuum_vacuum_max_threshold` (-1 switches the cap off).
    pub vacuum_max_threshold: Option<i64>,
    pub analyze_threshold: i64,
    pub analyze_scale_factor: f64,
    /// `autovacuum_freeze_max_age`.
    pub freeze_max_age: i64,
    /// `autovacuum_multixact_freeze_max_age`.
    pub multixact_freeze_max_age: i64,
    /// `autovacuum_vacuum_cost_delay` in milliseconds, -1 resolved to `vacuum_cost_delay`: the
    /// server-wide value, what workers use in a database without settings of its own (the
    /// value of [`WorkerSettings::cost_delay_ms`] in [`GlobalSettings::workers`]).
    pub cost_delay_ms: f64,
    /// `autovacuum_vacuum_cost_limit`, -1 resolved to `vacuum_cost_limit`: server-wide, as
    /// `cost_delay_ms`.
    pub cost_limit: i64,
    pub max_workers: i64,
    /// 18+: `autovacuum_worker_slots`, the bound on `autovacuum_max_workers` without a restart.
    pub worker_slots: Option<i64>,
    pub naptime: Duration,
    /// Memory for dead tuples per worker: `autovacuum_work_mem`, -1 resolved to
    /// `maintenance_work_mem`, capped at 1 GB before 17. Server-wide, as `cost_delay_ms`.
    pub work_mem_bytes: i64,
    /// What workers use in a database without settings of its own in `pg_db_role_setting`.
    pub workers: WorkerSettings,
    /// What workers use in each database of the snapshot, by oid.
    pub databases: BTreeMap<u32, WorkerSettings>,
    /// Settings not found (or not readable) in the snapshot, for which the version's default was
    /// assumed.
    pub assumed_defaults: Vec<String>,
    /// Settings whose server-wide value pgvac's session cannot see, where some database's
    /// workers fall back to it: the compiled-in default was assumed.
    pub hidden: Vec<HiddenSetting>,
}

/// Where a value autovacuum's workers use comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingOrigin {
    /// The server-wide setting (or the compiled-in default where the snapshot has none).
    Server,
    /// `ALTER DATABASE <database> SET` (or `ALTER ROLE ALL IN DATABASE`).
    Database { database: String },
    /// `ALTER ROLE ALL SET`: every session's, workers' included.
    AllRoles,
    /// `ALTER ROLE <role> SET` of the bootstrap superuser, whom workers run as.
    WorkerRole { role: String },
    /// `ALTER ROLE <role> IN DATABASE <database> SET` of the bootstrap superuser.
    WorkerRoleInDatabase { role: String, database: String },
    /// Autovacuum's freeze ages are 0 in template databases and in those that do not allow
    /// connections.
    TemplateDatabase,
    /// The server-wide value is hidden from pgvac's session: the compiled-in default is assumed
    /// ([`GlobalSettings::hidden`]).
    Assumed,
}

impl SettingOrigin {
    /// The value was read, not assumed.
    pub fn is_known(&self) -> bool {
        *self != SettingOrigin::Assumed
    }

    /// Set in `pg_db_role_setting` (by database or role), not by the server's configuration.
    pub fn is_database_or_role(&self) -> bool {
        matches!(
            self,
            SettingOrigin::Database { .. }
                | SettingOrigin::AllRoles
                | SettingOrigin::WorkerRole { .. }
                | SettingOrigin::WorkerRoleInDatabase { .. }
        )
    }

    /// Where it was set, for a message: `ALTER DATABASE app SET`, ...
    pub fn describe(&self) -> String {
        use crate::sql::quote_ident;
        match self {
            SettingOrigin::Server => "the server's setting".to_string(),
            SettingOrigin::Database { database } => {
                format!("ALTER DATABASE {} SET", quote_ident(database))
            }
            SettingOrigin::AllRoles => "ALTER ROLE ALL SET".to_string(),
            SettingOrigin::WorkerRole { role } => format!(
                "ALTER ROLE {} SET (workers run as that role)",
                quote_ident(role)
            ),
            SettingOrigin::WorkerRoleInDatabase { role, database } => format!(
                "ALTER ROLE {} IN DATABASE {} SET (workers run as that role)",
                quote_ident(role),
                quote_ident(database)
            ),
            SettingOrigin::TemplateDatabase => {
                "0 in a template database or one without connections".to_string()
            }
            SettingOrigin::Assumed => "assumed: the server-wide value is hidden".to_string(),
        }
    }

    /// The statement that removes the setting from `pg_db_role_setting`, where it is there.
    pub fn reset_sql(&self, name: &str) -> Option<String> {
        use crate::sql::quote_ident;
        Some(match self {
            SettingOrigin::Database { database } => {
                format!("ALTER DATABASE {} RESET {name};", quote_ident(database))
            }
            SettingOrigin::AllRoles => format!("ALTER ROLE ALL RESET {name};"),
            SettingOrigin::WorkerRole { role } => {
                format!("ALTER ROLE {} RESET {name};", quote_ident(role))
            }
            SettingOrigin::WorkerRoleInDatabase { role, database } => format!(
                "ALTER ROLE {} IN DATABASE {} RESET {name};",
                quote_ident(role),
                quote_ident(database)
            ),
            _ => return None,
        })
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved<T> {
    pub value: T,
    pub origin: SettingOrigin,
}

/// The settings a session may change, as autovacuum's workers in one database have them.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerSettings {
    /// `track_counts`: a worker with it off acts on no threshold, only forced vacuums.
    pub track_counts: Resolved<bool>,
    /// The cost delay in milliseconds: `autovacuum_vacuum_cost_delay`, or when it is -1 the
    /// workers' `vacuum_cost_delay`.
    pub cost_delay_ms: Resolved<f64>,
    /// `autovacuum_vacuum_cost_limit`, or when it is -1 (or 0) the workers' `vacuum_cost_limit`.
    pub cost_limit: Resolved<i64>,
    /// Memory for dead tuples: `autovacuum_work_mem`, or when it is -1 the workers'
    /// `maintenance_work_mem`; capped at 1 GB before 17.
    pub work_mem_bytes: Resolved<i64>,
    /// `vacuum_freeze_min_age` (vacuum caps it at half of `autovacuum_freeze_max_age`).
    pub freeze_min_age: Resolved<i64>,
    /// `vacuum_freeze_table_age` (vacuum caps it at 95% of `autovacuum_freeze_max_age`).
    pub freeze_table_age: Resolved<i64>,
    pub multixact_freeze_min_age: Resolved<i64>,
    pub multixact_freeze_table_age: Resolved<i64>,
    /// 14+: `vacuum_failsafe_age`, as set (vacuum never uses less than 105% of the freeze max
    /// age).
    pub failsafe_age: Option<Resolved<i64>>,
    /// 14+: `vacuum_multixact_failsafe_age`, as set.
    pub multixact_failsafe_age: Option<Resolved<i64>>,
}

/// A setting whose server-wide value pgvac's session cannot see.
#[derive(Debug, Clone, PartialEq)]
pub struct HiddenSetting {
    pub name: String,
    /// `pg_settings.source` in pgvac's session: `user`, `database`, `database user`, `global`,
    /// `client` or `session`.
    pub session_source: String,
    /// What pgvac's session has, in the base unit.
    pub session_value: String,
    /// What was assumed for the workers (the compiled-in default), in the base unit.
    pub assumed: String,
    /// The base unit of both.
    pub unit: Option<String>,
}

impl HiddenSetting {
    /// One line for the report's notes.
    pub fn describe(&self) -> String {
        let unit = self
            .unit
            .as_deref()
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        let from = match self.session_source.as_str() {
            "user" => "its role's setting (ALTER ROLE ... SET)",
            "database user" => "its role's setting in this database (ALTER ROLE ... IN DATABASE)",
            "database" => "the database's setting (ALTER DATABASE ... SET)",
            "global" => "ALTER ROLE ALL SET",
            "client" => "the connection's options",
            _ => "a SET in the session",
        };
        format!(
            "{}: pgvac's session has {}{unit} from {from}, which autovacuum's workers do not \
             apply; the server-wide value is hidden from the session, so {}{unit} (the \
             compiled-in default) is assumed for workers without a database or role setting \
             of their own (run pgvac as a role without one to read it)",
            self.name, self.session_value, self.assumed
        )
    }
}

impl GlobalSettings {
    /// Type the autovacuum settings of a snapshot.
    pub fn from_snapshot(snapshot: &Snapshot) -> GlobalSettings {
        let major = snapshot.server.major();
        let mut reader = SettingsReader {
            snapshot,
            assumed: Vec::new(),
            hidden: Vec::new(),
        };
        let autovacuum = reader.boolean("autovacuum");
        let vacuum_threshold = reader.integer("autovacuum_vacuum_threshold");
        let vacuum_scale_factor = reader.real("autovacuum_vacuum_scale_factor");
        let (vacuum_insert_threshold, vacuum_insert_scale_factor) = if major >= 13 {
            (
                Some(reader.integer("autovacuum_vacuum_insert_threshold")),
                Some(reader.real("autovacuum_vacuum_insert_scale_factor")),
            )
        } else {
            (None, None)
        };
        let vacuum_max_threshold =
            (major >= 18).then(|| reader.integer("autovacuum_vacuum_max_threshold"));
        let analyze_threshold = reader.integer("autovacuum_analyze_threshold");
        let analyze_scale_factor = reader.real("autovacuum_analyze_scale_factor");
        let freeze_max_age = reader.integer("autovacuum_freeze_max_age");
        let multixact_freeze_max_age = reader.integer("autovacuum_multixact_freeze_max_age");
        let max_workers = reader.integer("autovacuum_max_workers");
        let worker_slots = (major >= 18).then(|| reader.integer("autovacuum_worker_slots"));
        let naptime =
            Duration::from_secs_f64((reader.millis("autovacuum_naptime") / 1000.0).max(0.0));
        let server_only = ServerOnly {
            major,
            cost_delay_ms: reader.millis("autovacuum_vacuum_cost_delay"),
            cost_limit: reader.integer("autovacuum_vacuum_cost_limit"),
            work_mem_bytes: reader.bytes("autovacuum_work_mem"),
        };

        // The launcher connects to no database: it applies no pg_db_role_setting entry.
        let track_counts = reader.server_wide("track_counts", Kind::Boolean).boolean();
        let workers = WorkerSettings::read(&mut reader, &server_only, None);
        let databases = snapshot
            .databases
            .iter()
            .map(|d| {
                (
                    d.oid,
                    WorkerSettings::read(&mut reader, &server_only, Some(d)),
                )
            })
            .collect();

        GlobalSettings {
            server_major: major,
            autovacuum,
            track_counts,
            vacuum_threshold,
            vacuum_scale_factor,
            vacuum_insert_threshold,
            vacuum_insert_scale_factor,
            vacuum_max_threshold,
            analyze_threshold,
            analyze_scale_factor,
            freeze_max_age,
            multixact_freeze_max_age,
            cost_delay_ms: workers.cost_delay_ms.value,
            cost_limit: workers.cost_limit.value,
            max_workers,
            worker_slots,
            naptime,
            work_mem_bytes: workers.work_mem_bytes.value,
            workers,
            databases,
            assumed_defaults: reader.assumed,
            hidden: reader.hidden,
        }
    }

    /// `AutoVacuumingActive()` in the launcher: the daemon acts on thresholds only with both
    /// `autovacuum` and `track_counts` on; otherwise it runs only forced anti-wraparound
    /// vacuums. (A database whose workers have `track_counts` off is visited, but its workers
    /// act on no threshold either: [`WorkerSettings::track_counts`].)
    pub fn autovacuum_active(&self) -> bool {
        self.autovacuum && self.track_counts
    }

    /// What autovacuum's workers use in the database with this oid (the server-wide values for
    /// a database the snapshot does not list).
    pub fn in_database(&self, oid: u32) -> &WorkerSettings {
        self.databases.get(&oid).unwrap_or(&self.workers)
    }

    /// These settings as the workers of one database have them: `cost_delay_ms`, `cost_limit`,
    /// `work_mem_bytes` and `workers` are that database's, `track_counts` is off when either
    /// the server's or the database's is, and `databases` is empty.
    pub fn for_database(&self, oid: u32) -> GlobalSettings {
        let workers = self.in_database(oid).clone();
        GlobalSettings {
            track_counts: self.track_counts && workers.track_counts.value,
            cost_delay_ms: workers.cost_delay_ms.value,
            cost_limit: workers.cost_limit.value,
            work_mem_bytes: workers.work_mem_bytes.value,
            workers,
            databases: BTreeMap::new(),
            ..self.clone_without_databases()
        }
    }

    fn clone_without_databases(&self) -> GlobalSettings {
        GlobalSettings {
            databases: BTreeMap::new(),
            workers: self.workers.clone(),
            assumed_defaults: self.assumed_defaults.clone(),
            hidden: self.hidden.clone(),
            ..*self
        }
    }
}

/// The `autovacuum_*` settings the worker values fall back from, in base units (-1: fall back).
struct ServerOnly {
    major: i32,
    cost_delay_ms: f64,
    cost_limit: i64,
    work_mem_bytes: i64,
}

impl WorkerSettings {
    /// The values of the workers of `database` (`None`: of a database without settings of its
    /// own).
    fn read(
        reader: &mut SettingsReader,
        server: &ServerOnly,
        database: Option<&Database>,
    ) -> WorkerSettings {
        fn server_value<T>(value: T) -> Resolved<T> {
            Resolved {
                value,
                origin: SettingOrigin::Server,
            }
        }
        // table_recheck_autovac (12-15) / VacuumUpdateCosts (16+): a delay >= 0 and a limit > 0
        // are used, else the session's vacuum_cost_*.
        let cost_delay_ms = if server.cost_delay_ms >= 0.0 {
            server_value(server.cost_delay_ms)
        } else {
            reader.worker_millis("vacuum_cost_delay", database)
        };
        let cost_limit = if server.cost_limit > 0 {
            server_value(server.cost_limit)
        } else {
            reader.worker_integer("vacuum_cost_limit", database)
        };
        let mut work_mem_bytes = if server.work_mem_bytes < 0 {
            reader.worker_bytes("maintenance_work_mem", database)
        } else {
            server_value(server.work_mem_bytes)
        };
        if server.major < 17 {
            work_mem_bytes.value = work_mem_bytes.value.min(WORK_MEM_CAP_BEFORE_17);
        }
        let template = database.is_some_and(|d| d.is_template || !d.allows_connections);
        let mut freeze = |name: &str| {
            if template {
                Resolved {
                    value: 0,
                    origin: SettingOrigin::TemplateDatabase,
                }
            } else {
                reader.worker_integer(name, database)
            }
        };
        let freeze_min_age = freeze("vacuum_freeze_min_age");
        let freeze_table_age = freeze("vacuum_freeze_table_age");
        let multixact_freeze_min_age = freeze("vacuum_multixact_freeze_min_age");
        let multixact_freeze_table_age = freeze("vacuum_multixact_freeze_table_age");
        let (failsafe_age, multixact_failsafe_age) = if server.major >= 14 {
            (
                Some(reader.worker_integer("vacuum_failsafe_age", database)),
                Some(reader.worker_integer("vacuum_multixact_failsafe_age", database)),
            )
        } else {
            (None, None)
        };
        WorkerSettings {
            track_counts: reader.worker_boolean("track_counts", database),
            cost_delay_ms,
            cost_limit,
            work_mem_bytes,
            freeze_min_age,
            freeze_table_age,
            multixact_freeze_min_age,
            multixact_freeze_table_age,
            failsafe_age,
            multixact_failsafe_age,
        }
    }
}

/// The compiled-in default of a setting, in its base unit, as `pg_settings` shows it
/// (`boot_val`). The values are the same in every version that has the setting, except that
/// the insert trigger only exists from 13, the failsafe from 14, and the cap and worker slots
/// from 18.
fn compiled_default(name: &str) -> Option<&'static str> {
    Some(match name {
        "autovacuum" | "track_counts" => "on",
        "autovacuum_vacuum_threshold" | "autovacuum_analyze_threshold" => "50",
        "autovacuum_vacuum_scale_factor" | "autovacuum_vacuum_insert_scale_factor" => "0.2",
        "autovacuum_analyze_scale_factor" => "0.1",
        "autovacuum_vacuum_insert_threshold" => "1000",
        "autovacuum_vacuum_max_threshold" => "100000000",
        "autovacuum_freeze_max_age" => "200000000",
        "autovacuum_multixact_freeze_max_age" => "400000000",
        "autovacuum_vacuum_cost_delay" => "2",
        "vacuum_cost_delay" => "0",
        "autovacuum_vacuum_cost_limit" | "autovacuum_work_mem" => "-1",
        "vacuum_cost_limit" => "200",
        "autovacuum_max_workers" => "3",
        "autovacuum_worker_slots" => "16",
        "autovacuum_naptime" => "60",
        "maintenance_work_mem" => "65536",
        "vacuum_freeze_min_age" => "50000000",
        "vacuum_freeze_table_age" | "vacuum_multixact_freeze_table_age" => "150000000",
        "vacuum_multixact_freeze_min_age" => "5000000",
        "vacuum_failsafe_age" | "vacuum_multixact_failsafe_age" => "1600000000",
        _ => return None,
    })
}

/// The base unit of a setting when it is missing from the snapshot, for [`compiled_default`].
fn default_unit(name: &str) -> Option<&'static str> {
    match name {
        "autovacuum_vacuum_cost_delay" | "vacuum_cost_delay" => Some("ms"),
        "autovacuum_naptime" => Some("s"),
        "autovacuum_work_mem" | "maintenance_work_mem" => Some("kB"),
        _ => None,
    }
}

/// How a setting's text is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Boolean,
    Integer,
    Real,
    /// A time, read in milliseconds (a real: fractions are kept).
    Millis,
    /// A memory size, read in bytes (an integer of its base unit).
    Bytes,
}

impl Kind {
    /// The text (in the base `unit`) reads as this kind.
    fn accepts(self, text: &str, unit: Option<&str>) -> bool {
        match self {
            Kind::Boolean => matches!(text, "on" | "off"),
            Kind::Integer => text.parse::<i64>().is_ok(),
            Kind::Real => text.parse::<f64>().is_ok(),
            Kind::Millis => text.parse::<f64>().is_ok() && unit_millis(unit).is_some(),
            Kind::Bytes => text.parse::<i64>().is_ok() && unit_bytes(unit).is_some(),
        }
    }
}

/// One setting's text in its base unit, the unit, and where it came from.
struct Raw {
    text: String,
    unit: Option<String>,
    origin: SettingOrigin,
}

impl Raw {
    fn boolean(&self) -> bool {
        self.text == "on"
    }

    fn integer(&self) -> i64 {
        self.text.parse().unwrap_or(0)
    }

    fn real(&self) -> f64 {
        self.text.parse().unwrap_or(0.0)
    }

    /// Negative values (-1 = "use another setting") are kept.
    fn millis(&self) -> f64 {
        let value: f64 = self.text.parse().unwrap_or(0.0);
        if value < 0.0 {
            return value;
        }
        value * unit_millis(self.unit.as_deref()).unwrap_or(1.0)
    }

    /// Negative values (-1 = "use another setting") are kept.
    fn bytes(&self) -> i64 {
        let value: i64 = self.text.parse().unwrap_or(0);
        if value < 0 {
            return value;
        }
        value.saturating_mul(unit_bytes(self.unit.as_deref()).unwrap_or(1))
    }

    fn resolved<T>(self, value: impl Fn(&Raw) -> T) -> Resolved<T> {
        Resolved {
            value: value(&self),
            origin: self.origin,
        }
    }
}

struct SettingsReader<'s> {
    snapshot: &'s Snapshot,
    assumed: Vec<String>,
    hidden: Vec<HiddenSetting>,
}

impl<'s> SettingsReader<'s> {
    /// The server-wide setting as pgvac's session read it, or the compiled default (noted as
    /// assumed). A setting read without a unit takes the unit the server gives it (`pg_settings`
    /// always shows one for time and memory settings; a snapshot edited by hand may not).
    fn server(&mut self, name: &str, kind: Kind) -> Raw {
        let found = self.snapshot.setting(name).map(|setting| {
            let unit = setting.unit.as_deref().or(default_unit(name));
            (setting.setting.trim(), unit)
        });
        match found {
            Some((text, unit)) if kind.accepts(text, unit) => Raw {
                text: text.to_string(),
                unit: unit.map(str::to_string),
                origin: SettingOrigin::Server,
            },
            _ => {
                if !self.assumed.iter().any(|a| a == name) {
                    self.assumed.push(name.to_string());
                }
                self.compiled(name)
            }
        }
    }

    fn compiled(&self, name: &str) -> Raw {
        Raw {
            text: compiled_default(name).unwrap_or("0").to_string(),
            unit: default_unit(name).map(str::to_string),
            origin: SettingOrigin::Server,
        }
    }

    /// A setting a session may change, as the workers of `database` have it (`None`: a
    /// database without settings of its own): the first of its `pg_db_role_setting` entries
    /// that a worker applies, else the server-wide value.
    fn worker(&mut self, name: &str, kind: Kind, database: Option<&Database>) -> Raw {
        let snapshot: &'s Snapshot = self.snapshot;
        let session = snapshot.setting(name);
        let base_unit = session
            .and_then(|s| s.unit.clone())
            .or(default_unit(name).map(str::to_string));
        if let Some((entry, origin)) = self.entry(name, database)
            && let Some(text) = to_base_unit(&entry.value, kind, base_unit.as_deref())
            && kind.accepts(&text, base_unit.as_deref())
        {
            return Raw {
                text,
                unit: base_unit,
                origin,
            };
        }
        self.server_wide(name, kind)
    }

    /// The server-wide value of a setting a session may change: what pgvac's session shows
    /// unless a database or role setting (or the connection) replaced it there; then the
    /// compiled-in default, noted as hidden.
    fn server_wide(&mut self, name: &str, kind: Kind) -> Raw {
        let snapshot: &'s Snapshot = self.snapshot;
        let session = snapshot.setting(name);
        let base_unit = session
            .and_then(|s| s.unit.clone())
            .or(default_unit(name).map(str::to_string));
        match session {
            Some(setting) if !SERVER_SOURCES.contains(&setting.source.as_str()) => {
                let assumed = setting
                    .boot_val
                    .as_deref()
                    .map(str::trim)
                    .filter(|text| kind.accepts(text, base_unit.as_deref()))
                    .map(str::to_string);
                let raw = match assumed {
                    Some(text) => Raw {
                        text,
                        unit: base_unit,
                        origin: SettingOrigin::Assumed,
                    },
                    None => Raw {
                        origin: SettingOrigin::Assumed,
                        ..self.compiled(name)
                    },
                };
                if !self.hidden.iter().any(|h| h.name == name) {
                    self.hidden.push(HiddenSetting {
                        name: name.to_string(),
                        session_source: setting.source.clone(),
                        session_value: setting.setting.clone(),
                        assumed: raw.text.clone(),
                        unit: raw.unit.clone(),
                    });
                }
                raw
            }
            _ => self.server(name, kind),
        }
    }

    /// The `pg_db_role_setting` entry of `name` a worker of `database` applies, if any, in
    /// `process_settings`' order.
    fn entry(
        &self,
        name: &str,
        database: Option<&Database>,
    ) -> Option<(&'s RoleSetting, SettingOrigin)> {
        let rows = self.snapshot.role_settings.as_ref()?;
        let find = |database_oid: u32, role_oid: u32| {
            rows.iter().find(|r| {
                r.database_oid == database_oid && r.role_oid == role_oid && r.name == name
            })
        };
        let role = |row: &RoleSetting| row.role.clone().unwrap_or_else(|| "postgres".to_string());
        let database_name = |row: &RoleSetting| {
            row.database
                .clone()
                .or_else(|| database.map(|d| d.name.clone()))
                .unwrap_or_default()
        };
        if let Some(db) = database
            && let Some(row) = find(db.oid, BOOTSTRAP_SUPERUSER_OID)
        {
            let origin = SettingOrigin::WorkerRoleInDatabase {
                role: role(row),
                database: database_name(row),
            };
            return Some((row, origin));
        }
        if let Some(row) = find(0, BOOTSTRAP_SUPERUSER_OID) {
            return Some((row, SettingOrigin::WorkerRole { role: role(row) }));
        }
        if let Some(db) = database
            && let Some(row) = find(db.oid, 0)
        {
            let origin = SettingOrigin::Database {
                database: database_name(row),
            };
            return Some((row, origin));
        }
        find(0, 0).map(|row| (row, SettingOrigin::AllRoles))
    }

    fn boolean(&mut self, name: &str) -> bool {
        self.server(name, Kind::Boolean).boolean()
    }

    fn integer(&mut self, name: &str) -> i64 {
        self.server(name, Kind::Integer).integer()
    }

    fn real(&mut self, name: &str) -> f64 {
        self.server(name, Kind::Real).real()
    }

    /// A time setting in milliseconds. Negative values (-1 = "use another setting") are kept.
    fn millis(&mut self, name: &str) -> f64 {
        self.server(name, Kind::Millis).millis()
    }

    /// A memory setting in bytes. Negative values (-1 = "use another setting") are kept.
    fn bytes(&mut self, name: &str) -> i64 {
        self.server(name, Kind::Bytes).bytes()
    }

    fn worker_boolean(&mut self, name: &str, database: Option<&Database>) -> Resolved<bool> {
        self.worker(name, Kind::Boolean, database)
            .resolved(Raw::boolean)
    }

    fn worker_integer(&mut self, name: &str, database: Option<&Database>) -> Resolved<i64> {
        self.worker(name, Kind::Integer, database)
            .resolved(Raw::integer)
    }

    fn worker_millis(&mut self, name: &str, database: Option<&Database>) -> Resolved<f64> {
        self.worker(name, Kind::Millis, database)
            .resolved(Raw::millis)
    }

    fn worker_bytes(&mut self, name: &str, database: Option<&Database>) -> Resolved<i64> {
        self.worker(name, Kind::Bytes, database)
            .resolved(Raw::bytes)
    }
}

/// A value as `ALTER ... SET` stored it, in the setting's base unit, as the server reads it:
/// `parse_bool`, or `parse_int`/`parse_real` (decimal, octal `0..` or hex `0x..` integers,
/// decimal fractions, optional whitespace and a unit of the setting's kind), integers rounded
/// half to even (`rint`). `None` when the server would not accept it.
fn to_base_unit(value: &str, kind: Kind, base_unit: Option<&str>) -> Option<String> {
    let value = value.trim();
    if kind == Kind::Boolean {
        return parse_bool(value).map(|on| if on { "on" } else { "off" }.to_string());
    }
    let (number, rest) = parse_number(value)?;
    let unit = rest.trim();
    let factor = if unit.is_empty() {
        1.0
    } else {
        match kind {
            Kind::Millis => unit_millis(Some(unit))? / unit_millis(base_unit)?,
            Kind::Bytes if !unit.starts_with(|c: char| c.is_ascii_digit()) => {
                unit_bytes(Some(unit))? as f64 / unit_bytes(base_unit)? as f64
            }
            _ => return None,
        }
    };
    let scaled = number * factor;
    if !scaled.is_finite() {
        return None;
    }
    Some(match kind {
        Kind::Integer | Kind::Bytes => {
            let rounded = scaled.round_ties_even();
            if rounded.abs() > i64::MAX as f64 / 2.0 {
                return None;
            }
            (rounded as i64).to_string()
        }
        _ => scaled.to_string(),
    })
}

/// `parse_bool`: a prefix of `true`, `false`, `yes`, `no`, `on` or `off` (at least `of`, `on`
/// for the last two), `1` or `0`, any case.
fn parse_bool(value: &str) -> Option<bool> {
    let lower = value.to_ascii_lowercase();
    let prefix_of = |word: &str, min: usize| lower.len() >= min && word.starts_with(&lower);
    if prefix_of("true", 1) || prefix_of("yes", 1) || lower == "on" || lower == "1" {
        Some(true)
    } else if prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) || lower == "0" {
        Some(false)
    } else {
        None
    }
}

/// The number at the start of `text` and what follows it, as `strtol(.., 0)` and, when that
/// stops at a decimal point or exponent, `strtod` read it.
fn parse_number(text: &str) -> Option<(f64, &str)> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let negative = match bytes.first() {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let sign = if negative { -1.0 } else { 1.0 };
    let digits_from = |start: usize, radix: u32| {
        let end = start
            + text[start..]
                .chars()
                .take_while(|c| c.is_digit(radix))
                .count();
        (end, i64::from_str_radix(&text[start..end], radix).ok())
    };
    let rest = &text[i..];
    if (rest.starts_with("0x") || rest.starts_with("0X")) && rest.len() > 2 {
        let (end, value) = digits_from(i + 2, 16);
        return Some((sign * value? as f64, &text[end..]));
    }
    let (end, integer) = if rest.starts_with('0') && rest.len() > 1 {
        digits_from(i, 8)
    } else {
        digits_from(i, 10)
    };
    let next = text[end..].chars().next();
    if !matches!(next, Some('.' | 'e' | 'E')) {
        return integer.map(|v| (sign * v as f64, &text[end..]));
    }
    // A decimal fraction: digits, a point, digits, an exponent.
    let mut end = i + text[i..].chars().take_while(char::is_ascii_digit).count();
    if text[end..].starts_with('.') {
        end += 1;
        end += text[end..].chars().take_while(char::is_ascii_digit).count();
    }
    if text[end..].starts_with(['e', 'E']) {
        let mut exponent = end + 1;
        if text[exponent..].starts_with(['+', '-']) {
            exponent += 1;
        }
        let digits = text[exponent..]
            .chars()
            .take_while(char::is_ascii_digit)
            .count();
        if digits > 0 {
            end = exponent + digits;
        }
    }
    let value: f64 = text[i..end].parse().ok()?;
    Some((sign * value, &text[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::rules::fixture::Fx;

    const APP: u32 = 16384;
    const MB: i64 = 1024 * 1024;

    #[test]
    fn workers_apply_their_database_and_role_settings_in_process_settings_order() {
        // maintenance_work_mem: the database's 1MB; the role workers run as, in this database,
        // beats it for vacuum_freeze_min_age; every role's is last.
        let snapshot = Fx::new(16)
            .set("maintenance_work_mem", "32768")
            .set("vacuum_cost_delay", "0")
            .set("autovacuum_vacuum_cost_delay", "-1")
            .set("autovacuum_vacuum_cost_limit", "-1")
            .database_setting("maintenance_work_mem", "1MB")
            .database_setting("vacuum_freeze_min_age", "1000")
            .role_setting(APP, 10, "vacuum_freeze_min_age", "2000")
            .role_setting(0, 0, "vacuum_cost_limit", "345")
            .role_setting(0, 0, "vacuum_freeze_min_age", "3000")
            .database_setting("vacuum_cost_delay", "7ms")
            // pgvac's own role: reaches no worker.
            .role_setting(0, 16500, "vacuum_freeze_table_age", "1")
            .done();
        let global = GlobalSettings::from_snapshot(&snapshot);
        let app = global.in_database(APP);
        assert_eq!(app.work_mem_bytes.value, MB);
        assert_eq!(
            app.work_mem_bytes.origin,
            SettingOrigin::Database {
                database: "app".to_string()
            }
        );
        assert_eq!(app.freeze_min_age.value, 2000);
        assert!(matches!(
            app.freeze_min_age.origin,
            SettingOrigin::WorkerRoleInDatabase { .. }
        ));
        assert_eq!(app.cost_delay_ms.value, 7.0);
        assert_eq!(app.cost_limit.value, 345);
        assert_eq!(app.cost_limit.origin, SettingOrigin::AllRoles);
        assert_eq!(app.freeze_table_age.value, 150_000_000);
        assert_eq!(app.freeze_table_age.origin, SettingOrigin::Server);
        // Another database: the server's values and every role's.
        let postgres = snapshot.database("postgres").unwrap().oid;
        let other = global.in_database(postgres);
        assert_eq!(other.work_mem_bytes.value, 32 * MB);
        assert_eq!(other.cost_delay_ms.value, 0.0);
        assert_eq!(other.freeze_min_age.value, 3000);
        assert!(global.hidden.is_empty(), "{:?}", global.hidden);
        // The advice for app is sized by app's workers.
        assert_eq!(global.for_database(APP).work_mem_bytes, MB);
    }

    #[test]
    fn a_session_value_from_pgvacs_own_role_is_not_the_servers() {
        // pgvac's role has maintenance_work_mem = 1GB: its pg_settings shows 1GB from `user`.
        let snapshot = Fx::new(15)
            .session_setting("maintenance_work_mem", "1048576", "user")
            .database_setting("maintenance_work_mem", "1MB")
            .done();
        let global = GlobalSettings::from_snapshot(&snapshot);
        assert_eq!(global.in_database(APP).work_mem_bytes.value, MB);
        let postgres = snapshot.database("postgres").unwrap().oid;
        let other = &global.in_database(postgres).work_mem_bytes;
        assert_eq!(other.origin, SettingOrigin::Assumed);
        assert_eq!(
            other.value,
            64 * MB,
            "the compiled-in default, not the session's 1 GB"
        );
        assert_eq!(global.hidden.len(), 1);
        let note = global.hidden[0].describe();
        assert!(
            note.contains("maintenance_work_mem") && note.contains("ALTER ROLE"),
            "{note}"
        );
    }

    #[test]
    fn the_launcher_has_the_servers_track_counts_whatever_the_roles() {
        // ALTER ROLE postgres SET track_counts = off reaches every worker, not the launcher.
        let snapshot = Fx::new(17)
            .role_setting(0, 10, "track_counts", "off")
            .done();
        let global = GlobalSettings::from_snapshot(&snapshot);
        assert!(global.track_counts && global.autovacuum_active());
        assert!(!global.in_database(APP).track_counts.value);
    }

    #[test]
    fn stored_values_are_read_as_the_server_parses_them() {
        let ms = Some("ms");
        let kb = Some("kB");
        assert_eq!(to_base_unit("7ms", Kind::Millis, ms).as_deref(), Some("7"));
        assert_eq!(
            to_base_unit("1.5s", Kind::Millis, ms).as_deref(),
            Some("1500")
        );
        assert_eq!(
            to_base_unit("1GB", Kind::Bytes, kb).as_deref(),
            Some("1048576")
        );
        assert_eq!(
            to_base_unit("1 MB", Kind::Bytes, kb).as_deref(),
            Some("1024")
        );
        assert_eq!(
            to_base_unit("2048", Kind::Bytes, kb).as_deref(),
            Some("2048")
        );
        assert_eq!(
            to_base_unit("0x10", Kind::Integer, None).as_deref(),
            Some("16")
        );
        assert_eq!(
            to_base_unit("010", Kind::Integer, None).as_deref(),
            Some("8")
        );
        assert_eq!(
            to_base_unit("1e6", Kind::Integer, None).as_deref(),
            Some("1000000")
        );
        assert_eq!(to_base_unit("12 apples", Kind::Integer, None), None);
        assert_eq!(
            to_base_unit("of", Kind::Boolean, None).as_deref(),
            Some("off")
        );
        assert_eq!(to_base_unit("o", Kind::Boolean, None), None);
        assert_eq!(
            to_base_unit("TRUE", Kind::Boolean, None).as_deref(),
            Some("on")
        );
    }

    #[test]
    fn template_databases_freeze_at_zero() {
        let snapshot = Fx::new(14).done();
        let global = GlobalSettings::from_snapshot(&snapshot);
        let template1 = snapshot.database("template1").unwrap().oid;
        let workers = global.in_database(template1);
        assert_eq!(workers.freeze_min_age.value, 0);
        assert_eq!(
            workers.freeze_min_age.origin,
            SettingOrigin::TemplateDatabase
        );
    }
}
