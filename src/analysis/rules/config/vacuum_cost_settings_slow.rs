//! Autovacuum's cost settings throttle it harder than the version's defaults.
//!
//! ## What it checks
//!
//! The cost-based delay settings autovacuum runs with, against this version's compiled-in
//! defaults: the effective `autovacuum_vacuum_cost_delay` above 2 ms (warning), the effective
//! `autovacuum_vacuum_cost_limit` below 200 (warning), and `vacuum_cost_page_hit`,
//! `vacuum_cost_page_miss`, `vacuum_cost_page_dirty` above their defaults (info).
//!
//! ## Why it matters
//!
//! Autovacuum sleeps for the cost delay each time its workers together spend the cost limit. A
//! delay of 20 ms (the default before 12, still common in old configuration files) makes it ten
//! times slower than the 2 ms default; a lower limit or higher page costs slow it the same way.
//! Large tables then take hours to vacuum, and autovacuum falls behind. `vacuum_cost_page_miss =
//! 10` on 14+ is usually a leftover of the pre-14 default: 14 lowered it to 2 because reads are
//! cheaper than the old model assumed.
//!
//! ## How it is computed
//!
//! The autovacuum model resolves -1: `autovacuum_vacuum_cost_delay` -1 means `vacuum_cost_delay`,
//! `autovacuum_vacuum_cost_limit` -1 (or 0) means `vacuum_cost_limit`. Page costs are compared with
//! `pg_settings.boot_val` (the compiled-in default of this very server). The evidence shows the
//! share of the default speed left: `default_delay / delay * limit / default_limit`.
//!
//! ## Fix
//!
//! Set the setting back to its default with `ALTER SYSTEM ...; SELECT pg_reload_conf();` (all are
//! reloadable), or on RDS/Aurora in the DB parameter group (dynamic). If throttling is wanted
//! because of I/O limits, keep it but raise `autovacuum_vacuum_cost_limit` together with
//! `autovacuum_max_workers` (CONFIG006) rather than slowing every worker.
//!
//! ## Version notes
//!
//! `autovacuum_vacuum_cost_delay` has defaulted to 2 ms since 12 (20 ms before).
//! `vacuum_cost_page_miss` defaults to 10 on 12-13 and 2 from 14.
//!
//! ## Source
//!
//! - PostgreSQL, "Cost-based Vacuum Delay":
//!   https://www.postgresql.org/docs/current/runtime-config-resource.html#RUNTIME-CONFIG-RESOURCE-VACUUM-COST
//! - RDS guide, "Other parameters that affect autovacuum":
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html

use crate::analysis::findings::{Finding, Object, Severity};
use crate::analysis::rules::{Category, Context, Rule};
use crate::analysis::tuning::format_factor;

pub const RULE: Rule = Rule {
    code: "CONFIG004",
    name: "vacuum-cost-settings-slow",
    category: Category::Config,
    severity: Severity::Warning,
    source: include_str!("vacuum_cost_settings_slow.rs"),
    check,
    #[cfg(test)]
    examples,
};

const DEFAULT_DELAY_MS: f64 = 2.0;
const DEFAULT_LIMIT: i64 = 200;

fn check(context: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    let delay = context.settings.cost_delay_ms;
    let limit = context.settings.cost_limit;
    let speed = if delay > 0.0 {
        DEFAULT_DELAY_MS / delay * limit as f64 / DEFAULT_LIMIT as f64
    } else {
        f64::INFINITY
    };
    if delay > DEFAULT_DELAY_MS {
        out.push(
            RULE.finding(
                Object::setting("autovacuum_vacuum_cost_delay"),
                format!(
                    "autovacuum sleeps {} ms per cost budget, the default is 2 ms",
                    format_factor(delay)
                ),
            )
            .with("effective_cost_delay_ms", delay)
            .with("effective_cost_limit", limit)
            .with("share_of_default_speed", round2(speed))
            .recommend(context.change_settings(
                &[("autovacuum_vacuum_cost_delay", "2ms".to_string())],
                "Let autovacuum run at the default pace.",
            )),
        );
    }
    if limit < DEFAULT_LIMIT {
        out.push(
            RULE.finding(
                Object::setting("autovacuum_vacuum_cost_limit"),
                format!("autovacuum's cost limit is {limit}, the default is 200"),
            )
            .with("effective_cost_limit", limit)
            .with("effective_cost_delay_ms", delay)
            .with("share_of_default_speed", round2(speed))
            .recommend(context.change_settings(
                &[("autovacuum_vacuum_cost_limit", "200".to_string())],
                "Give autovacuum at least the default cost budget.",
            )),
        );
    }
    for name in [
        "vacuum_cost_page_hit",
        "vacuum_cost_page_miss",
        "vacuum_cost_page_dirty",
    ] {
        let Some(setting) = context.setting(name) else {
            continue;
        };
        let (Ok(value), Some(Ok(default))) = (
            setting.setting.trim().parse::<i64>(),
            setting.boot_val.as_deref().map(|b| b.trim().parse::<i64>()),
        ) else {
            continue;
        };
        if value > default {
            let mut finding = RULE
                .finding(
                    Object::setting(name),
                    format!("{name} is {value}, this version's default is {default}"),
                )
                .with(name, value)
                .with("default", default)
                .recommend(context.change_settings(
                    &[(name, default.to_string())],
                    "Use this version's cost model.",
                ));
            finding.severity = Severity::Info;
            out.push(finding);
        }
    }
    out
}

fn round2(x: f64) -> f64 {
    if x.is_finite() {
        (x * 100.0).round() / 100.0
    } else {
        x
    }
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::Fx;
    crate::analysis::rules::fixture::Examples {
        fires: vec![
            (
                "the pre-12 20 ms delay",
                Fx::new(16).set("autovacuum_vacuum_cost_delay", "20").done(),
            ),
            (
                "-1 delay resolved to a 10 ms vacuum_cost_delay",
                Fx::new(16)
                    .set("autovacuum_vacuum_cost_delay", "-1")
                    .set("vacuum_cost_delay", "10")
                    .done(),
            ),
            (
                "a cost limit of 100",
                Fx::new(13).set("vacuum_cost_limit", "100").done(),
            ),
            (
                "page miss 10 on 14",
                Fx::new(14).set("vacuum_cost_page_miss", "10").done(),
            ),
        ],
        quiet: vec![
            ("defaults on 12", Fx::new(12).done()),
            ("defaults on 18", Fx::new(18).done()),
            (
                "faster than default",
                Fx::new(18)
                    .set("autovacuum_vacuum_cost_delay", "0")
                    .set("autovacuum_vacuum_cost_limit", "2000")
                    .done(),
            ),
        ],
    }
}
