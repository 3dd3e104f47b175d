//! A replication slot holds back the xmin horizon.
//!
//! ## What it checks
//!
//! Replication slots with an `xmin` (physical slots fed by a standby's `hot_standby_feedback`)
//! or a `catalog_xmin` (logical slots), active or not. Invalidated slots are left out: the
//! server no longer applies their `xmin` and `catalog_xmin` to the horizon, although
//! `pg_replication_slots` still shows both (and their age grows).
//!
//! ## Why it matters
//!
//! A slot's xmin holds dead rows of every table in every database; a logical slot's
//! `catalog_xmin` those of the system catalogs and user catalog tables. An inactive slot holds
//! them forever.
//!
//! ## How it is computed
//!
//! Warning when the slot is inactive for longer than 1 hour (17+, `inactive_since`) or at all
//! before 17, or from 500M XIDs behind; critical from 1B.
//!
//! ## Fix
//!
//! An inactive slot: `pg_drop_replication_slot('name')` (its consumer must then be re-synced).
//! An active physical slot: fix it on its standby (turn `hot_standby_feedback` off, or end the
//! standby query holding the oldest snapshot). An active logical slot: its consumer is behind.
//!
//! ## Version notes
//!
//! `inactive_since` exists from 17; earlier, how long a slot has been inactive is unknown.
//! Invalidated slots (slot.c, `ReplicationSlotsComputeRequiredXmin`): on 13-15 a slot whose
//! `restart_lsn` is cleared, which only the invalidation for removed WAL
//! (`max_slot_wal_keep_size`) does; the view then says `wal_status = 'lost'` with no
//! `restart_lsn`, while `lost` with a `restart_lsn` still set is not invalidated yet and still
//! holds. 16: every slot the view calls `lost` (other causes keep the `restart_lsn`). 17+:
//! `invalidation_reason` names the cause (18 adds `idle_timeout`, after
//! `idle_replication_slot_timeout`). 12 has no invalidation.
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
    code: "BLOCK004",
    name: "replication-slot-holds-horizon",
    category: Category::Blockers,
    severity: Severity::Warning,
    source: include_str!("replication_slot_holds_horizon.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    crate::analysis::rules::blocking::findings(
        context,
        &RULE,
        BlockerKind::ReplicationSlot,
        Severity::Warning,
    )
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    #[allow(unused_imports)]
    use crate::analysis::rules::blocking::fixture;
    crate::analysis::rules::fixture::Examples {
        fires: vec![(
            "an inactive logical slot",
            fixture::with_slot("logical", false, 1_000),
        )],
        quiet: vec![(
            "an active logical slot, young",
            fixture::with_slot("logical", true, 1_000),
        )],
    }
}
