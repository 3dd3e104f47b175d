//! A session idle in transaction holds back the xmin horizon.
//!
//! ## What it checks
//!
//! Sessions whose `pg_stat_activity.state` is `idle in transaction` (or `(aborted)`) and that hold
//! a `backend_xid` (they wrote) or a `backend_xmin` (a REPEATABLE READ or SERIALIZABLE snapshot).
//! A `pg_dump` (idle in transaction between its catalog queries) is named as a backup, and
//! `pgvac sessions --terminate` ends it only when named with `--pid`.
//!
//! ## Why it matters
//!
//! While it is open, no vacuum anywhere in its database (and no vacuum of the shared catalogs) can
//! remove a row version deleted after its snapshot, and no table can be frozen past it: tables
//! bloat and `age(datfrozenxid)` climbs. An idle session does no work: it is almost always an
//! application that forgot to commit, or a pooler holding a transaction open.
//!
//! ## How it is computed
//!
//! Idle time is `now - state_change` (not `xact_start`); the horizon is the older of
//! `backend_xid` and `backend_xmin` and its age is `age()` of it. Warning when idle longer than
//! 5 minutes, when the transaction is open longer than 1 hour, or from 500M XIDs behind; critical
//! from 1B (the RDS ladder). Shorter ones are listed by `pgvac sessions`, not reported.
//!
//! ## Fix
//!
//! Terminate the session (its transaction rolls back), with the guarded statement shown, or
//! `pgvac sessions --terminate --min-idle 5min --execute`. Cancelling does not help an idle
//! session. For good: `idle_in_transaction_session_timeout`, and fix the application.
//!
//! ## Version notes
//!
//! Same on 12-18. Without `pg_read_all_stats` another role's state is hidden: the session is then
//! reported by BLOCK002 as a transaction of unknown state.
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
    code: "BLOCK001",
    name: "idle-in-transaction-holds-horizon",
    category: Category::Blockers,
    severity: Severity::Warning,
    source: include_str!("idle_in_transaction_holds_horizon.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    crate::analysis::rules::blocking::findings(
        context,
        &RULE,
        BlockerKind::IdleInTransaction,
        Severity::Warning,
    )
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    #[allow(unused_imports)]
    use crate::analysis::rules::blocking::fixture;
    crate::analysis::rules::fixture::Examples {
        fires: vec![(
            "an idle transaction of 10 minutes",
            fixture::with_session("idle in transaction", 600, 1_000),
        )],
        quiet: vec![(
            "an idle transaction of 10 seconds",
            fixture::with_session("idle in transaction", 10, 1_000),
        )],
    }
}
