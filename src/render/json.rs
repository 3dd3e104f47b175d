//! `pgvac report --format json`: one JSON document, for cron jobs and monitoring.
//!
//! The wire types here are separate from pgvac's internal types, so the internals can change
//! without breaking consumers. The document's JSON Schema is generated from these types
//! (`schemars`) and committed as `docs/report.schema.json`; a test fails when the file is stale.
//!
//! Compatibility: `schema_version` changes only when a field is removed or renamed or its
//! meaning changes. New fields (and new enum values, such as new finding codes) may appear in
//! any release with the same version: consumers should ignore fields they do not know.
//!
//! Top level: `schema_version`, `pgvac_version`, `generated_at`, `collected_at`, `complete`,
//! `missing`, `server`, `role`, `databases_visited`, `databases_total`, `databases_dropped`,
//! `limits`, `databases`, `summary`, `findings`, `sessions_to_terminate`,
//! `recommended_settings`, `collection_warnings`, `trends`.

use std::borrow::Cow;
use std::io::Write;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Serialize;
use serde::ser::SerializeMap;

use super::{Options, Report};
use crate::analysis::findings::{self, Category, Finding, Object, Value};
use crate::analysis::trends::Trends;
use crate::snapshot::{MissingCause, PlatformKind, Visit};

/// Version of this JSON format.
pub const SCHEMA_VERSION: u32 = 1;

/// Where the generated schema is committed, relative to the repository.
pub const SCHEMA_PATH: &str = "docs/report.schema.json";

/// The report of one pgvac run over one snapshot of a PostgreSQL cluster.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(title = "pgvac report")]
pub struct WireReport {
    /// Version of this format. Changes only when a field is removed, renamed or changes
    /// meaning; new fields may appear at any time and should be ignored by consumers.
    pub schema_version: u32,
    /// The pgvac that made the report.
    pub pgvac_version: String,
    /// When the report was made (RFC 3339, UTC).
    #[schemars(extend("format" = "date-time"))]
    pub generated_at: String,
    /// When the snapshot was collected, by the server's clock (RFC 3339, UTC).
    #[schemars(extend("format" = "date-time"))]
    pub collected_at: String,
    /// Whether pgvac read everything it set out to read. When false, the findings cover only
    /// what was read, `missing` says what was not, and pgvac exits 3 (unless `--allow-partial`).
    pub complete: bool,
    /// What was not read: one entry per database source or cluster-wide source; empty when
    /// `complete`.
    pub missing: Vec<WireMissing>,
    pub server: WireServer,
    pub role: WireRole,
    /// Databases every source of which was read.
    pub databases_visited: usize,
    /// Databases in `pg_database` when pgvac started.
    pub databases_total: usize,
    /// Databases dropped while pgvac ran: not read, and no reason to call the run incomplete.
    pub databases_dropped: Vec<String>,
    pub limits: WireLimits,
    /// Every database's wraparound ages, the oldest (by share of its freeze max age) first.
    /// Invalid databases (an interrupted `DROP DATABASE`) are left out: they have a finding.
    pub databases: Vec<WireDatabase>,
    pub summary: WireSummary,
    /// Rules left out with `--ignore` (or `PGVAC_IGNORE`), and how many findings each hid: they
    /// are not in `findings` or `summary`, and do not count for the exit status.
    pub ignored: Vec<WireIgnored>,
    /// Every finding, most severe first, then by code and object.
    pub findings: Vec<WireFinding>,
    /// Sessions pgvac recommends terminating, with the guarded SQL that does it.
    pub sessions_to_terminate: Vec<WireSessionToTerminate>,
    /// Server settings to change, one entry per setting.
    pub recommended_settings: Vec<WireSetting>,
    /// What the role could not see, each naming the grant that fixes it (a degraded but
    /// complete run), and notes such as a database dropped while pgvac ran.
    pub collection_warnings: Vec<WireWarning>,
    /// Trends against earlier runs: present only with `--history`:
    /// XID consumption, per-database ages with the estimated time to each limit, per-table dead
    /// rows and autovacuums, the restarts and statistics resets seen between runs, and notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trends: Option<Trends>,
}

/// The server the snapshot was collected from.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WireServer {
    /// `version()`.
    pub version: String,
    /// `server_version_num`, e.g. 170010.
    pub version_num: i32,
    /// The major version, e.g. 17.
    pub major: i32,
    pub platform: WirePlatform,
    /// A standby (in recovery).
    pub in_recovery: bool,
    /// When the postmaster started (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub started_at: String,
    /// Seconds from the postmaster's start to the collection.
    pub uptime_seconds: i64,
    /// The database and role pgvac connected with.
    pub connected_database: String,
    pub connected_user: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WirePlatform {
    /// Self-managed PostgreSQL.
    Postgres,
    /// Amazon RDS for PostgreSQL.
    Rds,
    /// Amazon Aurora PostgreSQL.
    Aurora,
}

/// What the connecting role may see and do.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WireRole {
    pub name: String,
    pub superuser: bool,
    pub pg_monitor: bool,
    pub pg_read_all_stats: bool,
    pub pg_signal_backend: bool,
    pub rds_superuser: bool,
    pub pg_signal_autovacuum_worker: bool,
}

/// The ages that matter for wraparound on this server.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WireLimits {
    /// `autovacuum_freeze_max_age`: autovacuum forces a vacuum of a table this old.
    pub autovacuum_freeze_max_age: i64,
    pub autovacuum_multixact_freeze_max_age: i64,
    /// The XID age at which the server stops assigning transaction IDs (per version).
    pub xid_stop_age: i64,
    /// The multixact age at which the server stops assigning multixact IDs.
    pub mxid_stop_age: i64,
}

/// One database's wraparound ages.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WireDatabase {
    pub name: String,
    /// Whether pgvac read every source of it.
    pub visited: bool,
    /// `visited`, `skipped` (on purpose: template0, connections not allowed, excluded, not
    /// named with -d, no CONNECT privilege) or `incomplete` (pgvac set out to read it and could
    /// not read all of it: see `missing`).
    pub visit: WireVisit,
    /// Why it was skipped, or the first thing not read.
    pub skipped_reason: Option<String>,
    /// `age(datfrozenxid)`.
    pub xid_age: i64,
    /// `mxid_age(datminmxid)`.
    pub mxid_age: i64,
    /// `xid_age / autovacuum_freeze_max_age`.
    pub xid_freeze_max_age_share: f64,
    /// `xid_age / limits.xid_stop_age`.
    pub xid_stop_limit_share: f64,
    pub mxid_freeze_max_age_share: f64,
    pub mxid_stop_limit_share: f64,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WireVisit {
    Visited,
    Skipped,
    Incomplete,
}

/// Something the run set out to read and did not.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WireMissing {
    /// The database; null for a cluster-wide source (read on the first database).
    pub database: Option<String>,
    /// `connection` (the database could not be reached at all), `tables`, `temp schemas`,
    /// `clock`, or a cluster-wide view such as `pg_stat_activity`.
    pub source: String,
    /// `could_not_connect`, `connection_lost`, `lock_timeout`, `canceled` (statement timeout or
    /// a cancel request), `server_error`, `unexpected_data` or `not_recorded` (a snapshot from
    /// a pgvac that did not record what it missed).
    pub cause: MissingCause,
    /// The server's SQLSTATE, when it gave one.
    pub sqlstate: Option<String>,
    pub message: String,
}

/// A rule left out with `--ignore`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WireIgnored {
    pub code: String,
    /// How many of its findings were left out.
    pub findings: usize,
}

/// Counts of findings by severity.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WireSummary {
    pub critical: usize,
    pub warning: usize,
    pub info: usize,
    /// The most severe finding's severity; null when there are none.
    pub worst: Option<WireSeverity>,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WireSeverity {
    Info,
    Warning,
    Critical,
}

impl From<findings::Severity> for WireSeverity {
    fn from(severity: findings::Severity) -> WireSeverity {
        match severity {
            findings::Severity::Info => WireSeverity::Info,
            findings::Severity::Warning => WireSeverity::Warning,
            findings::Severity::Critical => WireSeverity::Critical,
        }
    }
}

/// One thing a rule found.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WireFinding {
    /// Stable rule code, e.g. `TABLE001`; `pgvac explain CODE` documents it.
    pub code: String,
    /// Kebab-case rule name, e.g. `dead-row-trigger-too-high`.
    pub name: String,
    /// The rule's category: the section of the report the finding is in.
    pub category: WireCategory,
    pub severity: WireSeverity,
    pub object: WireObject,
    /// One line.
    pub message: String,
    pub evidence: WireEvidence,
    pub recommendation: Option<WireRecommendation>,
}

/// A rule's category; its codes start with the matching prefix (`WRAP`, `TABLE`, `CONFIG`,
/// `RUN`, `BLOCK`, `LOG`).
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WireCategory {
    /// Transaction ID and multixact wraparound.
    Wraparound,
    /// Per-table autovacuum settings.
    Table,
    /// Server-wide settings.
    Config,
    /// Vacuums running now.
    Running,
    /// What holds vacuum back.
    Blockers,
    /// What the server log says autovacuum did (`pgvac report --log`).
    Log,
}

impl From<Category> for WireCategory {
    fn from(category: Category) -> WireCategory {
        match category {
            Category::Wraparound => WireCategory::Wraparound,
            Category::Table => WireCategory::Table,
            Category::Config => WireCategory::Config,
            Category::Running => WireCategory::Running,
            Category::Blockers => WireCategory::Blockers,
            Category::Log => WireCategory::Log,
        }
    }
}

/// What a finding is about. Which fields are present depends on `kind`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WireObject {
    pub kind: WireObjectKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Table, setting, slot or prepared transaction (gid) name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WireObjectKind {
    Cluster,
    Database,
    Table,
    Setting,
    Session,
    ReplicationSlot,
    PreparedTransaction,
}

/// The numbers and strings the rule used, as an object whose keys keep the rule's order.
#[derive(Debug)]
pub struct WireEvidence(pub Vec<(String, Value)>);

impl Serialize for WireEvidence {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl JsonSchema for WireEvidence {
    fn schema_name() -> Cow<'static, str> {
        "WireEvidence".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The numbers and strings the rule used, keys in the order the rule \
                            recorded them. Keys differ per rule; `pgvac explain CODE` names them.",
            "type": "object",
            "additionalProperties": {"type": ["number", "string", "boolean", "null"]}
        })
    }
}

/// The fix a finding suggests.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WireRecommendation {
    pub text: String,
    /// Statements to run, one per line; null when the fix is not SQL (e.g. a parameter group).
    pub sql: Option<String>,
    pub safety: WireSafety,
    /// It ends sessions or transactions, or drops something (the SQL script comments it out
    /// unless `--include-destructive`).
    pub destructive: bool,
    /// Where to run the SQL: "this server", "database NAME", "database NAME as ROLE or a
    /// superuser", "the standby ..." or "the DB parameter group"; null without SQL.
    pub run_on: Option<String>,
    /// The lock the SQL takes.
    pub lock: Option<String>,
    pub needs: WireNeeds,
}

/// How safe it is to run the SQL as it is.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WireSafety {
    /// Changes only how autovacuum treats the object; a brief lock at most.
    Safe,
    /// Works as written but has a cost to weigh first: I/O, a long lock, ended sessions.
    NeedsCare,
    /// Shown to explain the fix; not meant to be run as it is.
    DisplayOnly,
}

/// What the change needs before it takes effect.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WireNeeds {
    None,
    Reload,
    Restart,
    /// RDS/Aurora: a DB parameter group change (a dynamic parameter).
    ParameterGroup,
    /// RDS/Aurora: a DB parameter group change and a reboot (a static parameter).
    ParameterGroupReboot,
}

impl From<findings::Needs> for WireNeeds {
    fn from(needs: findings::Needs) -> WireNeeds {
        match needs {
            findings::Needs::None => WireNeeds::None,
            findings::Needs::Reload => WireNeeds::Reload,
            findings::Needs::Restart => WireNeeds::Restart,
            findings::Needs::ParameterGroup => WireNeeds::ParameterGroup,
            findings::Needs::ParameterGroupReboot => WireNeeds::ParameterGroupReboot,
        }
    }
}

/// A session to terminate: it holds back what vacuum may clean or freeze.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WireSessionToTerminate {
    pub pid: i32,
    pub database: Option<String>,
    pub user: Option<String>,
    pub application_name: Option<String>,
    pub state: Option<String>,
    pub severity: WireSeverity,
    /// What kind of blocker it is: `idle in transaction`, `transaction`, `temporary table`
    /// (the session owns a temporary table that pins its database's datfrozenxid).
    pub kind: String,
    /// Why it is worth terminating.
    pub reason: String,
    /// How many transactions behind it holds the horizon.
    pub held_xid_age: Option<i64>,
    /// For how long it has (seconds).
    pub held_seconds: Option<i64>,
    /// The statement: it signals the session only if it is still the same one.
    pub sql: String,
}

/// A server setting to change.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WireSetting {
    pub name: String,
    /// The value now, with its unit; null when the snapshot lacks the setting.
    pub current: Option<String>,
    /// The value to set, as written in postgresql.conf or a parameter group.
    pub recommended: String,
    pub needs: WireNeeds,
    pub severity: WireSeverity,
    /// The finding that recommends it, and its message.
    pub code: String,
    pub why: String,
}

/// Something the role could not see (with the grant that fixes it), or a note such as a
/// database dropped while pgvac ran. Warnings do not make the run incomplete.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WireWarning {
    pub source: String,
    pub database: Option<String>,
    pub message: String,
}

fn object(object: &Object) -> WireObject {
    let mut wire = WireObject {
        kind: WireObjectKind::Cluster,
        database: None,
        schema: None,
        name: None,
        pid: None,
    };
    match object {
        Object::Cluster => {}
        Object::Database { database } => {
            wire.kind = WireObjectKind::Database;
            wire.database = Some(database.clone());
        }
        Object::Table {
            database,
            schema,
            name,
        } => {
            wire.kind = WireObjectKind::Table;
            wire.database = Some(database.clone());
            wire.schema = Some(schema.clone());
            wire.name = Some(name.clone());
        }
        Object::Setting { name } => {
            wire.kind = WireObjectKind::Setting;
            wire.name = Some(name.clone());
        }
        Object::ReplicationSlot { name } => {
            wire.kind = WireObjectKind::ReplicationSlot;
            wire.name = Some(name.clone());
        }
        Object::Session { pid, database } => {
            wire.kind = WireObjectKind::Session;
            wire.pid = Some(*pid);
            wire.database = database.clone();
        }
        Object::PreparedTransaction { gid, database } => {
            wire.kind = WireObjectKind::PreparedTransaction;
            wire.name = Some(gid.clone());
            wire.database = Some(database.clone());
        }
    }
    wire
}

fn finding(finding: &Finding) -> WireFinding {
    WireFinding {
        code: finding.code.to_string(),
        name: finding.name.to_string(),
        category: finding.category.into(),
        severity: finding.severity.into(),
        object: object(&finding.object),
        message: finding.message.clone(),
        evidence: WireEvidence(finding.evidence.clone()),
        recommendation: finding.recommendation.as_ref().map(|r| WireRecommendation {
            text: r.text.clone(),
            sql: r.sql.clone(),
            safety: match r.safety {
                findings::Safety::Safe => WireSafety::Safe,
                findings::Safety::NeedsCare => WireSafety::NeedsCare,
                findings::Safety::DisplayOnly => WireSafety::DisplayOnly,
            },
            destructive: r.destructive,
            run_on: r.run_on.as_ref().map(|place| place.to_string()),
            lock: r.lock.clone(),
            needs: r.needs.into(),
        }),
    }
}

/// The wire document of a report.
pub fn wire(report: &Report) -> WireReport {
    let snapshot = report.snapshot;
    let server = &snapshot.server;
    let role = &snapshot.role;
    let (critical, warning, info) = report.counts();
    let databases = report
        .databases
        .iter()
        .map(|d| {
            let visit = snapshot.database(&d.name).map(|db| &db.visit);
            WireDatabase {
                name: d.name.clone(),
                visited: matches!(visit, Some(Visit::Visited)),
                visit: match visit {
                    Some(Visit::Visited) => WireVisit::Visited,
                    Some(Visit::Incomplete(_)) => WireVisit::Incomplete,
                    _ => WireVisit::Skipped,
                },
                skipped_reason: match visit {
                    Some(Visit::Skipped(reason) | Visit::Incomplete(reason)) => {
                        Some(reason.clone())
                    }
                    _ => None,
                },
                xid_age: d.xid_age,
                mxid_age: d.mxid_age,
                xid_freeze_max_age_share: round4(d.xid_freeze_share),
                xid_stop_limit_share: round4(d.xid_stop_share),
                mxid_freeze_max_age_share: round4(d.mxid_freeze_share),
                mxid_stop_limit_share: round4(d.mxid_stop_share),
            }
        })
        .collect();
    WireReport {
        schema_version: SCHEMA_VERSION,
        pgvac_version: env!("CARGO_PKG_VERSION").to_string(),
        generated_at: report.generated_at.to_rfc3339(),
        collected_at: server.collected_at.to_rfc3339(),
        complete: report.is_complete(),
        missing: report
            .missing()
            .iter()
            .map(|m| WireMissing {
                database: m.database.clone(),
                source: m.source.clone(),
                cause: m.cause,
                sqlstate: m.sqlstate.clone(),
                message: m.message.clone(),
            })
            .collect(),
        server: WireServer {
            version: server.version.clone(),
            version_num: server.version_num,
            major: server.major(),
            platform: match server.platform.kind {
                PlatformKind::Postgres => WirePlatform::Postgres,
                PlatformKind::Rds => WirePlatform::Rds,
                PlatformKind::Aurora => WirePlatform::Aurora,
            },
            in_recovery: server.in_recovery,
            started_at: server.postmaster_start_time.to_rfc3339(),
            uptime_seconds: report.uptime_secs(),
            connected_database: server.connected_database.clone(),
            connected_user: server.connected_user.clone(),
        },
        role: WireRole {
            name: role.name.clone(),
            superuser: role.superuser,
            pg_monitor: role.pg_monitor,
            pg_read_all_stats: role.pg_read_all_stats,
            pg_signal_backend: role.pg_signal_backend,
            rds_superuser: role.rds_superuser,
            pg_signal_autovacuum_worker: role.pg_signal_autovacuum_worker,
        },
        databases_visited: report.databases_visited(),
        databases_total: snapshot.databases.len(),
        databases_dropped: snapshot
            .dropped_databases()
            .map(|d| d.name.clone())
            .collect(),
        limits: WireLimits {
            autovacuum_freeze_max_age: report.freeze_max_age,
            autovacuum_multixact_freeze_max_age: report.multixact_freeze_max_age,
            xid_stop_age: report.xid_stop_age,
            mxid_stop_age: report.mxid_stop_age,
        },
        databases,
        summary: WireSummary {
            critical,
            warning,
            info,
            worst: findings::worst(report.findings).map(WireSeverity::from),
        },
        ignored: report
            .analysis
            .ignored
            .iter()
            .map(|(code, count)| WireIgnored {
                code: code.to_string(),
                findings: *count,
            })
            .collect(),
        findings: report.findings.iter().map(finding).collect(),
        sessions_to_terminate: report
            .sessions_to_terminate
            .iter()
            .map(|s| WireSessionToTerminate {
                pid: s.pid,
                database: s.database.clone(),
                user: s.user.clone(),
                application_name: s.application_name.clone(),
                state: s.state.clone(),
                severity: s.severity.into(),
                kind: s.kind.to_string(),
                reason: s.reason.clone(),
                held_xid_age: s.held_xid_age,
                held_seconds: s.held_seconds,
                sql: s.sql.clone(),
            })
            .collect(),
        recommended_settings: report
            .settings
            .iter()
            .map(|s| WireSetting {
                name: s.name.clone(),
                current: s.current.clone(),
                recommended: s.recommended.clone(),
                needs: s.needs.into(),
                severity: s.severity.into(),
                code: s.code.to_string(),
                why: s.why.clone(),
            })
            .collect(),
        collection_warnings: report
            .collection_warnings()
            .iter()
            .map(|w| WireWarning {
                source: w.source.clone(),
                database: w.database.clone(),
                message: w.message.clone(),
            })
            .collect(),
        trends: report.trends.cloned(),
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// The JSON Schema of the document, as committed in [`SCHEMA_PATH`].
pub fn schema() -> String {
    schema_of::<WireReport>()
}

/// The JSON Schema of a serialized type, pretty-printed as the files under `docs/` are.
pub fn schema_of<T: schemars::JsonSchema>() -> String {
    let schema = schemars::schema_for!(T);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

pub fn write(out: &mut dyn Write, report: &Report, _options: &Options) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &wire(report))?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use crate::render::fixtures::{self, generated_at};
    use crate::render::{Format, Options, Report, write};
    use crate::snapshot::Snapshot;

    fn render(snapshot: &Snapshot) -> String {
        let analysis = crate::analysis::Analysis::new(snapshot);
        let mut out = Vec::new();
        write(
            &mut out,
            Format::Json,
            &Report::new(&analysis, generated_at()),
            &Options::default(),
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    fn validator() -> jsonschema::Validator {
        crate::render::generated::validator(&super::schema())
    }

    #[test]
    fn json_of_each_fixture_validates_and_is_pinned() {
        let validator = validator();
        for (name, snapshot) in [
            ("warning", fixtures::warning()),
            ("critical", fixtures::critical()),
        ] {
            let text = render(&snapshot);
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            let errors = crate::render::generated::errors(&validator, &value);
            assert!(errors.is_empty(), "{name}: {errors:#?}");
            insta::assert_snapshot!(name, text.replace(env!("CARGO_PKG_VERSION"), "[version]"));
        }
    }

    #[test]
    fn json_has_the_sections_a_cron_job_reads() {
        let value: serde_json::Value =
            serde_json::from_str(&render(&fixtures::critical())).unwrap();
        assert_eq!(value["schema_version"], 1);
        assert_eq!(value["summary"]["worst"], "critical");
        assert!(value["summary"]["critical"].as_u64().unwrap() >= 1);
        let session = &value["sessions_to_terminate"][0];
        assert_eq!(session["pid"], 4242);
        assert_eq!(session["user"], "app_user");
        assert!(
            session["sql"]
                .as_str()
                .unwrap()
                .contains("pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = 4242")
        );
        let setting = value["recommended_settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "autovacuum")
            .expect("autovacuum = on recommended");
        assert_eq!(setting["current"], "off");
        assert_eq!(setting["recommended"], "on");
        assert_eq!(setting["needs"], "reload");
        assert!(value["trends"].is_null());
        let app = value["databases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == "app")
            .unwrap();
        assert_eq!(app["xid_age"], 1_100_000_000);
        assert_eq!(app["xid_freeze_max_age_share"], 5.5);
    }

    #[test]
    fn json_of_an_incomplete_run_says_what_is_missing_and_validates() {
        let value: serde_json::Value =
            serde_json::from_str(&render(&fixtures::incomplete())).unwrap();
        let errors = crate::render::generated::errors(&validator(), &value);
        assert!(errors.is_empty(), "{errors:#?}");
        assert_eq!(value["complete"], false);
        assert_eq!(value["missing"].as_array().unwrap().len(), 3);
        assert_eq!(value["missing"][0]["database"], "billing");
        assert_eq!(value["missing"][0]["cause"], "lock_timeout");
        assert_eq!(value["missing"][0]["sqlstate"], "55P03");
        assert!(value["missing"][2]["database"].is_null());
        assert_eq!(value["databases_dropped"], serde_json::json!(["scratch"]));
        let names: Vec<&str> = value["databases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap())
            .collect();
        assert!(!names.contains(&"scratch"), "{names:?}");
        let billing = value["databases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == "billing")
            .unwrap();
        assert_eq!(billing["visit"], "incomplete");
        assert_eq!(billing["visited"], false);
    }

    /// The committed schema is what the wire types generate (`UPDATE_DOCS=1 cargo test`
    /// rewrites it).
    #[test]
    fn schema_file_is_current() {
        crate::render::generated::assert_current(super::SCHEMA_PATH, &super::schema());
    }

    #[test]
    fn json_carries_the_trends_with_history_and_they_validate() {
        use crate::analysis::rules::fixture::Fx;
        let before = Fx::new(17).done();
        let now = Fx::new(17)
            .with(|s| {
                s.server.collected_at += chrono::Duration::hours(2);
                s.server.next_xid += 100_000;
            })
            .done();
        let trends = crate::analysis::trends::trends(
            &now,
            &crate::analysis::trends::History::from_snapshots([&before]),
        );
        let analysis = crate::analysis::Analysis::new(&now).with_trends(Some(trends));
        let report = Report::new(&analysis, generated_at());
        let mut out = Vec::new();
        write(&mut out, Format::Json, &report, &Options::default()).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["trends"]["xid_consumption"]["per_hour"], 50_000.0);
        let app = &value["trends"]["databases"][0];
        assert_eq!(app["name"], "app");
        assert_eq!(app["xid_limits"][0]["limit"], "freeze_max_age");
        assert_eq!(app["xid_limits"][0]["estimate"]["status"], "in");
        let errors = crate::render::generated::errors(&validator(), &value);
        assert!(errors.is_empty(), "{errors:#?}");
        // Without --history there is no trends field.
        let plain: serde_json::Value = serde_json::from_str(&render(&now)).unwrap();
        assert!(plain.get("trends").is_none());
    }
}
