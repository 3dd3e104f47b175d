//! `pgvac report` for people at a terminal.
//!
//! A header (server, version, platform, uptime, when collected, databases read, the role's
//! capabilities, the counts), then sections in a fixed order, each only when it has something to
//! say: Wraparound, What holds vacuum back, Tables, Settings, Running vacuums, Trends, Collection
//! notes. Each section has a table of the state and the list of its findings with their fixes.
//!
//! It reads without colour: severity is always a word (`CRITICAL`, `WARNING`, `info`), colour
//! only adds to it. Every line fits in [`Options::width`] columns (100 by default): table cells
//! wrap, long names end in an ellipsis, SQL breaks only at spaces outside quotes (a single quoted
//! name longer than the width is the one thing left whole, so it can still be pasted).

use std::io::{self, Write};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Color, ColumnConstraint, ContentArrangement, Table, Width};

use super::text::{Paint, ellipsize, printable, severity_word, width, wrap, wrap_sql};
use super::{Options, Report, percent};
use crate::analysis::findings::{Finding, Needs, Safety, Severity, Value, group_digits};
use crate::analysis::rules::Category;
use crate::analysis::units::duration;

/// Narrowest width the report is laid out for.
const MIN_WIDTH: usize = 60;

/// Names in table cells are cut to this many columns.
const NAME_COLUMNS: usize = 30;

/// Share of the freeze max age from which the Wraparound section shows even without findings.
const WRAPAROUND_SHOW_SHARE: f64 = 0.5;

struct Writer<'a> {
    out: &'a mut dyn Write,
    options: &'a Options,
    paint: Paint,
    width: usize,
}

pub fn write(out: &mut dyn Write, report: &Report, options: &Options) -> io::Result<()> {
    let mut w = Writer {
        out,
        options,
        paint: Paint {
            enabled: options.color,
        },
        width: options.width.max(MIN_WIDTH),
    };
    w.header(report)?;
    w.not_read(report)?;
    w.wraparound(report)?;
    w.blockers(report)?;
    w.tables(report)?;
    w.settings(report)?;
    w.running(report)?;
    w.log_section(report)?;
    w.trends(report)?;
    w.notes(report)?;
    w.footer(report)
}

impl Writer<'_> {
    fn line(&mut self, text: &str) -> io::Result<()> {
        writeln!(self.out, "{text}")
    }

    /// Prose wrapped to the width, each line after `indent` spaces.
    fn prose(&mut self, indent: usize, text: &str) -> io::Result<()> {
        let pad = " ".repeat(indent);
        for line in wrap(&printable(text), self.width - indent) {
            writeln!(self.out, "{pad}{line}")?;
        }
        Ok(())
    }

    fn title(&mut self, title: &str, count: Option<String>) -> io::Result<()> {
        let label = match count {
            Some(count) => format!("── {title} ({count}) "),
            None => format!("── {title} "),
        };
        let fill = "─".repeat(self.width.saturating_sub(width(&label)));
        let text = format!("{label}{fill}");
        writeln!(self.out)?;
        let styled = self.paint.bold(&text);
        self.line(&styled)
    }

    fn table(&self, header: &[&str]) -> Table {
        let mut table = Table::new();
        table
            .load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(u16::try_from(self.width).unwrap_or(u16::MAX))
            .set_header(header.iter().map(|h| Cell::new(*h)));
        if self.options.color {
            table.enforce_styling();
        } else {
            table.force_no_tty();
        }
        table
    }

    fn print_table(&mut self, table: &Table) -> io::Result<()> {
        writeln!(self.out, "{table}")
    }

    fn severity_cell(&self, severity: Option<Severity>) -> Cell {
        let Some(severity) = severity else {
            return Cell::new("");
        };
        let cell = Cell::new(severity_word(severity));
        if !self.options.color {
            return cell;
        }
        match severity {
            Severity::Critical => cell.fg(Color::Red),
            Severity::Warning => cell.fg(Color::Yellow),
            Severity::Info => cell.fg(Color::Cyan),
        }
    }

    fn top(&self) -> Option<usize> {
        self.options.top
    }

    /// At most `--top` of `items`, and a line saying how many were left out.
    fn limited<'t, T>(&self, items: &'t [T]) -> (&'t [T], usize) {
        match self.top() {
            Some(n) if items.len() > n => (&items[..n], items.len() - n),
            _ => (items, 0),
        }
    }

    fn more(&mut self, left_out: usize, one: &str, many: &str) -> io::Result<()> {
        if left_out > 0 {
            let noun = if left_out == 1 { one } else { many };
            let text = format!("… and {left_out} more {noun} (--top shows more)");
            let dimmed = self.paint.dim(&text);
            self.line(&dimmed)?;
        }
        Ok(())
    }

    fn header(&mut self, report: &Report) -> io::Result<()> {
        let server = &report.snapshot.server;
        let mut first = format!(
            "pgvac report · {} · {} · up {}",
            report.server_version(),
            report.platform_name(),
            duration(report.uptime_secs())
        );
        if server.in_recovery {
            first.push_str(" · standby");
        }
        let first = self.paint.bold(&first);
        self.line(&first)?;
        self.prose(
            0,
            &format!(
                "Collected {} · {} · role {} ({})",
                server.collected_at.format("%Y-%m-%d %H:%M:%S UTC"),
                report.databases_read(),
                report.snapshot.role.name,
                report.capabilities()
            ),
        )?;
        if let Some(summary) = super::incomplete_summary(report.snapshot) {
            let text = format!(
                "INCOMPLETE: {summary}. The findings cover only what was read (see Not read)."
            );
            for line in wrap(&printable(&text), self.width) {
                let painted = self.paint.severity(Severity::Critical, &line);
                self.line(&painted)?;
            }
        }
        let (critical, warning, info) = report.counts();
        let counts = format!(
            "{} · {} · {}",
            self.paint
                .severity(Severity::Critical, &format!("{critical} critical")),
            self.paint
                .severity(Severity::Warning, &format!("{warning} warning")),
            format_args!("{info} info")
        );
        let verdict = if critical > 0 {
            "act now"
        } else if warning > 0 {
            "needs attention"
        } else if !report.is_complete() {
            "nothing at warning or above in what was read"
        } else {
            "nothing at warning or above"
        };
        self.line(&format!("Findings: {counts}: {verdict}"))?;
        if let Some(ignored) = report.ignored_summary() {
            self.prose(0, &format!("Ignored (--ignore): {ignored}"))?;
        }
        if let Some(oldest) = report.databases.first() {
            self.prose(
                0,
                &format!(
                    "Oldest database: {} at XID age {} ({} of autovacuum_freeze_max_age, {} of \
                     the stop limit)",
                    oldest.name,
                    group_digits(oldest.xid_age),
                    percent(oldest.xid_freeze_share),
                    percent(oldest.xid_stop_share)
                ),
            )?;
        }
        Ok(())
    }

    /// What an incomplete run did not read, one line each.
    fn not_read(&mut self, report: &Report) -> io::Result<()> {
        if report.is_complete() {
            return Ok(());
        }
        self.title("Not read", Some("the run is incomplete".to_string()))?;
        let (shown, left_out) = self.limited(report.missing());
        for missing in shown {
            let mut text = format!("- {}", missing.describe());
            if let Some(code) = &missing.sqlstate {
                text.push_str(&format!(" (SQLSTATE {code})"));
            }
            self.prose(2, &printable(&text))?;
        }
        self.more(left_out, "source", "sources")
    }

    fn wraparound(&mut self, report: &Report) -> io::Result<()> {
        let found: Vec<&Finding> = report.section(Category::Wraparound).collect();
        let old = report.databases.iter().any(|d| {
            d.xid_freeze_share >= WRAPAROUND_SHOW_SHARE
                || d.mxid_freeze_share >= WRAPAROUND_SHOW_SHARE
        });
        if found.is_empty() && !old {
            return Ok(());
        }
        self.title("Wraparound", None)?;
        self.prose(
            0,
            &format!(
                "Ages as a share of autovacuum_freeze_max_age ({} XIDs, {} multixacts), where \
                 autovacuum forces a vacuum, and of the stop limit ({}), where the server stops \
                 assigning IDs.",
                group_digits(report.freeze_max_age),
                group_digits(report.multixact_freeze_max_age),
                group_digits(report.xid_stop_age)
            ),
        )?;
        let mut table = self.table(&[
            "Status",
            "Database",
            "XID age",
            "of freeze max",
            "of stop",
            "MXID age",
            "of freeze max",
        ]);
        let (shown, left_out) = self.limited(&report.databases);
        for d in shown {
            table.add_row(vec![
                self.severity_cell(d.severity),
                Cell::new(ellipsize(&printable(&d.name), NAME_COLUMNS)),
                number(d.xid_age),
                right(percent(d.xid_freeze_share)),
                right(percent(d.xid_stop_share)),
                number(d.mxid_age),
                right(percent(d.mxid_freeze_share)),
            ]);
        }
        self.print_table(&table)?;
        self.more(left_out, "database", "databases")?;

        let tables_top = self.top().unwrap_or(5);
        if !report.oldest_tables.is_empty() {
            self.line("Oldest tables:")?;
            let mut table =
                self.table(&["Status", "Table", "XID age", "of its freeze max", "of stop"]);
            for t in report.oldest_tables.iter().take(tables_top) {
                table.add_row(vec![
                    self.severity_cell(t.severity),
                    Cell::new(ellipsize(
                        &printable(&format!("{}: {}", t.database, t.name)),
                        NAME_COLUMNS + 10,
                    )),
                    number(t.xid_age),
                    right(percent(t.xid_freeze_share)),
                    right(percent(t.xid_stop_share)),
                ]);
            }
            self.print_table(&table)?;
        }
        self.findings(&found)
    }

    fn blockers(&mut self, report: &Report) -> io::Result<()> {
        let found: Vec<&Finding> = report.section(Category::Blockers).collect();
        if found.is_empty() && report.sessions_to_terminate.is_empty() {
            return Ok(());
        }
        self.title("What holds vacuum back", None)?;
        if !report.sessions_to_terminate.is_empty() {
            let mut table = self.table(&[
                "Status",
                "Session",
                "Database",
                "User / application",
                "Holds XIDs",
                "For",
            ]);
            let (shown, left_out) = self.limited(&report.sessions_to_terminate);
            for s in shown {
                let who = match (&s.user, &s.application_name) {
                    (Some(u), Some(a)) if !a.is_empty() => format!("{u} / {a}"),
                    (Some(u), _) => u.clone(),
                    (None, Some(a)) => a.clone(),
                    (None, None) => "(hidden)".to_string(),
                };
                table.add_row(vec![
                    self.severity_cell(Some(s.severity)),
                    Cell::new(format!(
                        "pid {}{}",
                        s.pid,
                        s.state
                            .as_deref()
                            .map(|st| format!("\n{st}"))
                            .unwrap_or_default()
                    )),
                    Cell::new(ellipsize(
                        &printable(s.database.as_deref().unwrap_or("")),
                        24,
                    )),
                    Cell::new(ellipsize(&printable(&who), NAME_COLUMNS)),
                    match s.held_xid_age {
                        Some(age) => number(age),
                        None => Cell::new(""),
                    },
                    right(s.held_seconds.map(duration).unwrap_or_default()),
                ]);
            }
            self.print_table(&table)?;
            self.more(left_out, "session", "sessions")?;
            self.line("Sessions to terminate (each rolls back its open transaction):")?;
            let sql: Vec<String> = shown.iter().map(|s| s.sql.clone()).collect();
            for statement in sql {
                self.sql(2, &statement)?;
            }
        }
        self.findings(&found)
    }

    fn tables(&mut self, report: &Report) -> io::Result<()> {
        if report.tables.is_empty() {
            return Ok(());
        }
        self.title(
            "Tables",
            Some(format!(
                "{} with findings, worst first",
                report.tables.len()
            )),
        )?;
        let mut table = self.table(&[
            "Status",
            "Table",
            "Counted",
            "Vacuum at",
            "Advised",
            "Last autovac",
        ]);
        if self.width >= 100
            && let Some(column) = table.column_mut(1)
        {
            column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(30)));
        }
        let now = report.snapshot.server.collected_at;
        let (shown, left_out) = self.limited(&report.tables);
        for t in shown {
            let trigger = if t.autovacuum_disabled {
                "disabled".to_string()
            } else {
                group_digits(t.trigger_rows.round() as i64)
            };
            table.add_row(vec![
                self.severity_cell(Some(t.severity)),
                Cell::new(ellipsize(
                    &printable(&format!("{}: {}", t.database, t.display)),
                    NAME_COLUMNS,
                )),
                match t.count {
                    Some(n) => right(format!("{} {}", group_digits(n), t.trigger.counted())),
                    None => Cell::new(""),
                },
                right(trigger),
                right(
                    t.recommended_rows
                        .map(|r| group_digits(r.round() as i64))
                        .unwrap_or_default(),
                ),
                Cell::new(match t.last_autovacuum {
                    Some(at) => format!("{} ago", duration((now - at).num_seconds().max(0))),
                    None => "never".to_string(),
                }),
            ]);
        }
        self.print_table(&table)?;
        self.more(left_out, "table", "tables")?;
        let found: Vec<&Finding> = report.section(Category::Table).collect();
        self.findings(&found)
    }

    fn settings(&mut self, report: &Report) -> io::Result<()> {
        let found: Vec<&Finding> = report.section(Category::Config).collect();
        if found.is_empty() && report.settings.is_empty() {
            return Ok(());
        }
        self.title("Settings", None)?;
        if !report.settings.is_empty() {
            let mut table = self.table(&[
                "Status",
                "Setting",
                "Now",
                "Recommended",
                "Takes effect",
                "Rule",
            ]);
            let (shown, left_out) = self.limited(&report.settings);
            for s in shown {
                table.add_row(vec![
                    self.severity_cell(Some(s.severity)),
                    Cell::new(&s.name),
                    Cell::new(s.current.as_deref().unwrap_or("?")),
                    Cell::new(&s.recommended),
                    Cell::new(needs(s.needs)),
                    Cell::new(s.code),
                ]);
            }
            self.print_table(&table)?;
            self.more(left_out, "setting", "settings")?;
        }
        self.findings(&found)
    }

    /// The LOG findings (`report --log`).
    fn log_section(&mut self, report: &Report) -> io::Result<()> {
        let found: Vec<&Finding> = report.section(Category::Log).collect();
        if found.is_empty() {
            return Ok(());
        }
        self.title(Category::Log.title(), None)?;
        self.findings(&found)
    }

    fn running(&mut self, report: &Report) -> io::Result<()> {
        let found: Vec<&Finding> = report.section(Category::Running).collect();
        if found.is_empty() && report.running.is_empty() {
            return Ok(());
        }
        self.title("Running vacuums", None)?;
        if !report.running.is_empty() {
            let mut table = self.table(&[
                "Status", "pid", "Table", "Kind", "Phase", "Scanned", "Running",
            ]);
            let (shown, left_out) = self.limited(&report.running);
            for v in shown {
                let kind = match (v.is_autovacuum, v.is_wraparound) {
                    (Some(true), Some(true)) => "auto, wraparound",
                    (Some(true), _) => "autovacuum",
                    (Some(false), _) => "manual",
                    (None, _) => "?",
                };
                table.add_row(vec![
                    self.severity_cell(v.severity),
                    Cell::new(v.pid),
                    Cell::new(ellipsize(
                        &printable(&format!(
                            "{}: {}",
                            v.database.as_deref().unwrap_or("?"),
                            v.relation.as_deref().unwrap_or("?")
                        )),
                        NAME_COLUMNS,
                    )),
                    Cell::new(kind),
                    Cell::new(v.phase.as_deref().unwrap_or("?")),
                    right(v.scanned_share.map(percent).unwrap_or_default()),
                    right(v.runtime_secs.map(duration).unwrap_or_default()),
                ]);
            }
            self.print_table(&table)?;
            self.more(left_out, "vacuum", "vacuums")?;
        }
        self.findings(&found)
    }

    fn trends(&mut self, report: &Report) -> io::Result<()> {
        let Some(trends) = report.trends else {
            return Ok(());
        };
        self.title("Trends", None)?;
        super::trends::write_trends(self.out, trends, self.width)
    }

    fn notes(&mut self, report: &Report) -> io::Result<()> {
        let warnings = report.collection_warnings();
        if warnings.is_empty() {
            return Ok(());
        }
        self.title("Collection notes", None)?;
        for warning in warnings {
            let text = format!(
                "- {}{}: {}",
                warning.source,
                warning
                    .database
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default(),
                warning.message
            );
            self.prose(0, &text)?;
        }
        Ok(())
    }

    fn footer(&mut self, report: &Report) -> io::Result<()> {
        self.line("")?;
        if report.findings.is_empty() {
            return self.line(if report.is_complete() {
                "No findings."
            } else {
                "No findings in what was read."
            });
        }
        self.prose(
            0,
            "`pgvac explain CODE` tells what a rule checks and why; `--format sql` writes the \
             fixes as a script; `--verbose` shows the evidence.",
        )
    }

    /// The findings of a section: severity, code, object, message, and the fix with its SQL.
    fn findings(&mut self, found: &[&Finding]) -> io::Result<()> {
        if found.is_empty() {
            return Ok(());
        }
        let (shown, left_out) = self.limited(found);
        for finding in shown {
            self.line("")?;
            let word = format!("{:<8}", severity_word(finding.severity));
            let head = format!(
                "{} {} {}",
                self.paint.severity(finding.severity, &word),
                self.paint.bold(finding.code),
                ellipsize(
                    &printable(&finding.object.to_string()),
                    self.width - 9 - finding.code.len() - 1
                )
            );
            self.line(&head)?;
            self.prose(2, &finding.message)?;
            if self.options.verbose && !finding.evidence.is_empty() {
                let evidence = finding
                    .evidence
                    .iter()
                    .map(|(k, v)| format!("{k}={}", evidence_value(v)))
                    .collect::<Vec<_>>()
                    .join(" · ");
                let text = format!("Evidence: {evidence}");
                self.prose(2, &text)?;
            }
            if let Some(fix) = &finding.recommendation {
                let mut notes = vec![safety(fix.safety)];
                if fix.needs != Needs::None {
                    notes.push(needs(fix.needs));
                }
                if self.options.verbose
                    && let Some(lock) = &fix.lock
                {
                    notes.push(lock);
                }
                self.prose(2, &format!("Fix ({}): {}", notes.join("; "), fix.text))?;
                if let Some(sql) = &fix.sql {
                    for statement in sql.lines() {
                        self.sql(4, statement)?;
                    }
                }
            }
        }
        self.more(left_out, "finding", "findings")
    }

    fn sql(&mut self, indent: usize, statement: &str) -> io::Result<()> {
        let pad = " ".repeat(indent);
        for line in wrap_sql(&printable(statement), self.width - indent) {
            writeln!(self.out, "{pad}{line}")?;
        }
        Ok(())
    }
}

fn number(n: i64) -> Cell {
    right(group_digits(n))
}

fn right(text: String) -> Cell {
    Cell::new(text).set_alignment(CellAlignment::Right)
}

fn evidence_value(value: &Value) -> String {
    match value {
        Value::Text(text) => printable(text),
        other => other.to_string(),
    }
}

fn safety(safety: Safety) -> &'static str {
    match safety {
        Safety::Safe => "safe",
        Safety::NeedsCare => "needs care",
        Safety::DisplayOnly => "to adapt",
    }
}

/// What a change needs before it takes effect, in a few words.
pub fn needs(needs: Needs) -> &'static str {
    match needs {
        Needs::None => "at once",
        Needs::Reload => "reload",
        Needs::Restart => "restart",
        Needs::ParameterGroup => "parameter group",
        Needs::ParameterGroupReboot => "parameter group + reboot",
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::rules::fixture::Fx;
    use crate::render::fixtures::{self, generated_at};
    use crate::render::{Format, Options, Report, write};

    fn render(snapshot: &crate::snapshot::Snapshot, options: &Options) -> String {
        let analysis = crate::analysis::Analysis::new(snapshot);
        let mut out = Vec::new();
        write(
            &mut out,
            Format::Table,
            &Report::new(&analysis, generated_at()),
            options,
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    fn widest(text: &str) -> usize {
        text.lines()
            .map(crate::render::text::width)
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn warning_report() {
        let text = render(&fixtures::warning(), &Options::default());
        assert!(widest(&text) <= 100, "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn critical_report_verbose() {
        let options = Options {
            verbose: true,
            ..Options::default()
        };
        let text = render(&fixtures::critical(), &options);
        assert!(widest(&text) <= 100, "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn incomplete_report_says_so_in_its_header_and_lists_what_was_not_read() {
        let text = render(&fixtures::incomplete(), &Options::default());
        assert!(widest(&text) <= 100, "{text}");
        let header: Vec<&str> = text.lines().take(4).collect();
        assert!(
            header
                .iter()
                .any(|l| l.starts_with("INCOMPLETE: not read: 2 of 7 databases")),
            "{text}"
        );
        assert!(text.contains("1 dropped while pgvac ran"), "{text}");
        // The dropped database is not among the wraparound ages.
        assert!(!text.contains("Oldest database: scratch"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn healthy_report_says_so() {
        let text = render(&Fx::new(17).done(), &Options::default());
        insta::assert_snapshot!(text);
    }

    #[test]
    fn fits_80_columns_and_top_limits_rows() {
        let options = Options {
            width: 80,
            top: Some(1),
            ..Options::default()
        };
        let text = render(&fixtures::warning(), &options);
        assert!(widest(&text) <= 80, "{text}");
        assert!(text.contains("more tables (--top shows more)"), "{text}");
        assert!(text.contains("…"), "long names are shortened: {text}");
    }

    #[test]
    fn colour_only_when_asked() {
        let plain = render(&fixtures::critical(), &Options::default());
        assert!(!plain.contains('\x1b'), "{plain}");
        assert!(plain.contains("CRITICAL"), "severity as a word: {plain}");
        let options = Options {
            color: true,
            ..Options::default()
        };
        let coloured = render(&fixtures::critical(), &options);
        assert!(coloured.contains("\x1b[1;31m"), "{coloured}");
        // The same words are there with colour.
        let stripped = strip_ansi(&coloured);
        assert_eq!(stripped, plain);
    }

    fn strip_ansi(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    /// Two runs an hour apart: the trends section as a DBA sees it, pinned with insta.
    #[test]
    fn trends_section_snapshot() {
        use crate::analysis::rules::fixture::T;
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
        let trends = crate::analysis::trends::trends(
            &now,
            &crate::analysis::trends::History::from_snapshots([&before]),
        );
        let analysis = crate::analysis::Analysis::new(&now).with_trends(Some(trends));
        let report = Report::new(&analysis, generated_at());
        let mut out = Vec::new();
        write(&mut out, Format::Table, &report, &Options::default()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("XIDs consumed: 1,500,000 per hour"), "{text}");
        assert!(widest(&text) <= 100, "{text}");
        insta::assert_snapshot!(text);
    }
}
