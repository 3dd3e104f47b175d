//! Output of `pgvac sessions`: the blockers, and what `--terminate` did or would do, as a table
//! for people or as JSON for programs.
//!
//! The JSON is a top-level object with `schema_version` (bump it when a field is removed or
//! renamed; additions keep it). Consumers should ignore fields they do not know. Its JSON Schema
//! is committed in [`SESSIONS_SCHEMA_PATH`]; a test fails when the types no longer generate it.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use comfy_table::{ContentArrangement, Table};

use crate::analysis::Analysis;
use crate::analysis::blockers::{Blocker, HorizonSource, Severity, Thresholds};
use crate::analysis::terminate::{Excluded, Outcome};
use crate::analysis::units::duration;
use crate::render::text;
use crate::snapshot::{CollectionWarning, Missing};

pub mod wire;

/// Version of the `pgvac sessions --format json` document.
pub const SESSIONS_SCHEMA_VERSION: u32 = 1;

/// Where the JSON Schema of the document is committed.
pub const SESSIONS_SCHEMA_PATH: &str = "docs/sessions.schema.json";

/// The JSON Schema of the `pgvac sessions --format json` document.
pub fn schema() -> String {
    crate::render::json::schema_of::<wire::WireSessions<'static>>()
}

/// What `--terminate` did, or would do in a dry run.
#[derive(Debug, Clone)]
pub struct TerminateReport {
    /// `dry_run`, `to_confirm` (the plan shown before `--execute` asks for confirmation) or
    /// `execute`.
    pub mode: &'static str,
    pub outcomes: Vec<Outcome>,
    pub excluded: Vec<Excluded>,
}

/// What `pgvac sessions` shows, from one analysis; [`wire::WireSessions`] is its JSON form.
#[derive(Debug)]
pub struct SessionsReport<'a> {
    pub schema_version: u32,
    pub pgvac_version: &'static str,
    pub collected_at: DateTime<Utc>,
    pub server_version_num: i32,
    pub thresholds: &'a Thresholds,
    pub worst_severity: Severity,
    /// Whether pgvac read everything it set out to read; when false, blockers in what was not
    /// read are missing from the list (and pgvac exits 3 unless `--allow-partial`).
    pub complete: bool,
    /// What was not read (see `pgvac report`'s JSON `missing`); empty when `complete`.
    pub missing: &'a [Missing],
    /// Ranked: the one holding the horizon furthest behind first.
    pub blockers: &'a [Blocker],
    pub warnings: &'a [CollectionWarning],
    pub terminate: Option<&'a TerminateReport>,
}

impl<'a> SessionsReport<'a> {
    /// The document for an analysis (its blockers, graded by its thresholds) and, with
    /// `--terminate`, what was done or would be.
    pub fn new(analysis: &'a Analysis<'a>, terminate: Option<&'a TerminateReport>) -> Self {
        let snapshot = analysis.snapshot();
        let thresholds = &analysis.context.thresholds;
        let blockers = analysis.context.blockers.as_slice();
        SessionsReport {
            schema_version: SESSIONS_SCHEMA_VERSION,
            pgvac_version: env!("CARGO_PKG_VERSION"),
            collected_at: snapshot.server.collected_at,
            server_version_num: snapshot.server.version_num,
            thresholds,
            worst_severity: crate::analysis::blockers::worst_severity(blockers),
            complete: snapshot.is_complete(),
            missing: &snapshot.missing,
            blockers,
            warnings: &snapshot.warnings,
            terminate,
        }
    }
}

pub fn write_json(out: &mut dyn Write, report: &SessionsReport) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &wire::WireSessions::new(report))?;
    writeln!(out)
}

fn source_name(source: HorizonSource) -> &'static str {
    match source {
        HorizonSource::BackendXid => "xid",
        HorizonSource::BackendXmin => "xmin",
        HorizonSource::PreparedXid => "xid",
        HorizonSource::SlotXmin => "xmin",
        HorizonSource::SlotCatalogXmin => "catalog_xmin",
        HorizonSource::StandbyXmin => "feedback xmin",
        HorizonSource::Relfrozenxid => "relfrozenxid",
        HorizonSource::DeferCleanupAge => "deferred",
    }
}

/// Write `lines` with `first` before the first and `rest` before the others.
fn indented(out: &mut dyn Write, first: &str, rest: &str, lines: &[String]) -> io::Result<()> {
    for (i, line) in lines.iter().enumerate() {
        writeln!(out, "{}{line}", if i == 0 { first } else { rest })?;
    }
    Ok(())
}

/// Prose after `first`, wrapped to `width` columns, continued under its text.
fn prose(out: &mut dyn Write, first: &str, text: &str, width: usize) -> io::Result<()> {
    let rest = " ".repeat(text::width(first));
    let lines = text::wrap(&text::printable(text), width.saturating_sub(rest.len()));
    indented(out, first, &rest, &lines)
}

/// A statement indented by `indent` columns, wrapped where it stays the same SQL.
fn statement(out: &mut dyn Write, indent: usize, sql: &str, width: usize) -> io::Result<()> {
    let pad = " ".repeat(indent);
    let lines = text::wrap_sql(sql, width.saturating_sub(indent));
    indented(out, &pad, &pad, &lines)
}

/// The blockers as a table and, under it, each one's reasons and fixes, in `width` columns
/// (`--width`, as for the report; statements are wrapped only where that keeps them the same
/// SQL).
pub fn write_table(out: &mut dyn Write, report: &SessionsReport, width: usize) -> io::Result<()> {
    if !report.complete {
        writeln!(
            out,
            "INCOMPLETE: pgvac did not read everything; blockers in what it missed are not listed:"
        )?;
        for missing in report.missing {
            prose(out, "  not read: ", &missing.describe(), width)?;
        }
        writeln!(out)?;
    }
    if report.blockers.is_empty() {
        writeln!(out, "Nothing holds vacuum back.")?;
    } else {
        let mut table = Table::new();
        // Same look as the terminal report.
        table
            .load_style(comfy_table::presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(u16::try_from(width).unwrap_or(u16::MAX))
            .set_header([
                "#",
                "severity",
                "kind",
                "holder",
                "database",
                "holds",
                "XIDs behind",
                "for",
                "idle",
            ]);
        for (rank, blocker) in report.blockers.iter().enumerate() {
            let holds = match blocker.horizon.xid {
                Some(xid) => format!("{} {xid}", source_name(blocker.horizon.source)),
                None => source_name(blocker.horizon.source).to_string(),
            };
            table.add_row([
                (rank + 1).to_string(),
                blocker.severity.to_string(),
                blocker.kind.as_str().to_string(),
                text::printable(&blocker.identity),
                text::printable(&blocker.database.clone().unwrap_or_default()),
                holds,
                blocker.horizon.age.to_string(),
                blocker.held_secs.map(duration).unwrap_or_default(),
                blocker.idle_secs.map(duration).unwrap_or_default(),
            ]);
        }
        writeln!(out, "{table}")?;
        for (rank, blocker) in report.blockers.iter().enumerate() {
            writeln!(out)?;
            prose(out, &format!("#{} ", rank + 1), &blocker.identity, width)?;
            for reason in &blocker.reasons {
                prose(out, "   why: ", reason, width)?;
            }
            for action in &blocker.actions {
                prose(
                    out,
                    "   fix: ",
                    &format!("{} (on {})", action.summary, action.run_on),
                    width,
                )?;
                for sql in &action.statements {
                    statement(out, 8, sql, width)?;
                }
                prose(out, "        cost: ", &action.cost, width)?;
            }
        }
    }
    for warning in report.warnings {
        prose(out, "note: ", &warning.message, width)?;
    }
    if let Some(terminate) = report.terminate {
        writeln!(out)?;
        write_terminate(out, terminate, width)?;
    }
    Ok(())
}

fn write_terminate(out: &mut dyn Write, report: &TerminateReport, width: usize) -> io::Result<()> {
    if report.outcomes.is_empty() {
        writeln!(out, "No session to terminate.")?;
    }
    for outcome in &report.outcomes {
        prose(
            out,
            "",
            &format!(
                "pid {}: {} ({})",
                outcome.pid,
                outcome.outcome.as_str(),
                outcome.detail
            ),
            width,
        )?;
        statement(out, 4, &outcome.sql, width)?;
    }
    for excluded in &report.excluded {
        prose(
            out,
            "",
            &format!("pid {}: left alone ({})", excluded.pid, excluded.reason),
            width,
        )?;
    }
    if report.mode == "to_confirm" && !report.outcomes.is_empty() {
        writeln!(
            out,
            "{} to terminate (each rolls back its open transaction).",
            crate::analysis::findings::plural(report.outcomes.len(), "session", "sessions")
        )?;
    }
    if report.mode == "dry_run" && !report.outcomes.is_empty() {
        prose(
            out,
            "",
            "Dry run: nothing was terminated. Add --execute to run these statements.",
            width,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::analysis::blockers::BlockerKind;
    use crate::analysis::blockers::tests::{
        at, idle_in_transaction, orphaned, proven, session, slot, snapshot, standby, temp_database,
    };
    use crate::analysis::terminate::{Excluded, Outcome, OutcomeKind};
    use crate::render::generated;
    use crate::snapshot::{PreparedTransaction, Snapshot};

    use super::*;

    /// A snapshot with one blocker of every kind.
    fn every_kind() -> Snapshot {
        let mut snap = snapshot(vec![
            idle_in_transaction(10, 9_000, 1_000, 600),
            crate::snapshot::Session {
                state: Some("active".into()),
                xact_start: Some(at(4000)),
                backend_xmin: Some(7_000),
                backend_xmin_age: Some(3_000),
                ..session(11)
            },
            session(4242),
        ]);
        snap.prepared_transactions.push(PreparedTransaction {
            gid: "it's".into(),
            xid: 8_000,
            xid_age: 2_000,
            prepared: at(60),
            owner: "app".into(),
            database: "shop".into(),
        });
        snap.replication_slots = vec![
            slot("phys", "physical", true),
            slot("sub", "logical", false),
        ];
        // One streams through the physical slot, one without a slot (its feedback is its own).
        snap.standbys = vec![
            standby(77, "replica77", None),
            standby(78, "replica78", Some(400)),
        ];
        let mut pinned = temp_database(proven(4242), 900, 100);
        let orphaned = temp_database(orphaned(), 50, 100);
        pinned.temp_schemas.extend(orphaned.temp_schemas);
        snap.databases = vec![pinned];
        snap.warnings.push(CollectionWarning {
            source: "pg_stat_activity".into(),
            database: None,
            message: "permission denied".into(),
        });
        snap
    }

    /// Every blocker kind, and a terminate report, as `pgvac sessions --format json` writes
    /// them, is valid under the committed schema. Real runs are validated in the server tests.
    #[test]
    fn every_kind_of_blocker_validates_against_the_schema() {
        let snap = every_kind();
        let analysis = Analysis::new(&snap);
        let blockers = &analysis.context.blockers;
        let mut kinds: Vec<BlockerKind> = blockers.iter().map(|b| b.kind).collect();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), 7, "not every kind of blocker: {kinds:?}");
        let terminate = TerminateReport {
            mode: "execute",
            outcomes: vec![Outcome {
                pid: 10,
                outcome: OutcomeKind::Changed,
                detail: "another transaction".into(),
                sql: "SELECT 1".into(),
            }],
            excluded: vec![Excluded {
                pid: 11,
                reason: crate::analysis::terminate::ExclusionReason::OutsideFilters,
                refused: false,
            }],
        };
        let report = SessionsReport::new(&analysis, Some(&terminate));
        let mut out = Vec::new();
        write_json(&mut out, &report).unwrap();
        let document: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let validator = generated::validator(&schema());
        let errors = generated::errors(&validator, &document);
        assert!(errors.is_empty(), "{}", errors.join("\n"));
        // The schema is strict enough to catch a wrong type.
        let mut broken = document.clone();
        broken["blockers"][0]["horizon"]["age"] = "old".into();
        assert!(!validator.is_valid(&broken));
    }

    /// `pgvac sessions` fits its width (100 by default, like the report), with every kind of
    /// blocker and a terminate report, and the wrapped statements are still the statements.
    #[test]
    fn the_table_fits_its_width() {
        let snap = every_kind();
        let analysis = Analysis::new(&snap);
        let blockers = &analysis.context.blockers;
        let terminate = TerminateReport {
            mode: "dry_run",
            outcomes: vec![Outcome {
                pid: 10,
                outcome: OutcomeKind::Changed,
                detail: "another transaction started since the snapshot".into(),
                sql: blockers[0].actions[0].statements[0].clone(),
            }],
            excluded: vec![],
        };
        let report = SessionsReport::new(&analysis, Some(&terminate));
        for width in [80, 100, 140] {
            let mut out = Vec::new();
            write_table(&mut out, &report, width).unwrap();
            let text = String::from_utf8(out).unwrap();
            let widest = text.lines().map(text::width).max().unwrap_or(0);
            assert!(widest <= width, "{widest} > {width}:\n{text}");
            let squeezed: String = text.split_whitespace().collect();
            for blocker in blockers {
                for action in &blocker.actions {
                    for sql in &action.statements {
                        let sql: String = sql.split_whitespace().collect();
                        assert!(squeezed.contains(&sql), "{sql} lost at {width}");
                    }
                }
            }
        }
    }

    /// The committed schema is what the types generate (`UPDATE_DOCS=1 cargo test` rewrites
    /// it).
    #[test]
    fn sessions_schema_file_is_current() {
        generated::assert_current(SESSIONS_SCHEMA_PATH, &schema());
    }

    #[test]
    fn the_plan_before_a_confirmation_is_not_called_a_dry_run() {
        let snap = snapshot(vec![idle_in_transaction(10, 9_000, 1_000, 600)]);
        let analysis = Analysis::new(&snap);
        let outcomes = crate::analysis::terminate::dry_run(&analysis.terminate);
        assert_eq!(outcomes.len(), 1, "{:?}", analysis.terminate);
        let render = |mode| {
            let terminate = TerminateReport {
                mode,
                outcomes: outcomes.clone(),
                excluded: Vec::new(),
            };
            let report = SessionsReport::new(&analysis, Some(&terminate));
            let mut out = Vec::new();
            write_table(&mut out, &report, 100).unwrap();
            String::from_utf8(out).unwrap()
        };
        let confirm = render("to_confirm");
        assert!(!confirm.contains("Dry run"), "{confirm}");
        assert!(confirm.contains("1 session to terminate"), "{confirm}");
        assert!(render("dry_run").contains("Dry run: nothing was terminated"));
    }
}
