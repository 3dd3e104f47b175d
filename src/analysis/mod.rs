//! The analysis of a snapshot: what autovacuum will do with each table ([`autovacuum`]), with
//! the settings its workers use in each database ([`settings`]), what holds vacuum back
//! ([`blockers`]), the per-table advice ([`tuning`]), the wraparound ladder
//! ([`wraparound`]) and the rules that turn them into [`findings`].
//!
//! Everything here is a pure function of a [`crate::snapshot::Snapshot`]: no I/O, no clock, no
//! environment. It may import `snapshot` and `sql` (quoting), nothing else of pgvac.

pub mod autovacuum;
pub mod blockers;
pub mod computed;
pub mod findings;
pub mod rules;
pub mod settings;
pub mod terminate;
pub mod trends;
pub mod tuning;
pub mod units;
pub mod wraparound;

use crate::analysis::trends::Trends;
use crate::logs::LogSummary;
use crate::snapshot::Snapshot;

use blockers::Thresholds;
use findings::Finding;
use rules::Context;

/// One analysis of one snapshot, computed once per run: the model's verdict on every table, the
/// per-table advice, what holds vacuum back, every rule's findings, the sessions
/// `--terminate` would end by default, and the trends against earlier runs. Every renderer,
/// `pgvac sessions`, `--terminate` and the exit status read this; none computes any of it again.
pub struct Analysis<'s> {
    /// The snapshot, the model, the plans and the blockers.
    pub context: Context<'s>,
    /// Every finding, in display order.
    pub findings: Vec<Finding>,
    /// What `pgvac sessions --terminate` ends with no filters, which is also what a report
    /// recommends terminating.
    pub terminate: terminate::Plan,
    /// Trends against the earlier runs, with `--history`.
    pub trends: Option<Trends>,
    /// Findings left out with `--ignore`: each code and how many of its findings it hid.
    pub ignored: Vec<(&'static str, usize)>,
}

impl<'s> Analysis<'s> {
    /// Analyse `snapshot` with the default blocker thresholds (what `pgvac report` uses).
    pub fn new(snapshot: &'s Snapshot) -> Analysis<'s> {
        Analysis::with_thresholds(snapshot, Thresholds::default())
    }

    /// Analyse `snapshot`, grading blockers by `thresholds`.
    pub fn with_thresholds(snapshot: &'s Snapshot, thresholds: Thresholds) -> Analysis<'s> {
        Analysis::build(snapshot, thresholds, None)
    }

    /// Analyse `snapshot`, grading blockers by `thresholds`, with what a server log says
    /// (`pgvac report --log`): the LOG rules speak, and findings the log contradicts say so.
    pub fn build(
        snapshot: &'s Snapshot,
        thresholds: Thresholds,
        log: Option<&'s LogSummary>,
    ) -> Analysis<'s> {
        let context = Context::with_thresholds(snapshot, thresholds).with_log(log);
        let mut findings = rules::check_all(&context);
        if log.is_some() {
            rules::logged::note_contradictions(&context, &mut findings);
        }
        let terminate =
            terminate::plan(snapshot, &context.blockers, &terminate::Filters::default());
        Analysis {
            context,
            findings,
            terminate,
            trends: None,
            ignored: Vec::new(),
        }
    }

    /// Leave out the findings of these rules (`--ignore`, for findings a team accepts): they
    /// are in no view and do not count for the exit status; `ignored` says how many went.
    pub fn ignoring(mut self, codes: &[&'static str]) -> Analysis<'s> {
        for &code in codes {
            let before = self.findings.len();
            self.findings.retain(|f| f.code != code);
            if !self.ignored.iter().any(|(c, _)| *c == code) {
                self.ignored.push((code, before - self.findings.len()));
            }
        }
        self
    }

    /// Add the trends against earlier runs.
    pub fn with_trends(mut self, trends: Option<Trends>) -> Analysis<'s> {
        self.trends = trends;
        self
    }

    pub fn snapshot(&self) -> &'s Snapshot {
        self.context.snapshot
    }

    /// The sessions `--terminate` would end with these filters: the same blockers, narrowed.
    pub fn terminate_plan(&self, filters: &terminate::Filters) -> terminate::Plan {
        terminate::plan(self.context.snapshot, &self.context.blockers, filters)
    }
}
