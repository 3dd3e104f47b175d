//! `pgvac report` for people: a header line, one table row per finding (most severe first), the
//! fixes with their SQL, and a summary line.

use std::io::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

use super::Report;
use crate::findings::{Needs, Safety};

/// Width of the table when stdout is not a terminal (files, pipes, tests).
const DEFAULT_WIDTH: u16 = 120;

pub fn write(out: &mut dyn Write, report: &Report) -> std::io::Result<()> {
    writeln!(
        out,
        "{} ({:?}), collected {}, {} of {} databases read",
        report.server_version.split(" on ").next().unwrap_or(""),
        report.platform,
        report.collected_at.format("%Y-%m-%d %H:%M:%S UTC"),
        report.databases_visited,
        report.databases_total
    )?;
    for warning in report.collection_warnings {
        writeln!(
            out,
            "incomplete: {}{}: {}",
            warning.source,
            warning
                .database
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default(),
            warning.message
        )?;
    }
    if report.findings.is_empty() {
        writeln!(out, "No findings.")?;
        return Ok(());
    }
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(DEFAULT_WIDTH)
        .set_header(vec!["#", "Severity", "Code", "Object", "Finding"]);
    for (i, finding) in report.findings.iter().enumerate() {
        table.add_row(vec![
            (i + 1).to_string(),
            finding.severity.to_string(),
            finding.code.to_string(),
            finding.object.to_string(),
            finding.message.clone(),
        ]);
    }
    writeln!(out, "{table}")?;

    let fixes: Vec<_> = report
        .findings
        .iter()
        .enumerate()
        .filter_map(|(i, f)| f.recommendation.as_ref().map(|r| (i + 1, f, r)))
        .collect();
    if !fixes.is_empty() {
        writeln!(out, "\nFixes:")?;
    }
    for (number, finding, fix) in fixes {
        let mut notes = Vec::new();
        match fix.safety {
            Safety::Safe => {}
            Safety::NeedsCare => notes.push("needs care".to_string()),
            Safety::DisplayOnly => {}
        }
        match fix.needs {
            Needs::None => {}
            Needs::Reload => notes.push("reload".to_string()),
            Needs::Restart => notes.push("restart".to_string()),
            Needs::ParameterGroup => notes.push("parameter group".to_string()),
            Needs::ParameterGroupReboot => notes.push("parameter group, reboot".to_string()),
        }
        if let Some(lock) = &fix.lock {
            notes.push(format!("lock: {lock}"));
        }
        writeln!(out, "\n{number}. [{}] {}", finding.code, fix.text)?;
        if !notes.is_empty() {
            writeln!(out, "   ({})", notes.join("; "))?;
        }
        if let Some(sql) = &fix.sql {
            for line in sql.lines() {
                writeln!(out, "   {line}")?;
            }
        }
    }
    let (critical, warning, info) = report.counts();
    writeln!(
        out,
        "\n{critical} critical, {warning} warning, {info} info. `pgvac explain CODE` tells more."
    )
}

#[cfg(test)]
mod tests {
    use crate::render::{Format, Report, write};
    use crate::rules::fixture::{Fx, T};

    #[test]
    fn table_lists_findings_by_severity_with_their_sql() {
        let snapshot = Fx::new(16)
            .set("autovacuum", "off")
            .table(
                T::new("orders")
                    .rows(2_000_000)
                    .updated(600_000)
                    .dead(300_000),
            )
            .done();
        let findings = crate::rules::analyse(&snapshot);
        let mut out = Vec::new();
        write(&mut out, Format::Table, &Report::new(&snapshot, &findings)).unwrap();
        let text = String::from_utf8(out).unwrap();
        let critical = text.find("CONFIG001").expect("CONFIG001 shown");
        assert!(
            text.contains("ALTER SYSTEM SET autovacuum = 'on';"),
            "{text}"
        );
        assert!(text.contains("1 critical"), "{text}");
        // The server-wide off switch comes before anything less severe.
        for code in ["CONFIG003", "WRAP005"] {
            if let Some(at) = text.find(code) {
                assert!(critical < at, "{text}");
            }
        }
    }

    /// What a DBA sees for a typical unhealthy cluster, pinned with insta.
    #[test]
    fn table_output_snapshot() {
        let snapshot = Fx::new(16)
            .table(
                T::new("orders")
                    .rows(2_000_000)
                    .updated(600_000)
                    .dead(300_000),
            )
            .table(T::new("event_log").rows(3_000_000))
            .table(
                T::new("Parked Rows")
                    .rows(10_000)
                    .dead(5_000)
                    .option("autovacuum_enabled=false"),
            )
            .table(T::new("ledger").rows(1_000).xid_age(1_100_000_000))
            .done();
        let findings = crate::rules::analyse(&snapshot);
        let mut out = Vec::new();
        write(&mut out, Format::Table, &Report::new(&snapshot, &findings)).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }

    #[test]
    fn no_findings_says_so() {
        let snapshot = Fx::new(17).done();
        let mut out = Vec::new();
        write(&mut out, Format::Table, &Report::new(&snapshot, &[])).unwrap();
        assert!(String::from_utf8(out).unwrap().contains("No findings."));
    }
}
