//! Autovacuum skipped a table again and again because another session held a conflicting lock.
//!
//! ## What it checks
//!
//! Relations the server log shows skipped with `skipping vacuum of "t" --- lock not available`
//! (or `skipping analyze`) at least twice.
//!
//! ## Why it matters
//!
//! A routine autovacuum does not wait for its lock: when the table's SHARE UPDATE EXCLUSIVE lock
//! is not free at once it skips the table and tries again a naptime later. A table that is
//! always locked when autovacuum comes is never vacuumed until a forced anti-wraparound vacuum,
//! which waits for the lock (and is not logged as skipped).
//!
//! ## How it is computed
//!
//! From `pgvac report --log`: per relation name, the lock skips in the log. The message names
//! only the relation, and an autovacuum worker's log prefix has no database, so the finding is
//! tied to a table of the snapshot only when exactly one table of the visited databases has that
//! name; otherwise it names the relation with `?` for its database and schema. Only locks at
//! SHARE UPDATE EXCLUSIVE or above conflict: a manual `VACUUM` or `ANALYZE`, `CREATE INDEX`
//! (also `CONCURRENTLY`), `ALTER TABLE`, `LOCK TABLE`, or a transaction that ran one of them and
//! is still open. Reads, writes and `SELECT ... FOR UPDATE` take weaker locks and never make
//! autovacuum skip.
//!
//! ## Fix
//!
//! Find the session that holds the lock at those times (`pg_locks` with `granted` and a mode of
//! ShareUpdateExclusiveLock or above on the table) and shorten or move it: a manual `VACUUM` or
//! maintenance job running in a loop, a long transaction that altered the table, an index build.
//!
//! ## Version notes
//!
//! Logged only with `log_autovacuum_min_duration >= 0` (`vacuum_open_relation` in vacuum.c,
//! 12-18); the default is -1 before 15 and 10min from 15.
//!
//! ## Source
//!
//! - PostgreSQL, "Explicit Locking" (lock conflict table):
//!   https://www.postgresql.org/docs/current/explicit-locking.html
//! - PostgreSQL, "The Autovacuum Daemon":
//!   https://www.postgresql.org/docs/current/routine-vacuuming.html#AUTOVACUUM

use crate::analysis::findings::{Finding, Recommendation, Severity};
use crate::analysis::rules::logged::{object, window};
use crate::analysis::rules::{Category, Context, Rule};

pub const RULE: Rule = Rule {
    code: "LOG002",
    name: "autovacuum-skipped-for-locks",
    category: Category::Log,
    severity: Severity::Warning,
    source: include_str!("autovacuum_skipped_for_locks.rs"),
    check,
    #[cfg(test)]
    examples,
};

/// Skips of one relation that make a finding.
const SKIPS: u64 = 2;

fn check(context: &Context) -> Vec<Finding> {
    let Some(log) = context.log else {
        return Vec::new();
    };
    log.tables
        .iter()
        .filter(|t| t.skipped() >= SKIPS)
        .map(|row| {
            RULE.finding(
                object(context, row),
                format!(
                    "autovacuum skipped it {} times ({} vacuum, {} analyze) {} because its lock \
                     was not free: a session held SHARE UPDATE EXCLUSIVE or stronger (manual \
                     VACUUM or ANALYZE, CREATE INDEX, ALTER TABLE, LOCK TABLE)",
                    row.skipped(),
                    row.skipped_vacuums,
                    row.skipped_analyzes,
                    window(log)
                ),
            )
            .with("skipped_vacuums", row.skipped_vacuums as i64)
            .with("skipped_analyzes", row.skipped_analyzes as i64)
            .with("relation", row.name.as_str())
            .recommend(Recommendation::text(
                "Find the session that holds the table's lock when autovacuum comes (pg_locks, \
                 granted, ShareUpdateExclusiveLock or stronger) and shorten or move it; plain \
                 reads, writes and SELECT ... FOR UPDATE do not make autovacuum skip.",
            ))
        })
        .collect()
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::{Fx, T, entries};
    let twice = format!(
        "{}{}",
        entries::skip("08:00:00", 100, "orders"),
        entries::skip("08:00:01", 101, "orders")
    );
    crate::analysis::rules::fixture::Examples {
        fires: vec![
            (
                "skipped twice, tied to the only table of that name",
                Fx::new(16).table(T::new("orders")).log_text(&twice).done(),
            ),
            (
                "skipped twice, a table pgvac did not read",
                Fx::new(16).log_text(&twice).done(),
            ),
        ],
        quiet: vec![(
            "skipped once",
            Fx::new(16)
                .log_text(&entries::skip("08:00:00", 100, "orders"))
                .done(),
        )],
    }
}
