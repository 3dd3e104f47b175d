//! A prepared (two-phase) transaction holds back the xmin horizon.
//!
//! ## What it checks
//!
//! Every row of `pg_prepared_xacts`: its XID, owner, database and when it was prepared.
//!
//! ## Why it matters
//!
//! A prepared transaction holds its XID until someone runs `COMMIT PREPARED` or `ROLLBACK
//! PREPARED`, across restarts. Forgotten ones are a classic cause of wraparound.
//!
//! ## How it is computed
//!
//! Age is `age(transaction)`, time is `now - prepared`. Warning when prepared over 1 hour ago or
//! from 500M XIDs behind; critical from 1B.
//!
//! ## Fix
//!
//! `ROLLBACK PREPARED 'gid'` (or `COMMIT PREPARED 'gid'` if its transaction manager decided to
//! commit), connected to its database as its owner or a superuser.
//!
//! ## Version notes
//!
//! Same on 12-18.
//!
//! ## Source
//!
//! - RDS guide, "Managing autovacuum blockers" (postgres_get_av_diag):
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html
//! - PostgreSQL, "Routine Vacuuming":
//!   https://www.postgresql.org/docs/current/routine-vacuuming.html

use crate::analysis::blockers::BlockerKind;
use crate::analysis::findings::{Finding, Severity};
use crate::analysis::rules::{Category, Context, Rule};

pub const RULE: Rule = Rule {
    code: "BLOCK003",
    name: "prepared-transaction-holds-horizon",
    category: Category::Blockers,
    severity: Severity::Warning,
    source: include_str!("prepared_transaction_holds_horizon.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    crate::analysis::rules::blocking::findings(
        context,
        &RULE,
        BlockerKind::PreparedTransaction,
        Severity::Warning,
    )
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    #[allow(unused_imports)]
    use crate::analysis::rules::blocking::fixture;
    crate::analysis::rules::fixture::Examples {
        fires: vec![("prepared 2 hours ago", fixture::with_prepared(7200, 1_000))],
        quiet: vec![("prepared a minute ago", fixture::with_prepared(60, 1_000))],
    }
}
