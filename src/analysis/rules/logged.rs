//! Helpers of the LOG rules: tie a table of the server log to the snapshot, and note where the
//! log contradicts another rule's advice.
//!
//! A log row names a table as the server wrote it (`db.schema.table`), or, for a lock skip, only
//! by its relation name. A row is tied to a snapshot table when the names match exactly; a skip's
//! bare name only when exactly one table of the visited databases has it. Otherwise the finding
//! names the table as the log does, with `?` for what it does not say.

use crate::analysis::findings::{Finding, Object, Severity, Value};
use crate::analysis::rules::{Context, TableView};
use crate::logs::{LogSummary, TableSummary};
use crate::snapshot::RelKind;

/// The snapshot table a log row is about, when it can be told.
pub fn table_view<'c>(context: &'c Context, row: &TableSummary) -> Option<TableView<'c>> {
    let mut candidates = context.tables().filter(|view| {
        view.table.name == row.name
            && row
                .database
                .as_ref()
                .is_none_or(|d| *d == view.database.name)
            && row.schema.as_ref().is_none_or(|s| *s == view.table.schema)
            && matches!(
                view.table.kind,
                RelKind::Table | RelKind::MaterializedView | RelKind::Toast
            )
    });
    let first = candidates.next()?;
    candidates.next().is_none().then_some(first)
}

/// What a finding about a log row is about.
pub fn object(context: &Context, row: &TableSummary) -> Object {
    match table_view(context, row) {
        Some(view) => view.object(),
        None => Object::table(
            row.database.as_deref().unwrap_or("?"),
            row.schema.as_deref().unwrap_or("?"),
            &row.name,
        ),
    }
}

/// `from 2026-12-01 08:00:00 UTC to 2026-12-02 08:00:00 UTC`, or empty.
pub fn window(log: &LogSummary) -> String {
    match (&log.first, &log.last) {
        (Some(first), Some(last)) => format!("from {first} to {last}"),
        _ => String::new(),
    }
}

/// The share of the logged period a count happened in, per day: `3 in 2.0 days`.
pub fn log_days(log: &LogSummary) -> Option<f64> {
    let first = crate::logs::time::LogTime::parse(log.first.as_deref()?)?;
    let last = crate::logs::time::LogTime::parse(log.last.as_deref()?)?;
    Some((last.millis - first.millis) as f64 / 86_400_000.0)
}

/// Add what the log says against a finding: in its message and as evidence.
fn contradict(finding: &mut Finding, why: String) {
    finding.message = format!("{} (the log contradicts this: {why})", finding.message);
    finding
        .evidence
        .push(("log_contradicts".to_string(), Value::Text(why)));
}

/// Mark findings of other rules that the log contradicts. Pure: reads the context's log only.
///
/// - TABLE004 (vacuum throttled on a large table): the table's logged vacuums were short (at
///   most 10 minutes), and on 18 spent under a fifth of their time in cost delay.
/// - CONFIG005 (work memory too small, several index passes): the log has vacuums and none
///   needed more than one index pass.
/// - CONFIG006 (falling behind: more workers): logged runs never kept every worker busy.
pub fn note_contradictions(context: &Context, findings: &mut [Finding]) {
    let Some(log) = context.log else {
        return;
    };
    for finding in findings.iter_mut() {
        match finding.code {
            "TABLE004" => {
                let Some(row) = log.tables.iter().find(|row| {
                    row.vacuums > 0
                        && table_view(context, row).is_some_and(|v| v.object() == finding.object)
                }) else {
                    continue;
                };
                let longest = row.vacuum_time.max_s.unwrap_or(0.0);
                let delay_share = row
                    .delay_ms
                    .map(|ms| ms / 1000.0 / row.vacuum_time.total_s.max(0.001));
                if longest <= 600.0 && delay_share.is_none_or(|s| s < 0.2) {
                    let mut why = format!(
                        "its {} logged vacuums took {} at most",
                        row.vacuums,
                        crate::logs::render::seconds(longest)
                    );
                    if let Some(share) = delay_share {
                        why.push_str(&format!(", {:.0}% of it in cost delay", share * 100.0));
                    }
                    contradict(finding, why);
                }
            }
            "CONFIG005" => {
                let vacuums: u64 = log.tables.iter().map(|t| t.vacuums).sum();
                let most = log.tables.iter().map(|t| t.max_index_scans).max();
                if vacuums > 0 && most.is_some_and(|m| m <= 1) {
                    contradict(
                        finding,
                        format!(
                            "none of its {vacuums} logged vacuums {} needed more than one index \
                             pass",
                            window(log)
                        ),
                    );
                }
            }
            "CONFIG006" => {
                let c = &log.concurrency;
                let days = log_days(log).unwrap_or(0.0);
                if c.all_busy_s == 0.0 && days >= 1.0 / 24.0 && log.totals.vacuums > 0 {
                    contradict(
                        finding,
                        format!(
                            "over {:.1} days of log, at most {} of {} workers ran logged vacuums \
                             at once: look at cancellations, lock skips and throttling before \
                             adding workers",
                            days, c.max_concurrent, c.max_workers
                        ),
                    );
                }
            }
            _ => {}
        }
    }
}

/// Warning from `warning_at` occurrences, else info; for counts of bad events.
pub fn count_severity(count: u64, warning_at: u64) -> Severity {
    if count >= warning_at {
        Severity::Warning
    } else {
        Severity::Info
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::Analysis;
    use crate::analysis::blockers::Thresholds;
    use crate::analysis::rules::fixture::entries::{self, Dead};
    use crate::analysis::rules::fixture::{Fx, T, example_log};

    fn message_of(snapshot: &crate::snapshot::Snapshot, code: &str) -> Option<String> {
        let log = example_log(snapshot);
        Analysis::build(snapshot, Thresholds::default(), log.as_ref())
            .findings
            .into_iter()
            .find(|f| f.code == code)
            .map(|f| f.message)
    }

    fn big() -> T {
        T::new("measurements")
            .rows(2_000_000_000)
            .heap_bytes(300 * 1024 * 1024 * 1024)
            .updated(200_000_000)
    }

    #[test]
    fn a_throttled_table_whose_logged_vacuums_were_short_is_contradicted() {
        let short = entries::vacuum(
            "08:00:00",
            100,
            "vacuum ",
            "app.public.measurements",
            1,
            entries::clean(1000, 42.0),
        );
        let with = Fx::new(13).table(big()).log_text(&short).done();
        let message = message_of(&with, "TABLE004").expect("TABLE004 fires");
        assert!(
            message.contains("the log contradicts this: its 1 logged vacuums took 42.0 s at most"),
            "{message}"
        );
        let long = entries::vacuum(
            "08:00:00",
            100,
            "vacuum ",
            "app.public.measurements",
            1,
            entries::clean(1000, 7200.0),
        );
        let with_long = Fx::new(13).table(big()).log_text(&long).done();
        let message = message_of(&with_long, "TABLE004").expect("TABLE004 fires");
        assert!(!message.contains("contradicts"), "{message}");
        let without = Fx::new(13).table(big()).done();
        assert!(
            !message_of(&without, "TABLE004")
                .unwrap()
                .contains("contradicts")
        );
    }

    #[test]
    fn small_memory_is_contradicted_by_vacuums_that_needed_one_pass() {
        let bloated = || {
            T::new("orders")
                .rows(200_000_000)
                .updated(50_000_000)
                .dead(30_000_000)
        };
        let one_pass = entries::vacuum(
            "08:00:00",
            100,
            "vacuum ",
            "app.public.orders",
            1,
            Dead {
                removed: 5_000_000,
                left: 0,
                cutoff: 1,
                cutoff_age: 0,
                elapsed: 60.0,
            },
        );
        let with = Fx::new(16).table(bloated()).log_text(&one_pass).done();
        let message = message_of(&with, "CONFIG005").expect("CONFIG005 fires");
        assert!(
            message.contains("needed more than one index pass"),
            "{message}"
        );
        let two_passes = one_pass.replace("index scans: 1", "index scans: 2");
        let with = Fx::new(16).table(bloated()).log_text(&two_passes).done();
        let message = message_of(&with, "CONFIG005").expect("CONFIG005 fires");
        assert!(!message.contains("contradicts"), "{message}");
    }
}
