//! The server logged wraparound warnings, or refused commands to avoid wraparound.
//!
//! ## What it checks
//!
//! Log entries `database "x" must be vacuumed within N transactions` and the multixact forms
//! (warnings), `database is not accepting commands ... to avoid wraparound data loss` (the stop;
//! 17 reworded it to "commands that assign new transaction IDs"), `multixact "members" limit
//! exceeded`, and the "far in the past" warnings of `VACUUM` (`oldest xmin is far in the past`,
//! 16+ `cutoff for removing and freezing tuples is far in the past`, and the multixact ones).
//!
//! ## Why it matters
//!
//! The server warns only when fewer than 40 million transaction IDs are left before it stops
//! assigning them (11 million on 12-13), and stops 3 million (1 million) before wraparound:
//! from then on it accepts no command that needs a new XID until the database is vacuumed. The
//! "far in the past" warnings mean a vacuum could not freeze because the horizon was held back
//! for a very long time.
//!
//! ## How it is computed
//!
//! From `pgvac report --log`: the warnings and stops per database and kind, with the fewest IDs
//! they said were left. Warnings and stops are critical; "far in the past" alone is a warning.
//!
//! ## Fix
//!
//! `VACUUM` the database's oldest tables now (the WRAP findings name them, each with its
//! aggressive `VACUUM (INDEX_CLEANUP FALSE, VERBOSE)`; not `FREEZE`, which writes every page not
//! yet frozen) after ending what holds the horizon (`pgvac sessions`). Once the server has
//! stopped assigning IDs, follow the hint of its message: 17 and later say to run a
//! database-wide `VACUUM` in that database; 12-16 say to stop the postmaster and vacuum that
//! database in single-user mode.
//!
//! ## Version notes
//!
//! 12-13 warn 11 million and stop 1 million before wraparound; 14-18 warn 40 million and stop 3
//! million before. 17 changed the stop messages' wording ("that assign new transaction IDs",
//! "that assign new MultiXactIds") and their hint.
//!
//! ## Source
//!
//! - PostgreSQL, "Preventing Transaction ID Wraparound Failures":
//!   https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-WRAPAROUND
//! - PostgreSQL, `src/backend/access/transam/varsup.c` (`GetNewTransactionId`):
//!   https://github.com/postgres/postgres/blob/master/src/backend/access/transam/varsup.c

use crate::analysis::findings::{Finding, Object, Recommendation, Severity, group_digits};
use crate::analysis::rules::{Category, Context, Rule};
use crate::logs::event::IdKind;

pub const RULE: Rule = Rule {
    code: "LOG009",
    name: "wraparound-messages-logged",
    category: Category::Log,
    severity: Severity::Critical,
    source: include_str!("wraparound_messages_logged.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn fix() -> Recommendation {
    Recommendation::text(
        "VACUUM (INDEX_CLEANUP FALSE, VERBOSE) the database's oldest tables now (WRAP003 lists \
         them; not FREEZE, which writes every page not yet frozen), after ending what holds the \
         horizon (pgvac sessions); once the server has stopped, follow its message's hint (17+: a \
         database-wide VACUUM; 12-16: single-user mode).",
    )
}

fn check(context: &Context) -> Vec<Finding> {
    let Some(log) = context.log else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for w in &log.wraparound {
        let what = match w.id {
            IdKind::Xid => "transaction IDs",
            IdKind::Multixact => "multixact IDs",
            IdKind::MultixactMember => "multixact members",
        };
        let object = match w.database.as_deref() {
            Some(name) if !name.starts_with("OID ") => Object::database(name),
            _ => Object::Cluster,
        };
        let message = if w.stopped {
            format!(
                "the server refused commands {} times to avoid {what} wraparound ({} to {})",
                w.count,
                w.first.as_deref().unwrap_or("?"),
                w.last.as_deref().unwrap_or("?")
            )
        } else {
            format!(
                "the server warned {} times that {what} run out{} ({} to {})",
                w.count,
                w.min_remaining
                    .map(|r| format!(": {} left at the fewest", group_digits(r as i64)))
                    .unwrap_or_default(),
                w.first.as_deref().unwrap_or("?"),
                w.last.as_deref().unwrap_or("?")
            )
        };
        let mut finding = RULE.finding(object, message).with("count", w.count as i64);
        if let Some(database) = &w.database {
            finding = finding.with("database", database.as_str());
        }
        found.push(finding.recommend(fix()));
    }
    let far = &log.horizon_far_in_past;
    if far.xid + far.multixact > 0 {
        let mut finding = RULE
            .finding(
                Object::Cluster,
                format!(
                    "vacuum warned {} times that the horizon was far in the past ({} XID, {} \
                     multixact): it could not freeze",
                    far.xid + far.multixact,
                    far.xid,
                    far.multixact
                ),
            )
            .recommend(fix());
        finding.severity = Severity::Warning;
        found.push(finding);
    }
    found
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::{Fx, entries};
    crate::analysis::rules::fixture::Examples {
        fires: vec![
            (
                "a warning",
                Fx::new(16)
                    .log_text(&entries::warning(
                        "08:00:00",
                        10,
                        "database \"app\" must be vacuumed within 39000000 transactions",
                    ))
                    .done(),
            ),
            (
                "17's stop",
                Fx::new(17)
                    .log_text(&entries::error(
                        "08:00:00",
                        10,
                        "database is not accepting commands that assign new transaction IDs to \
                         avoid wraparound data loss in database \"app\"",
                    ))
                    .done(),
            ),
            (
                "far in the past",
                Fx::new(16)
                    .log_text(&entries::warning(
                        "08:00:00",
                        10,
                        "cutoff for removing and freezing tuples is far in the past",
                    ))
                    .done(),
            ),
        ],
        quiet: vec![(
            "a real 15 log",
            Fx::new(15).log_file("pg15-default.log").done(),
        )],
    }
}
