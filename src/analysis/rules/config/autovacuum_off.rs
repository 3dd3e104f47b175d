//! Autovacuum is switched off for the whole server.
//!
//! ## What it checks
//!
//! The `autovacuum` setting is `off`.
//!
//! ## Why it matters
//!
//! No table is vacuumed or analyzed automatically: dead rows pile up everywhere, statistics go
//! stale, and only forced anti-wraparound vacuums still run, late and all at once: the postmaster
//! starts the launcher only once a database's `age(datfrozenxid)` passes the server's
//! `autovacuum_freeze_max_age` (or `mxid_age(datminmxid)` the multixact one), and then sends
//! workers only to such databases. A table past only a lowered per-table
//! `autovacuum_freeze_max_age` waits until its database gets there (WRAP005 says which).
//! Per-table reloptions cannot turn autovacuum back on for a table.
//!
//! ## How it is computed
//!
//! `pg_settings.autovacuum` as the autovacuum model reads it.
//!
//! ## Fix
//!
//! `ALTER SYSTEM SET autovacuum = 'on'; SELECT pg_reload_conf();` (a reload, no restart). On RDS
//! and Aurora, set `autovacuum = 1` in the DB parameter group instead (dynamic). Expect a burst of
//! vacuum I/O as autovacuum catches up.
//!
//! ## Version notes
//!
//! The same in 12-18.
//!
//! ## Source
//!
//! - PostgreSQL, `autovacuum`:
//!   https://www.postgresql.org/docs/current/runtime-config-autovacuum.html
//! - RDS guide, "Determining if the tables in your database need vacuuming":
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html
//! - `SetTransactionIdLimit` in src/backend/access/transam/varsup.c, `do_start_worker` in
//!   src/backend/postmaster/autovacuum.c.

use crate::analysis::findings::{Finding, Object, Severity};
use crate::analysis::rules::{Category, Context, Rule};

pub const RULE: Rule = Rule {
    code: "CONFIG001",
    name: "autovacuum-off",
    category: Category::Config,
    severity: Severity::Critical,
    source: include_str!("autovacuum_off.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    if context.settings.autovacuum {
        return Vec::new();
    }
    let source = context
        .setting("autovacuum")
        .map(|s| s.source.clone())
        .unwrap_or_else(|| "unknown".to_string());
    vec![
        RULE.finding(
            Object::setting("autovacuum"),
            "autovacuum is off: no table is vacuumed or analyzed automatically",
        )
        .with("autovacuum", "off")
        .with("source", source)
        .recommend(context.change_settings(
            &[("autovacuum", "on".to_string())],
            "Turn autovacuum back on.",
        )),
    ]
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::Fx;
    crate::analysis::rules::fixture::Examples {
        fires: vec![
            ("off", Fx::new(17).set("autovacuum", "off").done()),
            (
                "off on RDS",
                Fx::new(16).rds().set("autovacuum", "off").done(),
            ),
        ],
        quiet: vec![("on", Fx::new(17).done())],
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::analysis::findings::Needs;
    use crate::analysis::rules::Context;
    use crate::analysis::rules::fixture::Fx;

    #[test]
    fn fix_is_alter_system_or_parameter_group() {
        let plain = Fx::new(17).set("autovacuum", "off").done();
        let found = (RULE.check)(&Context::new(&plain));
        let fix = found[0].recommendation.clone().unwrap();
        assert_eq!(
            fix.sql.as_deref(),
            Some("ALTER SYSTEM SET autovacuum = 'on';\nSELECT pg_reload_conf();")
        );
        assert_eq!(fix.needs, Needs::Reload);

        let rds = Fx::new(17).rds().set("autovacuum", "off").done();
        let found = (RULE.check)(&Context::new(&rds));
        let fix = found[0].recommendation.clone().unwrap();
        assert_eq!(fix.sql, None);
        assert_eq!(fix.needs, Needs::ParameterGroup);
        assert!(fix.text.contains("parameter group"), "{}", fix.text);
    }
}
