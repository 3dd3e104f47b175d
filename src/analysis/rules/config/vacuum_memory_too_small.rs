//! Autovacuum's work memory holds fewer dead rows than a table has, so its vacuum needs several index passes.
//!
//! ## What it checks
//!
//! On 12-16: tables with indexes whose removable dead rows (`n_dead_tup`) need more memory, at
//! 6 bytes each, than one autovacuum worker in their database has (`autovacuum_work_mem`, or `maintenance_work_mem` when
//! it is -1, capped at 1 GB).
//!
//! ## Why it matters
//!
//! Vacuum collects the addresses of dead rows in memory, then scans every index of the table once
//! to remove them. When the memory fills before the table is done it has to scan all the indexes,
//! then continue and scan them all again: each extra pass reads every index in full. Vacuums of
//! large tables then take many times longer (the RDS guide's "long-running autovacuum usually means
//! too little work memory"). 64 MB, the default, holds about 11 million dead rows; 1 GB about 179
//! million.
//!
//! ## How it is computed
//!
//! `n_dead_tup * 6` bytes against the effective work memory of a worker in the table's database
//! (`autovacuum_work_mem`, -1 resolved to `maintenance_work_mem` as that database's workers have
//! it: `ALTER DATABASE ... SET` and the bootstrap superuser's role setting count, pgvac's own
//! role's does not; capped at 1 GB before 17). The message names a database or role setting
//! that decided it. One finding for the server, naming the table with the most dead rows. Left
//! out:
//! - tables without indexes: vacuum then removes each page's dead rows as it scans it, and
//!   needs no index pass at all;
//! - tables whose dead rows a held horizon pins (vacuumed after the holder's horizon was fixed;
//!   see BLOCK010): they are not removable yet, vacuum does not collect them, and more memory
//!   would change nothing. The finding's notes name such tables and the holder: the horizon is
//!   held, and ending the holder is the fix.
//!
//! Recommended: that need plus 25%, rounded up to a multiple of 64 MB, at most 1 GB (more is never used before 17). Each of
//! `autovacuum_max_workers` workers can take that much at once: the evidence shows the total,
//! which must fit in the server's memory.
//!
//! ## Fix
//!
//! `ALTER SYSTEM SET autovacuum_work_mem = '...'; SELECT pg_reload_conf();` (a reload; workers
//! already running keep their memory). On RDS/Aurora, in the DB parameter group (dynamic; the RDS
//! default is derived from the instance memory). A table past 179 million dead rows needs several
//! passes even at 1 GB: lower its trigger instead (TABLE001).
//!
//! ## Version notes
//!
//! 12-16 store 6 bytes per dead row in an array capped at 1 GB. 17 replaced it with a TID store
//! that needs far less memory per dead row and has no 1 GB cap, so the 6-byte estimate does not
//! hold there and the rule does not run on 17+ (RUN003 still reports vacuums that needed several
//! passes).
//!
//! ## Source
//!
//! - RDS guide, "Allocating memory for autovacuum":
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html
//! - PostgreSQL, `autovacuum_work_mem`:
//!   https://www.postgresql.org/docs/current/runtime-config-resource.html#GUC-AUTOVACUUM-WORK-MEM

use crate::analysis::autovacuum::Reach;
use crate::analysis::findings::{Finding, Object, Recommendation, Severity, group_digits};
use crate::analysis::rules::{Category, Context, Rule};
use crate::analysis::tuning::{BYTES_PER_DEAD_ROW, display_name};
use crate::analysis::units::size;

pub const RULE: Rule = Rule {
    code: "CONFIG005",
    name: "vacuum-memory-too-small",
    category: Category::Config,
    severity: Severity::Warning,
    source: include_str!("vacuum_memory_too_small.rs"),
    check,
    #[cfg(test)]
    examples,
};

const MB: i64 = 1024 * 1024;
const GB: i64 = 1024 * MB;

fn check(context: &Context) -> Vec<Finding> {
    if context.major() >= 17 {
        return Vec::new();
    }
    let pinned_by = |v: &crate::analysis::rules::TableView| {
        context
            .pinned
            .iter()
            .find(|p| p.oid == v.table.oid && p.database == v.database.name)
            .map(|p| p.blocker)
    };
    let mut held = Vec::new();
    // Each table against the memory its database's workers have.
    let short: Vec<_> = context
        .tables()
        .filter(|v| !matches!(v.autovacuum.reach, Reach::Never(_)))
        // Without indexes, vacuum removes each page's dead rows as it goes: no index pass.
        .filter(|v| v.table.index_count > 0)
        .filter_map(|v| {
            let dead = v.autovacuum.dead_rows.count?;
            if dead.saturating_mul(BYTES_PER_DEAD_ROW) <= v.autovacuum.work_mem_bytes {
                return None;
            }
            // Rows a held horizon pins are not removable: vacuum does not collect them.
            if let Some(blocker) = pinned_by(&v) {
                held.push((display_name(&v), blocker));
                return None;
            }
            Some((dead, v))
        })
        .collect();
    let Some((dead, worst)) = short
        .iter()
        .max_by_key(|(dead, v)| (*dead, std::cmp::Reverse(v.table.oid)))
    else {
        return Vec::new();
    };
    let work_mem = worst.autovacuum.work_mem_bytes;
    let origin = &context
        .settings
        .in_database(worst.database.oid)
        .work_mem_bytes
        .origin;
    let from = if origin.is_database_or_role() || !origin.is_known() {
        format!(" (maintenance_work_mem: {})", origin.describe())
    } else {
        String::new()
    };
    let needed = dead.saturating_mul(BYTES_PER_DEAD_ROW);
    let passes = (needed + work_mem - 1) / work_mem.max(1);
    let recommended = ((needed + needed / 4 + 64 * MB - 1) / (64 * MB) * (64 * MB)).min(GB);
    let workers = context.settings.max_workers;
    let finding = RULE
        .finding(
            Object::setting("autovacuum_work_mem"),
            format!(
                "{} has {} dead rows ({} of vacuum memory), a worker has {}{from}: about {passes} \
                 index passes",
                display_name(worst),
                group_digits(*dead),
                size(needed),
                size(work_mem)
            ),
        )
        .with(
            "table",
            format!("{}: {}", worst.database.name, display_name(worst)),
        )
        .with("n_dead_tup", *dead)
        .with("needed_bytes", needed)
        .with("work_mem_bytes", work_mem)
        .with("work_mem_from", origin.describe())
        .with("tables_short_of_memory", short.len() as i64)
        .with("autovacuum_max_workers", workers)
        .with("recommended_bytes", recommended)
        .with(
            "workers_times_recommended_bytes",
            recommended.saturating_mul(workers),
        );
    let mut finding = finding;
    for (table, blocker) in &held {
        finding = finding.with(
            "note",
            format!(
                "{table} is left out: the horizon is held ({} holds it), its dead rows are not \
                 removable yet and take no vacuum memory",
                context.blockers[*blocker].identity
            ),
        );
    }
    let recommendation = if recommended > work_mem {
        let mut fix = context.change_settings(
            &[("autovacuum_work_mem", format!("{}MB", recommended / MB))],
            &format!(
                "Give each autovacuum worker enough memory for one pass ({} workers x {} must fit \
                 in RAM).",
                workers,
                size(recommended)
            ),
        );
        if needed > GB {
            fix.text.push_str(
                " More than 1 GB is never used before 17: also lower the table's trigger \
                 (TABLE001).",
            );
        }
        fix
    } else {
        Recommendation::text(
            "The memory is already at the 1 GB a vacuum can use before 17: lower the table's \
             dead-row trigger (TABLE001) so vacuums come before that many dead rows.",
        )
    };
    vec![finding.recommend(recommendation)]
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::{Fx, T};
    let bloated = || {
        T::new("orders")
            .rows(200_000_000)
            .updated(50_000_000)
            .dead(30_000_000)
    };
    crate::analysis::rules::fixture::Examples {
        fires: vec![
            (
                "30M dead rows with 64 MB on 16",
                Fx::new(16).table(bloated()).done(),
            ),
            (
                "400M dead rows with 1 GB on 12",
                Fx::new(12)
                    .set("maintenance_work_mem", "1048576")
                    .table(bloated().dead(400_000_000))
                    .done(),
            ),
        ],
        quiet: vec![
            (
                "30M dead rows with 256 MB",
                Fx::new(16)
                    .set("autovacuum_work_mem", "262144")
                    .table(bloated())
                    .done(),
            ),
            ("30M dead rows on 17", Fx::new(17).table(bloated()).done()),
            ("30M dead rows, no index", {
                let mut table = bloated();
                table.0.index_count = 0;
                Fx::new(16).table(table).done()
            }),
            ("30M dead rows a held horizon pins", {
                use crate::analysis::rules::blocking::fixture;
                let fx = Fx::new(16);
                let now = fx.now();
                let session = fixture::session(&fx, 4242, "idle in transaction", 600, 1_000);
                let mut table = bloated();
                table.0.stats.as_mut().unwrap().last_autovacuum =
                    Some(now - chrono::Duration::seconds(60));
                fx.table(table).with(|s| s.sessions.push(session)).done()
            }),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::analysis::rules::Context;
    use crate::analysis::rules::fixture::{Fx, T};

    #[test]
    fn recommends_enough_for_one_pass() {
        // 30M dead rows x 6 = 171.7 MB; +25% = 214.6 MB -> 256 MB.
        let snapshot = Fx::new(15)
            .table(T::new("orders").rows(200_000_000).dead(30_000_000))
            .done();
        let found = (RULE.check)(&Context::new(&snapshot));
        let sql = found[0]
            .recommendation
            .as_ref()
            .and_then(|r| r.sql.clone())
            .unwrap();
        assert!(
            sql.starts_with("ALTER SYSTEM SET autovacuum_work_mem = '256MB';"),
            "{sql}"
        );
        assert!(
            found[0].message.contains("about 3 index passes"),
            "{}",
            found[0].message
        );
    }
}
