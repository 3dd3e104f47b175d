//! `pgvac report --format prometheus`: the Prometheus text exposition format, for
//! node_exporter's textfile collector (`pgvac report --format prometheus -o
//! /var/lib/node_exporter/pgvac.prom` from cron: `--output` writes atomically, as the collector
//! needs).
//!
//! Every metric family has `# HELP` and `# TYPE` lines and all its samples together; label
//! values are escaped (`\\`, `\"`, `\n`) so any database or table name is a valid label.
//! `pgvac_collected_timestamp_seconds` lets an alert notice a file that stopped being updated.

use std::io::{self, Write};

use super::{Options, Report};
use crate::analysis::findings::{Severity, Value};
use crate::analysis::rules::Category;

struct Family<'a> {
    name: &'a str,
    help: &'a str,
    samples: Vec<(Vec<(&'a str, String)>, f64)>,
}

impl<'a> Family<'a> {
    fn new(name: &'a str, help: &'a str) -> Family<'a> {
        Family {
            name,
            help,
            samples: Vec::new(),
        }
    }

    fn add(&mut self, labels: Vec<(&'a str, String)>, value: f64) {
        self.samples.push((labels, value));
    }

    fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "# HELP {} {}", self.name, escape_help(self.help))?;
        writeln!(out, "# TYPE {} gauge", self.name)?;
        for (labels, value) in &self.samples {
            if labels.is_empty() {
                writeln!(out, "{} {}", self.name, number(*value))?;
            } else {
                let labels = labels
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                    .collect::<Vec<_>>()
                    .join(",");
                writeln!(out, "{}{{{labels}}} {}", self.name, number(*value))?;
            }
        }
        Ok(())
    }
}

pub fn write(out: &mut dyn Write, report: &Report, _options: &Options) -> io::Result<()> {
    let snapshot = report.snapshot;
    let server = &snapshot.server;
    let mut families = Vec::new();

    let mut info = Family::new(
        "pgvac_server_info",
        "The server pgvac analysed (value always 1).",
    );
    info.add(
        vec![
            ("server_version", report.server_version().to_string()),
            ("server_version_num", server.version_num.to_string()),
            ("platform", report.platform_name().to_string()),
            ("pgvac_version", env!("CARGO_PKG_VERSION").to_string()),
        ],
        1.0,
    );
    families.push(info);

    let mut collected = Family::new(
        "pgvac_collected_timestamp_seconds",
        "When the snapshot was collected, by the server's clock (Unix time).",
    );
    collected.add(Vec::new(), server.collected_at.timestamp() as f64);
    families.push(collected);

    let mut complete = Family::new(
        "pgvac_complete",
        "1 when pgvac read everything it set out to read; 0 when the run is incomplete and the \
         other metrics cover only what was read.",
    );
    complete.add(Vec::new(), if report.is_complete() { 1.0 } else { 0.0 });
    families.push(complete);

    let mut missing = Family::new(
        "pgvac_missing_sources",
        "Sources pgvac set out to read and did not (a database's connection, tables or temp \
         schemas, or a cluster-wide view).",
    );
    missing.add(Vec::new(), report.missing().len() as f64);
    families.push(missing);

    let mut limits = Family::new(
        "pgvac_xid_limit",
        "Transaction ID ages that matter: autovacuum_freeze_max_age (forced vacuum) and stop \
         (the server stops assigning XIDs).",
    );
    limits.add(
        vec![("limit", "freeze_max_age".to_string())],
        report.freeze_max_age as f64,
    );
    limits.add(
        vec![("limit", "stop".to_string())],
        report.xid_stop_age as f64,
    );
    families.push(limits);

    let mut xid = Family::new(
        "pgvac_database_xid_age",
        "age(datfrozenxid) of each database.",
    );
    let mut mxid = Family::new(
        "pgvac_database_mxid_age",
        "mxid_age(datminmxid) of each database.",
    );
    let mut stop_share = Family::new(
        "pgvac_database_xid_stop_limit_ratio",
        "age(datfrozenxid) as a share of the age at which the server stops assigning XIDs.",
    );
    let mut databases: Vec<_> = report.databases.iter().collect();
    databases.sort_by(|a, b| a.name.cmp(&b.name));
    for d in databases {
        let labels = vec![("database", d.name.clone())];
        xid.add(labels.clone(), d.xid_age as f64);
        mxid.add(labels.clone(), d.mxid_age as f64);
        stop_share.add(labels, d.xid_stop_share);
    }
    families.extend([xid, mxid, stop_share]);

    let mut oldest = Family::new(
        "pgvac_oldest_table_xid_age",
        "age(relfrozenxid) of the oldest table of each database pgvac read.",
    );
    for database in &snapshot.databases {
        if !database.visit.was_read() {
            continue;
        }
        let table = database
            .tables
            .iter()
            .filter(|t| t.xid_age.is_some())
            .max_by(|a, b| {
                a.xid_age
                    .cmp(&b.xid_age)
                    .then_with(|| b.qualified_name().cmp(&a.qualified_name()))
            });
        if let Some(table) = table {
            oldest.add(
                vec![
                    ("database", database.name.clone()),
                    ("schema", table.schema.clone()),
                    ("table", table.name.clone()),
                ],
                table.xid_age.unwrap_or(0) as f64,
            );
        }
    }
    families.push(oldest);

    let mut findings = Family::new("pgvac_findings", "Findings by severity.");
    for severity in [Severity::Critical, Severity::Warning, Severity::Info] {
        let count = report
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .count();
        findings.add(vec![("severity", severity.to_string())], count as f64);
    }
    families.push(findings);

    let mut by_code = Family::new(
        "pgvac_findings_by_code",
        "Findings by rule code and severity.",
    );
    let mut counts: Vec<(&str, Severity, usize)> = Vec::new();
    for f in report.findings {
        match counts
            .iter_mut()
            .find(|(code, severity, _)| *code == f.code && *severity == f.severity)
        {
            Some(entry) => entry.2 += 1,
            None => counts.push((f.code, f.severity, 1)),
        }
    }
    counts.sort();
    for (code, severity, count) in counts {
        by_code.add(
            vec![
                ("code", code.to_string()),
                ("severity", severity.to_string()),
            ],
            count as f64,
        );
    }
    families.push(by_code);

    let mut blocker_age = Family::new(
        "pgvac_blocker_xid_age",
        "How many transactions behind each blocker holds the xmin horizon.",
    );
    let mut blocker_secs = Family::new(
        "pgvac_blocker_held_seconds",
        "For how long each blocker has held the horizon.",
    );
    for f in report.section(Category::Blockers) {
        let labels = vec![
            ("code", f.code.to_string()),
            ("severity", f.severity.to_string()),
            ("object", f.object.to_string()),
        ];
        if let Some(Value::Int(age)) = f.evidence("held_xid_age") {
            blocker_age.add(labels.clone(), *age as f64);
        }
        if let Some(Value::Int(secs)) = f.evidence("held_seconds") {
            blocker_secs.add(labels, *secs as f64);
        }
    }
    families.extend([blocker_age, blocker_secs]);

    let mut running = Family::new(
        "pgvac_running_vacuums",
        "Vacuums running when the snapshot was taken.",
    );
    running.add(Vec::new(), report.running.len() as f64);
    families.push(running);

    let mut warnings = Family::new(
        "pgvac_collection_warnings",
        "Things pgvac could not read (0 for a complete snapshot).",
    );
    warnings.add(Vec::new(), report.collection_warnings().len() as f64);
    families.push(warnings);

    for family in families {
        family.write(out)?;
    }
    Ok(())
}

fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_string()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// A label value: backslash, double quote and newline escaped.
pub fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use crate::render::fixtures::{self, generated_at};
    use crate::render::{Format, Options, Report, write};

    #[test]
    fn prometheus_text() {
        for (name, snapshot) in [
            ("warning", fixtures::warning()),
            ("critical", fixtures::critical()),
        ] {
            let analysis = crate::analysis::Analysis::new(&snapshot);
            let mut out = Vec::new();
            write(
                &mut out,
                Format::Prometheus,
                &Report::new(&analysis, generated_at()),
                &Options::default(),
            )
            .unwrap();
            let text = String::from_utf8(out)
                .unwrap()
                .replace(env!("CARGO_PKG_VERSION"), "[version]");
            // Every sample belongs to the family announced just before it.
            let mut family = String::new();
            for line in text.lines() {
                if let Some(rest) = line.strip_prefix("# TYPE ") {
                    family = rest.split(' ').next().unwrap().to_string();
                } else if !line.starts_with('#') {
                    let metric = line.split(['{', ' ']).next().unwrap();
                    assert_eq!(metric, family, "{line}");
                }
            }
            insta::assert_snapshot!(name, text);
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(super::escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
