//! `pgvac logs` for people: a terminal table and Markdown, both from one [`LogSummary`].
//!
//! Sections, each only when it has something to say: the totals, tables (the most time first),
//! databases, hours, cancellations with what caused them, failsafe / start timeouts / wraparound
//! / orphaned temp tables, and the lines pgvac could not read.

use std::io::{self, Write};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ColumnConstraint, ContentArrangement, Table, Width};

use super::summary::{DurationStats, LogSummary, TableSummary};
use crate::analysis::findings::group_digits;
use crate::render::text::{ellipsize, printable, wrap};

/// How the summary is drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub top: Option<usize>,
    pub width: usize,
}

fn n(value: u64) -> String {
    group_digits(i64::try_from(value).unwrap_or(i64::MAX))
}

/// Seconds as `850 ms`, `12.3 s`, `4.2 min`, `3.1 h`.
pub fn seconds(value: f64) -> String {
    if value < 1.0 {
        format!("{:.0} ms", value * 1000.0)
    } else if value < 120.0 {
        format!("{value:.1} s")
    } else if value < 7200.0 {
        format!("{:.1} min", value / 60.0)
    } else {
        format!("{:.1} h", value / 3600.0)
    }
}

/// Bytes as `812 kB`, `3.4 MB`, `1.2 GB`.
pub fn bytes(value: u64) -> String {
    let v = value as f64;
    if v < 1024.0 * 1024.0 {
        format!("{:.0} kB", v / 1024.0)
    } else if v < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MB", v / 1024.0 / 1024.0)
    } else {
        format!("{:.1} GB", v / 1024.0 / 1024.0 / 1024.0)
    }
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

fn times(stats: &DurationStats) -> [String; 4] {
    let opt = |v: Option<f64>| v.map(seconds).unwrap_or_default();
    [
        if stats.runs > 0 {
            seconds(stats.total_s)
        } else {
            String::new()
        },
        opt(stats.median_s),
        opt(stats.p95_s),
        opt(stats.max_s),
    ]
}

/// The lines both formats start with.
fn overview(summary: &LogSummary) -> Vec<String> {
    let t = &summary.totals;
    let entries: u64 = summary.files.iter().map(|f| f.autovacuum_entries).sum();
    let mut lines = vec![format!(
        "{} autovacuum entries in {} file{}{}",
        n(entries),
        summary.files.len(),
        if summary.files.len() == 1 { "" } else { "s" },
        match (&summary.first, &summary.last) {
            (Some(first), Some(last)) => format!(", {first} to {last}"),
            _ => String::new(),
        }
    )];
    lines.push(format!(
        "Vacuums {} ({} aggressive, {} to prevent wraparound), analyzes {}; cancelled {}, other \
         errors {}, skipped for locks {}, failsafe {}",
        n(t.vacuums),
        n(t.aggressive_vacuums),
        n(t.anti_wraparound_vacuums),
        n(t.analyzes),
        n(t.cancelled),
        n(t.failed),
        n(t.skipped_lock),
        n(t.failsafe)
    ));
    let c = &summary.concurrency;
    lines.push(format!(
        "Time in vacuum {}, in analyze {}; at most {} logged runs at once; all {} workers busy \
         {}{}",
        seconds(t.vacuum_s),
        seconds(t.analyze_s),
        c.max_concurrent,
        c.max_workers,
        seconds(c.all_busy_s),
        c.all_busy_share
            .map(|s| format!(" ({} of the time)", percent(s)))
            .unwrap_or_default()
    ));
    if summary.unrecognised.count > 0 || summary.problems.count > 0 {
        lines.push(format!(
            "Not read: {} lines not of the format, {} lines or fields of autovacuum entries (listed \
             at the end)",
            n(summary.unrecognised.count),
            n(summary.problems.count)
        ));
    }
    lines
}

/// The terminal table.
pub fn table(out: &mut dyn Write, summary: &LogSummary, options: &Options) -> io::Result<()> {
    let width = options.width.max(60);
    let new_table = |header: &[&str]| {
        let mut table = Table::new();
        table
            .load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(u16::try_from(width).unwrap_or(u16::MAX))
            .force_no_tty()
            .set_header(header.iter().map(|h| Cell::new(*h)));
        table
    };
    let title = |out: &mut dyn Write, text: &str| -> io::Result<()> {
        let label = format!("── {text} ");
        let fill = "─".repeat(width.saturating_sub(label.chars().count()));
        writeln!(out, "\n{label}{fill}")
    };
    let right = |text: String| Cell::new(text).set_alignment(CellAlignment::Right);
    // Prose wrapped to the width, continuation lines after `indent` spaces.
    let prose = |out: &mut dyn Write, indent: usize, text: &str| -> io::Result<()> {
        for (i, line) in wrap(&printable(text), width - indent).iter().enumerate() {
            let pad = if i == 0 { "" } else { "    " };
            writeln!(out, "{}{pad}{line}", " ".repeat(indent))?;
        }
        Ok(())
    };
    for line in overview(summary) {
        prose(out, 0, &line)?;
    }

    let shown: Vec<&TableSummary> = summary
        .tables
        .iter()
        .take(options.top.unwrap_or(usize::MAX))
        .collect();
    if !shown.is_empty() {
        title(
            out,
            &format!("Tables ({}, the most time first)", summary.tables.len()),
        )?;
        let mut grid = new_table(&[
            "Table",
            "Vacuums",
            "Analyzes",
            "Time",
            "p95/max",
            "Passes",
            "Dead left",
            "WAL",
            "Cancel/skip",
        ]);
        if width >= 100
            && let Some(column) = grid.column_mut(0)
        {
            column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(28)));
        }
        for t in &shown {
            let [total, _, p95, max] = times(&t.vacuum_time);
            let analyze_total = times(&t.analyze_time)[0].clone();
            let vacuums = if t.anti_wraparound_vacuums + t.aggressive_vacuums > 0 {
                format!(
                    "{}\n{} aggr\n{} wrap",
                    n(t.vacuums),
                    n(t.aggressive_vacuums),
                    n(t.anti_wraparound_vacuums)
                )
            } else {
                n(t.vacuums)
            };
            grid.add_row(vec![
                Cell::new(ellipsize(&printable(&t.display()), 40)),
                right(vacuums),
                right(n(t.analyzes)),
                right(match (total.is_empty(), analyze_total.is_empty()) {
                    (false, false) => format!("{total}\n+ {analyze_total}"),
                    (false, true) => total,
                    (true, false) => format!("+ {analyze_total}"),
                    (true, true) => String::new(),
                }),
                right(if p95.is_empty() {
                    String::new()
                } else {
                    format!("{p95} / {max}")
                }),
                right(if t.vacuums > 0 {
                    format!("{} (max {})", n(t.index_scans), t.max_index_scans)
                } else {
                    String::new()
                }),
                right(if t.vacuums > 0 {
                    n(t.tuples_not_removable)
                } else {
                    String::new()
                }),
                right(if t.wal_bytes > 0 {
                    bytes(t.wal_bytes)
                } else {
                    String::new()
                }),
                right(if t.cancelled() + t.skipped() > 0 {
                    format!("{} / {}", n(t.cancelled()), n(t.skipped()))
                } else {
                    String::new()
                }),
            ]);
        }
        writeln!(out, "{grid}")?;
        if shown.len() < summary.tables.len() {
            writeln!(
                out,
                "... and {} more (--top)",
                summary.tables.len() - shown.len()
            )?;
        }
    }

    if !summary.databases.is_empty() {
        title(out, "Databases")?;
        let mut grid = new_table(&[
            "Database",
            "Vacuums",
            "to prevent wraparound",
            "Analyzes",
            "Vacuum time",
            "Analyze time",
            "Cancelled",
        ]);
        for d in &summary.databases {
            grid.add_row(vec![
                Cell::new(ellipsize(&printable(&d.database), 30)),
                right(n(d.vacuums)),
                right(n(d.anti_wraparound_vacuums)),
                right(n(d.analyzes)),
                right(seconds(d.vacuum_time.total_s)),
                right(seconds(d.analyze_time.total_s)),
                right(n(d.cancelled)),
            ]);
        }
        writeln!(out, "{grid}")?;
    }

    if !summary.hours.is_empty() {
        title(out, "Hours")?;
        let mut grid = new_table(&[
            "Hour",
            "Vacuums",
            "Analyzes",
            "Busy",
            "Most at once",
            "All workers busy",
            "Cancelled",
            "Skipped",
        ]);
        for h in &summary.hours {
            grid.add_row(vec![
                Cell::new(&h.hour),
                right(n(h.vacuums)),
                right(n(h.analyzes)),
                right(seconds(h.busy_s)),
                right(h.max_concurrent.to_string()),
                right(seconds(h.all_busy_s)),
                right(n(h.cancelled)),
                right(n(h.skipped)),
            ]);
        }
        writeln!(out, "{grid}")?;
    }

    let cancelled: Vec<&TableSummary> = summary
        .tables
        .iter()
        .filter(|t| t.cancelled() + t.skipped() > 0)
        .collect();
    if !cancelled.is_empty() {
        title(out, "Cancellations and lock skips")?;
        for t in cancelled {
            prose(
                out,
                0,
                &format!(
                    "{}: {} vacuum and {} analyze cancelled, {} vacuum and {} analyze skipped \
                     (lock not available)",
                    t.display(),
                    t.cancelled_vacuums,
                    t.cancelled_analyzes,
                    t.skipped_vacuums,
                    t.skipped_analyzes
                ),
            )?;
            for c in &t.conflicts {
                prose(
                    out,
                    2,
                    &format!(
                        "{}x {}{} requested by: {}",
                        c.count,
                        if c.named_by_holder { "" } else { "likely " },
                        c.mode,
                        c.statement.as_deref().unwrap_or("(statement not logged)")
                    ),
                )?;
            }
            if t.cancelled_without_known_conflict > 0 {
                prose(
                    out,
                    2,
                    &format!(
                        "{}x the log does not name the lock request (log_lock_waits = on names \
                         it)",
                        t.cancelled_without_known_conflict
                    ),
                )?;
            }
        }
    }

    let events = !summary.failsafe.is_empty()
        || !summary.worker_start_timeouts.is_empty()
        || !summary.wraparound.is_empty()
        || !summary.orphan_temp_tables.is_empty()
        || summary.horizon_far_in_past.xid + summary.horizon_far_in_past.multixact > 0;
    if events {
        title(out, "Failsafe, wraparound and worker events")?;
        let table_name = |t: &Option<super::event::TableName>| {
            t.as_ref().map_or("?".to_string(), |t| t.to_string())
        };
        for f in &summary.failsafe {
            prose(
                out,
                0,
                &format!(
                    "{}: failsafe on {} after {} index scans",
                    f.at.as_deref().unwrap_or("?"),
                    table_name(&f.table),
                    f.index_scans.map_or("?".to_string(), |s| s.to_string())
                ),
            )?;
        }
        for w in &summary.wraparound {
            prose(
                out,
                0,
                &format!(
                    "{} {:?} wraparound {} for database {} (first {}, last {}{})",
                    w.count,
                    w.id,
                    if w.stopped { "stops" } else { "warnings" },
                    w.database.as_deref().unwrap_or("?"),
                    w.first.as_deref().unwrap_or("?"),
                    w.last.as_deref().unwrap_or("?"),
                    w.min_remaining
                        .map(|r| format!(", fewest left {}", n(r)))
                        .unwrap_or_default()
                ),
            )?;
        }
        let far = &summary.horizon_far_in_past;
        if far.xid + far.multixact > 0 {
            prose(
                out,
                0,
                &format!(
                    "horizon far in the past: {} (XID), {} (multixact)",
                    far.xid, far.multixact
                ),
            )?;
        }
        if !summary.worker_start_timeouts.is_empty() {
            prose(
                out,
                0,
                &format!(
                    "workers that took too long to start: {} ({})",
                    summary.totals.worker_start_timeouts,
                    summary.worker_start_timeouts.join(", ")
                ),
            )?;
        }
        for o in &summary.orphan_temp_tables {
            prose(
                out,
                0,
                &format!(
                    "{}: dropped orphaned temp table {}",
                    o.at.as_deref().unwrap_or("?"),
                    table_name(&o.table)
                ),
            )?;
        }
    }

    for (name, samples) in [
        ("Lines not of the format", &summary.unrecognised),
        (
            "Parts of autovacuum entries pgvac could not read",
            &summary.problems,
        ),
    ] {
        if samples.count == 0 {
            continue;
        }
        title(out, &format!("{name} ({})", n(samples.count)))?;
        for s in &samples.first {
            writeln!(
                out,
                "{}:{}: {}",
                printable(&s.file),
                s.line,
                ellipsize(&printable(&s.text), width.saturating_sub(20))
            )?;
        }
        if samples.count > samples.first.len() as u64 {
            writeln!(
                out,
                "... {} more",
                n(samples.count - samples.first.len() as u64)
            )?;
        }
    }
    Ok(())
}

fn md_escape(text: &str) -> String {
    printable(text).replace('|', "\\|").replace('\n', " ")
}

/// Markdown.
pub fn markdown(out: &mut dyn Write, summary: &LogSummary, options: &Options) -> io::Result<()> {
    writeln!(out, "# Autovacuum in the server log\n")?;
    for line in overview(summary) {
        writeln!(out, "- {}", md_escape(&line))?;
    }
    let row = |out: &mut dyn Write, cells: &[String]| -> io::Result<()> {
        writeln!(out, "| {} |", cells.join(" | "))
    };
    let rule = |out: &mut dyn Write, columns: usize| -> io::Result<()> {
        writeln!(out, "|{}", "---|".repeat(columns))
    };
    if !summary.tables.is_empty() {
        writeln!(out, "\n## Tables\n")?;
        let header = [
            "Table",
            "Vacuums",
            "Aggressive",
            "To prevent wraparound",
            "Analyzes",
            "Vacuum time",
            "Median",
            "p95",
            "Max",
            "Index passes",
            "Dead removed",
            "Dead left",
            "Pages scanned / total",
            "WAL",
            "Read MB/s",
            "Cancelled",
            "Skipped",
        ];
        row(out, &header.map(String::from))?;
        rule(out, header.len())?;
        for t in summary
            .tables
            .iter()
            .take(options.top.unwrap_or(usize::MAX))
        {
            let [total, median, p95, max] = times(&t.vacuum_time);
            row(
                out,
                &[
                    format!("`{}`", md_escape(&t.display())),
                    n(t.vacuums),
                    n(t.aggressive_vacuums),
                    n(t.anti_wraparound_vacuums),
                    n(t.analyzes),
                    total,
                    median,
                    p95,
                    max,
                    n(t.index_scans),
                    n(t.tuples_removed),
                    n(t.tuples_not_removable),
                    if t.pages_of_scanned_runs > 0 {
                        format!("{} / {}", n(t.pages_scanned), n(t.pages_of_scanned_runs))
                    } else {
                        String::new()
                    },
                    bytes(t.wal_bytes),
                    t.read_rate_mbs
                        .map(|r| format!("{r:.1}"))
                        .unwrap_or_default(),
                    n(t.cancelled()),
                    n(t.skipped()),
                ],
            )?;
        }
    }
    if !summary.databases.is_empty() {
        writeln!(out, "\n## Databases\n")?;
        row(
            out,
            &[
                "Database",
                "Vacuums",
                "Analyzes",
                "Vacuum time",
                "Cancelled",
            ]
            .map(String::from),
        )?;
        rule(out, 5)?;
        for d in &summary.databases {
            row(
                out,
                &[
                    md_escape(&d.database),
                    n(d.vacuums),
                    n(d.analyzes),
                    seconds(d.vacuum_time.total_s),
                    n(d.cancelled),
                ],
            )?;
        }
    }
    if !summary.hours.is_empty() {
        writeln!(out, "\n## Hours\n")?;
        row(
            out,
            &[
                "Hour",
                "Vacuums",
                "Analyzes",
                "Busy",
                "Most at once",
                "All workers busy",
            ]
            .map(String::from),
        )?;
        rule(out, 6)?;
        for h in &summary.hours {
            row(
                out,
                &[
                    h.hour.clone(),
                    n(h.vacuums),
                    n(h.analyzes),
                    seconds(h.busy_s),
                    h.max_concurrent.to_string(),
                    seconds(h.all_busy_s),
                ],
            )?;
        }
    }
    for (name, samples) in [
        ("Lines not of the format", &summary.unrecognised),
        (
            "Parts of autovacuum entries pgvac could not read",
            &summary.problems,
        ),
    ] {
        if samples.count == 0 {
            continue;
        }
        writeln!(out, "\n## {name} ({})\n", n(samples.count))?;
        for s in &samples.first {
            writeln!(
                out,
                "- `{}:{}`: {}",
                md_escape(&s.file),
                s.line,
                md_escape(&s.text)
            )?;
        }
    }
    Ok(())
}
