//! Autovacuum is falling behind: tables far past their trigger have not been vacuumed for a day.
//!
//! ## What it checks
//!
//! Tables autovacuum acts on by thresholds whose dead-row or insert count is at least twice their
//! trigger, that no vacuum is working on now, and whose last vacuum (manual or automatic) is more
//! than 24 hours old, while nothing visible holds vacuum back (no transaction open for more than an
//! hour, no lock that keeps autovacuum off the table: BLOCK009).
//!
//! ## Why it matters
//!
//! A table past its trigger should be vacuumed within a few naptimes. If it has waited a day with
//! twice the dead rows, autovacuum's workers are all busy elsewhere or are throttled so hard that
//! they cannot get through their queue. All running workers share one cost budget
//! (`autovacuum_vacuum_cost_limit`, split between them), so adding workers without raising the
//! limit only splits the same I/O more ways: the two have to go up together.
//!
//! ## How it is computed
//!
//! Per table, from the autovacuum model: due now for dead rows or inserts, count >= 2 x trigger
//! rows, no entry in `pg_stat_progress_vacuum` for it, `greatest(last_vacuum, last_autovacuum)`
//! older than 24 h before the snapshot. Tables never vacuumed are left out (a snapshot cannot tell
//! how long they have been due: they may have been loaded a minute ago). Sessions with a
//! transaction open for over an hour can stop vacuum from taking its lock or from removing rows:
//! then the BLOCK rules speak and this one stays quiet. The evidence shows the overdue tables, the
//! workers, the cost limit and delay, and the per-worker budget in 8 kB page reads per second
//! (`cost_limit / workers / vacuum_cost_page_miss * 1000 / cost_delay_ms`).
//!
//! Workers and cost are advised only when every worker is busy now (sessions of type `autovacuum
//! worker`, as many as `autovacuum_max_workers`): with a worker free, autovacuum was not short of
//! workers, and the finding says so and where to look instead (locks, per-table settings, the
//! server log's skipped vacuums). One snapshot sees one moment: look again at a busy hour.
//!
//! ## Fix
//!
//! When every worker is busy: double `autovacuum_max_workers` and raise `autovacuum_vacuum_cost_limit` in the same proportion,
//! so each worker keeps its share of the budget. `autovacuum_max_workers` needs a restart before
//! 18 (on 18 a reload, up to `autovacuum_worker_slots`); the cost limit a reload. On RDS/Aurora both
//! are DB parameter group changes (`autovacuum_max_workers` static: reboot). Check the storage has
//! the I/O to spare; alternatively give the largest tables their own cost settings (TABLE004).
//!
//! ## Version notes
//!
//! 18: `autovacuum_max_workers` is reloadable, bounded by `autovacuum_worker_slots` (restart).
//!
//! ## Source
//!
//! - RDS guide, "Determining if autovacuum is currently running and for how long" and "Other
//!   parameters that affect autovacuum":
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html
//! - PostgreSQL, `autovacuum_max_workers`, `autovacuum_vacuum_cost_limit`:
//!   https://www.postgresql.org/docs/current/runtime-config-autovacuum.html

use chrono::Duration;

use crate::analysis::autovacuum::{Reach, VacuumReason};
use crate::analysis::findings::{Finding, Object, Recommendation, Severity, group_digits};
use crate::analysis::rules::block::lock_keeps_autovacuum_out::keeps_autovacuum_out;
use crate::analysis::rules::{Category, Context, Rule};
use crate::analysis::tuning::display_name;
use crate::analysis::units::size;

pub const RULE: Rule = Rule {
    code: "CONFIG006",
    name: "autovacuum-falling-behind",
    category: Category::Config,
    severity: Severity::Warning,
    source: include_str!("autovacuum_falling_behind.rs"),
    check,
    #[cfg(test)]
    examples,
};

const FAR_PAST: f64 = 2.0;
const OVERDUE_HOURS: i64 = 24;
const BLOCKING_TRANSACTION_HOURS: i64 = 1;

fn check(context: &Context) -> Vec<Finding> {
    if !context.settings.autovacuum_active() {
        return Vec::new();
    }
    let now = context.snapshot.server.collected_at;
    let blocked = context.snapshot.sessions.iter().any(|s| {
        !s.is_pgvac
            && s.backend_type.as_deref() != Some("autovacuum worker")
            && s.xact_start
                .is_some_and(|t| now - t > Duration::hours(BLOCKING_TRANSACTION_HOURS))
    }) || !context.snapshot.prepared_transactions.is_empty();
    if blocked {
        return Vec::new();
    }
    let overdue: Vec<_> = context
        .tables()
        .filter(|v| v.autovacuum.reach == Reach::Thresholds)
        .filter(|v| {
            let eval = v.autovacuum;
            let trigger = match eval.vacuum_reason() {
                Some(VacuumReason::DeadRows) => &eval.dead_rows,
                Some(VacuumReason::Inserts) => match &eval.inserts {
                    Some(t) => t,
                    None => return false,
                },
                _ => return false,
            };
            let far = trigger
                .count
                .is_some_and(|c| c as f64 >= FAR_PAST * trigger.rows.max(1.0));
            let running = context.snapshot.running_vacuums.iter().any(|r| {
                r.relid == Some(v.table.oid) && r.database.as_deref() == Some(&v.database.name)
            });
            let last = v
                .table
                .stats
                .as_ref()
                .and_then(|s| s.last_vacuum.max(s.last_autovacuum));
            let old = last.is_some_and(|t| now - t > Duration::hours(OVERDUE_HOURS));
            // A lock that conflicts with vacuum's keeps autovacuum off the table: BLOCK009
            // names the holder, and no number of workers would get it vacuumed.
            let locked = v.database.relation_locks.iter().any(|l| {
                l.relid == v.table.oid && keeps_autovacuum_out(context, &v.database.name, l)
            });
            far && !running && old && !locked
        })
        .collect();
    if overdue.is_empty() {
        return Vec::new();
    }
    let workers = context.settings.max_workers.max(1);
    let limit = context.settings.cost_limit.max(1);
    let delay = context.settings.cost_delay_ms;
    let page_miss = context
        .setting_number("vacuum_cost_page_miss")
        .unwrap_or(2.0);
    let per_worker_pages = if delay > 0.0 {
        Some((limit as f64 / workers as f64 / page_miss * 1000.0 / delay).round() as i64)
    } else {
        None
    };
    let mut new_workers = workers * 2;
    if let Some(slots) = context.settings.worker_slots {
        new_workers = new_workers.min(slots.max(workers));
    }
    let new_limit = limit * new_workers / workers;
    let bytes: i64 = overdue.iter().map(|v| v.total_bytes()).sum();
    let mut names: Vec<String> = overdue
        .iter()
        .take(5)
        .map(|v| format!("{}: {}", v.database.name, display_name(v)))
        .collect();
    if overdue.len() > 5 {
        names.push(format!("and {} more", overdue.len() - 5));
    }
    let mut finding = RULE
        .finding(
            Object::Cluster,
            format!(
                "{} table(s) ({}) are at least twice past their trigger and unvacuumed for over a \
                 day, with {workers} workers sharing a cost limit of {limit}",
                overdue.len(),
                size(bytes)
            ),
        )
        .with("overdue_tables", overdue.len() as i64)
        .with("overdue_bytes", bytes)
        .with("tables", names.join(", "))
        .with("autovacuum_max_workers", workers)
        .with("effective_cost_limit", limit)
        .with("effective_cost_delay_ms", delay);
    if let Some(pages) = per_worker_pages {
        finding = finding.with("page_reads_per_second_per_worker", pages);
    }
    // Workers busy now: only when every slot is taken can more of them help.
    let busy = context
        .snapshot
        .sessions
        .iter()
        .filter(|s| s.backend_type.as_deref() == Some("autovacuum worker"))
        .count() as i64;
    finding = finding.with("busy_workers", busy);
    if busy < workers {
        return vec![finding.recommend(Recommendation::text(format!(
            "Only {busy} of {workers} autovacuum workers are busy now: more workers or a larger \
             cost budget would not get these tables vacuumed. Find what keeps autovacuum off \
             them: a lock held on them (BLOCK009 names its holder), autovacuum switched off for \
             them, or the server log at log_autovacuum_min_duration = 0 (\"skipping vacuum of \
             ... --- lock not available\", LOG002). If workers are busy most of the time (check \
             again at a busy hour), raise workers and cost limit together."
        )))];
    }
    let mut changes = Vec::new();
    if new_workers > workers {
        changes.push(("autovacuum_max_workers", new_workers.to_string()));
    }
    changes.push((
        "autovacuum_vacuum_cost_limit",
        new_limit.max(limit).to_string(),
    ));
    let fix = context.change_settings(
        &changes,
        &format!(
            "Raise workers and cost limit together ({} workers x {} per worker).",
            group_digits(new_workers),
            group_digits(new_limit / new_workers.max(1))
        ),
    );
    vec![finding.recommend(fix)]
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::{Fx, T};
    let fx = Fx::new(16);
    let now = fx.now();
    let overdue = |hours| {
        T::new("orders")
            .rows(100_000)
            .updated(500_000)
            .dead(60_000)
            .autovacuumed_hours_ago(now, hours)
    };
    crate::analysis::rules::fixture::Examples {
        fires: vec![(
            "60k dead rows (trigger 20,050), last vacuumed 2 days ago",
            { Fx::new(16).table(overdue(48)).done() },
        )],
        quiet: vec![
            ("vacuumed an hour ago", Fx::new(16).table(overdue(1)).done()),
            (
                "never vacuumed (maybe just loaded)",
                Fx::new(16)
                    .table(T::new("orders").rows(100_000).updated(500_000).dead(60_000))
                    .done(),
            ),
            (
                "a transaction open for two hours",
                Fx::new(16)
                    .table(overdue(48))
                    .with(|s| {
                        let mut session = s.sessions[0].clone();
                        session.backend_type = Some("client backend".into());
                        session.xact_start = Some(s.server.collected_at - Duration::hours(2));
                        s.sessions.push(session);
                    })
                    .done(),
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::analysis::findings::Needs;
    use crate::analysis::rules::Context;
    use crate::analysis::rules::fixture::{Fx, T};

    #[test]
    fn raises_workers_and_cost_limit_together() {
        let fx = Fx::new(17);
        let now = fx.now();
        let snapshot = fx
            .table(
                T::new("orders")
                    .rows(100_000)
                    .dead(60_000)
                    .autovacuumed_hours_ago(now, 30),
            )
            .with(|s| {
                // Every worker busy.
                for pid in 0..3 {
                    let mut worker = s.sessions[0].clone();
                    worker.pid = 9000 + pid;
                    worker.is_pgvac = false;
                    worker.backend_type = Some("autovacuum worker".into());
                    s.sessions.push(worker);
                }
            })
            .done();
        let found = (RULE.check)(&Context::new(&snapshot));
        let fix = found[0].recommendation.clone().unwrap();
        let sql = fix.sql.unwrap();
        assert!(sql.contains("autovacuum_max_workers = '6'"), "{sql}");
        assert!(
            sql.contains("autovacuum_vacuum_cost_limit = '400'"),
            "{sql}"
        );
        assert_eq!(
            fix.needs,
            Needs::Restart,
            "max_workers is postmaster-context before 18"
        );
    }

    /// With a worker free, workers were not what autovacuum lacked: no settings advised.
    #[test]
    fn no_worker_advice_while_a_worker_is_free() {
        let fx = Fx::new(17);
        let now = fx.now();
        let snapshot = fx
            .table(
                T::new("orders")
                    .rows(100_000)
                    .dead(60_000)
                    .autovacuumed_hours_ago(now, 30),
            )
            .done();
        let found = (RULE.check)(&Context::new(&snapshot));
        let fix = found[0].recommendation.clone().unwrap();
        assert!(fix.settings.is_empty() && fix.sql.is_none(), "{fix:?}");
        assert!(
            fix.text.contains("0 of 3 autovacuum workers are busy"),
            "{}",
            fix.text
        );
    }

    /// A table kept off by a lock is not overdue for want of workers.
    #[test]
    fn a_locked_table_is_left_to_block009() {
        let fx = Fx::new(16);
        let now = fx.now();
        let snapshot = fx
            .table(
                T::new("orders")
                    .rows(100_000)
                    .dead(60_000)
                    .autovacuumed_hours_ago(now, 30),
            )
            .with(|s| {
                let app = s.databases.iter_mut().find(|d| d.name == "app").unwrap();
                let oid = app.tables[0].oid;
                app.relation_locks.push(crate::snapshot::RelationLock {
                    relid: oid,
                    pid: Some(4242),
                    mode: "ShareUpdateExclusiveLock".into(),
                    virtualtransaction: Some("5/17".into()),
                });
            })
            .done();
        assert!((RULE.check)(&Context::new(&snapshot)).is_empty());
    }
}
