//! An invalid database, left by an interrupted DROP DATABASE, still shows a growing age.
//!
//! ## What it checks
//!
//! Databases with `pg_database.datconnlimit = -2`.
//!
//! ## Why it matters
//!
//! An interrupted `DROP DATABASE` leaves the database marked invalid: nobody can connect to it and
//! autovacuum skips it. It no longer holds the cluster's oldest XID back, but its
//! `age(datfrozenxid)` keeps growing and fools monitoring that takes the maximum age over
//! `pg_database` (RDS's `MaximumUsedTransactionIDs` metric included), which eventually reports a
//! wraparound emergency that is not real. pgvac leaves it out of every age (WRAP001/WRAP002) and
//! reports it here.
//!
//! ## How it is computed
//!
//! `datconnlimit = -2`, the marker the server sets since the August 2023 minor releases. The
//! evidence shows the age the database would appear to have.
//!
//! ## Fix
//!
//! `DROP DATABASE name;` finishes the interrupted drop. It cannot be undone, but an invalid
//! database cannot be used anyway. Run it from another database; it takes an ACCESS EXCLUSIVE
//! lock on the database, which nobody can be connected to.
//!
//! ## Version notes
//!
//! The invalid marker was back-patched to every supported branch in the August 2023 minors
//! (12.16, 13.12, 14.9, 15.4); older minors left such databases looking valid.
//!
//! ## Source
//!
//! - PostgreSQL 16 release notes / August 2023 minors, "invalid databases":
//!   https://www.postgresql.org/docs/release/15.4/
//! - RDS guide, "MaximumUsedTransactionIDs":
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html

use crate::analysis::findings::RunOn;
use crate::analysis::findings::{Finding, Needs, Object, Recommendation, Safety, Severity};
use crate::analysis::rules::{Category, Context, Rule};
use crate::sql::quote_ident;

pub const RULE: Rule = Rule {
    code: "WRAP006",
    name: "invalid-database",
    category: Category::Wraparound,
    severity: Severity::Warning,
    source: include_str!("invalid_database.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    context
        .snapshot
        .databases
        .iter()
        .filter(|d| d.is_invalid())
        .map(|database| {
            RULE.finding(
                Object::database(&database.name),
                format!(
                    "database {} is invalid (an interrupted DROP DATABASE); its age of {} is left \
                     out of the cluster's",
                    database.name,
                    crate::analysis::findings::group_digits(database.xid_age)
                ),
            )
            .with("datconnlimit", database.connection_limit)
            .with("xid_age", database.xid_age)
            .with("mxid_age", database.mxid_age)
            .recommend(Recommendation {
                text: "Finish the drop; the database cannot be used anyway.".to_string(),
                sql: Some(format!("DROP DATABASE {};", quote_ident(&database.name))),
                safety: Safety::NeedsCare,
                lock: Some("ACCESS EXCLUSIVE on the database".to_string()),
                needs: Needs::None,
                settings: Vec::new(),
                destructive: true,
                run_on: Some(RunOn::Server),
                signals: Vec::new(),
            })
        })
        .collect()
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::Fx;
    crate::analysis::rules::fixture::Examples {
        fires: vec![(
            "an invalid database",
            Fx::new(16)
                .with(|s| {
                    let mut db = s.databases[0].clone();
                    db.name = "Old-DB".into();
                    db.connection_limit = -2;
                    db.xid_age = 1_900_000_000;
                    s.databases.push(db);
                })
                .done(),
        )],
        quiet: vec![("valid databases only", Fx::new(16).done())],
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::analysis::rules::Context;
    use crate::analysis::rules::fixture::Fx;

    #[test]
    fn drop_statement_quotes_the_name() {
        let snapshot = Fx::new(16)
            .with(|s| {
                let mut db = s.databases[0].clone();
                db.name = "Old-DB".into();
                db.connection_limit = -2;
                s.databases.push(db);
            })
            .done();
        let found = (RULE.check)(&Context::new(&snapshot));
        assert_eq!(
            found[0].recommendation.as_ref().and_then(|r| r.sql.clone()),
            Some("DROP DATABASE \"Old-DB\";".to_string())
        );
    }
}
