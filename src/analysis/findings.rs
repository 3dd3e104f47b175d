//! Findings: what a rule reports, with the numbers it used and, where one applies, the fix.
//!
//! These are pgvac's internal types. The JSON that `pgvac report --format json` prints is a
//! separate wire type (see `render::json`), so this module can change without breaking consumers.
//!
//! Findings are sorted deterministically: severity (critical first), then code, then object.

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::sql::quote_literal;

/// How urgent a finding (or a blocker) is. Ordered: `Info < Warning < Critical`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    schemars::JsonSchema,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    #[default]
    Info,
    Warning,
    Critical,
}

impl Severity {
    /// The Nagios exit status of a run whose worst finding (or blocker) has this severity: 0
    /// info, 1 warning, 2 critical. The one place severities become exit statuses.
    pub fn exit_status(self) -> u8 {
        match self {
            Severity::Info => 0,
            Severity::Warning => 1,
            Severity::Critical => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a rule is about. Each category has its own code prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// Transaction ID and multixact wraparound.
    Wraparound,
    /// Per-table autovacuum settings.
    Table,
    /// Server-wide settings.
    Config,
    /// Vacuums running now.
    Running,
    /// What holds vacuum back (long transactions, slots, prepared transactions, ...): one rule per
    /// kind of [`crate::analysis::blockers::Blocker`].
    Blockers,
    /// What the server log says autovacuum did (`pgvac report --log`).
    Log,
}

impl Category {
    pub const ALL: [Category; 6] = [
        Category::Wraparound,
        Category::Table,
        Category::Config,
        Category::Running,
        Category::Blockers,
        Category::Log,
    ];

    /// The code prefix: `WRAP001`, `TABLE001`, ...
    pub fn prefix(self) -> &'static str {
        match self {
            Category::Wraparound => "WRAP",
            Category::Table => "TABLE",
            Category::Config => "CONFIG",
            Category::Running => "RUN",
            Category::Blockers => "BLOCK",
            Category::Log => "LOG",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Category::Wraparound => "Wraparound",
            Category::Table => "Per-table settings",
            Category::Config => "Server settings",
            Category::Running => "Running vacuums",
            Category::Blockers => "Blockers",
            Category::Log => "From the server log",
        }
    }
}

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Object {
    Cluster,
    Database {
        database: String,
    },
    Table {
        database: String,
        schema: String,
        name: String,
    },
    /// A server setting (GUC).
    Setting {
        name: String,
    },
    /// A backend, e.g. a running vacuum.
    Session {
        pid: i32,
        database: Option<String>,
    },
    ReplicationSlot {
        name: String,
    },
    PreparedTransaction {
        gid: String,
        database: String,
    },
}

impl Object {
    /// The kind of object, as the JSON names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Object::Cluster => "cluster",
            Object::Database { .. } => "database",
            Object::Table { .. } => "table",
            Object::Setting { .. } => "setting",
            Object::Session { .. } => "session",
            Object::ReplicationSlot { .. } => "replication_slot",
            Object::PreparedTransaction { .. } => "prepared_transaction",
        }
    }

    pub fn table(database: &str, schema: &str, name: &str) -> Object {
        Object::Table {
            database: database.to_string(),
            schema: schema.to_string(),
            name: name.to_string(),
        }
    }

    pub fn database(database: &str) -> Object {
        Object::Database {
            database: database.to_string(),
        }
    }

    pub fn setting(name: &str) -> Object {
        Object::Setting {
            name: name.to_string(),
        }
    }
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Object::Cluster => f.write_str("cluster"),
            Object::Database { database } => write!(f, "database {database}"),
            Object::Table {
                database,
                schema,
                name,
            } => write!(f, "{database}: {schema}.{name}"),
            Object::Setting { name } => write!(f, "setting {name}"),
            Object::Session { pid, database } => match database {
                Some(db) => write!(f, "pid {pid} ({db})"),
                None => write!(f, "pid {pid}"),
            },
            Object::ReplicationSlot { name } => write!(f, "slot {name}"),
            Object::PreparedTransaction { gid, database } => {
                write!(f, "prepared transaction {gid} ({database})")
            }
        }
    }
}

/// One number or string a rule used.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Int(i64),
    Real(f64),
    Text(String),
    Bool(bool),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(n) => f.write_str(&group_digits(*n)),
            Value::Real(x) => write!(f, "{x}"),
            Value::Text(s) => f.write_str(s),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Int(n)
    }
}
impl From<i32> for Value {
    fn from(n: i32) -> Value {
        Value::Int(i64::from(n))
    }
}
impl From<u32> for Value {
    fn from(n: u32) -> Value {
        Value::Int(i64::from(n))
    }
}
impl From<f64> for Value {
    fn from(x: f64) -> Value {
        Value::Real(x)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Text(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Text(s)
    }
}

/// `1 database`, `2 databases`: a count and its noun, agreeing.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `1234567` as `1,234,567`, for people reading row counts and ages.
pub fn group_digits(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How safe it is to run a recommendation's SQL as it is (after ruff's fix applicability).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Safety {
    /// Changes only how autovacuum treats the object; takes a brief lock at most.
    Safe,
    /// Works as written but has a cost to weigh first: I/O, a long lock, or ended sessions.
    NeedsCare,
    /// Shown to explain the fix; not meant to be run as it is (e.g. a parameter-group change).
    DisplayOnly,
}

/// What else the change needs before it takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Needs {
    /// Takes effect at once (or at the next autovacuum cycle).
    None,
    /// `SELECT pg_reload_conf()` after `ALTER SYSTEM`.
    Reload,
    /// A server restart.
    Restart,
    /// RDS/Aurora: change the DB parameter group; dynamic parameters apply without a reboot.
    ParameterGroup,
    /// RDS/Aurora: change the DB parameter group, then reboot (a static parameter).
    ParameterGroupReboot,
}

/// The fix a finding suggests. Everything a view decides about it (comment it out, where to
/// run it, what it locks, whether it ends a session) is a field here, never read from the SQL.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    pub text: String,
    pub sql: Option<String>,
    pub safety: Safety,
    /// It ends sessions or transactions, or drops objects: an SQL script leaves it commented
    /// out unless `--include-destructive`.
    pub destructive: bool,
    /// Where the SQL runs; `None` when there is no SQL.
    pub run_on: Option<RunOn>,
    /// The lock the SQL takes, e.g. `SHARE UPDATE EXCLUSIVE on the table`.
    pub lock: Option<String>,
    pub needs: Needs,
    /// The server settings the fix changes, when it is a settings change: what the Settings
    /// section of a report, `recommended_settings` in the JSON and the SQL script are made of.
    pub settings: Vec<SettingChange>,
    /// The sessions the SQL signals, each with the identity its statement rechecks.
    pub signals: Vec<SessionSignal>,
}

/// Where a fix's statements run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOn {
    /// This server, connected to any database.
    Server,
    /// This server, connected to this database.
    Database { database: String },
    /// This server, connected to this database as this role or a superuser.
    DatabaseAs { database: String, role: String },
    /// A standby (named as pgvac names it), not this server.
    Standby { standby: String },
    /// The DB parameter group of RDS or Aurora: not SQL at all.
    ParameterGroup,
}

impl RunOn {
    pub fn database(name: &str) -> RunOn {
        RunOn::Database {
            database: name.to_string(),
        }
    }

    /// The database the statements must be run in, when it is one of this server's.
    pub fn database_name(&self) -> Option<&str> {
        match self {
            RunOn::Database { database } | RunOn::DatabaseAs { database, .. } => Some(database),
            RunOn::Server | RunOn::Standby { .. } | RunOn::ParameterGroup => None,
        }
    }
}

impl fmt::Display for RunOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::sql::quote_ident;
        match self {
            RunOn::Server => f.write_str("this server"),
            RunOn::Database { database } => write!(f, "database {}", quote_ident(database)),
            RunOn::DatabaseAs { database, role } => write!(
                f,
                "database {} as {} or a superuser",
                quote_ident(database),
                quote_ident(role)
            ),
            RunOn::Standby { standby } => write!(f, "the {standby}"),
            RunOn::ParameterGroup => f.write_str("the DB parameter group"),
        }
    }
}

/// One server setting a recommendation changes.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingChange {
    pub name: String,
    /// The recommended value, as it would be written in `postgresql.conf` (`2ms`, `1024MB`).
    pub value: String,
    /// Whether it takes a reload, a restart or a parameter-group change.
    pub needs: Needs,
}

impl Recommendation {
    /// A recommendation without SQL.
    pub fn text(text: impl Into<String>) -> Recommendation {
        Recommendation {
            text: text.into(),
            sql: None,
            safety: Safety::DisplayOnly,
            destructive: false,
            run_on: None,
            lock: None,
            needs: Needs::None,
            settings: Vec::new(),
            signals: Vec::new(),
        }
    }
}

/// One thing a rule found.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub code: &'static str,
    pub name: &'static str,
    /// The rule's category: which section of a report the finding is in.
    pub category: Category,
    pub severity: Severity,
    pub object: Object,
    /// One line, no trailing period.
    pub message: String,
    /// The numbers and strings the rule used, in the order it used them.
    pub evidence: Vec<(String, Value)>,
    pub recommendation: Option<Recommendation>,
}

impl Finding {
    /// The order findings are shown in: most severe first, then code, then object.
    pub fn display_order(a: &Finding, b: &Finding) -> Ordering {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.code.cmp(b.code))
            .then_with(|| a.object.cmp(&b.object))
            .then_with(|| a.message.cmp(&b.message))
    }

    /// Add one piece of evidence.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Finding {
        self.evidence.push((key.to_string(), value.into()));
        self
    }

    pub fn recommend(mut self, recommendation: Recommendation) -> Finding {
        self.recommendation = Some(recommendation);
        self
    }

    pub fn evidence(&self, key: &str) -> Option<&Value> {
        self.evidence.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// Sort findings into display order.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(Finding::display_order);
}

/// The most severe finding's severity, if any.
pub fn worst(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}

/// `pg_terminate_backend` or `pg_cancel_backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalKind {
    Terminate,
    Cancel,
}

impl SignalKind {
    pub fn function(self) -> &'static str {
        match self {
            SignalKind::Terminate => "pg_terminate_backend",
            SignalKind::Cancel => "pg_cancel_backend",
        }
    }
}

/// A signal to one session, guarded: it is sent only if the pid still belongs to the session
/// that started at `backend_start` (and, when `same_transaction`, that is still in the
/// transaction that started at `xact_start`). There is no unguarded form.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSignal {
    pub kind: SignalKind,
    pub pid: i32,
    pub backend_start: DateTime<Utc>,
    /// Whether the statement also rechecks `xact_start` (absent `xact_start`: no transaction).
    pub same_transaction: bool,
    pub xact_start: Option<DateTime<Utc>>,
}

impl SessionSignal {
    /// The statement, as [`guarded_signal_sql`] writes it.
    pub fn sql(&self) -> String {
        guarded_signal_sql(
            self.kind.function(),
            self.pid,
            self.backend_start,
            self.same_transaction.then_some(self.xact_start),
        )
    }
}

/// A timestamp as an SQL literal with microsecond precision, as the server stores it.
pub fn timestamp_literal(at: DateTime<Utc>) -> String {
    quote_literal(&at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

/// `SELECT pg_terminate_backend(pid) ...` (or cancel) that only signals the session if it is
/// still the same session (pid and backend_start) and, when given, still in the same
/// transaction: a pid reused by a new session is never signalled. There is no form without
/// `backend_start`: a session whose start time is unknown is not offered a signal at all.
pub fn guarded_signal_sql(
    function: &str,
    pid: i32,
    backend_start: DateTime<Utc>,
    xact_start: Option<Option<DateTime<Utc>>>,
) -> String {
    let mut sql = format!(
        "SELECT {function}(pid) FROM pg_stat_activity WHERE pid = {pid} AND backend_start = {}",
        timestamp_literal(backend_start)
    );
    match xact_start {
        None => {}
        Some(None) => sql.push_str(" AND xact_start IS NULL"),
        Some(Some(at)) => {
            sql.push_str(&format!(" AND xact_start = {}", timestamp_literal(at)));
        }
    }
    sql.push(';');
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(code: &'static str, severity: Severity, object: Object) -> Finding {
        Finding {
            code,
            name: "x",
            category: Category::Config,
            severity,
            object,
            message: String::new(),
            evidence: Vec::new(),
            recommendation: None,
        }
    }

    #[test]
    fn order_is_severity_then_code_then_object() {
        let mut findings = vec![
            finding("TABLE001", Severity::Info, Object::database("a")),
            finding("WRAP001", Severity::Warning, Object::database("b")),
            finding("CONFIG001", Severity::Warning, Object::database("z")),
            finding("WRAP001", Severity::Warning, Object::database("a")),
            finding("RUN001", Severity::Critical, Object::Cluster),
        ];
        sort(&mut findings);
        let order: Vec<(&str, String)> = findings
            .iter()
            .map(|f| (f.code, f.object.to_string()))
            .collect();
        assert_eq!(
            order,
            vec![
                ("RUN001", "cluster".to_string()),
                ("CONFIG001", "database z".to_string()),
                ("WRAP001", "database a".to_string()),
                ("WRAP001", "database b".to_string()),
                ("TABLE001", "database a".to_string()),
            ]
        );
    }

    #[test]
    fn exit_status_follows_the_worst_finding() {
        let status = |found: &[Finding]| worst(found).map_or(0, Severity::exit_status);
        assert_eq!(status(&[]), 0);
        let info = finding("A", Severity::Info, Object::Cluster);
        let warning = finding("A", Severity::Warning, Object::Cluster);
        let critical = finding("A", Severity::Critical, Object::Cluster);
        assert_eq!(status(std::slice::from_ref(&info)), 0);
        assert_eq!(status(&[info.clone(), warning.clone()]), 1);
        assert_eq!(status(&[warning, critical, info]), 2);
    }

    #[test]
    fn digits_are_grouped() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(2_000_000), "2,000,000");
        assert_eq!(group_digits(-1_500_000_000), "-1,500,000,000");
    }
}
