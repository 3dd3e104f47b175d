//! A database's oldest unfrozen transaction ID is past the RDS alarm ladder.
//!
//! ## What it checks
//!
//! For every valid database, `age(datfrozenxid)`: how many transaction IDs ago its oldest
//! unfrozen row was written. The age is placed on the RDS guide's alarm ladder and the server's
//! own limits: 500 million (warning, when also above `autovacuum_freeze_max_age`), 1 billion
//! (critical: act now), 1.5 billion (critical: high severity), the failsafe age (14+), the
//! server's warning limit and its stop limit (critical).
//!
//! ## Why it matters
//!
//! Transaction IDs are 32-bit. When the oldest unfrozen ID in any database gets within a few
//! million of 2^31, PostgreSQL stops assigning new ones and the whole cluster refuses writes until
//! the database is vacuumed, which on a large database can take hours or days. Climbing up to
//! `autovacuum_freeze_max_age` (200 million by default) and dropping again after autovacuum's
//! forced vacuum is the normal cycle and is not reported; an age well past it means those
//! vacuums are not finishing.
//!
//! ## How it is computed
//!
//! `pg_database.datfrozenxid` age as collected. Databases with `datconnlimit = -2` (invalid,
//! left by an interrupted `DROP DATABASE`) are left out: autovacuum skips them and they no longer
//! hold the cluster back (WRAP006 reports them). Steps, from the top: age >= the server's stop age
//! (2,146,483,647 on 12-13, 2,144,483,647 on 14+); >= its warning age (11 million before the stop
//! on 12-13, 40 million on 14+); >= the effective `vacuum_failsafe_age` (14+, at least 105% of
//! `autovacuum_freeze_max_age`); >= 1.5 billion; >= 1 billion; >= 500 million and >
//! `autovacuum_freeze_max_age`. The evidence names the database's oldest table.
//!
//! ## Fix
//!
//! Find what holds vacuum back (long transactions, prepared transactions, replication slots,
//! standbys with `hot_standby_feedback`: see the BLOCK rules), then vacuum the oldest tables of the
//! database (WRAP003 lists them with SQL). An aggressive `VACUUM (VERBOSE)` takes a SHARE UPDATE
//! EXCLUSIVE lock (reads and writes go on) and reads the whole table. Near the stop limit,
//! `VACUUM (INDEX_CLEANUP FALSE, VERBOSE)` freezes fastest.
//!
//! ## Version notes
//!
//! The warn/stop margins grew in 14 (40M/3M from 11M/1M). `vacuum_failsafe_age` exists from 14.
//!
//! ## Source
//!
//! - RDS guide, "Routine maintenance: managing autovacuum" (alarm ladder):
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html
//! - PostgreSQL, "Preventing Transaction ID Wraparound Failures":
//!   https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-WRAPAROUND
//! - `SetTransactionIdLimit` in src/backend/access/transam/varsup.c.

use crate::analysis::findings::{Finding, Object, Recommendation, Severity};
use crate::analysis::rules::{Category, Context, Rule};
use crate::analysis::wraparound::{IdKind, step};

pub const RULE: Rule = Rule {
    code: "WRAP001",
    name: "database-xid-age-high",
    category: Category::Wraparound,
    severity: Severity::Warning,
    source: include_str!("database_xid_age_high.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    database_ages(context, IdKind::Xid, &RULE)
}

/// Shared with WRAP002: one finding per valid database whose age is on the ladder.
pub fn database_ages(context: &Context, kind: IdKind, rule: &Rule) -> Vec<Finding> {
    let (freeze_max_age, failsafe, setting) = match kind {
        IdKind::Xid => (
            context.settings.freeze_max_age,
            context.failsafe_age(),
            "autovacuum_freeze_max_age",
        ),
        IdKind::Multixact => (
            context.settings.multixact_freeze_max_age,
            context.multixact_failsafe_age(),
            "autovacuum_multixact_freeze_max_age",
        ),
    };
    let mut out = Vec::new();
    for database in context.valid_databases() {
        let age = match kind {
            IdKind::Xid => database.xid_age,
            IdKind::Multixact => database.mxid_age,
        };
        let Some(level) = step(age, kind, context.major(), freeze_max_age, failsafe) else {
            continue;
        };
        let mut finding = rule
            .finding(
                Object::database(&database.name),
                format!(
                    "database {} is {} {}s old: {}",
                    database.name,
                    crate::analysis::findings::group_digits(age),
                    kind.label(),
                    level.meaning
                ),
            )
            .with("age", age)
            .with(setting, freeze_max_age);
        finding.severity = level.severity;
        if let Some(failsafe) = failsafe {
            finding = finding.with("failsafe_age", failsafe);
        }
        let oldest = database
            .tables
            .iter()
            .filter_map(|t| {
                let age = match kind {
                    IdKind::Xid => t.xid_age,
                    IdKind::Multixact => t.mxid_age,
                }?;
                Some((age, t))
            })
            .max_by_key(|(age, t)| (*age, std::cmp::Reverse(t.oid)));
        if let Some((age, table)) = oldest {
            finding = finding
                .with("oldest_table", table.qualified_name())
                .with("oldest_table_age", age);
        }
        let blockers = "Look for what holds vacuum back (long or prepared transactions, \
                        replication slots, standby feedback), then vacuum the oldest tables";
        let text = if database.tables.is_empty() {
            format!(
                "{blockers} (run pgvac on database {} to list them).",
                database.name
            )
        } else {
            format!("{blockers}: WRAP003/WRAP004 list them with SQL.")
        };
        out.push(finding.recommend(Recommendation::text(text)));
    }
    out
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::{Fx, T};
    crate::analysis::rules::fixture::Examples {
        fires: vec![
            (
                "600M on 17",
                Fx::new(17).table(T::new("old").xid_age(600_000_000)).done(),
            ),
            (
                "1.2B on 12",
                Fx::new(12)
                    .table(T::new("old").xid_age(1_200_000_000))
                    .done(),
            ),
        ],
        quiet: vec![
            (
                "at the freeze max age: the normal cycle",
                Fx::new(17).table(T::new("old").xid_age(200_000_000)).done(),
            ),
            (
                "an invalid database at 1.9B",
                Fx::new(16)
                    .with(|s| {
                        let mut db = s.databases[0].clone();
                        db.name = "dropped".into();
                        db.connection_limit = -2;
                        db.xid_age = 1_900_000_000;
                        s.databases.push(db);
                    })
                    .done(),
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::analysis::findings::Severity;
    use crate::analysis::rules::Context;
    use crate::analysis::rules::fixture::{Fx, T};

    fn severity_at(major: i32, age: i64) -> Option<Severity> {
        let snapshot = Fx::new(major).table(T::new("t").xid_age(age)).done();
        let found = (RULE.check)(&Context::new(&snapshot));
        assert!(found.len() <= 1);
        found.first().map(|f| f.severity)
    }

    #[test]
    fn ladder_severities() {
        assert_eq!(severity_at(17, 499_000_000), None);
        assert_eq!(severity_at(17, 500_000_000), Some(Severity::Warning));
        assert_eq!(severity_at(17, 1_000_000_000), Some(Severity::Critical));
        assert_eq!(severity_at(13, 2_140_000_000), Some(Severity::Critical));
    }

    #[test]
    fn evidence_names_the_oldest_table() {
        let snapshot = Fx::new(16)
            .table(T::new("young").xid_age(10_000))
            .table(T::new("oldest").xid_age(700_000_000))
            .done();
        let found = (RULE.check)(&Context::new(&snapshot));
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].evidence("oldest_table").map(|v| v.to_string()),
            Some("public.oldest".to_string())
        );
    }
}
