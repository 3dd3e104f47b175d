//! Table statistics are not collected (track_counts is off), so autovacuum cannot decide anything.
//!
//! ## What it checks
//!
//! The `track_counts` setting is `off`.
//!
//! ## Why it matters
//!
//! Autovacuum decides from the per-table counters (`n_dead_tup`, `n_ins_since_vacuum`,
//! `n_mod_since_analyze`). Without them it acts as if it were off (`AutoVacuumingActive()`): only
//! forced anti-wraparound vacuums run. `pg_stat_all_tables` also stays empty, so pgvac's per-table
//! advice has nothing to go on.
//!
//! ## How it is computed
//!
//! `pg_settings.track_counts` as the autovacuum model reads it.
//!
//! ## Fix
//!
//! `ALTER SYSTEM SET track_counts = 'on'; SELECT pg_reload_conf();` (superuser-settable, a reload
//! suffices). On RDS and Aurora, in the DB parameter group. A role or database-level `SET
//! track_counts = off` only affects those sessions and is not what this rule sees.
//!
//! ## Version notes
//!
//! The same in 12-18.
//!
//! ## Source
//!
//! - PostgreSQL, `track_counts`:
//!   https://www.postgresql.org/docs/current/runtime-config-statistics.html
//! - `AutoVacuumingActive` in src/backend/postmaster/autovacuum.c:
//!   https://github.com/postgres/postgres/blob/master/src/backend/postmaster/autovacuum.c

use crate::analysis::findings::{Finding, Object, Severity};
use crate::analysis::rules::{Category, Context, Rule};

pub const RULE: Rule = Rule {
    code: "CONFIG002",
    name: "track-counts-off",
    category: Category::Config,
    severity: Severity::Critical,
    source: include_str!("track_counts_off.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    if context.settings.track_counts {
        return Vec::new();
    }
    vec![
        RULE.finding(
            Object::setting("track_counts"),
            "track_counts is off: autovacuum has no counts to act on",
        )
        .with("track_counts", "off")
        .recommend(context.change_settings(
            &[("track_counts", "on".to_string())],
            "Collect table statistics again.",
        )),
    ]
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::Fx;
    crate::analysis::rules::fixture::Examples {
        fires: vec![("off", Fx::new(14).set("track_counts", "off").done())],
        quiet: vec![("on", Fx::new(14).done())],
    }
}
