//! `pgvac report --format markdown`: the terminal report's sections as Markdown, for tickets and
//! wikis. Same order and content as the terminal report, as GitHub-flavoured Markdown tables;
//! fixes in fenced `sql` blocks. Text from the catalog is escaped so a table name cannot break
//! a table row or open a link.

use std::io::{self, Write};

use super::text::{printable, severity_word};
use super::{Options, Report, percent};
use crate::analysis::findings::{Finding, group_digits};
use crate::analysis::rules::Category;
use crate::analysis::units::duration;

pub fn write(out: &mut dyn Write, report: &Report, options: &Options) -> io::Result<()> {
    let server = &report.snapshot.server;
    let (critical, warning, info) = report.counts();
    writeln!(out, "# pgvac report: {}", escape(report.server_version()))?;
    writeln!(out)?;
    writeln!(
        out,
        "- **Server:** {} ({}), up {}{}",
        escape(report.server_version()),
        report.platform_name(),
        duration(report.uptime_secs()),
        if server.in_recovery { ", standby" } else { "" }
    )?;
    writeln!(
        out,
        "- **Collected:** {}; {}",
        server.collected_at.format("%Y-%m-%d %H:%M:%S UTC"),
        report.databases_read()
    )?;
    if let Some(summary) = super::incomplete_summary(report.snapshot) {
        writeln!(
            out,
            "- **INCOMPLETE:** {}. The findings cover only what was read:",
            escape(&summary)
        )?;
        for missing in report.missing() {
            writeln!(out, "  - {}", escape(&missing.describe()))?;
        }
    }
    writeln!(
        out,
        "- **Role:** {} ({})",
        escape(&report.snapshot.role.name),
        escape(&report.capabilities())
    )?;
    writeln!(
        out,
        "- **Findings:** {critical} critical, {warning} warning, {info} info"
    )?;
    if let Some(ignored) = report.ignored_summary() {
        writeln!(out, "- **Ignored (--ignore):** {}", escape(&ignored))?;
    }

    let top = options.top;
    let limit = |n: usize| top.map_or(n, |t| t.min(n));

    let wrap: Vec<&Finding> = report.section(Category::Wraparound).collect();
    if !wrap.is_empty() || report.databases.iter().any(|d| d.xid_freeze_share >= 0.5) {
        heading(out, "Wraparound")?;
        writeln!(
            out,
            "Ages as a share of `autovacuum_freeze_max_age` ({}) and of the stop limit ({}).",
            group_digits(report.freeze_max_age),
            group_digits(report.xid_stop_age)
        )?;
        writeln!(out)?;
        row(
            out,
            &[
                "Status",
                "Database",
                "XID age",
                "of freeze max",
                "of stop",
                "MXID age",
            ],
        )?;
        rule(out, 6)?;
        for d in report.databases.iter().take(limit(report.databases.len())) {
            row(
                out,
                &[
                    d.severity.map(severity_word).unwrap_or(""),
                    &escape(&d.name),
                    &group_digits(d.xid_age),
                    &percent(d.xid_freeze_share),
                    &percent(d.xid_stop_share),
                    &group_digits(d.mxid_age),
                ],
            )?;
        }
        findings(out, &wrap, options)?;
    }

    let blockers: Vec<&Finding> = report.section(Category::Blockers).collect();
    if !blockers.is_empty() || !report.sessions_to_terminate.is_empty() {
        heading(out, "What holds vacuum back")?;
        if !report.sessions_to_terminate.is_empty() {
            row(
                out,
                &["Status", "pid", "Database", "User", "Holds XIDs", "For"],
            )?;
            rule(out, 6)?;
            for s in &report.sessions_to_terminate {
                row(
                    out,
                    &[
                        severity_word(s.severity),
                        &s.pid.to_string(),
                        &escape(s.database.as_deref().unwrap_or("")),
                        &escape(s.user.as_deref().unwrap_or("")),
                        &s.held_xid_age.map(group_digits).unwrap_or_default(),
                        &s.held_seconds.map(duration).unwrap_or_default(),
                    ],
                )?;
            }
        }
        findings(out, &blockers, options)?;
    }

    if !report.tables.is_empty() {
        heading(out, "Tables")?;
        row(
            out,
            &[
                "Status",
                "Table",
                "Counted",
                "Vacuum after",
                "Recommended",
                "Rule",
            ],
        )?;
        rule(out, 6)?;
        for t in report.tables.iter().take(limit(report.tables.len())) {
            row(
                out,
                &[
                    severity_word(t.severity),
                    &escape(&format!("{}: {}", t.database, t.display)),
                    &t.count
                        .map(|n| format!("{} {}", group_digits(n), t.trigger.counted()))
                        .unwrap_or_default(),
                    &if t.autovacuum_disabled {
                        "disabled".to_string()
                    } else {
                        group_digits(t.trigger_rows.round() as i64)
                    },
                    &t.recommended_rows
                        .map(|r| group_digits(r.round() as i64))
                        .unwrap_or_default(),
                    &t.codes.join(" "),
                ],
            )?;
        }
        let found: Vec<&Finding> = report.section(Category::Table).collect();
        findings(out, &found, options)?;
    }

    let config: Vec<&Finding> = report.section(Category::Config).collect();
    if !config.is_empty() || !report.settings.is_empty() {
        heading(out, "Settings")?;
        if !report.settings.is_empty() {
            row(
                out,
                &["Status", "Setting", "Now", "Recommended", "Takes effect"],
            )?;
            rule(out, 5)?;
            for s in &report.settings {
                row(
                    out,
                    &[
                        severity_word(s.severity),
                        &format!("`{}`", s.name),
                        &escape(s.current.as_deref().unwrap_or("?")),
                        &escape(&s.recommended),
                        super::table::needs(s.needs),
                    ],
                )?;
            }
        }
        findings(out, &config, options)?;
    }

    let running: Vec<&Finding> = report.section(Category::Running).collect();
    if !running.is_empty() || !report.running.is_empty() {
        heading(out, "Running vacuums")?;
        if !report.running.is_empty() {
            row(out, &["pid", "Table", "Phase", "Scanned", "Running"])?;
            rule(out, 5)?;
            for v in &report.running {
                row(
                    out,
                    &[
                        &v.pid.to_string(),
                        &escape(&format!(
                            "{}: {}",
                            v.database.as_deref().unwrap_or("?"),
                            v.relation.as_deref().unwrap_or("?")
                        )),
                        &escape(v.phase.as_deref().unwrap_or("?")),
                        &v.scanned_share.map(percent).unwrap_or_default(),
                        &v.runtime_secs.map(duration).unwrap_or_default(),
                    ],
                )?;
            }
        }
        findings(out, &running, options)?;
    }

    let logged: Vec<&Finding> = report.section(Category::Log).collect();
    if !logged.is_empty() {
        heading(out, Category::Log.title())?;
        findings(out, &logged, options)?;
    }

    if let Some(trends) = &report.trends {
        heading(out, "Trends")?;
        fenced(
            out,
            "json",
            &serde_json::to_string_pretty(trends).unwrap_or_default(),
        )?;
    }

    if !report.collection_warnings().is_empty() {
        heading(out, "Collection notes")?;
        for w in report.collection_warnings() {
            writeln!(
                out,
                "- {}{}: {}",
                escape(&w.source),
                w.database
                    .as_deref()
                    .map(|d| format!(" ({})", escape(d)))
                    .unwrap_or_default(),
                escape(&w.message)
            )?;
        }
    }
    if report.findings.is_empty() {
        writeln!(out)?;
        writeln!(out, "No findings.")?;
    }
    Ok(())
}

fn heading(out: &mut dyn Write, title: &str) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "## {title}")?;
    writeln!(out)
}

fn row(out: &mut dyn Write, cells: &[&str]) -> io::Result<()> {
    writeln!(out, "| {} |", cells.join(" | "))
}

fn rule(out: &mut dyn Write, columns: usize) -> io::Result<()> {
    writeln!(out, "|{}", "---|".repeat(columns))
}

fn findings(out: &mut dyn Write, found: &[&Finding], options: &Options) -> io::Result<()> {
    let shown = options.top.map_or(found.len(), |t| t.min(found.len()));
    for finding in &found[..shown] {
        writeln!(out)?;
        writeln!(
            out,
            "- **{}** `{}` {}: {}",
            severity_word(finding.severity),
            finding.code,
            escape(&finding.object.to_string()),
            escape(&finding.message)
        )?;
        if options.verbose && !finding.evidence.is_empty() {
            let evidence = finding
                .evidence
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            writeln!(out, "  - Evidence: {}", escape(&evidence))?;
        }
        if let Some(fix) = &finding.recommendation {
            writeln!(out, "  - Fix: {}", escape(&fix.text))?;
            if let Some(sql) = &fix.sql {
                writeln!(out)?;
                fenced(out, "sql", sql)?;
            }
        }
    }
    if shown < found.len() {
        writeln!(out)?;
        let left_out = found.len() - shown;
        let noun = if left_out == 1 { "finding" } else { "findings" };
        writeln!(out, "_… and {left_out} more {noun}._")?;
    }
    Ok(())
}

/// A fenced block indented under a list item, with a fence longer than any backtick run inside.
fn fenced(out: &mut dyn Write, language: &str, body: &str) -> io::Result<()> {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest.max(2) + 1);
    writeln!(out, "  {fence}{language}")?;
    for line in body.lines() {
        writeln!(out, "  {line}")?;
    }
    writeln!(out, "  {fence}")
}

/// Text from the catalog, made inert for Markdown: one line, no table breaks, no markup.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in printable(text).chars() {
        if matches!(
            c,
            '\\' | '|' | '*' | '_' | '`' | '<' | '>' | '[' | ']' | '#' | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::render::fixtures::{self, generated_at};
    use crate::render::{Format, Options, Report, write};

    #[test]
    fn markdown_reports() {
        for (name, snapshot) in [
            ("warning", fixtures::warning()),
            ("critical", fixtures::critical()),
        ] {
            let analysis = crate::analysis::Analysis::new(&snapshot);
            let mut out = Vec::new();
            write(
                &mut out,
                Format::Markdown,
                &Report::new(&analysis, generated_at()),
                &Options::default(),
            )
            .unwrap();
            let text = String::from_utf8(out).unwrap();
            // A name with a pipe or markup cannot break a table row: every row of a table has
            // as many cell separators as its header.
            let mut columns: Option<usize> = None;
            for line in text.lines() {
                if !line.starts_with('|') {
                    columns = None;
                    continue;
                }
                let pipes = line.replace("\\|", "").matches('|').count();
                assert_eq!(*columns.get_or_insert(pipes), pipes, "{name}: {line}");
            }
            insta::assert_snapshot!(name, text);
        }
    }
}
