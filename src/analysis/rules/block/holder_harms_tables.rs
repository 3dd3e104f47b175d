//! Something that holds the xmin horizon keeps tables far over their trigger now.
//!
//! ## What it checks
//!
//! Each holder of the horizon (a session, a prepared transaction, an inactive slot) by the harm
//! it does now rather than by its age: tables that were vacuumed after its horizon was fixed
//! and are still far over their dead-row trigger. It names the holder and those tables, with
//! the XID it holds. It fires however young the holder is: a reporting job's REPEATABLE READ
//! snapshot of two minutes beside a busy application is enough.
//!
//! ## Why it matters
//!
//! A vacuum cannot remove a row that a transaction newer than the held XID deleted. Small hot
//! tables (queues, counters, sessions tables, pgbench's tellers and branches) are where it
//! hurts first: autovacuum vacuums them again and again, each run removes nothing, and they
//! grow from a few pages to thousands, with every query reading the dead rows. The holder is
//! younger than the age thresholds of BLOCK001-BLOCK003 (5 minutes idle, 1 hour open), so
//! nothing else says so.
//!
//! ## How it is computed
//!
//! From the snapshot alone, what is proven:
//! - when the holder's horizon was already fixed: a session idle in transaction since
//!   `state_change` (nothing takes a snapshot while idle), a running one since `query_start`
//!   (its statement's snapshot or an older one holds it), a prepared transaction since it was
//!   prepared, an inactive slot since `inactive_since` (17+). Holders whose horizon moves
//!   (hidden sessions, active slots, standbys) are not judged;
//! - the table's last vacuum (`last_vacuum` or `last_autovacuum`, the later) ended after that
//!   time: it could not remove what was deleted after the horizon, and its count of dead rows
//!   left (`n_dead_tup`) plus those deleted since are all rows no vacuum can remove while the
//!   holder holds;
//! - the holder is the oldest one that applies to that table (a session's or prepared
//!   transaction's horizon holds its own database; a slot's `xmin` every database; a logical
//!   slot's `catalog_xmin` the catalogs only). When the oldest one is not proven fixed, the
//!   table is not claimed: ending a younger holder would not free it.
//!
//! It fires when the horizon has been fixed for at least one `autovacuum_naptime` and a table
//! has at least 1,000 dead rows and more than twice its trigger (the model's, as autovacuum
//! computes it). The size of the table is no condition. The holder's severity becomes at least
//! a warning, so `pgvac sessions --terminate` includes a client session; a blocker named here
//! is not named again by its kind's rule, whose reasons (its age) are in this finding's notes.
//! What `n_dead_tup` cannot tell: how many of the rows the last vacuum left were deleted before
//! the horizon was fixed by a transaction still running then (those are counted too).
//!
//! ## Fix
//!
//! The holder's own fix, as its kind's rule gives it: terminate the session with the guarded
//! statement (its transaction rolls back), commit or roll back the prepared transaction, drop
//! or advance the slot. For a reporting job: run it on a standby, or as several short
//! transactions. The next autovacuum of each table then removes the rows; the space already
//! grown is reused, not returned (`VACUUM FULL` or `pg_repack` returns it).
//!
//! ## Version notes
//!
//! Same on 12-18; `inactive_since` (17+) is needed to judge an inactive slot.
//!
//! ## Source
//!
//! - PostgreSQL, "Routine Vacuuming", recovering disk space:
//!   https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-SPACE-RECOVERY
//! - PostgreSQL, "The Statistics Collector" (`n_dead_tup`, `last_autovacuum`, `state_change`):
//!   https://www.postgresql.org/docs/current/monitoring-stats.html

use crate::analysis::blockers;
use crate::analysis::findings::{Finding, Severity, group_digits};
use crate::analysis::rules::{Category, Context, Rule};
use crate::analysis::units::duration;

pub const RULE: Rule = Rule {
    code: "BLOCK010",
    name: "holder-harms-tables",
    category: Category::Blockers,
    severity: Severity::Warning,
    source: include_str!("holder_harms_tables.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    let now = context.snapshot.server.collected_at;
    context
        .harm
        .iter()
        .map(|harm| {
            let blocker = &context.blockers[harm.blocker];
            let reason = blockers::harm_reason(harm, now);
            let mut finding = crate::analysis::rules::blocking::finding(&RULE, blocker);
            finding.message = format!(
                "{} {reason}; it holds the horizon {} XIDs behind",
                blocker.identity,
                group_digits(blocker.horizon.age)
            );
            finding.evidence.retain(|(key, value)| {
                !(key == "note"
                    && matches!(value, crate::analysis::findings::Value::Text(t) if *t == reason))
            });
            if let Some(first) = blocker.reasons.first().filter(|r| **r != reason) {
                finding = finding.with("note", first.as_str());
            }
            let tables: Vec<String> = harm
                .tables
                .iter()
                .map(|t| {
                    format!(
                        "{}.{} ({} dead rows, {:.0}x its trigger, vacuumed {} ago)",
                        t.database,
                        t.name,
                        group_digits(t.dead_rows),
                        t.dead_rows as f64 / t.trigger_rows.max(1.0),
                        duration((now - t.last_vacuum).num_seconds().max(0))
                    )
                })
                .collect();
            let dead: i64 = harm.tables.iter().map(|t| t.dead_rows).sum();
            if let Some(fixed) = blocker.fixed_since {
                finding = finding.with("horizon_fixed_seconds", (now - fixed).num_seconds().max(0));
            }
            finding
                .with("tables", tables.join(", "))
                .with("harmed_tables", harm.tables.len() as i64)
                .with("dead_rows_held", dead)
        })
        .collect()
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use chrono::Duration;

    use crate::analysis::rules::blocking::fixture;
    use crate::analysis::rules::fixture::{Fx, T};

    // A reporting job idle in transaction for `idle` seconds beside a 300-row hot table
    // autovacuumed `vacuumed` seconds ago with 50,000 dead rows.
    let job = |idle: i64, vacuumed: i64| {
        let fx = Fx::new(16);
        let now = fx.now();
        let session = fixture::session(&fx, 4242, "idle in transaction", idle, 1_000);
        let mut tellers = T::new("tellers").rows(300).dead(50_000);
        tellers.0.stats.as_mut().unwrap().last_autovacuum = Some(now - Duration::seconds(vacuumed));
        fx.table(tellers).with(|s| s.sessions.push(session)).done()
    };
    crate::analysis::rules::fixture::Examples {
        fires: vec![(
            "idle 2 minutes, the hot table vacuumed 20 s ago and 50,000 dead rows",
            job(120, 20),
        )],
        quiet: vec![
            (
                "the table was last vacuumed before the snapshot began",
                job(120, 600),
            ),
            ("the horizon fixed for less than a naptime", job(30, 20)),
        ],
    }
}
