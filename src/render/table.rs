//! `pgvac report` for people: a header line, one table row per finding (most severe first), the
//! fixes with their SQL, and a summary line.

use std::io::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

use super::Report;
use crate::findings::{Needs, Safety};
use crate::history::{Estimate, Limit, LimitEstimate, RateBasis, Trends};

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
    if let Some(trends) = report.trends {
        write_trends(out, trends)?;
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

/// Tables listed in the trends section.
const TREND_TABLES: usize = 10;

/// `1234567` as `1,234,567`.
fn grouped(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut text = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    if value < 0 { format!("-{text}") } else { text }
}

fn signed(value: i64) -> String {
    if value > 0 {
        format!("+{}", grouped(value))
    } else {
        grouped(value)
    }
}

fn span(hours: f64) -> String {
    if hours < 1.0 / 60.0 {
        format!("{:.0} s", hours * 3600.0)
    } else if hours < 1.0 {
        format!("{:.0} min", hours * 60.0)
    } else if hours < 48.0 {
        format!("{hours:.1} h")
    } else if hours < 24.0 * 90.0 {
        format!("{:.1} days", hours / 24.0)
    } else {
        format!("{:.1} years", hours / (24.0 * 365.25))
    }
}

fn estimate(limits: &[LimitEstimate], limit: Limit) -> String {
    match limits
        .iter()
        .find(|l| l.limit == limit)
        .map(|l| &l.estimate)
    {
        None => "-".to_string(),
        Some(Estimate::NoRate) => "no rate".to_string(),
        Some(Estimate::Reached) => "reached".to_string(),
        Some(Estimate::NotConsumed) => "never at this pace".to_string(),
        Some(Estimate::In { hours, .. }) => span(*hours),
    }
}

/// `text` after `lead`, wrapped at 100 columns with continuation lines indented to match.
fn write_wrapped(out: &mut dyn Write, lead: &str, text: &str) -> std::io::Result<()> {
    const WIDTH: usize = 100;
    let indent = " ".repeat(lead.chars().count());
    let mut line = lead.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            writeln!(out, "{line}")?;
            line = indent.clone();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    writeln!(out, "{line}")
}

/// The trends section: rates, time to each limit per database, tables whose dead rows moved.
fn write_trends(out: &mut dyn Write, trends: &Trends) -> std::io::Result<()> {
    match trends.previous_collected_at {
        None => writeln!(out, "\nTrends: no earlier run to compare with yet.")?,
        Some(previous) => writeln!(
            out,
            "\nTrends since {} ({} earlier run{}):",
            previous.format("%Y-%m-%d %H:%M:%S UTC"),
            trends.earlier_runs,
            if trends.earlier_runs == 1 { "" } else { "s" }
        )?,
    }
    for event in &trends.events {
        write_wrapped(out, "  ! ", &event.message)?;
    }
    if let Some(xid) = &trends.xid_consumption {
        let (rate, over) = match xid.basis {
            RateBasis::LastInterval => (&xid.last_interval, ""),
            RateBasis::Window => (
                &xid.window,
                ", all kept runs: faster than the last interval",
            ),
        };
        writeln!(
            out,
            "  XIDs consumed: {} per hour ({} in {}{over})",
            grouped(xid.per_hour.round() as i64),
            grouped(rate.xids),
            span(rate.hours),
        )?;
    }
    if let Some(mxid) = &trends.multixact_consumption {
        writeln!(
            out,
            "  Multixacts consumed: at least {} per hour (multixact times are upper bounds)",
            grouped(mxid.at_least_per_hour.round() as i64)
        )?;
    }
    let databases: Vec<_> = trends.databases.iter().filter(|d| !d.invalid).collect();
    if !databases.is_empty() {
        let mut table = Table::new();
        table
            .load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(100)
            .set_header(vec![
                "Database",
                "XID age",
                "Change",
                "To freeze_max_age",
                "To 1B",
                "To stop limit",
            ]);
        for db in databases {
            let change = match db.xid_age_change {
                None => "new".to_string(),
                Some(change) if db.frozen_since_previous => format!("{} (frozen)", signed(change)),
                Some(change) => signed(change),
            };
            table.add_row(vec![
                db.name.clone(),
                grouped(db.xid_age),
                change,
                estimate(&db.xid_limits, Limit::FreezeMaxAge),
                estimate(&db.xid_limits, Limit::OneBillion),
                estimate(&db.xid_limits, Limit::StopLimit),
            ]);
        }
        writeln!(out, "{table}")?;
    }
    let mut moved: Vec<_> = trends
        .tables
        .iter()
        .filter(|t| t.not_compared.is_none())
        .filter(|t| {
            t.dead_rows_change.is_some_and(|c| c != 0)
                || t.autovacuums_since_previous.is_some_and(|c| c > 0)
        })
        .collect();
    moved.sort_by_key(|t| std::cmp::Reverse(t.dead_rows_change.unwrap_or(0)));
    if !moved.is_empty() {
        let mut table = Table::new();
        table
            .load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(100)
            .set_header(vec![
                "Table",
                "Dead rows",
                "Change",
                "Autovacuums since",
                "Autovacuums/day",
            ]);
        for t in moved.iter().take(TREND_TABLES) {
            table.add_row(vec![
                format!("{}.{}.{}", t.database, t.schema, t.name),
                t.dead_rows.map(grouped).unwrap_or_default(),
                t.dead_rows_change.map(signed).unwrap_or_default(),
                t.autovacuums_since_previous
                    .map(grouped)
                    .unwrap_or_default(),
                t.autovacuums_per_day
                    .map(|r| format!("{r:.1}"))
                    .unwrap_or_default(),
            ]);
        }
        writeln!(out, "{table}")?;
        if moved.len() > TREND_TABLES {
            writeln!(
                out,
                "  ... and {} more tables (--format json lists them all)",
                moved.len() - TREND_TABLES
            )?;
        }
    }
    for note in &trends.notes {
        write_wrapped(out, "  note: ", note)?;
    }
    writeln!(out)
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

    /// Two runs an hour apart: the trends section as a DBA sees it, pinned with insta.
    #[test]
    fn trends_section_snapshot() {
        let before = Fx::new(16)
            .table(T::new("orders").rows(100_000).dead(1_000))
            .table(T::new("ledger").rows(10_000).dead(400))
            .with(|s| s.databases[0].xid_age = 180_000_000)
            .done();
        let now = Fx::new(16)
            .table(T::new("orders").rows(100_000).dead(6_000))
            .table(T::new("ledger").rows(10_000).dead(0))
            .with(|s| {
                s.server.collected_at += chrono::Duration::hours(1);
                s.server.next_xid += 1_500_000;
                for db in &mut s.databases {
                    db.xid_age += 1_500_000;
                    db.collected_at = db.collected_at.map(|t| t + chrono::Duration::hours(1));
                    if let Some(stats) = db
                        .tables
                        .iter_mut()
                        .find(|t| t.name == "ledger")
                        .and_then(|t| t.stats.as_mut())
                    {
                        stats.autovacuum_count = Some(1);
                    }
                }
                s.databases[0].xid_age = 20_000;
            })
            .done();
        let trends =
            crate::history::trends(&now, &crate::history::History::from_snapshots([&before]));
        let findings = crate::rules::analyse(&now);
        let mut report = Report::new(&now, &findings);
        report.trends = Some(&trends);
        let mut out = Vec::new();
        write(&mut out, Format::Table, &report).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("XIDs consumed: 1,500,000 per hour"), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn no_findings_says_so() {
        let snapshot = Fx::new(17).done();
        let mut out = Vec::new();
        write(&mut out, Format::Table, &Report::new(&snapshot, &[])).unwrap();
        assert!(String::from_utf8(out).unwrap().contains("No findings."));
    }
}
