//! RDS adaptive autovacuum is active (SHOW may differ from the parameter group) or switched off.
//!
//! ## What it checks
//!
//! On RDS and Aurora only: `rds.adaptive_autovacuum`. When it is on and the oldest database age
//! has reached `max(autovacuum_freeze_max_age, 500 million)`, adaptive autovacuum is raising
//! settings in memory; when it is off, it cannot.
//!
//! ## Why it matters
//!
//! Adaptive autovacuum (on by default) steps in as the XID age climbs: it raises the cost limit,
//! lowers the cost delay, raises work memory and shortens the naptime, in memory only (on 18, past
//! 1 billion, it also raises `autovacuum_max_workers` toward `autovacuum_worker_slots`). While it is
//! active, `SHOW` and this snapshot report the raised values, not the parameter group's, so a
//! comparison with the parameter group, or pgvac's own settings advice, reads differently from
//! usual. Switched off, the instance loses that safety net; the RDS guide recommends keeping it on.
//!
//! ## How it is computed
//!
//! Only when the platform is RDS or Aurora. Active: `rds.adaptive_autovacuum = on` and the oldest
//! valid database's `age(datfrozenxid)` >= max(`autovacuum_freeze_max_age`, 500,000,000). Off:
//! `rds.adaptive_autovacuum = off`. Info either way.
//!
//! ## Fix
//!
//! Active: nothing to change; read the settings with that in mind and fix the age (WRAP rules).
//! Off: set `rds.adaptive_autovacuum = 1` in the DB parameter group (dynamic, no reboot).
//!
//! ## Version notes
//!
//! The worker increase exists on RDS for PostgreSQL 18 only.
//!
//! ## Source
//!
//! - RDS guide, "Adaptive autovacuum parameter tuning":
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html

use crate::analysis::findings::{Finding, Object, Recommendation, Severity};
use crate::analysis::rules::{Category, Context, Rule};
use crate::analysis::wraparound::LOW;

pub const RULE: Rule = Rule {
    code: "CONFIG007",
    name: "rds-adaptive-autovacuum",
    category: Category::Config,
    severity: Severity::Info,
    source: include_str!("rds_adaptive_autovacuum.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    if !context.is_managed() {
        return Vec::new();
    }
    let Some(value) = context.setting_text("rds.adaptive_autovacuum") else {
        return Vec::new();
    };
    let on = matches!(value, "on" | "1" | "true");
    let oldest = context
        .valid_databases()
        .map(|d| d.xid_age)
        .max()
        .unwrap_or(0);
    let threshold = context.settings.freeze_max_age.max(LOW);
    let object = Object::setting("rds.adaptive_autovacuum");
    if on && oldest >= threshold {
        return vec![
            RULE.finding(
                object,
                format!(
                    "adaptive autovacuum is active (oldest age {} >= {}): SHOW values may differ \
                     from the parameter group",
                    crate::analysis::findings::group_digits(oldest),
                    crate::analysis::findings::group_digits(threshold)
                ),
            )
            .with("rds.adaptive_autovacuum", value)
            .with("oldest_database_age", oldest)
            .with("activation_age", threshold)
            .recommend(Recommendation::text(
                "Nothing to change: read the cost, memory and naptime settings as raised in \
                 memory, and bring the age down (WRAP rules).",
            )),
        ];
    }
    if !on {
        return vec![
            RULE.finding(
                object,
                "adaptive autovacuum is off: RDS will not step up autovacuum as the XID age climbs",
            )
            .with("rds.adaptive_autovacuum", value)
            .recommend(context.change_settings(
                &[("rds.adaptive_autovacuum", "1".to_string())],
                "Keep RDS's safety net on, as the RDS guide recommends.",
            )),
        ];
    }
    Vec::new()
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::{Fx, T};
    crate::analysis::rules::fixture::Examples {
        fires: vec![
            (
                "RDS at 600M",
                Fx::new(16)
                    .rds()
                    .table(T::new("old").xid_age(600_000_000))
                    .done(),
            ),
            (
                "RDS with it off",
                Fx::new(16)
                    .rds()
                    .set("rds.adaptive_autovacuum", "off")
                    .done(),
            ),
        ],
        quiet: vec![
            ("RDS, young", Fx::new(16).rds().done()),
            (
                "self-managed at 600M",
                Fx::new(16).table(T::new("old").xid_age(600_000_000)).done(),
            ),
        ],
    }
}
