//! Temporary tables whose owning session is gone.
//!
//! ## What it checks
//!
//! Temporary schemas holding tables whose backend id no live session of the database has (16+).
//!
//! ## Why it matters
//!
//! Nobody can vacuum them. Autovacuum drops orphaned temp tables when it visits the database, so
//! lasting ones mean autovacuum does not reach it (off, or busy elsewhere).
//!
//! ## How it is computed
//!
//! 16+: `pg_stat_get_backend_dbid(N)` is not the database. Info; warning past 500M XIDs, critical
//! from 1B.
//!
//! ## Fix
//!
//! `DROP TABLE pg_temp_N.t, ...` in that database: safe, their owner is gone.
//!
//! ## Version notes
//!
//! 12-15 cannot tell an orphaned schema from an idle owner's: those are "owner unknown" in BLOCK006.
//!
//! ## Source
//!
//! - Cybertec, "What is autovacuum doing to my temporary tables?" (2019)
//! - PostgreSQL, "Routine Vacuuming":
//!   https://www.postgresql.org/docs/current/routine-vacuuming.html

use crate::blockers::BlockerKind;
use crate::findings::{Finding, Severity};
use crate::rules::{Category, Context, Rule};

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
    crate::rules::blocking::findings(context, &RULE, BlockerKind::OrphanedTempSchema, Severity::Info)
}

#[cfg(test)]
fn examples() -> crate::rules::fixture::Examples {
    use crate::rules::blocking::fixture;
    crate::rules::fixture::Examples {
        fires: vec![("an orphaned temp schema", fixture::temp_schema(crate::snapshot::TempOwner::Orphaned, 100))],
        quiet: vec![("an owned young temp table", fixture::temp_schema(crate::snapshot::TempOwner::Known { pid: 4242, source: "backend_status".into() }, 100))],
    }
}
