//! A table's oldest multixact ID is past the alarm ladder.
//!
//! ## What it checks
//!
//! For every table of every visited database, `mxid_age(relminmxid)` on the ladder of WRAP002:
//! 500 million (warning, when also above the table's effective
//! `autovacuum_multixact_freeze_max_age`), 1 billion and 1.5 billion (critical), the multixact
//! failsafe age (14+), the server's warning and stop limits.
//!
//! ## Why it matters
//!
//! These are the tables that hold their database's `datminmxid` back; vacuuming them is what
//! brings the multixact age down before the server has to stop.
//!
//! ## How it is computed
//!
//! `mxid_age(pg_class.relminmxid)` as collected; the effective multixact freeze max age is the
//! smaller of the table's reloption and the server setting. Temporary tables are left to the
//! BLOCK rules.
//!
//! ## Fix
//!
//! An aggressive `VACUUM (VERBOSE) schema.table;` (SHARE UPDATE EXCLUSIVE; reads every page not
//! all-frozen and advances `relminmxid`; the SQL sets `vacuum_freeze_table_age` to 0 for the
//! session when the table's ages alone would not make it aggressive), with `INDEX_CLEANUP FALSE`
//! from 1.5 billion (the RDS guide's emergency command). Not `FREEZE`, which writes every page
//! not yet frozen (WRAP003 says why). Check for long transactions first: a vacuum cannot
//! remove multixacts that an open transaction may still need.
//!
//! ## Version notes
//!
//! From 14, past `vacuum_multixact_failsafe_age`, vacuum skips index cleanup by itself.
//!
//! ## Source
//!
//! - PostgreSQL, "Multixacts and Wraparound":
//!   https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-MULTIXACT-WRAPAROUND
//! - RDS guide (manual vacuum freeze):
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html

use crate::analysis::findings::{Finding, Severity};
use crate::analysis::rules::wrap::table_xid_age_high::table_ages;
use crate::analysis::rules::{Category, Context, Rule};
use crate::analysis::wraparound::IdKind;

pub const RULE: Rule = Rule {
    code: "WRAP004",
    name: "table-mxid-age-high",
    category: Category::Wraparound,
    severity: Severity::Warning,
    source: include_str!("table_mxid_age_high.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    table_ages(context, IdKind::Multixact, &RULE)
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::{Fx, T};
    crate::analysis::rules::fixture::Examples {
        fires: vec![(
            "mxid 1.1B on 13",
            Fx::new(13)
                .table(T::new("accounts").mxid_age(1_100_000_000))
                .done(),
        )],
        quiet: vec![(
            "mxid 300M on 13",
            Fx::new(13)
                .table(T::new("accounts").mxid_age(300_000_000))
                .done(),
        )],
    }
}
