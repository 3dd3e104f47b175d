//! A table's vacuums run longer than autovacuum_naptime x autovacuum_max_workers.
//!
//! ## What it checks
//!
//! Tables whose longest logged vacuum took longer than `autovacuum_naptime` times
//! `autovacuum_max_workers` (3 minutes with the defaults). A warning when the log also shows
//! every worker busy at once; info otherwise.
//!
//! ## Why it matters
//!
//! The launcher starts a worker for each database every naptime, and a database's tables wait
//! for a free worker. A run that outlasts naptime x workers keeps one worker away for more than
//! a whole round of the launcher; with a few such tables all workers are taken and the other
//! tables' vacuums wait, however their thresholds are set.
//!
//! ## How it is computed
//!
//! From `pgvac report --log`: each vacuum's `elapsed` (system usage line), against the
//! snapshot's `autovacuum_naptime` and `autovacuum_max_workers`. "All workers busy" comes from
//! the logged runs that overlap (a run covers `[its timestamp - elapsed, its timestamp]`), a lower
//! bound when `log_autovacuum_min_duration` hides the short runs.
//!
//! ## Fix
//!
//! Make the table's vacuums faster: its own cost budget (`ALTER TABLE ... SET
//! (autovacuum_vacuum_cost_limit = ...)` or `autovacuum_vacuum_cost_delay = 0` for one very
//! large table, TABLE004), enough memory for one index pass (LOG004), vacuums that come sooner
//! with fewer dead rows (TABLE001). More workers help only with a higher cost limit
//! (CONFIG006).
//!
//! ## Version notes
//!
//! 18 logs the time each run spent in cost delay (`delay time`, with
//! `track_cost_delay_timing`): the evidence shows it when present.
//!
//! ## Source
//!
//! - PostgreSQL, `autovacuum_naptime`, `autovacuum_max_workers`:
//!   https://www.postgresql.org/docs/current/runtime-config-autovacuum.html
//! - RDS guide, "Long-running autovacuum":
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html

use crate::analysis::findings::{Finding, Recommendation, Severity};
use crate::analysis::rules::logged::object;
use crate::analysis::rules::{Category, Context, Rule};
use crate::logs::render::seconds;

pub const RULE: Rule = Rule {
    code: "LOG005",
    name: "vacuum-runs-outlast-naptime-cycle",
    category: Category::Log,
    severity: Severity::Info,
    source: include_str!("vacuum_runs_outlast_naptime_cycle.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    let Some(log) = context.log else {
        return Vec::new();
    };
    let naptime = context.settings.naptime.as_secs_f64();
    let workers = context.settings.max_workers.max(1);
    let cycle = naptime * workers as f64;
    let all_busy = log.concurrency.all_busy_s;
    log.tables
        .iter()
        .filter(|t| t.vacuum_time.max_s.is_some_and(|m| m > cycle))
        .map(|row| {
            let longest = row.vacuum_time.max_s.unwrap_or(0.0);
            let mut finding = RULE
                .finding(
                    object(context, row),
                    format!(
                        "its longest logged vacuum took {}, more than autovacuum_naptime x \
                         autovacuum_max_workers ({} x {workers} = {}){}",
                        seconds(longest),
                        seconds(naptime),
                        seconds(cycle),
                        if all_busy > 0.0 {
                            format!(
                                "; all {workers} workers were busy at once for {}",
                                seconds(all_busy)
                            )
                        } else {
                            String::new()
                        }
                    ),
                )
                .with("longest_vacuum_s", longest)
                .with("naptime_s", naptime)
                .with("autovacuum_max_workers", workers)
                .with("all_workers_busy_s", all_busy);
            if let Some(delay) = row.delay_ms {
                finding = finding.with("delay_ms", delay);
            }
            if all_busy > 0.0 {
                finding.severity = Severity::Warning;
            }
            finding.recommend(Recommendation::text(
                "Make this table's vacuums faster: its own cost budget (ALTER TABLE ... SET \
                 (autovacuum_vacuum_cost_limit = ...)), memory for one index pass, and an earlier \
                 trigger so each run has less to do.",
            ))
        })
        .collect()
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::{Fx, T, entries};
    let long = entries::vacuum(
        "08:30:00",
        100,
        "vacuum ",
        "app.public.orders",
        1,
        entries::clean(1000, 1800.0),
    );
    let short = entries::vacuum(
        "08:30:00",
        100,
        "vacuum ",
        "app.public.orders",
        1,
        entries::clean(1000, 30.0),
    );
    crate::analysis::rules::fixture::Examples {
        fires: vec![(
            "a 30-minute vacuum with the defaults (3 min cycle)",
            Fx::new(16).table(T::new("orders")).log_text(&long).done(),
        )],
        quiet: vec![(
            "a 30-second vacuum",
            Fx::new(16).table(T::new("orders")).log_text(&short).done(),
        )],
    }
}
