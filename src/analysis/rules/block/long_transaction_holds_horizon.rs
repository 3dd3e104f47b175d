//! A long-running transaction or statement holds back the xmin horizon.
//!
//! ## What it checks
//!
//! Sessions that are not idle in transaction (running a statement, or in a state hidden from
//! pgvac's role) and hold a `backend_xid` or a `backend_xmin`, including snapshot-only sessions
//! (a long `SELECT`, `pg_dump`) and transactions made of many short statements. Never pgvac's own
//! session, walsenders, parallel workers, or a lazy `VACUUM` (manual or autovacuum): every pid in
//! `pg_stat_progress_vacuum` is skipped, as the server skips `PROC_IN_VACUUM` when it computes
//! the horizon. `VACUUM FULL`, `CLUSTER` and `ANALYZE` do hold it, and are reported.
//!
//! Backups (`application_name` `pg_dump`/`pg_dumpall`, or a `COPY ... TO STDOUT`) and
//! maintenance commands (`VACUUM`, `ANALYZE`, `CLUSTER`, `REINDEX`, `CREATE INDEX`) are named as
//! such; `pgvac sessions --terminate` ends them only when named with `--pid`.
//!
//! ## Why it matters
//!
//! Dead rows deleted after its snapshot cannot be removed in its database (and in the shared
//! catalogs) until it ends, and nothing can be frozen past it.
//!
//! ## How it is computed
//!
//! Open time is `now - xact_start`, so many short statements in one transaction count as one long
//! transaction. Warning past 1 hour or 500M XIDs behind; critical from 1B.
//!
//! ## Fix
//!
//! Cancel the statement (`pg_cancel_backend`, the transaction rolls back and the session stays)
//! or terminate the session, with the guarded statements shown; `statement_timeout` and
//! `transaction_timeout` (17+) prevent it. For another role's session seen without
//! `pg_read_all_stats` no statement is offered: its start time is hidden, so nothing could check
//! that the pid is still that session (`GRANT pg_read_all_stats` to pgvac's role).
//!
//! ## Version notes
//!
//! Same on 12-18. `transaction_timeout` exists from 17. 12-13 have a `PROC_IN_ANALYZE` flag,
//! but the horizon computation never skipped it: `ANALYZE` holds the horizon on every version.
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
    code: "BLOCK002",
    name: "long-transaction-holds-horizon",
    category: Category::Blockers,
    severity: Severity::Warning,
    source: include_str!("long_transaction_holds_horizon.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    crate::analysis::rules::blocking::findings(
        context,
        &RULE,
        BlockerKind::LongTransaction,
        Severity::Warning,
    )
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    #[allow(unused_imports)]
    use crate::analysis::rules::blocking::fixture;
    crate::analysis::rules::fixture::Examples {
        fires: vec![(
            "a transaction open for 2 hours",
            fixture::with_session("active", 7200, 1_000),
        )],
        quiet: vec![(
            "a statement of 1 minute",
            fixture::with_session("active", 60, 1_000),
        )],
    }
}
