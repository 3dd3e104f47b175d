//! The Trends section of the terminal report (`--history`): XID consumption, time to each limit
//! per database, and the tables whose dead rows or autovacuums moved between runs.

use std::io::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

use crate::analysis::trends::{Estimate, Limit, LimitEstimate, RateBasis, Trends};

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

/// `text` after `lead`, wrapped at `width` columns with continuation lines indented to match.
fn write_wrapped(out: &mut dyn Write, width: usize, lead: &str, text: &str) -> std::io::Result<()> {
    let indent = " ".repeat(lead.chars().count());
    let mut line = lead.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > width {
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
pub fn write_trends(out: &mut dyn Write, trends: &Trends, width: usize) -> std::io::Result<()> {
    let table_width = u16::try_from(width).unwrap_or(u16::MAX);
    match trends.previous_collected_at {
        None => writeln!(out, "Trends: no earlier run to compare with yet.")?,
        Some(previous) => writeln!(
            out,
            "Trends since {} ({} earlier run{}):",
            previous.format("%Y-%m-%d %H:%M:%S UTC"),
            trends.earlier_runs,
            if trends.earlier_runs == 1 { "" } else { "s" }
        )?,
    }
    for event in &trends.events {
        write_wrapped(out, width, "  ! ", &event.message)?;
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
            .set_width(table_width)
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
            .set_width(table_width)
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
                "  ... and {} more {} (--format json lists them all)",
                moved.len() - TREND_TABLES,
                if moved.len() - TREND_TABLES == 1 {
                    "table"
                } else {
                    "tables"
                }
            )?;
        }
    }
    for note in &trends.notes {
        write_wrapped(out, width, "  note: ", note)?;
    }
    Ok(())
}
