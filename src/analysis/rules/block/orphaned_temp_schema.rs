//! Temporary tables whose owning session is gone.
//!
//! ## What it checks
//!
//! Temporary schemas holding tables that provably no live session owns.
//!
//! ## Why it matters
//!
//! Nobody can vacuum them. Autovacuum drops orphaned temp tables when it visits the database, so
//! lasting ones mean autovacuum does not reach it (off, or busy elsewhere).
//!
//! ## How it is computed
//!
//! The owner of `pg_temp_N` must be a session connected to the database with backend id N.
//! Orphaned when none can be: 16+, `pg_stat_get_backend_pid(N)` names no session of this database
//! (pgvac's own session, which never uses temporary tables, does not count); 12-15, no other
//! session is connected to the database, or every one is inside a transaction (so its virtualxid
//! shows its id) and none has N. Info; warning past 500M XIDs, critical from 1B.
//!
//! ## Fix
//!
//! `DROP TABLE pg_temp_N.t, ...` in that database: safe, their owner is gone.
//!
//! ## Version notes
//!
//! On 12-15 a session outside a transaction could have any id, so while one is connected the
//! owner is "unknown" (BLOCK006), not orphaned. After a crash restart the report says when it
//! happened (the checkpointer's `backend_start`): tables from before it have no owner.
//!
//! ## Source
//!
//! - Cybertec, "What is autovacuum doing to my temporary tables?" (2019)
//! - PostgreSQL, "Routine Vacuuming":
//!   https://www.postgresql.org/docs/current/routine-vacuuming.html

use crate::analysis::blockers::BlockerKind;
use crate::analysis::findings::{Finding, Severity};
use crate::analysis::rules::{Category, Context, Rule};

pub const RULE: Rule = Rule {
    code: "BLOCK007",
    name: "orphaned-temp-schema",
    category: Category::Blockers,
    severity: Severity::Info,
    source: include_str!("orphaned_temp_schema.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    crate::analysis::rules::blocking::findings(
        context,
        &RULE,
        BlockerKind::OrphanedTempSchema,
        Severity::Info,
    )
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::blocking::fixture;
    crate::analysis::rules::fixture::Examples {
        fires: vec![(
            "an orphaned temp schema",
            fixture::temp_schema(fixture::orphaned(), 100),
        )],
        quiet: vec![(
            "an owned young temp table",
            fixture::temp_schema(fixture::owned(4242), 100),
        )],
    }
}
