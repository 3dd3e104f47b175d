//! A standby's hot_standby_feedback holds back the xmin horizon.
//!
//! ## What it checks
//!
//! `pg_stat_replication.backend_xmin` of standbys streaming without a slot (with a slot, BLOCK004).
//!
//! ## Why it matters
//!
//! With `hot_standby_feedback = on` the standby's oldest query holds dead rows on the primary,
//! exactly as if it ran there.
//!
//! ## How it is computed
//!
//! Warning from 500M XIDs behind; critical from 1B.
//!
//! ## Fix
//!
//! On the standby: `ALTER SYSTEM SET hot_standby_feedback = off; SELECT pg_reload_conf();` (its
//! queries may then be cancelled by recovery conflicts), or end the standby session holding the
//! oldest snapshot.
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
    code: "BLOCK005",
    name: "standby-feedback-holds-horizon",
    category: Category::Blockers,
    severity: Severity::Warning,
    source: include_str!("standby_feedback_holds_horizon.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    crate::analysis::rules::blocking::findings(
        context,
        &RULE,
        BlockerKind::StandbyFeedback,
        Severity::Warning,
    )
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    #[allow(unused_imports)]
    use crate::analysis::rules::blocking::fixture;
    crate::analysis::rules::fixture::Examples {
        fires: vec![("a standby 600M XIDs behind", {
            let mut s = crate::analysis::rules::fixture::Fx::new(16).done();
            s.standbys.push(crate::snapshot::Standby {
                pid: 77,
                user: Some("repl".into()),
                application_name: Some("replica1".into()),
                client_addr: Some("10.0.0.9".into()),
                state: Some("streaming".into()),
                sync_state: Some("async".into()),
                backend_xmin: Some(1000),
                backend_xmin_age: Some(600_000_000),
                reply_time: None,
            });
            s
        })],
        quiet: vec![(
            "no standby",
            crate::analysis::rules::fixture::Fx::new(16).done(),
        )],
    }
}
