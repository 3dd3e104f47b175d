//! A very large, busy table is vacuumed at the shared, throttled cost budget.
//!
//! ## What it checks
//!
//! Tables of at least 100 GB (heap, indexes and TOAST) that change (updates, deletes or inserts
//! since the statistics reset at least 5% of their rows), that autovacuum vacuums with the
//! server's cost delay (greater than 0) and cost limit, not per-table values.
//!
//! ## Why it matters
//!
//! Autovacuum sleeps `autovacuum_vacuum_cost_delay` each time its workers together spend
//! `autovacuum_vacuum_cost_limit` units of I/O cost. That budget is sized for the many small
//! tables of a typical database; on one very large table a vacuum at that pace can take hours,
//! holding a worker and letting dead rows and unfrozen pages pile up meanwhile. The RDS guide's
//! example is one 300 GB table among small ones: give that table its own cost setting rather than
//! changing the whole instance. A table with per-table cost settings also leaves the shared
//! budget, so the other workers keep theirs.
//!
//! ## How it is computed
//!
//! Size: `relpages * block_size` of the heap, its indexes and TOAST table (no locks taken). The
//! effective cost delay and limit come from the autovacuum model (reloptions over
//! `autovacuum_vacuum_cost_*`, -1 resolved to `vacuum_cost_*`). The evidence estimates how long
//! reading the table once takes at the full budget: `pages * vacuum_cost_page_miss /
//! cost_limit * cost_delay`, the floor of a vacuum that has to read every page from disk (pages
//! it dirties cost `vacuum_cost_page_dirty` more; workers running together split the budget).
//! 100 GB is a third of the RDS example: the size from which a vacuum at the default 12/13 pace
//! (10 per page miss, 200 per 2 ms) needs more than half an hour just to read the table.
//!
//! ## Fix
//!
//! `ALTER TABLE schema.table SET (autovacuum_vacuum_cost_delay = 0);` lets autovacuum vacuum this
//! table unthrottled (SHARE UPDATE EXCLUSIVE, no reload). It needs care: the vacuum then reads and
//! writes as fast as the storage allows, which other queries will feel; a smaller delay (e.g. 1)
//! or a larger per-table `autovacuum_vacuum_cost_limit` is the middle way.
//!
//! ## Version notes
//!
//! `vacuum_cost_page_miss` fell from 10 to 2 in 14, so the same budget reads five times more
//! pages from 14 on. 18's `track_cost_delay_timing` shows the time a vacuum slept
//! (`pg_stat_progress_vacuum.delay_time`).
//!
//! ## Source
//!
//! - RDS guide, "Setting autovacuum parameters per table" (the 300 GB table):
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html
//! - PostgreSQL, "Cost-based Vacuum Delay":
//!   https://www.postgresql.org/docs/current/runtime-config-resource.html#RUNTIME-CONFIG-RESOURCE-VACUUM-COST

use crate::analysis::autovacuum::{OptionSource, Reach};
use crate::analysis::findings::RunOn;
use crate::analysis::findings::{Finding, Needs, Recommendation, Safety, Severity};
use crate::analysis::rules::wrap::table_xid_age_high::human_bytes;
use crate::analysis::rules::{Category, Context, Rule};
use crate::analysis::tuning::{ALTER_LOCK, CHANGED_SHARE, display_name, target};

pub const RULE: Rule = Rule {
    code: "TABLE004",
    name: "large-table-vacuum-throttled",
    category: Category::Table,
    severity: Severity::Info,
    source: include_str!("large_table_vacuum_throttled.rs"),
    check,
    #[cfg(test)]
    examples,
};

/// 100 GiB.
pub const VERY_LARGE_BYTES: i64 = 100 * 1024 * 1024 * 1024;

fn check(context: &Context) -> Vec<Finding> {
    let page_miss = context
        .setting_number("vacuum_cost_page_miss")
        .unwrap_or(if context.major() >= 14 { 2.0 } else { 10.0 });
    let mut out = Vec::new();
    for view in context.tables() {
        let eval = view.autovacuum;
        if eval.reach != Reach::Thresholds {
            continue;
        }
        let bytes = view.total_bytes();
        if bytes < VERY_LARGE_BYTES {
            continue;
        }
        let Some(stats) = view.table.stats.as_ref() else {
            continue;
        };
        let changed = (stats.n_tup_ins.unwrap_or(0)
            + stats.n_tup_upd.unwrap_or(0)
            + stats.n_tup_del.unwrap_or(0)) as f64;
        if changed < CHANGED_SHARE * eval.reltuples.max(1.0) {
            continue;
        }
        if eval.cost_delay_ms.source != OptionSource::ServerSetting
            || eval.cost_limit.source != OptionSource::ServerSetting
            || eval.cost_delay_ms.value <= 0.0
        {
            continue;
        }
        let Some((keyword, sql_name, prefix)) = target(&view) else {
            continue;
        };
        let pages = bytes as f64 / 8192.0;
        let seconds = pages * page_miss / eval.cost_limit.value.max(1) as f64
            * eval.cost_delay_ms.value
            / 1000.0;
        let name = display_name(&view);
        let finding = RULE
            .finding(
                view.object(),
                format!(
                    "{name} ({}) is vacuumed at the shared cost budget: at least {:.0} minutes \
                     to read it once",
                    human_bytes(bytes),
                    seconds / 60.0
                ),
            )
            .with("total_bytes", bytes)
            .with("cost_delay_ms", eval.cost_delay_ms.value)
            .with("cost_limit", eval.cost_limit.value)
            .with("vacuum_cost_page_miss", page_miss)
            .with("read_once_seconds_at_full_budget", seconds.round() as i64)
            .recommend(Recommendation {
                text: format!(
                    "Let autovacuum vacuum {name} unthrottled (or with a smaller delay), per table; \
                     the I/O will be felt by other queries."
                ),
                sql: Some(format!(
                    "SET lock_timeout = '5s';\nALTER {keyword} {sql_name} SET \
                     ({prefix}autovacuum_vacuum_cost_delay = 0);"
                )),
                safety: Safety::NeedsCare,
                lock: Some(ALTER_LOCK.to_string()),
                needs: Needs::None,
                settings: Vec::new(),
                destructive: false,
                run_on: Some(RunOn::database(&view.database.name)),
                signals: Vec::new(),
            });
        out.push(finding);
    }
    out
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::{Fx, T};
    let big = || {
        T::new("measurements")
            .rows(2_000_000_000)
            .heap_bytes(300 * 1024 * 1024 * 1024)
            .updated(200_000_000)
    };
    crate::analysis::rules::fixture::Examples {
        fires: vec![("a busy 300 GB table", Fx::new(13).table(big()).done())],
        quiet: vec![
            (
                "already given its own cost delay",
                Fx::new(13)
                    .table(big().option("autovacuum_vacuum_cost_delay=0"))
                    .done(),
            ),
            (
                "a 300 GB table that does not change",
                Fx::new(13)
                    .table(
                        T::new("measurements")
                            .rows(2_000_000_000)
                            .heap_bytes(300 * 1024 * 1024 * 1024)
                            .inserted(0),
                    )
                    .done(),
            ),
            (
                "a busy 10 GB table",
                Fx::new(13)
                    .table(
                        T::new("measurements")
                            .rows(100_000_000)
                            .heap_bytes(10 * 1024 * 1024 * 1024)
                            .updated(50_000_000),
                    )
                    .done(),
            ),
        ],
    }
}
