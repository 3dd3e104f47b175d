//! A temporary table that may still have an owner pins its database's datfrozenxid.
//!
//! ## What it checks
//!
//! Temporary schemas (`pg_temp_N`) that are not provably orphaned whose oldest table is at least as
//! old as every other table of the database, so that `datfrozenxid` cannot advance past it.
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
//! included). Warning past `autovacuum_freeze_max_age` or 500M XIDs; critical from 1B.
//!
//! The owner is named only with proof that the session itself owns the schema now. Having backend
//! id N is no proof: a session owns `pg_temp_N` only once it has used temporary tables itself
//! (which clears what an earlier holder of the id left), so after a crash restart, or a session
//! that died before its cleanup, the tables stay behind and a new session that gets id N is not
//! their owner. The one proof the server shows, on 12-18: the session holds `AccessShareLock` or
//! `RowShareLock` on a btree index of one of the schema's tables and has been idle in transaction
//! since before pgvac read the locks (another session cannot hold such a lock after a completed
//! statement). Otherwise the owner is "unknown", with the session that has the id as a candidate
//! where one is known, and why it is not proven.
//!
//! ## Fix
//!
//! With a proven owner: end it (`pg_terminate_backend`, guarded; its temp tables are dropped), or
//! `pgvac sessions --terminate --pid N --execute`. With an unknown owner: `DROP TABLE` the tables
//! (a session that does own them loses them; if none does, nothing is lost). pgvac never ends a
//! candidate, and refuses `--terminate --pid` on one.
//!
//! ## Version notes
//!
//! The proof is the same on 12-18. A candidate is named on 16+ from `pg_stat_get_backend_pid(N)`,
//! on 12-15 only from its virtualxid lock `N/...` while it is in a transaction
//! (`pg_stat_get_backend_pid()` indexes a local array there, not backend ids). docs/snapshot.md
//! lists what each version allows.
//!
//! ## Source
//!
//! - PostgreSQL source, `namespace.c` (`InitTempTableNamespace` clears a reused temp schema) and
//!   `autovacuum.c` (orphans are told by `PGPROC.tempNamespaceId`, not by the backend id)
//! - Cybertec, "What is autovacuum doing to my temporary tables?" (2019)
//! - RDS guide, "Managing autovacuum blockers" (postgres_get_av_diag):
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html

use crate::analysis::blockers::BlockerKind;
use crate::analysis::findings::{Finding, Severity};
use crate::analysis::rules::{Category, Context, Rule};

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
    crate::analysis::rules::blocking::findings(
        context,
        &RULE,
        BlockerKind::TempTable,
        Severity::Warning,
    )
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::blocking::fixture;
    crate::analysis::rules::fixture::Examples {
        fires: vec![
            (
                "an owned temp table 600M XIDs old",
                fixture::temp_schema(fixture::owned(4242), 600_000_000),
            ),
            (
                "an unproven candidate's temp table 600M XIDs old",
                fixture::temp_schema(fixture::unproven(4242), 600_000_000),
            ),
        ],
        quiet: vec![(
            "a young owned temp table",
            fixture::temp_schema(fixture::owned(4242), 100),
        )],
    }
}
