//! Autovacuum on a table was cancelled again and again by conflicting lock requests.
//!
//! ## What it checks
//!
//! Tables whose autovacuum or autoanalyze the server log shows cancelled (`canceling autovacuum
//! task`, with the table in its context) at least twice. With `log_lock_waits = on` the lock
//! request that caused each cancellation is in the log too, and the finding names it.
//!
//! ## Why it matters
//!
//! A session that waits for a lock autovacuum's SHARE UPDATE EXCLUSIVE lock blocks gets the
//! autovacuum cancelled after `deadlock_timeout` (only anti-wraparound runs are never
//! cancelled). All the work of the run is lost, and a table whose vacuums keep being cancelled
//! accumulates dead rows until a forced anti-wraparound vacuum comes, which then blocks the DDL
//! instead.
//!
//! ## How it is computed
//!
//! From `pgvac report --log`: per table, the cancellations in the log. A cancellation is tied
//! to the lock request whose `still waiting` entry (logged by the waiting session at
//! `deadlock_timeout`, with "Process holding the lock:" naming the worker) is within 10 seconds
//! of it: the finding shows that lock mode, what usually takes it, and the statement. When the
//! worker was cancelled before the wait was written, the wait's detail no longer names it; a
//! wait naming no other holder within one second of the cancellation is then shown as the
//! *likely* request. Without `log_lock_waits` the log does not say who asked; the finding says
//! so.
//!
//! ## Fix
//!
//! Move the statement that takes the lock (DDL, `LOCK TABLE`, `CREATE INDEX`, `TRUNCATE`,
//! `REFRESH MATERIALIZED VIEW`, `VACUUM FULL`...) out of the table's busy hours, or run
//! `VACUUM (VERBOSE) table` before it. When the log does not name the request, turn on
//! `log_lock_waits` (a reload) so it does.
//!
//! ## Version notes
//!
//! The context of the cancellation names the phase (`while scanning block ...`) from 13 on.
//! `log_lock_waits` is off by default in 12-18.
//!
//! ## Source
//!
//! - PostgreSQL, "Routine Vacuuming" (autovacuum and lock conflicts):
//!   https://www.postgresql.org/docs/current/routine-vacuuming.html
//! - PostgreSQL, `deadlock_timeout` and `log_lock_waits`:
//!   https://www.postgresql.org/docs/current/runtime-config-locks.html

use crate::analysis::findings::{Finding, Recommendation, Severity};
use crate::analysis::rules::logged::{object, window};
use crate::analysis::rules::{Category, Context, Rule};

pub const RULE: Rule = Rule {
    code: "LOG001",
    name: "autovacuum-cancelled-repeatedly",
    category: Category::Log,
    severity: Severity::Warning,
    source: include_str!("autovacuum_cancelled_repeatedly.rs"),
    check,
    #[cfg(test)]
    examples,
};

/// Cancellations of one table that make a finding.
const CANCELLATIONS: u64 = 2;

fn check(context: &Context) -> Vec<Finding> {
    let Some(log) = context.log else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for row in log.tables.iter().filter(|t| t.cancelled() >= CANCELLATIONS) {
        let causes: Vec<String> = row
            .conflicts
            .iter()
            .take(3)
            .map(|c| {
                format!(
                    "{}x {}{} ({}){}",
                    c.count,
                    if c.named_by_holder { "" } else { "likely " },
                    c.mode,
                    c.usual_sources(),
                    c.statement
                        .as_deref()
                        .map(|s| format!(": {s}"))
                        .unwrap_or_default()
                )
            })
            .collect();
        let mut message = format!(
            "autovacuum was cancelled {} times ({} vacuum, {} analyze) {}",
            row.cancelled(),
            row.cancelled_vacuums,
            row.cancelled_analyzes,
            window(log)
        );
        if !causes.is_empty() {
            message.push_str(&format!(" by {}", causes.join("; ")));
        }
        if row.cancelled_without_known_conflict > 0 {
            message.push_str(&format!(
                "; {} times the log does not name the lock request",
                row.cancelled_without_known_conflict
            ));
        }
        let mut finding = RULE
            .finding(object(context, row), message)
            .with("cancelled_vacuums", row.cancelled_vacuums as i64)
            .with("cancelled_analyzes", row.cancelled_analyzes as i64)
            .with(
                "cancelled_without_known_conflict",
                row.cancelled_without_known_conflict as i64,
            );
        if !causes.is_empty() {
            finding = finding.with("conflicting_requests", causes.join("; "));
        }
        let lock_waits_off = context.setting_text("log_lock_waits") == Some("off");
        let fix = if row.cancelled_without_known_conflict > 0 && lock_waits_off {
            context.change_settings(
                &[("log_lock_waits", "on".to_string())],
                "Have the log name the lock request that cancels autovacuum.",
            )
        } else {
            Recommendation::text(
                "Run the statement that takes the conflicting lock outside the table's busy \
                 hours, or VACUUM the table right before it; anti-wraparound vacuums are not \
                 cancelled, so a table whose vacuums keep losing ends up with a forced vacuum \
                 that blocks the statement instead.",
            )
        };
        found.push(finding.recommend(fix));
    }
    found
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::{Fx, T, entries};
    let table = "app.public.orders";
    let twice = format!(
        "{}{}",
        entries::cancel(
            "08:00:00",
            100,
            table,
            Some("ALTER TABLE orders ADD COLUMN x int")
        ),
        entries::cancel("09:00:00", 200, table, None)
    );
    let once = entries::cancel("08:00:00", 100, table, None);
    crate::analysis::rules::fixture::Examples {
        fires: vec![(
            "cancelled twice, once by an ALTER TABLE",
            Fx::new(16).table(T::new("orders")).log_text(&twice).done(),
        )],
        quiet: vec![
            (
                "cancelled once",
                Fx::new(16).table(T::new("orders")).log_text(&once).done(),
            ),
            ("no log", Fx::new(16).table(T::new("orders")).done()),
        ],
    }
}
