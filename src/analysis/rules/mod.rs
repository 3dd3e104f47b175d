//! The rule registry: every check pgvac makes, declared once.
//!
//! Each rule lives in its own file under `src/analysis/rules/<category>/`. The file's `//!`
//! module doc is the rule's user documentation (what `pgvac explain CODE` prints and
//! `docs/rules.md` is made of), and the file ends in a `RULE` constant naming its code, name,
//! category, default severity and check function. [`RULES`] lists them; a test fails when a rule
//! file is not in it, and when a code of [`RETIRED`] comes back. The modules are declared as
//! plain `mod` items (no macro), so rustfmt and clippy see every rule file.
//!
//! Rules are pure functions of a [`Context`]: the snapshot plus what the autovacuum model derives
//! from it. They never talk to PostgreSQL.
//!
//! A rule's *default* severity is the one it usually reports; a rule may report a finding at
//! another severity when the numbers call for it (the wraparound ladder goes from warning to
//! critical), and its documentation says when.

use std::collections::HashSet;

use crate::analysis::autovacuum::{self, GlobalSettings, TableAutovacuum, WorkerSettings};
use crate::analysis::blockers::{self, Blocker, Thresholds};
use crate::analysis::findings::RunOn;
use crate::analysis::findings::{
    self, Finding, Needs, Object, Recommendation, Safety, SettingChange, Severity,
};
use crate::analysis::tuning::{self, Plan};
use crate::snapshot::{Database, PlatformKind, Setting, Snapshot, Table, Visit};

pub mod blocking;
pub mod logged;

#[cfg(test)]
pub mod fixture;

pub use crate::analysis::findings::Category;

/// One check.
pub struct Rule {
    /// Stable code, `PREFIX###`; never reused.
    pub code: &'static str,
    /// Kebab-case name of the problem.
    pub name: &'static str,
    pub category: Category,
    /// The severity the rule usually reports at.
    pub severity: Severity,
    /// The source of the rule's file (`include_str!`), whose `//!` lines are its documentation.
    pub source: &'static str,
    pub check: fn(&Context) -> Vec<Finding>,
    /// Snapshots that fire the rule and snapshots that must not.
    #[cfg(test)]
    pub examples: fn() -> fixture::Examples,
}

impl Rule {
    /// The user documentation: the rule file's `//!` lines, as Markdown.
    pub fn doc(&self) -> String {
        let mut doc = String::new();
        for line in self.source.lines() {
            let line = line.trim_start();
            if let Some(text) = line.strip_prefix("//!") {
                doc.push_str(text.strip_prefix(' ').unwrap_or(text));
                doc.push('\n');
            } else if !line.is_empty() {
                break;
            }
        }
        doc.trim().to_string()
    }

    /// The first line of the documentation.
    pub fn summary(&self) -> String {
        self.doc().lines().next().unwrap_or_default().to_string()
    }

    /// A finding of this rule at its default severity.
    pub fn finding(&self, object: Object, message: impl Into<String>) -> Finding {
        Finding {
            code: self.code,
            name: self.name,
            category: self.category,
            severity: self.severity,
            object,
            message: message.into(),
            evidence: Vec::new(),
            recommendation: None,
        }
    }
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.name)
    }
}

pub mod block;
pub mod config;
pub mod log;
pub mod run;
pub mod table;
pub mod wrap;

/// Every rule, in the order `pgvac rules` lists them. A rule file that is not listed here fails
/// `every_rule_file_is_registered`; a code listed in [`RETIRED`] can never come back.
pub static RULES: &[&Rule] = &[
    &wrap::database_xid_age_high::RULE,
    &wrap::database_mxid_age_high::RULE,
    &wrap::table_xid_age_high::RULE,
    &wrap::table_mxid_age_high::RULE,
    &wrap::anti_wraparound_vacuum_due::RULE,
    &wrap::invalid_database::RULE,
    &table::dead_row_trigger_too_high::RULE,
    &table::analyze_trigger_too_high::RULE,
    &table::append_only_table_rarely_vacuumed::RULE,
    &table::large_table_vacuum_throttled::RULE,
    &table::table_autovacuum_disabled::RULE,
    &table::freeze_max_age_below_table_age::RULE,
    &table::partitioned_table_never_analyzed::RULE,
    &config::autovacuum_off::RULE,
    &config::track_counts_off::RULE,
    &config::autovacuum_logging_off::RULE,
    &config::vacuum_cost_settings_slow::RULE,
    &config::vacuum_memory_too_small::RULE,
    &config::autovacuum_falling_behind::RULE,
    &config::rds_adaptive_autovacuum::RULE,
    &config::statistics_lost_in_crash::RULE,
    &run::anti_wraparound_vacuum_running::RULE,
    &run::vacuum_running_over_a_day::RULE,
    &run::vacuum_index_passes_repeated::RULE,
    &run::all_autovacuum_workers_busy::RULE,
    &block::idle_in_transaction_holds_horizon::RULE,
    &block::long_transaction_holds_horizon::RULE,
    &block::prepared_transaction_holds_horizon::RULE,
    &block::replication_slot_holds_horizon::RULE,
    &block::standby_feedback_holds_horizon::RULE,
    &block::temp_table_pins_datfrozenxid::RULE,
    &block::orphaned_temp_schema::RULE,
    &block::defer_cleanup_age_holds_horizon::RULE,
    &block::lock_keeps_autovacuum_out::RULE,
    &block::holder_harms_tables::RULE,
    &log::autovacuum_cancelled_repeatedly::RULE,
    &log::autovacuum_skipped_for_locks::RULE,
    &log::dead_rows_left_not_removable::RULE,
    &log::logged_vacuum_index_passes_repeated::RULE,
    &log::vacuum_runs_outlast_naptime_cycle::RULE,
    &log::anti_wraparound_vacuums_repeated::RULE,
    &log::vacuum_failsafe_triggered::RULE,
    &log::autovacuum_worker_start_timeout::RULE,
    &log::wraparound_messages_logged::RULE,
];

/// Codes of rules that were removed, with why: never given to another rule (as ruff keeps its
/// removed rules), so a code in a script, an alert or a `--ignore` list always means one check.
pub static RETIRED: &[(&str, &str)] = &[];

/// Every rule.
pub fn all() -> &'static [&'static Rule] {
    RULES
}

/// A rule by code (`WRAP001`, any case) or by name (`invalid-database`).
pub fn find(code_or_name: &str) -> Option<&'static Rule> {
    let wanted = code_or_name.trim();
    RULES
        .iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(wanted) || r.name == wanted)
}

/// Run every rule and return the findings in display order.
pub fn check_all(context: &Context) -> Vec<Finding> {
    let mut out: Vec<Finding> = RULES.iter().flat_map(|r| (r.check)(context)).collect();
    findings::sort(&mut out);
    out
}

/// What the rules read, computed once per analysis: the snapshot, the resolved server
/// settings, the autovacuum model's verdict on every table of every visited database, the
/// per-table advice ([`tuning::plan`]) and what holds vacuum back ([`blockers::find_blockers`]).
pub struct Context<'s> {
    pub snapshot: &'s Snapshot,
    pub settings: GlobalSettings,
    /// The visited databases with their tables' evaluations, in snapshot order.
    pub databases: Vec<DatabaseView<'s>>,
    /// Everything that holds the horizon back, ranked (with the thresholds given); a blocker
    /// that harms tables now says so in its reasons.
    pub blockers: Vec<Blocker>,
    /// Tables whose dead rows the blocker holding their horizon keeps
    /// ([`blockers::pinned_tables`]).
    pub pinned: Vec<blockers::Pinned>,
    /// The blockers that harm tables now, by those tables ([`blockers::harm`]).
    pub harm: Vec<blockers::Harm>,
    pub thresholds: Thresholds,
    /// What the server log says (`pgvac report --log`); the LOG rules need it.
    pub log: Option<&'s crate::logs::LogSummary>,
}

/// A visited database, the model's evaluation of each of its tables and the advice for each.
pub struct DatabaseView<'s> {
    pub database: &'s Database,
    /// Parallel to `database.tables`.
    pub evaluations: Vec<TableAutovacuum>,
    /// Parallel to `database.tables`: the trigger advice, where a table gets some.
    pub plans: Vec<Option<Plan>>,
}

/// One table as the rules see it.
#[derive(Clone, Copy)]
pub struct TableView<'c> {
    pub database: &'c Database,
    pub table: &'c Table,
    pub autovacuum: &'c TableAutovacuum,
    /// The trigger advice for it, when it gets some.
    pub plan: Option<&'c Plan>,
}

impl TableView<'_> {
    pub fn object(&self) -> Object {
        Object::table(&self.database.name, &self.table.schema, &self.table.name)
    }

    /// `schema.name`, quoted for SQL.
    pub fn sql_name(&self) -> String {
        crate::sql::qualified(&self.table.schema, &self.table.name)
    }

    /// For a TOAST table, the table that owns it. A database's tables are kept by oid, so it
    /// is a binary search (with a scan for a list that is not in that order).
    pub fn owner(&self) -> Option<&Table> {
        let oid = self.table.owner_oid?;
        let tables = &self.database.tables;
        match tables.binary_search_by_key(&oid, |t| t.oid) {
            Ok(at) => Some(&tables[at]),
            Err(_) => tables.iter().find(|t| t.oid == oid),
        }
    }

    /// Heap, indexes and TOAST: what a full vacuum of the table reads.
    pub fn total_bytes(&self) -> i64 {
        let toast = self
            .table
            .toast
            .as_ref()
            .map_or(0, |t| t.relpages.saturating_mul(self.block_size()));
        self.table
            .heap_bytes
            .saturating_add(self.table.index_bytes)
            .saturating_add(toast)
    }

    fn block_size(&self) -> i64 {
        if self.table.relpages > 0 {
            self.table.heap_bytes / self.table.relpages
        } else {
            8192
        }
    }
}

impl<'s> Context<'s> {
    /// The context with the default blocker thresholds (what `pgvac report` uses).
    pub fn new(snapshot: &'s Snapshot) -> Context<'s> {
        Context::with_thresholds(snapshot, Thresholds::default())
    }

    pub fn with_thresholds(snapshot: &'s Snapshot, thresholds: Thresholds) -> Context<'s> {
        let settings = GlobalSettings::from_snapshot(snapshot);
        crate::analysis::computed::count(crate::analysis::computed::Step::Model);
        let databases: Vec<DatabaseView> = snapshot
            .databases
            .iter()
            // A database read in part (a source timed out) still has true findings about
            // what was read; the run is marked incomplete elsewhere.
            .filter(|d| d.visit.was_read() && !d.is_invalid())
            .map(|database| {
                let evaluations = autovacuum::evaluate_database(&settings, database);
                // The advice is sized by what this database's workers use.
                let local = settings.for_database(database.oid);
                let plans = database
                    .tables
                    .iter()
                    .zip(&evaluations)
                    .map(|(table, eval)| tuning::plan(&local, table, eval))
                    .collect();
                DatabaseView {
                    database,
                    evaluations,
                    plans,
                }
            })
            .collect();
        crate::analysis::computed::count(crate::analysis::computed::Step::Plans);
        let mut blockers = blockers::find_blockers(snapshot, &thresholds);
        let tables: Vec<_> = databases
            .iter()
            .map(|view| (view.database, view.evaluations.as_slice()))
            .collect();
        let pinned = blockers::pinned_tables(&blockers, &tables);
        let now = snapshot.server.collected_at;
        let harm = blockers::harm(&blockers, &pinned, settings.naptime, now);
        // Judged by the harm it does now as well as by its age: a holder that keeps tables far
        // over their trigger is a warning, however young (BLOCK010).
        for h in &harm {
            let reason = blockers::harm_reason(h, now);
            let blocker = &mut blockers[h.blocker];
            blocker.reasons.push(reason);
            blocker.severity = blocker.severity.max(Severity::Warning);
        }
        Context {
            snapshot,
            settings,
            databases,
            blockers,
            pinned,
            harm,
            thresholds,
            log: None,
        }
    }

    /// This context with a server log's summary.
    pub fn with_log(mut self, log: Option<&'s crate::logs::LogSummary>) -> Context<'s> {
        self.log = log;
        self
    }

    pub fn major(&self) -> i32 {
        self.snapshot.server.major()
    }

    /// RDS or Aurora: server settings are changed in the DB parameter group.
    pub fn is_managed(&self) -> bool {
        matches!(
            self.snapshot.server.platform.kind,
            PlatformKind::Rds | PlatformKind::Aurora
        )
    }

    /// Every table of every visited database, with its evaluation.
    pub fn tables(&self) -> impl Iterator<Item = TableView<'_>> {
        self.databases.iter().flat_map(|view| {
            view.database
                .tables
                .iter()
                .zip(view.evaluations.iter())
                .zip(view.plans.iter())
                .map(move |((table, autovacuum), plan)| TableView {
                    database: view.database,
                    table,
                    autovacuum,
                    plan: plan.as_ref(),
                })
        })
    }

    /// Databases that count for wraparound: every database but the invalid ones and those
    /// dropped while pgvac ran.
    pub fn valid_databases(&self) -> impl Iterator<Item = &Database> {
        self.snapshot
            .databases
            .iter()
            .filter(|d| !d.is_invalid() && d.visit != Visit::Dropped)
    }

    pub fn setting(&self, name: &str) -> Option<&Setting> {
        self.snapshot.setting(name)
    }

    /// What autovacuum's workers use in the named database (the server-wide values when the
    /// name is unknown or absent).
    pub fn workers_in(&self, database: Option<&str>) -> &WorkerSettings {
        match database.and_then(|name| self.snapshot.database(name)) {
            Some(database) => self.settings.in_database(database.oid),
            None => &self.settings.workers,
        }
    }

    /// A setting's value as text, when the snapshot has it.
    pub fn setting_text(&self, name: &str) -> Option<&str> {
        self.setting(name).map(|s| s.setting.as_str())
    }

    /// A numeric setting in its base unit, when the snapshot has it and it parses.
    pub fn setting_number(&self, name: &str) -> Option<f64> {
        self.setting_text(name)?.trim().parse().ok()
    }

    /// `vacuum_failsafe_age` (14+) as the server applies it: never below 105% of
    /// `autovacuum_freeze_max_age` (`vacuum_xid_failsafe_check` in vacuum.c).
    pub fn failsafe_age(&self) -> Option<i64> {
        let age = self.setting_number("vacuum_failsafe_age")? as i64;
        Some(age.max(self.settings.freeze_max_age * 105 / 100))
    }

    /// `vacuum_multixact_failsafe_age` (14+), never below 105% of the multixact freeze max age.
    pub fn multixact_failsafe_age(&self) -> Option<i64> {
        let age = self.setting_number("vacuum_multixact_failsafe_age")? as i64;
        Some(age.max(self.settings.multixact_freeze_max_age * 105 / 100))
    }

    /// How to change server settings here: `ALTER SYSTEM` and a reload or restart, or on RDS and
    /// Aurora the DB parameter group (a reboot for static parameters).
    pub fn change_settings(&self, changes: &[(&str, String)], why: &str) -> Recommendation {
        let restart = changes.iter().any(|(name, _)| {
            self.setting(name)
                .is_some_and(|s| s.context == "postmaster")
        });
        let list = changes
            .iter()
            .map(|(name, value)| format!("{name} = {value}"))
            .collect::<Vec<_>>()
            .join(", ");
        let managed = self.is_managed();
        let settings = changes
            .iter()
            .map(|(name, value)| {
                let static_parameter = self
                    .setting(name)
                    .is_some_and(|s| s.context == "postmaster");
                SettingChange {
                    name: name.to_string(),
                    value: value.clone(),
                    needs: match (managed, static_parameter) {
                        (true, true) => Needs::ParameterGroupReboot,
                        (true, false) => Needs::ParameterGroup,
                        (false, true) => Needs::Restart,
                        (false, false) => Needs::Reload,
                    },
                }
            })
            .collect();
        if managed {
            let platform = match self.snapshot.server.platform.kind {
                PlatformKind::Aurora => "Aurora: the DB cluster or instance parameter group",
                _ => "RDS: the DB parameter group",
            };
            return Recommendation {
                text: format!(
                    "{why} Set {list} in {platform} (ALTER SYSTEM is not available){}.",
                    if restart {
                        ", then reboot: a static parameter"
                    } else {
                        "; dynamic parameters apply without a reboot"
                    }
                ),
                sql: None,
                safety: Safety::DisplayOnly,
                lock: None,
                needs: if restart {
                    Needs::ParameterGroupReboot
                } else {
                    Needs::ParameterGroup
                },
                settings,
                destructive: false,
                run_on: Some(RunOn::ParameterGroup),
                signals: Vec::new(),
            };
        }
        let mut sql: Vec<String> = changes
            .iter()
            .map(|(name, value)| {
                format!(
                    "ALTER SYSTEM SET {} = {};",
                    crate::sql::quote_ident(name),
                    crate::sql::quote_literal(value)
                )
            })
            .collect();
        if !restart {
            sql.push("SELECT pg_reload_conf();".to_string());
        }
        Recommendation {
            text: format!(
                "{why} Set {list}{}.",
                if restart {
                    ", then restart the server"
                } else {
                    " and reload"
                }
            ),
            sql: Some(sql.join("\n")),
            safety: Safety::Safe,
            lock: None,
            needs: if restart {
                Needs::Restart
            } else {
                Needs::Reload
            },
            settings,
            destructive: false,
            run_on: Some(RunOn::Server),
            signals: Vec::new(),
        }
    }
}

/// The `## Section` headings every rule's documentation has, in order.
pub const DOC_SECTIONS: [&str; 6] = [
    "What it checks",
    "Why it matters",
    "How it is computed",
    "Fix",
    "Version notes",
    "Source",
];

/// Registry invariants, checked by the tests and usable by anyone extending the list: unique
/// codes and names, codes that match their category, names in kebab case, and every doc
/// section present in order. Returns the problems found.
pub fn registry_problems() -> Vec<String> {
    problems_of(RULES, RETIRED)
}

fn problems_of(rules: &[&Rule], retired: &[(&str, &str)]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut codes = HashSet::new();
    let mut names = HashSet::new();
    for (code, why) in retired {
        if !codes.insert(*code) {
            problems.push(format!("{code}: retired twice"));
        }
        if why.trim().is_empty() {
            problems.push(format!("{code}: retired without a reason"));
        }
    }
    for rule in rules {
        if retired.iter().any(|(code, _)| *code == rule.code) {
            problems.push(format!(
                "{}: a retired code is never reused (RETIRED says why it went)",
                rule.code
            ));
        } else if !codes.insert(rule.code) {
            problems.push(format!("{}: code used twice", rule.code));
        }
        if !names.insert(rule.name) {
            problems.push(format!("{}: name {} used twice", rule.code, rule.name));
        }
        let prefix = rule.category.prefix();
        let number = rule.code.strip_prefix(prefix);
        if !number.is_some_and(|n| n.len() == 3 && n.bytes().all(|b| b.is_ascii_digit())) {
            problems.push(format!("{}: code is not {prefix}###", rule.code));
        }
        let kebab = !rule.name.is_empty()
            && !rule.name.starts_with('-')
            && !rule.name.ends_with('-')
            && !rule.name.contains("--")
            && rule
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !kebab {
            problems.push(format!(
                "{}: name {} is not kebab-case",
                rule.code, rule.name
            ));
        }
        let doc = rule.doc();
        if rule.summary().is_empty() || rule.summary().starts_with('#') {
            problems.push(format!(
                "{}: doc must start with a one-line summary",
                rule.code
            ));
        }
        let mut last = 0;
        for section in DOC_SECTIONS {
            let heading = format!("\n## {section}\n");
            match doc.find(&heading) {
                None => problems.push(format!("{}: doc lacks '## {section}'", rule.code)),
                Some(at) if at < last => {
                    problems.push(format!("{}: '## {section}' out of order", rule.code))
                }
                Some(at) => {
                    let body_start = at + heading.len();
                    let body = doc[body_start..].split("\n## ").next().unwrap_or("");
                    if body.trim().is_empty() {
                        problems.push(format!("{}: '## {section}' is empty", rule.code));
                    }
                    last = at;
                }
            }
        }
        if let Some(source) = doc.split("\n## Source\n").nth(1)
            && !source.contains("https://")
        {
            problems.push(format!("{}: Source cites no URL", rule.code));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_invariants_hold() {
        let problems = registry_problems();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// Every file under `src/analysis/rules/<category>/` is a rule in [`RULES`]: a rule cannot
    /// exist without being registered (and so documented and tested).
    #[test]
    fn every_rule_file_is_registered() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/analysis/rules");
        let mut files = 0;
        for category in std::fs::read_dir(&root).unwrap() {
            let dir = category.unwrap().path();
            if !dir.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(&dir).unwrap() {
                let path = file.unwrap().path();
                if path.extension().is_none_or(|e| e != "rs") || path.ends_with("mod.rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(
                    RULES.iter().any(|r| r.source == text),
                    "{} is not in RULES",
                    path.display()
                );
                files += 1;
            }
        }
        assert_eq!(files, RULES.len(), "a rule in RULES has no file of its own");
    }

    #[test]
    fn a_retired_code_cannot_come_back() {
        let live = RULES[0].code;
        let problems = problems_of(RULES, &[(live, "replaced by another check")]);
        assert_eq!(
            problems,
            [format!(
                "{live}: a retired code is never reused (RETIRED says why it went)"
            )]
        );
        assert!(!problems_of(RULES, &[("WRAP999", "")]).is_empty());
    }

    #[test]
    fn every_category_has_rules() {
        for category in Category::ALL {
            let count = RULES.iter().filter(|r| r.category == category).count();
            assert!(count > 0, "{category:?} has no rule");
        }
    }

    #[test]
    fn find_takes_codes_in_any_case_and_names() {
        let first = RULES[0];
        assert_eq!(
            find(&first.code.to_lowercase()).map(|r| r.code),
            Some(first.code)
        );
        assert_eq!(find(first.name).map(|r| r.code), Some(first.code));
        assert!(find("NOPE999").is_none());
    }

    /// Every rule has a snapshot that fires it and one that does not.
    #[test]
    fn every_rule_fires_on_its_example_and_not_on_its_counterexample() {
        let mut problems = Vec::new();
        for rule in RULES {
            let examples = (rule.examples)();
            if examples.fires.is_empty() || examples.quiet.is_empty() {
                problems.push(format!(
                    "{}: needs at least one firing and one quiet example",
                    rule.code
                ));
            }
            for (label, snapshot) in &examples.fires {
                let log = fixture::example_log(snapshot);
                let found = (rule.check)(&Context::new(snapshot).with_log(log.as_ref()));
                if found.is_empty() {
                    problems.push(format!("{}: did not fire on '{label}'", rule.code));
                }
                for finding in &found {
                    if finding.code != rule.code || finding.name != rule.name {
                        problems.push(format!("{}: finding labelled {}", rule.code, finding.code));
                    }
                }
            }
            for (label, snapshot) in &examples.quiet {
                let log = fixture::example_log(snapshot);
                let found = (rule.check)(&Context::new(snapshot).with_log(log.as_ref()));
                if !found.is_empty() {
                    problems.push(format!(
                        "{}: fired on quiet example '{label}': {}",
                        rule.code, found[0].message
                    ));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// A freshly initialised cluster of every version gets nothing at warning or above.
    #[test]
    fn fresh_clusters_have_no_warning() {
        for major in 12..=18 {
            let snapshot = fixture::base(major);
            let found = crate::analysis::Analysis::new(&snapshot).findings;
            let loud: Vec<String> = found
                .iter()
                .filter(|f| f.severity >= Severity::Warning)
                .map(|f| format!("{} {}: {}", f.code, f.object, f.message))
                .collect();
            assert!(loud.is_empty(), "PostgreSQL {major}: {loud:?}");
        }
    }
}
