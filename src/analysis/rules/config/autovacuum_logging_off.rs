//! Autovacuum runs are not logged, so slow or failing vacuums leave no trace.
//!
//! ## What it checks
//!
//! `log_autovacuum_min_duration = -1` (logging off). On RDS and Aurora also
//! `rds.force_autovacuum_logging_level = disabled`, which hides autovacuum's own messages.
//!
//! ## Why it matters
//!
//! The autovacuum log lines are the only record of what each run did: how long it took, how many
//! index passes it needed, how many dead rows it could not remove because something held the xmin
//! horizon back, how much it read and wrote. Without them a vacuum that falls behind is invisible
//! until bloat or wraparound shows.
//!
//! ## How it is computed
//!
//! `pg_settings.log_autovacuum_min_duration` (milliseconds; -1 is off) and, on RDS/Aurora,
//! `rds.force_autovacuum_logging_level`. Info: a visibility gap, not a fault.
//!
//! ## Fix
//!
//! `ALTER SYSTEM SET log_autovacuum_min_duration = '5s'; SELECT pg_reload_conf();` (reload). The
//! RDS guide recommends a value between 1000 and 5000 ms, and on RDS
//! `rds.force_autovacuum_logging_level = warning`, both in the DB parameter group (dynamic).
//!
//! ## Version notes
//!
//! The default changed from -1 (off) to 10min in 15, so a fresh 12-14 server has it off.
//!
//! ## Source
//!
//! - RDS guide, "Logging autovacuum and vacuum activities":
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html
//! - PostgreSQL, `log_autovacuum_min_duration`:
//!   https://www.postgresql.org/docs/current/runtime-config-logging.html

use crate::analysis::findings::{Finding, Object, Severity};
use crate::analysis::rules::{Category, Context, Rule};

pub const RULE: Rule = Rule {
    code: "CONFIG003",
    name: "autovacuum-logging-off",
    category: Category::Config,
    severity: Severity::Info,
    source: include_str!("autovacuum_logging_off.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    let duration_off = context
        .setting_number("log_autovacuum_min_duration")
        .is_some_and(|ms| ms < 0.0);
    let rds_level = context.setting_text("rds.force_autovacuum_logging_level");
    let rds_off = context.is_managed() && rds_level == Some("disabled");
    if !duration_off && !rds_off {
        return Vec::new();
    }
    let mut changes = Vec::new();
    if duration_off {
        changes.push(("log_autovacuum_min_duration", "5s".to_string()));
    }
    if rds_off {
        changes.push(("rds.force_autovacuum_logging_level", "warning".to_string()));
    }
    let mut finding = RULE.finding(
        Object::setting("log_autovacuum_min_duration"),
        "autovacuum runs are not logged: slow or blocked vacuums leave no trace",
    );
    if let Some(value) = context.setting_text("log_autovacuum_min_duration") {
        finding = finding.with("log_autovacuum_min_duration", value);
    }
    if let Some(level) = rds_level {
        finding = finding.with("rds.force_autovacuum_logging_level", level);
    }
    vec![finding.recommend(context.change_settings(
        &changes,
        "Log every autovacuum run longer than a few seconds.",
    ))]
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::Fx;
    crate::analysis::rules::fixture::Examples {
        fires: vec![
            ("a fresh 12 (default -1)", Fx::new(12).done()),
            (
                "RDS with autovacuum logging disabled",
                Fx::new(16)
                    .rds()
                    .set("rds.force_autovacuum_logging_level", "disabled")
                    .done(),
            ),
        ],
        quiet: vec![
            ("a fresh 15 (default 10min)", Fx::new(15).done()),
            (
                "RDS at warning",
                Fx::new(16)
                    .rds()
                    .set("log_autovacuum_min_duration", "5000")
                    .set("rds.force_autovacuum_logging_level", "warning")
                    .done(),
            ),
        ],
    }
}
