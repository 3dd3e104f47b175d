//! Per-table trigger advice shared by TABLE001-TABLE003: which of a table's triggers to lower,
//! to what, and the one `ALTER TABLE` that does it.
//!
//! The formula, and why each constant:
//!
//! - Only **large** tables get advice: `reltuples >= 1,000,000`. Below that the default 20%
//!   trigger is at most 200,000 rows, which one vacuum pass with the default 64 MB of work memory
//!   handles easily (about 11 million dead rows fit), so lowering it buys little. Small tables get
//!   nothing: no noise.
//! - A trigger gets advice when it lets its count reach **more than 5%** of the table
//!   (`trigger rows > 0.05 * reltuples`): the default 0.2 (20%) and RDS's 0.1 (10%) do, a table
//!   already tuned to a few percent does not.
//! - The recommended trigger is **2% of the table** (`scale_factor = 0.02`, the base threshold
//!   kept): the RDS guide's example of a large table whose plans degrade after a few percent of
//!   changes lowers its scale factor from 5% to 2%. The base threshold stays as it is, so small
//!   tables that share the setting are unaffected.
//! - For dead rows the recommended trigger is also capped at what one vacuum pass holds in this
//!   server's effective work memory at 6 bytes per dead row (the 12-16 array; 17's TID store needs
//!   less, so the cap is conservative there): `work_mem_bytes / 6`. A table whose 2% is above that
//!   gets `scale_factor = 0` and a fixed `threshold` of that many rows (rounded down to two
//!   significant digits), so a vacuum never needs a second index pass.
//! - Which triggers apply is decided by the table's observed changes since the statistics reset
//!   (`pg_stat_all_tables`): it **churns** when `n_tup_upd + n_tup_del >= 5%` of its rows (or it
//!   holds that many dead rows now): dead-row and analyze advice. It is **append-only** when
//!   `n_tup_ins >= 5%` of its rows and updates plus deletes stay under 1% of its inserts: insert
//!   advice (13+) or freeze advice (12), with analyze advice. A table with no such changes is static
//!   and gets nothing.
//! - Only tables autovacuum acts on by thresholds are advised (not disabled, temporary or
//!   partitioned ones; TABLE005 and the CONFIG rules cover those).

use crate::analysis::autovacuum::{GlobalSettings, Reach, TableAutovacuum, Trigger};
use crate::analysis::findings::RunOn;
use crate::analysis::findings::{Finding, Recommendation, Safety, Value, group_digits};
use crate::snapshot::{RelKind, Table, TableOptions};

use super::rules::{Context, TableView};

pub const LARGE_TABLE_ROWS: f64 = 1_000_000.0;
pub const ADVISE_ABOVE_SHARE: f64 = 0.05;
pub const TARGET_SCALE_FACTOR: f64 = 0.02;
pub const CHANGED_SHARE: f64 = 0.05;
pub const APPEND_ONLY_MAX_OTHER_SHARE: f64 = 0.01;
/// Bytes of vacuum memory per dead row before 17 (`sizeof(ItemPointerData)`).
pub const BYTES_PER_DEAD_ROW: i64 = 6;

/// How a table has been changing since the statistics reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changes {
    Churns,
    AppendOnly,
    Static,
}

/// One trigger's advice: current and recommended trigger in rows, and the options that set it.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerAdvice {
    /// `vacuum`, `vacuum_insert` or `analyze`: the middle of `autovacuum_*_scale_factor`.
    pub option_stem: &'static str,
    pub current_rows: f64,
    pub current_scale_factor: f64,
    pub current_threshold: i64,
    pub scale_factor: f64,
    pub threshold: i64,
    pub recommended_rows: f64,
}

/// The advice for one table.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub changes: Changes,
    pub dead_rows: Option<TriggerAdvice>,
    pub inserts: Option<TriggerAdvice>,
    pub analyze: Option<TriggerAdvice>,
    /// An append-only table that only anti-wraparound vacuums visit (12: no insert trigger;
    /// 13+: the insert trigger switched off), with this share of its pages not all-visible.
    pub freeze: Option<f64>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.dead_rows.is_none()
            && self.inserts.is_none()
            && self.analyze.is_none()
            && self.freeze.is_none()
    }
}

/// Work out the advice for a table; `None` when it gets none.
pub fn plan(settings: &GlobalSettings, table: &Table, eval: &TableAutovacuum) -> Option<Plan> {
    if eval.reach != Reach::Thresholds
        || !matches!(
            table.kind,
            RelKind::Table | RelKind::MaterializedView | RelKind::Toast
        )
    {
        return None;
    }
    let rows = eval.reltuples;
    if rows < LARGE_TABLE_ROWS {
        return None;
    }
    let stats = table.stats.as_ref()?;
    let inserted = stats.n_tup_ins.unwrap_or(0) as f64;
    let churned = (stats.n_tup_upd.unwrap_or(0) + stats.n_tup_del.unwrap_or(0)) as f64;
    let dead = stats.n_dead_tup.unwrap_or(0) as f64;
    let changes = if churned >= CHANGED_SHARE * rows || dead >= CHANGED_SHARE * rows {
        Changes::Churns
    } else if inserted >= CHANGED_SHARE * rows && churned <= APPEND_ONLY_MAX_OTHER_SHARE * inserted
    {
        Changes::AppendOnly
    } else {
        Changes::Static
    };

    let mut plan = Plan {
        changes,
        dead_rows: None,
        inserts: None,
        analyze: None,
        freeze: None,
    };
    match changes {
        Changes::Static => return None,
        Changes::Churns => {
            let cap = (settings.work_mem_bytes / BYTES_PER_DEAD_ROW).max(1) as f64;
            plan.dead_rows = advise(&eval.dead_rows, "vacuum", rows, Some(cap));
        }
        Changes::AppendOnly => match &eval.inserts {
            Some(inserts) if !inserts.switched_off => {
                plan.inserts = advise(inserts, "vacuum_insert", rows, None);
            }
            // 12 has no insert trigger; on 13+ it is switched off (threshold -1): either way
            // only forced anti-wraparound vacuums visit the table, one state, one verdict.
            // Pages not all-visible were never vacuumed.
            _ => {
                if table.relpages > 0 {
                    let unvacuumed = (table.relpages - table.relallvisible.min(table.relpages))
                        as f64
                        / table.relpages as f64;
                    if unvacuumed > ADVISE_ABOVE_SHARE {
                        plan.freeze = Some(unvacuumed);
                    }
                }
            }
        },
    }
    if table.kind != RelKind::Toast
        && let Some(analyze) = &eval.analyze
    {
        plan.analyze = advise(analyze, "analyze", rows, None);
    }
    (!plan.is_empty()).then_some(plan)
}

fn advise(
    trigger: &Trigger,
    option_stem: &'static str,
    rows: f64,
    cap: Option<f64>,
) -> Option<TriggerAdvice> {
    if trigger.rows <= ADVISE_ABOVE_SHARE * rows {
        return None;
    }
    let threshold = trigger.threshold.value.max(0);
    let target = threshold as f64 + TARGET_SCALE_FACTOR * rows;
    let (scale_factor, threshold, recommended_rows) = match cap {
        Some(cap) if target > cap => {
            let fixed = round_down_2_digits(cap as i64);
            (0.0, fixed, fixed as f64)
        }
        _ => (TARGET_SCALE_FACTOR, threshold, target),
    };
    Some(TriggerAdvice {
        option_stem,
        current_rows: trigger.rows,
        current_scale_factor: trigger.scale_factor.value,
        current_threshold: trigger.threshold.value,
        scale_factor,
        threshold,
        recommended_rows,
    })
}

/// The freeze ages a vacuum runs with, as `vacuum_get_cutoffs` (16+; `vacuum_set_xid_limits`
/// before) resolves them: the per-table autovacuum option when set (for autovacuum only), else the
/// `vacuum_*` setting, and in any case capped by the *server's* freeze max ages: the minimum ages
/// at half of them, the aggressive ages at 95% (rounded down). A lowered per-table
/// `autovacuum_freeze_max_age` lowers neither cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreezeAges {
    /// Rows older than this are frozen (`FreezeLimit`).
    pub min_age: i64,
    /// A vacuum of a table at least this old is aggressive: it reads every page not all-frozen
    /// and can advance relfrozenxid.
    pub table_age: i64,
    pub multixact_min_age: i64,
    pub multixact_table_age: i64,
}

impl FreezeAges {
    /// The ages a vacuum runs with: autovacuum's for `options` (the reloptions autovacuum
    /// applies to the table, [`crate::analysis::autovacuum::applied_table_options`]), a manual
    /// `VACUUM`'s with `None` (reloptions do not apply to it).
    pub fn of(context: &Context, options: Option<&TableOptions>) -> FreezeAges {
        let setting = |name: &str, default: i64| {
            context
                .setting_number(name)
                .map_or(default, |value| value as i64)
        };
        let own = |field: fn(&TableOptions) -> Option<i64>| {
            options.and_then(field).filter(|&value| value >= 0)
        };
        let xid_max = context.settings.freeze_max_age;
        let mxid_max = context.settings.multixact_freeze_max_age;
        // `Min(age, max * 0.95)` in C: compared as a double, stored as an int.
        let table_cap = |max: i64| (max as f64 * 0.95) as i64;
        FreezeAges {
            min_age: own(|o| o.autovacuum_freeze_min_age)
                .unwrap_or_else(|| setting("vacuum_freeze_min_age", 50_000_000))
                .min(xid_max / 2),
            table_age: own(|o| o.autovacuum_freeze_table_age)
                .unwrap_or_else(|| setting("vacuum_freeze_table_age", 150_000_000))
                .min(table_cap(xid_max)),
            multixact_min_age: own(|o| o.autovacuum_multixact_freeze_min_age)
                .unwrap_or_else(|| setting("vacuum_multixact_freeze_min_age", 5_000_000))
                .min(mxid_max / 2),
            multixact_table_age: own(|o| o.autovacuum_multixact_freeze_table_age)
                .unwrap_or_else(|| setting("vacuum_multixact_freeze_table_age", 150_000_000))
                .min(table_cap(mxid_max)),
        }
    }

    /// Whether a vacuum of a table of these ages is aggressive (`relfrozenxid` at or before
    /// `next - table_age`, or the multixact equivalent).
    pub fn aggressive(&self, xid_age: Option<i64>, mxid_age: Option<i64>) -> bool {
        xid_age.is_some_and(|age| age >= self.table_age)
            || mxid_age.is_some_and(|age| age >= self.multixact_table_age)
    }
}

/// The statement that vacuums a table the way a forced anti-wraparound vacuum does: aggressive
/// (every page not all-frozen is read, relfrozenxid and relminmxid advance) and freezing only rows
/// older than `vacuum_freeze_min_age`. Never `FREEZE`, which freezes every row and so writes
/// (and WAL-logs) every page not yet frozen: on a large table with recent rows that is most of
/// it. A manual `VACUUM` of a table this old is aggressive by itself when its age is past
/// `vacuum_freeze_table_age` (capped at 95% of the server's freeze max age); otherwise the
/// statement sets `vacuum_freeze_table_age` to 0 for its session. `emergency` adds the RDS
/// guide's `INDEX_CLEANUP FALSE`: index vacuuming is skipped, dead index entries stay for a later
/// vacuum, and the table is frozen sooner.
pub fn aggressive_vacuum_sql(
    context: &Context,
    sql_name: &str,
    xid_age: Option<i64>,
    mxid_age: Option<i64>,
    emergency: bool,
) -> String {
    let options = if emergency {
        "INDEX_CLEANUP FALSE, VERBOSE"
    } else {
        "VERBOSE"
    };
    let vacuum = format!("VACUUM ({options}) {sql_name};");
    if FreezeAges::of(context, None).aggressive(xid_age, mxid_age) {
        vacuum
    } else {
        format!("SET vacuum_freeze_table_age = 0;\n{vacuum}\nRESET vacuum_freeze_table_age;")
    }
}

/// 11,184,810 -> 11,000,000.
fn round_down_2_digits(n: i64) -> i64 {
    if n < 100 {
        return n;
    }
    let mut unit = 1;
    while n / unit >= 100 {
        unit *= 10;
    }
    n / unit * unit
}

/// The options autovacuum reads for a TOAST table (`AutoVacOpts`; the analyze options are not
/// valid for TOAST tables, and `vacuum_truncate` and `vacuum_index_cleanup` are read from the
/// vacuumed relation itself, never inherited).
const TOAST_AUTOVACUUM_OPTIONS: &[&str] = &[
    "autovacuum_enabled",
    "autovacuum_vacuum_threshold",
    "autovacuum_vacuum_max_threshold",
    "autovacuum_vacuum_scale_factor",
    "autovacuum_vacuum_insert_threshold",
    "autovacuum_vacuum_insert_scale_factor",
    "autovacuum_vacuum_cost_delay",
    "autovacuum_vacuum_cost_limit",
    "autovacuum_freeze_min_age",
    "autovacuum_freeze_max_age",
    "autovacuum_freeze_table_age",
    "autovacuum_multixact_freeze_min_age",
    "autovacuum_multixact_freeze_max_age",
    "autovacuum_multixact_freeze_table_age",
    "log_autovacuum_min_duration",
];

/// The owner's options a TOAST table inherits now and would lose with a first option of its
/// own, as `(name, value)`: autovacuum applies a TOAST table's own options when it has any, all
/// of them and none of its owner's; its owner's only when it has none (the second pass of
/// `do_autovacuum`). Empty for anything but a TOAST table without options of its own.
pub fn inherited_toast_options(view: &TableView) -> Vec<(String, String)> {
    let (RelKind::Toast, Some(owner)) = (view.table.kind, view.owner()) else {
        return Vec::new();
    };
    if !view.table.reloptions.is_empty() {
        return Vec::new();
    }
    owner
        .reloptions
        .iter()
        .filter_map(|entry| {
            let (name, value) = entry.split_once('=')?;
            TOAST_AUTOVACUUM_OPTIONS
                .contains(&name.trim())
                .then(|| (name.trim().to_string(), value.trim().to_string()))
        })
        .collect()
}

/// The inherited options a statement that sets `set` (option names without `toast.`) on a TOAST
/// table must carry, as `toast.name = value`: see [`inherited_toast_options`].
pub fn carried_options(view: &TableView, set: &[String]) -> Vec<String> {
    inherited_toast_options(view)
        .into_iter()
        .filter(|(option, _)| !set.contains(option))
        .map(|(option, value)| format!("toast.{option} = {}", option_value(&value)))
        .collect()
}

/// A reloption value as SQL: numbers and words as they are, anything else quoted.
fn option_value(value: &str) -> String {
    let plain = !value.is_empty()
        && (value.parse::<f64>().is_ok() || value.chars().all(|c| c.is_ascii_alphabetic()));
    if plain {
        value.to_string()
    } else {
        crate::sql::quote_literal(value)
    }
}

/// The statement that applies a plan's trigger advice: one `ALTER TABLE` (or `ALTER
/// MATERIALIZED VIEW`; for a TOAST table, its owner with `toast.` options). A TOAST table that
/// inherits its owner's options gets them too: its first option of its own would otherwise drop
/// them all, back to the server settings.
pub fn alter_statement(view: &TableView, advice: &[&TriggerAdvice]) -> Option<String> {
    let (keyword, name, prefix) = target(view)?;
    let mut options = Vec::new();
    let mut advised = Vec::new();
    for a in advice {
        advised.push(format!("autovacuum_{}_scale_factor", a.option_stem));
        advised.push(format!("autovacuum_{}_threshold", a.option_stem));
        options.push(format!(
            "{prefix}autovacuum_{}_scale_factor = {}",
            a.option_stem,
            format_factor(a.scale_factor)
        ));
        options.push(format!(
            "{prefix}autovacuum_{}_threshold = {}",
            a.option_stem, a.threshold
        ));
    }
    options.extend(carried_options(view, &advised));
    Some(format!(
        "SET lock_timeout = '5s';\nALTER {keyword} {name} SET ({});",
        options.join(", ")
    ))
}

/// `TABLE public.orders` or `MATERIALIZED VIEW ...`, with the option prefix: a TOAST table is
/// changed through its owner with `toast.` options.
pub fn target(view: &TableView) -> Option<(&'static str, String, &'static str)> {
    match view.table.kind {
        RelKind::Table => Some(("TABLE", view.sql_name(), "")),
        RelKind::MaterializedView => Some(("MATERIALIZED VIEW", view.sql_name(), "")),
        RelKind::Toast => {
            let owner = view.owner()?;
            let keyword = if owner.kind == RelKind::MaterializedView {
                "MATERIALIZED VIEW"
            } else {
                "TABLE"
            };
            Some((
                keyword,
                crate::sql::qualified(&owner.schema, &owner.name),
                "toast.",
            ))
        }
        RelKind::PartitionedTable => None,
    }
}

/// How a table is named in messages: a TOAST table by its owner.
pub fn display_name(view: &TableView) -> String {
    match (view.table.kind, view.owner()) {
        (RelKind::Toast, Some(owner)) => {
            format!("TOAST table of {}.{}", owner.schema, owner.name)
        }
        _ => format!("{}.{}", view.table.schema, view.table.name),
    }
}

/// What a message about `view` starts with, so that no view prints the table twice: nothing
/// for a table (the finding's object names it), `TOAST table of schema.name: ` for a TOAST
/// table, whose object names the `pg_toast` relation and not the table a DBA knows.
pub fn message_lead(view: &TableView) -> String {
    match view.table.kind {
        RelKind::Toast => format!("{}: ", display_name(view)),
        _ => String::new(),
    }
}

/// `0.02`, `0`, `0.1`.
pub fn format_factor(x: f64) -> String {
    let text = format!("{x:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// The lock `ALTER TABLE ... SET (autovacuum_...)` takes.
pub const ALTER_LOCK: &str = "SHARE UPDATE EXCLUSIVE on the table: reads and writes go on; it \
                              waits for a running vacuum of the table (lock_timeout 5s set)";

/// The message of a trigger finding: `<table>: <lead> N <unit> (P% of R rows); recommended M`.
pub fn trigger_message(view: &TableView, lead: &str, unit: &str, advice: &TriggerAdvice) -> String {
    let rows = view.autovacuum.reltuples;
    format!(
        "{}{lead} {} {unit} ({:.0}% of {} rows); recommended {}",
        message_lead(view),
        group_digits(advice.current_rows.round() as i64),
        100.0 * advice.current_rows / rows,
        group_digits(rows.round() as i64),
        group_digits(advice.recommended_rows.round() as i64)
    )
}

/// Complete a trigger finding: what the table was seen doing, each advised trigger's numbers,
/// and the one `ALTER TABLE` that sets them (`what` says why).
pub fn advised_finding(
    mut finding: Finding,
    context: &Context,
    view: &TableView,
    what: &str,
    advice: &[&TriggerAdvice],
) -> Finding {
    finding.evidence.extend(observed(context, view));
    for trigger in advice {
        finding.evidence.extend(evidence(trigger));
    }
    finding.recommend(recommendation(view, what, advice))
}

/// The recommendation for a set of trigger advice.
pub fn recommendation(view: &TableView, what: &str, advice: &[&TriggerAdvice]) -> Recommendation {
    let parts: Vec<String> = advice
        .iter()
        .map(|a| {
            format!(
                "{} trigger from {} to {} rows",
                a.option_stem.replace('_', " "),
                group_digits(a.current_rows.round() as i64),
                group_digits(a.recommended_rows.round() as i64)
            )
        })
        .collect();
    let mut text = format!(
        "{what}: lower the {} (per table, so other tables keep the server settings).",
        parts.join(", the ")
    );
    let inherited = inherited_toast_options(view);
    if !inherited.is_empty() {
        let names: Vec<&str> = inherited.iter().map(|(name, _)| name.as_str()).collect();
        text.push_str(&format!(
            " The TOAST table now inherits its owner's {}: its first option of its own would \
             drop them all (autovacuum then applies the server settings), so the statement sets \
             them on it too.",
            names.join(", ")
        ));
    }
    Recommendation {
        text,
        sql: alter_statement(view, advice),
        safety: Safety::Safe,
        lock: Some(ALTER_LOCK.to_string()),
        needs: crate::analysis::findings::Needs::None,
        settings: Vec::new(),
        destructive: false,
        run_on: Some(RunOn::database(&view.database.name)),
        signals: Vec::new(),
    }
}

/// Evidence for one trigger advice, keys prefixed by its stem.
pub fn evidence(advice: &TriggerAdvice) -> Vec<(String, Value)> {
    let stem = advice.option_stem;
    vec![
        (
            format!("{stem}_trigger_rows"),
            Value::Int(advice.current_rows.round() as i64),
        ),
        (
            format!("{stem}_scale_factor"),
            Value::Real(advice.current_scale_factor),
        ),
        (
            format!("{stem}_threshold"),
            Value::Int(advice.current_threshold),
        ),
        (
            format!("recommended_{stem}_trigger_rows"),
            Value::Int(advice.recommended_rows.round() as i64),
        ),
    ]
}

/// The table's observed changes, for the evidence: counters since the statistics reset and how
/// many vacuums they were spread over.
pub fn observed(context: &Context, view: &TableView) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let Some(stats) = view.table.stats.as_ref() else {
        return out;
    };
    for (key, value) in [
        ("n_tup_ins", stats.n_tup_ins),
        ("n_tup_upd", stats.n_tup_upd),
        ("n_tup_del", stats.n_tup_del),
    ] {
        if let Some(value) = value {
            out.push((key.to_string(), Value::Int(value)));
        }
    }
    let vacuums = stats.vacuum_count.unwrap_or(0) + stats.autovacuum_count.unwrap_or(0);
    out.push(("vacuums_since_reset".to_string(), Value::Int(vacuums)));
    let reset = view
        .database
        .stats_reset
        .or(context.snapshot.server.stats_reset);
    if let Some(reset) = reset {
        out.push(("stats_reset".to_string(), Value::Text(reset.to_rfc3339())));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_and_formatting() {
        assert_eq!(round_down_2_digits(11_184_810), 11_000_000);
        assert_eq!(round_down_2_digits(178_956_970), 170_000_000);
        assert_eq!(round_down_2_digits(99), 99);
        assert_eq!(format_factor(0.02), "0.02");
        assert_eq!(format_factor(0.0), "0");
        assert_eq!(format_factor(0.1), "0.1");
    }
}
