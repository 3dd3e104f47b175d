//! Logged vacuums of a table had to scan its indexes more than once: their memory filled up.
//!
//! ## What it checks
//!
//! Tables with at least one logged autovacuum whose report says `index scans: N` with N >= 2.
//!
//! ## Why it matters
//!
//! Vacuum collects the dead rows' addresses in memory and then reads every index of the table
//! once to remove them. When the memory fills before the heap is done it reads all the indexes,
//! empties the memory and goes on: each extra pass reads every index in full. This is the usual
//! reason for vacuums of large tables that take hours.
//!
//! ## How it is computed
//!
//! From `pgvac report --log`: the `index scans` count of every vacuum report. The fix doubles
//! the effective work memory of the workers of the table's database (`autovacuum_work_mem`, -1
//! resolved to `maintenance_work_mem` as they have it; the server-wide value when the log does
//! not name the database), at least 128 MB and, before 17, at most 1 GB (more is not used).
//!
//! ## Fix
//!
//! Raise `autovacuum_work_mem` with `ALTER SYSTEM` and a reload (RDS/Aurora: the DB parameter
//! group); vacuums already running keep their memory. Every worker may take that much:
//! `autovacuum_max_workers` times it must fit in memory. At 1 GB before 17, lower the table's
//! dead-row trigger instead so its vacuums come with fewer dead rows.
//!
//! ## Version notes
//!
//! 12-16 store 6 bytes per dead row in memory capped at 1 GB; 17's TID store needs far less per
//! row and has no cap, so several passes are rare there.
//!
//! ## Source
//!
//! - RDS guide, "Allocating memory for autovacuum":
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html
//! - PostgreSQL, `autovacuum_work_mem`:
//!   https://www.postgresql.org/docs/current/runtime-config-resource.html#GUC-AUTOVACUUM-WORK-MEM

use crate::analysis::findings::{Finding, Recommendation, Severity};
use crate::analysis::rules::logged::{object, window};
use crate::analysis::rules::{Category, Context, Rule};

pub const RULE: Rule = Rule {
    code: "LOG004",
    name: "logged-vacuum-index-passes-repeated",
    category: Category::Log,
    severity: Severity::Warning,
    source: include_str!("logged_vacuum_index_passes_repeated.rs"),
    check,
    #[cfg(test)]
    examples,
};

const MB: i64 = 1024 * 1024;

fn check(context: &Context) -> Vec<Finding> {
    let Some(log) = context.log else {
        return Vec::new();
    };
    log.tables
        .iter()
        .filter(|t| t.multi_pass_vacuums > 0)
        .map(|row| {
            // What the workers of the table's database have (the server-wide value when the
            // log does not name the database).
            let work_mem = context
                .workers_in(row.database.as_deref())
                .work_mem_bytes
                .value;
            let mut recommended = (work_mem * 2).max(128 * MB);
            if context.major() < 17 {
                recommended = recommended.min(1024 * MB);
            }
            let finding = RULE
                .finding(
                    object(context, row),
                    format!(
                        "{} of its {} logged vacuums {} scanned the indexes more than once (up \
                         to {} passes): the work memory ({} MB) filled before the table was done",
                        row.multi_pass_vacuums,
                        row.vacuums,
                        window(log),
                        row.max_index_scans,
                        work_mem / MB
                    ),
                )
                .with("multi_pass_vacuums", row.multi_pass_vacuums as i64)
                .with("max_index_scans", i64::from(row.max_index_scans))
                .with("work_mem_bytes", work_mem);
            let fix = if recommended > work_mem {
                context.change_settings(
                    &[("autovacuum_work_mem", format!("{}MB", recommended / MB))],
                    "Give vacuum enough memory for one index pass.",
                )
            } else {
                Recommendation::text(
                    "The memory is at the 1 GB a vacuum can use before 17: lower the table's \
                     dead-row trigger so its vacuums come with fewer dead rows.",
                )
            };
            finding.recommend(fix)
        })
        .collect()
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::Fx;
    crate::analysis::rules::fixture::Examples {
        fires: vec![(
            "a real 16 log: 400,000 dead rows in 1 MB of autovacuum_work_mem",
            Fx::new(16).log_file("pg16-rds.log").done(),
        )],
        quiet: vec![(
            "a real 17 log: the TID store needs one pass",
            Fx::new(17).log_file("pg17-custom.log").done(),
        )],
    }
}
