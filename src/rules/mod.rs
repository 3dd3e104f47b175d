//! The rule registry: every check pgvac makes, declared once.
//!
//! Each rule lives in its own file under `src/rules/<category>/`. The file's `//!` module doc is
//! the rule's user documentation (what `pgvac explain CODE` prints and `docs/rules.md` is made of),
//! and the file ends in a `RULE` constant naming its code, name, category, default severity and
//! check function. The [`registry!`] list below is the only place rules are listed: it declares
//! the modules and builds [`all`] from them, so a rule cannot exist without being registered.
//!
//! Rules are pure functions of a [`Context`]: the snapshot plus what the autovacuum model derives
//! from it. They never talk to PostgreSQL.
//!
//! A rule's *default* severity is the one it usually reports; a rule may report a finding at
//! another severity when the numbers call for it (the wraparound ladder goes from warning to
//! critical), and its documentation says when.

use std::collections::HashSet;

use crate::autovacuum::{self, GlobalSettings, TableAutovacuum};
use crate::findings::{
    self, Finding, Needs, Object, Recommendation, Safety, SettingChange, Severity,
};
use crate::snapshot::{Database, PlatformKind, Setting, Snapshot, Table, Visit};

pub mod blocking;
pub mod tuning;
pub mod wraparound;

#[cfg(test)]
pub mod fixture;

/// What a rule is about. Each category has its own code prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// Transaction ID and multixact wraparound.
    Wraparound,
    /// Per-table autovacuum settings.
    Table,
    /// Server-wide settings.
    Config,
    /// Vacuums running now.
    Running,
    /// What holds vacuum back (long transactions, slots, prepared transactions, ...): one rule per
    /// kind of [`crate::blockers::Blocker`].
    Blockers,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::Wraparound,
        Category::Table,
        Category::Config,
        Category::Running,
        Category::Blockers,
    ];

    /// The code prefix: `WRAP001`, `TABLE001`, ...
    pub fn prefix(self) -> &'static str {
        match self {
            Category::Wraparound => "WRAP",
            Category::Table => "TABLE",
            Category::Config => "CONFIG",
            Category::Running => "RUN",
            Category::Blockers => "BLOCK",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Category::Wraparound => "Wraparound",
            Category::Table => "Per-table settings",
            Category::Config => "Server settings",
            Category::Running => "Running vacuums",
            Category::Blockers => "Blockers",
        }
    }
}

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

/// Declares the rule modules and the registry from one list. A category with no rules yet is
/// written with empty braces.
macro_rules! registry {
    ($($category:ident { $($rule:ident),* $(,)? })*) => {
        $(
            pub mod $category {
                $(pub mod $rule;)*
            }
        )*

        /// Every rule, in declaration order.
        pub static RULES: &[&Rule] = &[$($(&$category::$rule::RULE,)*)*];
    };
}

registry! {
    wrap {
        database_xid_age_high,
        database_mxid_age_high,
        table_xid_age_high,
        table_mxid_age_high,
        anti_wraparound_vacuum_due,
        invalid_database,
    }
    table {
        dead_row_trigger_too_high,
        analyze_trigger_too_high,
        append_only_table_rarely_vacuumed,
        large_table_vacuum_throttled,
        table_autovacuum_disabled,
    }
    config {
        autovacuum_off,
        track_counts_off,
        autovacuum_logging_off,
        vacuum_cost_settings_slow,
        vacuum_memory_too_small,
        autovacuum_falling_behind,
        rds_adaptive_autovacuum,
    }
    run {
        anti_wraparound_vacuum_running,
        vacuum_running_over_a_day,
        vacuum_index_passes_repeated,
        all_autovacuum_workers_busy,
    }
    block {
        idle_in_transaction_holds_horizon,
        long_transaction_holds_horizon,
        prepared_transaction_holds_horizon,
        replication_slot_holds_horizon,
        standby_feedback_holds_horizon,
        temp_table_pins_datfrozenxid,
        orphaned_temp_schema,
    }
}

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

/// Analyse a snapshot: build the context and run every rule.
pub fn analyse(snapshot: &Snapshot) -> Vec<Finding> {
    check_all(&Context::new(snapshot))
}

/// What the rules read: the snapshot, the resolved server settings, and the autovacuum model's
/// verdict on every table of every visited database.
pub struct Context<'s> {
    pub snapshot: &'s Snapshot,
    pub settings: GlobalSettings,
    /// The visited databases with their tables' evaluations, in snapshot order.
    pub databases: Vec<DatabaseView<'s>>,
}

/// A visited database and the model's evaluation of each of its tables.
pub struct DatabaseView<'s> {
    pub database: &'s Database,
    /// Parallel to `database.tables`.
    pub evaluations: Vec<TableAutovacuum>,
}

/// One table as the rules see it.
#[derive(Clone, Copy)]
pub struct TableView<'c> {
    pub database: &'c Database,
    pub table: &'c Table,
    pub autovacuum: &'c TableAutovacuum,
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
    pub fn new(snapshot: &'s Snapshot) -> Context<'s> {
        let settings = GlobalSettings::from_snapshot(snapshot);
        let databases = snapshot
            .databases
            .iter()
            // A database read in part (a source timed out) still has true findings about
            // what was read; the run is marked incomplete elsewhere.
            .filter(|d| d.visit.was_read() && !d.is_invalid())
            .map(|database| DatabaseView {
                database,
                evaluations: autovacuum::evaluate_database(&settings, database),
            })
            .collect();
        Context {
            snapshot,
            settings,
            databases,
        }
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
                .map(move |(table, autovacuum)| TableView {
                    database: view.database,
                    table,
                    autovacuum,
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
    let mut problems = Vec::new();
    let mut codes = HashSet::new();
    let mut names = HashSet::new();
    for rule in RULES {
        if !codes.insert(rule.code) {
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
                let found = (rule.check)(&Context::new(snapshot));
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
                let found = (rule.check)(&Context::new(snapshot));
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
            let found = analyse(&snapshot);
            let loud: Vec<String> = found
                .iter()
                .filter(|f| f.severity >= Severity::Warning)
                .map(|f| format!("{} {}: {}", f.code, f.object, f.message))
                .collect();
            assert!(loud.is_empty(), "PostgreSQL {major}: {loud:?}");
        }
    }
}
