//! Autovacuum's cost settings hold it below this version's default pace.
//!
//! ## What it checks
//!
//! The pace autovacuum's cost budget allows, for each kind of page, against the pace of this
//! version's defaults: the effective `autovacuum_vacuum_cost_limit` per
//! `autovacuum_vacuum_cost_delay`, divided by the cost of the page (`vacuum_cost_page_hit`,
//! `vacuum_cost_page_miss`, `vacuum_cost_page_dirty`). A long delay with a high limit can be as
//! fast as the defaults or faster (2000 per 10 ms is twice 200 per 2 ms): only the ratio and the
//! page costs count, never the delay alone.
//!
//! ## Why it matters
//!
//! Autovacuum sleeps for the cost delay each time its workers together spend the cost limit. A
//! budget slower than the default (the pre-12 delay of 20 ms with the default limit is ten times
//! slower) makes large tables take hours to vacuum, and autovacuum falls behind. Severity: warning
//! when the budget is slow, info when only a page cost is. A page cost above
//! the default slows that kind of page the same way: `vacuum_cost_page_miss = 10` on 14+ is
//! usually a leftover of the pre-14 default, and reads five times slower than 14's 2.
//!
//! ## How it is computed
//!
//! The budget: the autovacuum model's effective delay and limit (-1 resolved to
//! `vacuum_cost_delay` / `vacuum_cost_limit`); a delay of 0 is unthrottled and never slow. For
//! each page kind, the budget allows `limit / page_cost` pages per `delay`: the evidence shows it
//! per second (`*_pages_per_second`), next to the same for this version's defaults (200 per 2 ms;
//! page costs from `pg_settings.boot_val`, or 1 / 10 (12-13) or 2 (14+) / 20 when absent). The
//! rule fires when the budget is more than 1% below the default (`limit / delay < 0.99 x 100 per
//! ms`), or a page kind is more than 1% below the default pace and a lower (whole-number) page
//! cost could bring it to it.
//!
//! The fix brings what is slow to the default pace, and nothing faster than it was or than the
//! default, whichever is faster: pgvac has no evidence that this server's storage takes more
//! than what it runs at now or what PostgreSQL ships with.
//!
//! - A slow budget: with a limit of at least 200, the delay that gives the default pace at the
//!   current limit (`limit / 100` ms: 1000 per 20 ms becomes 1000 per 10 ms); with a lower
//!   limit, 200 and 2 ms. If a page cost below its default
//!   already makes that kind of page faster than the default, the budget is raised only as far
//!   as keeps that kind at its current pace or the default, whichever is faster.
//! - A slow page kind: the smallest whole-number cost that does not take it past the default
//!   pace at the (new) budget: the default cost at the default budget, `ceil(budget / 100 x
//!   default cost)` at a faster one (2000 per 10 ms with `vacuum_cost_page_miss = 10` on 14+ gets
//!   4, not 2, which would read twice as fast as 14's default).
//!
//! The evidence has the pace each kind gets after the fix (`recommended_*_pages_per_second`),
//! computed from the recommended values as written.
//!
//! ## Fix
//!
//! The recommended settings, with `ALTER SYSTEM ...; SELECT pg_reload_conf();` (all reloadable),
//! or on RDS/Aurora in the DB parameter group (dynamic). Then watch the storage while vacuums run:
//! read and write latency and utilisation (`iostat` await and %util; `pg_stat_io` on 16+; on RDS
//! the ReadIOPS, WriteIOPS and DiskQueueDepth metrics), and query latency. If they suffer, go back
//! halfway. If the budget was lowered on purpose because of I/O limits, keep it, and rather give
//! the largest tables their own cost settings (TABLE004).
//!
//! ## Version notes
//!
//! `autovacuum_vacuum_cost_delay` has defaulted to 2 ms since 12 (20 ms before).
//! `vacuum_cost_page_miss` defaults to 10 on 12-13 and 2 from 14, so the default pace reads five
//! times as many pages from 14 on. The page costs can also be set per database and per role;
//! autovacuum workers use the per-database values.
//!
//! ## Source
//!
//! - PostgreSQL, "Cost-based Vacuum Delay":
//!   https://www.postgresql.org/docs/current/runtime-config-resource.html#RUNTIME-CONFIG-RESOURCE-VACUUM-COST
//! - RDS guide, "Other parameters that affect autovacuum":
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html
//! - `vacuum_delay_point` in src/backend/commands/vacuum.c.

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
/// Below the default pace by more than this share counts as slow (rounding of written values
/// aside).
const TOLERANCE: f64 = 0.01;

/// One kind of page and what it costs.
struct PageKind {
    /// `hit`, `miss`, `dirty`.
    kind: &'static str,
    setting: &'static str,
    cost: f64,
    default_cost: f64,
}

/// Pages of a kind the budget allows per second.
fn pages_per_second(limit: f64, delay_ms: f64, cost: f64) -> f64 {
    limit / cost.max(1.0) * 1000.0 / delay_ms
}

fn check(context: &Context) -> Vec<Finding> {
    let delay = context.settings.cost_delay_ms;
    let limit = context.settings.cost_limit;
    if delay <= 0.0 || limit <= 0 {
        return Vec::new();
    }
    let kinds: Vec<PageKind> = [
        ("hit", "vacuum_cost_page_hit", 1.0),
        (
            "miss",
            "vacuum_cost_page_miss",
            if context.major() >= 14 { 2.0 } else { 10.0 },
        ),
        ("dirty", "vacuum_cost_page_dirty", 20.0),
    ]
    .into_iter()
    .map(|(kind, setting, fallback)| {
        let found = context.setting(setting);
        let default_cost = found
            .and_then(|s| s.boot_val.as_deref()?.trim().parse::<f64>().ok())
            .unwrap_or(fallback);
        let cost = found
            .and_then(|s| s.setting.trim().parse::<f64>().ok())
            .unwrap_or(default_cost);
        PageKind {
            kind,
            setting,
            cost,
            default_cost,
        }
    })
    .collect();

    // The budget as a share of the default one, and how far it may go.
    let default_ratio = DEFAULT_LIMIT as f64 / DEFAULT_DELAY_MS;
    let ratio = limit as f64 / delay / default_ratio;
    let mut target = ratio;
    if ratio < 1.0 {
        target = kinds
            .iter()
            .filter(|k| k.cost < k.default_cost)
            .map(|k| (k.cost / k.default_cost).max(ratio))
            .fold(1.0, f64::min);
    }
    let mut changes: Vec<(&str, String)> = Vec::new();
    let (mut new_limit, mut new_delay) = (limit as f64, delay);
    if target > ratio * (1.0 + TOLERANCE) {
        if limit >= DEFAULT_LIMIT {
            new_delay = ceil_thousandths(limit as f64 / (default_ratio * target));
        } else {
            new_limit = DEFAULT_LIMIT as f64;
            changes.push(("autovacuum_vacuum_cost_limit", DEFAULT_LIMIT.to_string()));
            new_delay = ceil_thousandths(DEFAULT_DELAY_MS / target);
        }
        if new_delay != delay {
            changes.insert(
                0,
                (
                    "autovacuum_vacuum_cost_delay",
                    format!("{}ms", format_factor(new_delay)),
                ),
            );
        }
    }
    let budget_changed = !changes.is_empty();
    let new_ratio = new_limit / new_delay / default_ratio;
    let mut new_costs = Vec::new();
    for k in &kinds {
        let share = new_ratio * k.default_cost / k.cost.max(1.0);
        let lowest = (new_ratio * k.default_cost - 1e-9).ceil().max(1.0);
        let cost = if share < 1.0 - TOLERANCE && lowest < k.cost {
            changes.push((k.setting, format!("{lowest}")));
            lowest
        } else {
            k.cost
        };
        new_costs.push(cost);
    }
    if changes.is_empty() {
        return Vec::new();
    }

    // The slowest kind now, for the message.
    let share = |k: &PageKind| ratio * k.default_cost / k.cost.max(1.0);
    let slowest = kinds
        .iter()
        .min_by(|a, b| share(a).total_cmp(&share(b)))
        .expect("three page kinds");
    let noun = match slowest.kind {
        "hit" => "pages found in shared buffers",
        "miss" => "pages read",
        _ => "pages dirtied",
    };
    let mut finding = RULE
        .finding(
            Object::setting(changes[0].0),
            format!(
                "autovacuum's budget allows {} {noun} per second ({limit} per {} ms, {} = {}): \
                 {:.0}% of PostgreSQL {}'s default pace",
                crate::analysis::findings::group_digits(
                    pages_per_second(limit as f64, delay, slowest.cost).round() as i64
                ),
                format_factor(delay),
                slowest.setting,
                format_factor(slowest.cost),
                100.0 * share(slowest),
                context.major()
            ),
        )
        .with("effective_cost_limit", limit)
        .with("effective_cost_delay_ms", delay);
    for k in &kinds {
        finding = finding.with(k.setting, k.cost);
    }
    for (k, new_cost) in kinds.iter().zip(&new_costs) {
        finding = finding
            .with(
                &format!("{}_pages_per_second", k.kind),
                round1(pages_per_second(limit as f64, delay, k.cost)),
            )
            .with(
                &format!("default_{}_pages_per_second", k.kind),
                round1(pages_per_second(
                    DEFAULT_LIMIT as f64,
                    DEFAULT_DELAY_MS,
                    k.default_cost,
                )),
            )
            .with(
                &format!("recommended_{}_pages_per_second", k.kind),
                round1(pages_per_second(new_limit, new_delay, *new_cost)),
            );
    }
    if !budget_changed {
        // Only page costs: slower for some kinds of page, as the rule always reported them.
        finding.severity = Severity::Info;
    }
    let why = if budget_changed {
        format!(
            "Give autovacuum PostgreSQL {}'s default pace, no faster.",
            context.major()
        )
    } else {
        format!(
            "Let every kind of page go at PostgreSQL {}'s default pace at this budget, no faster.",
            context.major()
        )
    };
    let mut fix = context.change_settings(&changes, &why);
    fix.text.push_str(
        " Then watch the storage while vacuums run (read/write latency and utilisation: iostat \
         await and %util, pg_stat_io on 16+, on RDS ReadIOPS, WriteIOPS and DiskQueueDepth) and \
         query latency; if they suffer, go back halfway.",
    );
    vec![finding.recommend(fix)]
}

/// Rounded up to a thousandth (a delay written with three decimals never gives a faster pace
/// than the one computed).
fn ceil_thousandths(x: f64) -> f64 {
    (x * 1000.0 - 1e-6).ceil() / 1000.0
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
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
                "unthrottled",
                Fx::new(18)
                    .set("autovacuum_vacuum_cost_delay", "0")
                    .set("autovacuum_vacuum_cost_limit", "2000")
                    .done(),
            ),
            (
                "a long delay with a high limit: twice the default pace",
                Fx::new(16)
                    .set("autovacuum_vacuum_cost_delay", "10")
                    .set("autovacuum_vacuum_cost_limit", "2000")
                    .done(),
            ),
            (
                "page miss 10 on 13 (its default)",
                Fx::new(13).set("vacuum_cost_page_miss", "10").done(),
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::analysis::findings::{Finding, Value};
    use crate::analysis::rules::Context;
    use crate::analysis::rules::fixture::Fx;
    use crate::snapshot::Snapshot;

    fn one(snapshot: &Snapshot) -> Finding {
        let found = (RULE.check)(&Context::new(snapshot));
        assert_eq!(found.len(), 1, "{found:?}");
        found.into_iter().next().unwrap()
    }

    fn settings(finding: &Finding) -> Vec<(String, String)> {
        let fix = finding.recommendation.as_ref().unwrap();
        fix.settings
            .iter()
            .map(|s| (s.name.clone(), s.value.clone()))
            .collect()
    }

    fn pace(finding: &Finding, key: &str) -> f64 {
        match finding.evidence(key) {
            Some(Value::Real(x)) => *x,
            other => panic!("{key}: {other:?}"),
        }
    }

    #[test]
    fn a_slow_budget_gets_the_default_pace_at_its_own_limit() {
        // 1000 per 20 ms is half the default: 1000 per 10 ms is the default pace.
        let f = one(&Fx::new(16)
            .set("autovacuum_vacuum_cost_delay", "20")
            .set("autovacuum_vacuum_cost_limit", "1000")
            .done());
        assert_eq!(
            settings(&f),
            [("autovacuum_vacuum_cost_delay".into(), "10ms".into())]
        );
        assert_eq!(pace(&f, "recommended_miss_pages_per_second"), 50_000.0);
        assert_eq!(pace(&f, "default_miss_pages_per_second"), 50_000.0);
        // A low limit gets the default pair.
        let f = one(&Fx::new(13).set("vacuum_cost_limit", "100").done());
        assert_eq!(
            settings(&f),
            [("autovacuum_vacuum_cost_limit".into(), "200".into())]
        );
    }

    #[test]
    fn a_faster_budget_gets_a_page_cost_that_keeps_the_default_pace() {
        // 2000 per 10 ms with the pre-14 miss cost on 16: reads at 40% of the default. Cost 2
        // would read at twice the default; 4 reads at it.
        let f = one(&Fx::new(16)
            .set("autovacuum_vacuum_cost_delay", "10")
            .set("autovacuum_vacuum_cost_limit", "2000")
            .set("vacuum_cost_page_miss", "10")
            .done());
        assert_eq!(settings(&f), [("vacuum_cost_page_miss".into(), "4".into())]);
        assert_eq!(
            pace(&f, "recommended_miss_pages_per_second"),
            pace(&f, "default_miss_pages_per_second")
        );
        // Hits and dirtied pages keep their twice-the-default pace.
        assert_eq!(
            pace(&f, "recommended_hit_pages_per_second"),
            pace(&f, "hit_pages_per_second")
        );
        assert!(f.message.contains("40%"), "{}", f.message);
    }

    #[test]
    fn a_cheap_page_cost_bounds_how_far_the_budget_is_raised() {
        // Half the default budget, but pages read cost 1 instead of 2 on 16: reads already go at
        // the default pace, so the budget is not raised (that would read twice as fast); the
        // dirtied pages get a cost that brings them to the default.
        let f = one(&Fx::new(16)
            .set("autovacuum_vacuum_cost_delay", "4")
            .set("vacuum_cost_page_miss", "1")
            .done());
        assert_eq!(
            settings(&f),
            [("vacuum_cost_page_dirty".into(), "10".into())]
        );
        assert!(
            pace(&f, "recommended_miss_pages_per_second")
                <= pace(&f, "miss_pages_per_second").max(pace(&f, "default_miss_pages_per_second"))
        );
    }
}
