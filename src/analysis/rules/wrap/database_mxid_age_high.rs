//! A database's oldest multixact ID is past the alarm ladder.
//!
//! ## What it checks
//!
//! For every valid database, `mxid_age(datminmxid)`, placed on the same ladder as transaction IDs
//! (WRAP001): 500 million (warning, when also above `autovacuum_multixact_freeze_max_age`),
//! 1 billion and 1.5 billion (critical), the multixact failsafe age (14+), and the server's warning
//! and stop limits for multixacts (critical).
//!
//! ## Why it matters
//!
//! Multixact IDs (created by row locks shared between transactions, e.g. foreign key checks) wrap
//! around like transaction IDs, and when they run out the server refuses commands the same way.
//! Their ages are usually far lower than XID ages, so a high one points at a workload of shared
//! row locks that vacuum does not keep up with.
//!
//! ## How it is computed
//!
//! `pg_database.datminmxid` age as collected, invalid databases (`datconnlimit = -2`) left out.
//! Server limits: on 12-13 the stop comes 100 multixacts before wrap and the warnings 10 million
//! earlier; on 14+ the margins are 3 million and 40 million, as for XIDs. The effective
//! `vacuum_multixact_failsafe_age` is at least 105% of `autovacuum_multixact_freeze_max_age`.
//!
//! ## Fix
//!
//! As for WRAP001: clear what holds vacuum back, then vacuum the tables with the oldest
//! `relminmxid` (WRAP004 lists them with SQL). An aggressive `VACUUM (VERBOSE)` takes SHARE UPDATE
//! EXCLUSIVE and reads the whole table.
//!
//! ## Version notes
//!
//! 14 raised the multixact warn/stop margins to 40M/3M and added
//! `vacuum_multixact_failsafe_age`. The server can lower the effective multixact freeze max age
//! when member space runs short; a snapshot cannot show that, so pgvac uses the setting.
//!
//! ## Source
//!
//! - PostgreSQL, "Multixacts and Wraparound":
//!   https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-MULTIXACT-WRAPAROUND
//! - RDS guide (alarm ladder):
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html
//! - `SetMultiXactIdLimit` in src/backend/access/transam/multixact.c.

use crate::analysis::findings::{Finding, Severity};
use crate::analysis::rules::wrap::database_xid_age_high::database_ages;
use crate::analysis::rules::{Category, Context, Rule};
use crate::analysis::wraparound::IdKind;

pub const RULE: Rule = Rule {
    code: "WRAP002",
    name: "database-mxid-age-high",
    category: Category::Wraparound,
    severity: Severity::Warning,
    source: include_str!("database_mxid_age_high.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    database_ages(context, IdKind::Multixact, &RULE)
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::{Fx, T};
    crate::analysis::rules::fixture::Examples {
        fires: vec![(
            "mxid 800M on 15",
            Fx::new(15)
                .table(T::new("locks").mxid_age(800_000_000))
                .done(),
        )],
        quiet: vec![(
            "mxid at its freeze max age",
            Fx::new(15)
                .table(T::new("locks").mxid_age(400_000_000))
                .done(),
        )],
    }
}
