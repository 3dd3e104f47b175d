//! Findings: what a rule reports, with the numbers it used and, where one applies, the fix.
//!
//! These are pgvac's internal types. The JSON that `pgvac report --format json` prints is a
//! separate wire type (see `render::json`), so this module can change without breaking consumers.
//!
//! Findings are sorted deterministically: severity (critical first), then code, then object.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

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

/// The fix a finding suggests.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    pub text: String,
    pub sql: Option<String>,
    pub safety: Safety,
    /// The lock the SQL takes, e.g. `SHARE UPDATE EXCLUSIVE on the table`.
    pub lock: Option<String>,
    pub needs: Needs,
    /// The server settings the fix changes, when it is a settings change: what the Settings
    /// section of a report, `recommended_settings` in the JSON and the SQL script are made of.
    pub settings: Vec<SettingChange>,
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
            lock: None,
            needs: Needs::None,
            settings: Vec::new(),
        }
    }
}

/// One thing a rule found.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub code: &'static str,
    pub name: &'static str,
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

/// The Nagios exit status: 0 nothing at warning or above, 1 warning, 2 critical.
pub fn exit_status(findings: &[Finding]) -> u8 {
    match worst(findings) {
        Some(Severity::Critical) => 2,
        Some(Severity::Warning) => 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(code: &'static str, severity: Severity, object: Object) -> Finding {
        Finding {
            code,
            name: "x",
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
        assert_eq!(exit_status(&[]), 0);
        let info = finding("A", Severity::Info, Object::Cluster);
        let warning = finding("A", Severity::Warning, Object::Cluster);
        let critical = finding("A", Severity::Critical, Object::Cluster);
        assert_eq!(exit_status(std::slice::from_ref(&info)), 0);
        assert_eq!(exit_status(&[info.clone(), warning.clone()]), 1);
        assert_eq!(exit_status(&[warning, critical, info]), 2);
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
