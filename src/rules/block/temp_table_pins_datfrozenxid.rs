//! A live session's temporary table pins its database's datfrozenxid.
//!
//! ## What it checks
//!
//! Temporary schemas (`pg_temp_N`) of live sessions whose oldest table is at least as old as every
//! other table of the database, so that `datfrozenxid` cannot advance past it.
//!
//! ## Why it matters
//!
//! Autovacuum never vacuums temporary tables; only their owner can, by vacuuming, dropping them or
//! ending. A long-lived session (a pooler's) with an old temp table drives its database toward
//! wraparound, and anti-wraparound autovacuums there cannot help.
//!
//! ## How it is computed
//!
//! `age(relfrozenxid)` of the schema's oldest table against the oldest other relation (TOAST
//! included). The owner is named where it is known exactly (16+ always; 12-15 only while it is
//! inside a transaction), else "owner unknown". Warning past `autovacuum_freeze_max_age` or 500M
//! XIDs; critical from 1B.
//!
//! ## Fix
//!
//! End the owner (`pg_terminate_backend`, guarded; its temp tables are dropped) or `DROP TABLE`
//! its tables; `pgvac sessions --terminate --pid N --execute`.
//!
//! ## Version notes
//!
//! The owner pid is exact on 16+ (`pg_stat_get_backend_pid`); on 12-15 only through the owner's
//! virtualxid lock, held while it is in a transaction.
//!
//! ## Source
//!
//! - Cybertec, "What is autovacuum doing to my temporary tables?" (2019)
//! - RDS guide, "Managing autovacuum blockers" (postgres_get_av_diag):
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html

use crate::blockers::BlockerKind;
use crate::findings::{Finding, Severity};
use crate::rules::{Category, Context, Rule};

pub const RULE: Rule = Rule {
    code: "BLOCK006",
    name: "temp-table-pins-datfrozenxid",
    category: Category::Blockers,
    severity: Severity::Warning,
    source: include_str!("temp_table_pins_datfrozenxid.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    crate::rules::blocking::findings(context, &RULE, BlockerKind::TempTable, Severity::Warning)
}

#[cfg(test)]
fn examples() -> crate::rules::fixture::Examples {
    use crate::rules::blocking::fixture;
    crate::rules::fixture::Examples {
        fires: vec![("an owned temp table 600M XIDs old", fixture::temp_schema(crate::snapshot::TempOwner::Known { pid: 4242, source: "backend_status".into() }, 600_000_000))],
        quiet: vec![("a young owned temp table", fixture::temp_schema(crate::snapshot::TempOwner::Known { pid: 4242, source: "backend_status".into() }, 100))],
    }
}
