//! `pgvac report --format json`: one JSON object.
//!
//! The wire types here are separate from the internal ones so the internals can change without
//! breaking consumers. `schema_version` changes only when a field is removed or its meaning
//! changes; new fields may appear at any time and consumers should ignore fields they do not know.
//!
//! ```json
//! {
//!   "schema_version": 1,
//!   "pgvac_version": "0.1.0",
//!   "server": {"version": "PostgreSQL 17.10 ...", "version_num": 170010, "platform": "postgres"},
//!   "collected_at": "2026-01-01T00:00:00Z",
//!   "databases_visited": 3, "databases_total": 4,
//!   "summary": {"critical": 0, "warning": 1, "info": 2},
//!   "findings": [{
//!     "code": "TABLE001", "name": "dead-row-trigger-too-high", "severity": "warning",
//!     "object": {"kind": "table", "database": "app", "schema": "public", "name": "orders"},
//!     "message": "...",
//!     "evidence": {"reltuples": 2000000, "n_dead_tup": 300000, ...},
//!     "recommendation": {"text": "...", "sql": "...", "safety": "safe",
//!                        "lock": "...", "needs": "none"}
//!   }],
//!   "collection_warnings": [{"source": "...", "database": null, "message": "..."}],
//!   "trends": {"xid_consumption": {"per_hour": 27000000.0, ...}, "databases": [...], ...}
//! }
//! ```
//!
//! `trends` is present only with `--history` (see `history::Trends`): XID consumption, per
//! database ages with the estimated time to each limit, per table dead rows and autovacuums,
//! the restarts and statistics resets seen between runs, and notes.

use std::io::Write;

use serde::Serialize;
use serde::ser::SerializeMap;

use super::Report;
use crate::findings::{Finding, Needs, Object, Safety, Severity, Value};
use crate::history::Trends;

/// Version of this JSON format.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Wire<'a> {
    schema_version: u32,
    pgvac_version: &'static str,
    server: WireServer<'a>,
    collected_at: String,
    databases_visited: usize,
    databases_total: usize,
    summary: WireSummary,
    findings: Vec<WireFinding<'a>>,
    collection_warnings: Vec<WireWarning<'a>>,
    /// With `--history` only. `history::Trends` is serialized as is, so its fields are part of
    /// this format: the same compatibility rules apply to them.
    #[serde(skip_serializing_if = "Option::is_none")]
    trends: Option<&'a Trends>,
}

#[derive(Serialize)]
struct WireServer<'a> {
    version: &'a str,
    version_num: i32,
    platform: crate::snapshot::PlatformKind,
}

#[derive(Serialize)]
struct WireSummary {
    critical: usize,
    warning: usize,
    info: usize,
}

#[derive(Serialize)]
struct WireFinding<'a> {
    code: &'a str,
    name: &'a str,
    severity: Severity,
    object: WireObject<'a>,
    message: &'a str,
    evidence: WireEvidence<'a>,
    recommendation: Option<WireRecommendation<'a>>,
}

#[derive(Serialize)]
struct WireObject<'a> {
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schema: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pid: Option<i32>,
}

/// Evidence as a JSON object, keys in the order the rule recorded them.
struct WireEvidence<'a>(&'a [(String, Value)]);

impl Serialize for WireEvidence<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct WireRecommendation<'a> {
    text: &'a str,
    sql: Option<&'a str>,
    safety: Safety,
    lock: Option<&'a str>,
    needs: Needs,
}

#[derive(Serialize)]
struct WireWarning<'a> {
    source: &'a str,
    database: Option<&'a str>,
    message: &'a str,
}

fn object(object: &Object) -> WireObject<'_> {
    let mut wire = WireObject {
        kind: object.kind(),
        database: None,
        schema: None,
        name: None,
        pid: None,
    };
    match object {
        Object::Cluster => {}
        Object::Database { database } => wire.database = Some(database),
        Object::Table {
            database,
            schema,
            name,
        } => {
            wire.database = Some(database);
            wire.schema = Some(schema);
            wire.name = Some(name);
        }
        Object::Setting { name } | Object::ReplicationSlot { name } => wire.name = Some(name),
        Object::Session { pid, database } => {
            wire.pid = Some(*pid);
            wire.database = database.as_deref();
        }
        Object::PreparedTransaction { gid, database } => {
            wire.name = Some(gid);
            wire.database = Some(database);
        }
    }
    wire
}

fn finding(finding: &Finding) -> WireFinding<'_> {
    WireFinding {
        code: finding.code,
        name: finding.name,
        severity: finding.severity,
        object: object(&finding.object),
        message: &finding.message,
        evidence: WireEvidence(&finding.evidence),
        recommendation: finding.recommendation.as_ref().map(|r| WireRecommendation {
            text: &r.text,
            sql: r.sql.as_deref(),
            safety: r.safety,
            lock: r.lock.as_deref(),
            needs: r.needs,
        }),
    }
}

pub fn write(out: &mut dyn Write, report: &Report) -> std::io::Result<()> {
    let (critical, warning, info) = report.counts();
    let wire = Wire {
        schema_version: SCHEMA_VERSION,
        pgvac_version: env!("CARGO_PKG_VERSION"),
        server: WireServer {
            version: report.server_version,
            version_num: report.server_version_num,
            platform: report.platform,
        },
        collected_at: report.collected_at.to_rfc3339(),
        databases_visited: report.databases_visited,
        databases_total: report.databases_total,
        summary: WireSummary {
            critical,
            warning,
            info,
        },
        findings: report.findings.iter().map(finding).collect(),
        collection_warnings: report
            .collection_warnings
            .iter()
            .map(|w| WireWarning {
                source: &w.source,
                database: w.database.as_deref(),
                message: &w.message,
            })
            .collect(),
        trends: report.trends,
    };
    serde_json::to_writer_pretty(&mut *out, &wire)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use crate::render::{Format, Report, write};
    use crate::rules::fixture::{Fx, T};

    #[test]
    fn json_is_an_object_with_schema_version_and_ordered_evidence() {
        let snapshot = Fx::new(17)
            .table(
                T::new("orders")
                    .rows(2_000_000)
                    .updated(600_000)
                    .dead(300_000),
            )
            .done();
        let findings = crate::rules::analyse(&snapshot);
        let mut out = Vec::new();
        write(&mut out, Format::Json, &Report::new(&snapshot, &findings)).unwrap();
        let text = String::from_utf8(out).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["schema_version"], 1);
        assert_eq!(value["summary"]["warning"], 1);
        let table001 = value["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "TABLE001")
            .expect("TABLE001 in the JSON");
        assert_eq!(table001["object"]["kind"], "table");
        assert_eq!(table001["object"]["name"], "orders");
        assert_eq!(table001["evidence"]["n_dead_tup"], 300_000);
        assert_eq!(table001["recommendation"]["safety"], "safe");
        insta::assert_snapshot!(text.replace(env!("CARGO_PKG_VERSION"), "[version]"));
        // Evidence keys keep the rule's order, not alphabetical order.
        let reltuples = text.find("\"reltuples\"").unwrap();
        let n_dead = text.find("\"n_dead_tup\"").unwrap();
        assert!(reltuples < n_dead);
        assert!(value.get("trends").is_none(), "trends only with --history");
    }

    #[test]
    fn json_carries_the_trends_with_history() {
        let before = Fx::new(17).done();
        let now = Fx::new(17)
            .with(|s| {
                s.server.collected_at += chrono::Duration::hours(2);
                s.server.next_xid += 100_000;
            })
            .done();
        let trends =
            crate::history::trends(&now, &crate::history::History::from_snapshots([&before]));
        let mut report = Report::new(&now, &[]);
        report.trends = Some(&trends);
        let mut out = Vec::new();
        write(&mut out, Format::Json, &report).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["trends"]["xid_consumption"]["per_hour"], 50_000.0);
        let app = &value["trends"]["databases"][0];
        assert_eq!(app["name"], "app");
        assert_eq!(app["xid_limits"][0]["limit"], "freeze_max_age");
        assert_eq!(app["xid_limits"][0]["estimate"]["status"], "in");
    }
}
