//! An autovacuum worker took too long to start and the launcher gave up on it.
//!
//! ## What it checks
//!
//! Log entries `worker took too long to start; canceled` (12-14) or `autovacuum worker took too
//! long to start; canceled` (15+).
//!
//! ## Why it matters
//!
//! The launcher asks the postmaster for a worker and waits up to `autovacuum_naptime` for it to
//! start. When it does not, the launcher cancels the request and that database's turn is lost.
//! It happens when the server cannot start processes fast enough or at all: it is overloaded,
//! out of memory or process slots, or `fork()` fails (the log then also has `could not fork
//! autovacuum worker process`).
//!
//! ## How it is computed
//!
//! From `pgvac report --log`: how many such entries, and when. One finding for the cluster.
//!
//! ## Fix
//!
//! Look at the log around those times for `could not fork` and out-of-memory errors, and at the
//! host's load and memory. Check that `autovacuum_max_workers` (18: up to
//! `autovacuum_worker_slots`) fits the process limits of the host.
//!
//! ## Version notes
//!
//! The message gained the word "autovacuum" in 15.
//!
//! ## Source
//!
//! - PostgreSQL, `src/backend/postmaster/autovacuum.c` (`AutoVacLauncherMain`):
//!   https://github.com/postgres/postgres/blob/master/src/backend/postmaster/autovacuum.c
//! - PostgreSQL, "The Autovacuum Daemon":
//!   https://www.postgresql.org/docs/current/routine-vacuuming.html#AUTOVACUUM

use crate::analysis::findings::{Finding, Object, Recommendation, Severity};
use crate::analysis::rules::{Category, Context, Rule};

pub const RULE: Rule = Rule {
    code: "LOG008",
    name: "autovacuum-worker-start-timeout",
    category: Category::Log,
    severity: Severity::Warning,
    source: include_str!("autovacuum_worker_start_timeout.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    let Some(log) = context.log else {
        return Vec::new();
    };
    let count = log.totals.worker_start_timeouts;
    if count == 0 {
        return Vec::new();
    }
    let mut when = log.worker_start_timeouts.clone();
    when.truncate(5);
    vec![
        RULE.finding(
            Object::Cluster,
            format!(
                "{count} autovacuum workers took too long to start and were given up ({}{})",
                when.join(", "),
                if count as usize > when.len() {
                    ", ..."
                } else {
                    ""
                }
            ),
        )
        .with("worker_start_timeouts", count as i64)
        .recommend(Recommendation::text(
            "Look at the log around those times for 'could not fork' and out-of-memory errors and \
             at the host's load; check autovacuum_max_workers fits the host's process limits.",
        )),
    ]
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::{Fx, entries};
    crate::analysis::rules::fixture::Examples {
        fires: vec![
            (
                "15+ text",
                Fx::new(16)
                    .log_text(&entries::warning(
                        "08:00:00",
                        10,
                        "autovacuum worker took too long to start; canceled",
                    ))
                    .done(),
            ),
            (
                "12-14 text",
                Fx::new(13)
                    .log_text(&entries::warning(
                        "08:00:00",
                        10,
                        "worker took too long to start; canceled",
                    ))
                    .done(),
            ),
        ],
        quiet: vec![(
            "a real 18 log",
            Fx::new(18).log_file("pg18-default.log").done(),
        )],
    }
}
