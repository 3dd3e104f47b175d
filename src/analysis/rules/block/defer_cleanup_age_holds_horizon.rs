//! `vacuum_defer_cleanup_age` holds the xmin horizon back by itself (12-15).
//!
//! ## What it checks
//!
//! On 12-15, a primary with `vacuum_defer_cleanup_age` above 0. It is a horizon source of its
//! own: the server keeps every dead row deleted by the last that many transactions, on top of
//! what running transactions need.
//!
//! ## Why it matters
//!
//! Vacuum cannot remove those rows, and cannot freeze past the horizon: tables bloat by that
//! many transactions' worth of dead rows, and on a quiet server the horizon stays far behind
//! for a long time. A value larger than the XIDs used since initdb holds everything: 14-15
//! stop the horizon at XID 3, and 12-13 subtract in 32 bits, so the horizon wraps around to
//! just below 2^32 and counts as older than every XID. It was meant to protect standby queries
//! without a feedback channel, and 16 removed it.
//!
//! ## How it is computed
//!
//! As the server does (procarray.c: `GetOldestXmin` on 12-13, `ComputeXidHorizons` with
//! `TransactionIdRetreatSafely` on 14-15): the oldest XID a transaction holds (sessions but
//! lazy vacuums and logical decoding, prepared transactions, standbys' feedback without a
//! slot), or the next XID when nothing runs, moved back by the setting. Slots' xmins are not
//! moved. The oldest transaction is taken across the cluster: exact for the shared catalogs and
//! that transaction's database; other databases count back from their own oldest transaction,
//! a newer XID. Its severity follows the XID-age ladder (warning from 500M XIDs behind,
//! critical from 1B); the finding is an info otherwise, so that the setting is always named
//! where the horizon is explained. Not applied on a standby.
//!
//! ## Fix
//!
//! `ALTER SYSTEM SET vacuum_defer_cleanup_age = 0; SELECT pg_reload_conf();` (on RDS, in the DB
//! parameter group). Standby queries then lose that margin and may be cancelled by recovery
//! conflicts: `hot_standby_feedback = on` on the standby, or a physical replication slot,
//! protects them instead.
//!
//! ## Version notes
//!
//! 12-15 only: 16 removed the setting. 12-13 subtract it in 32 bits (a value past the XIDs
//! used wraps around); 14-15 stop at the first normal XID.
//!
//! ## Source
//!
//! - PostgreSQL 15, `vacuum_defer_cleanup_age`:
//!   https://www.postgresql.org/docs/15/runtime-config-replication.html#GUC-VACUUM-DEFER-CLEANUP-AGE
//! - PostgreSQL 16 release notes (removal):
//!   https://www.postgresql.org/docs/16/release-16.html

use crate::analysis::blockers::BlockerKind;
use crate::analysis::findings::{Finding, Severity};
use crate::analysis::rules::{Category, Context, Rule};

pub const RULE: Rule = Rule {
    code: "BLOCK008",
    name: "defer-cleanup-age-holds-horizon",
    category: Category::Blockers,
    severity: Severity::Info,
    source: include_str!("defer_cleanup_age_holds_horizon.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    crate::analysis::rules::blocking::findings(
        context,
        &RULE,
        BlockerKind::DeferCleanupAge,
        Severity::Info,
    )
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::Fx;
    crate::analysis::rules::fixture::Examples {
        fires: vec![(
            "vacuum_defer_cleanup_age = 100000 on 15",
            Fx::new(15).set("vacuum_defer_cleanup_age", "100000").done(),
        )],
        quiet: vec![
            ("the default, 0", Fx::new(15).done()),
            (
                "on a standby",
                Fx::new(14)
                    .set("vacuum_defer_cleanup_age", "100000")
                    .with(|s| s.server.in_recovery = true)
                    .done(),
            ),
        ],
    }
}
