//! The server restarted after a crash and discarded its statistics: autovacuum is blind to the dead rows tables had.
//!
//! ## What it checks
//!
//! A crash restart (the postmaster ended and restarted every other process after one of them
//! crashed, or after an out-of-memory kill), and, per visited database, the tables of 1 MB or
//! more that no vacuum or analyze (manual or automatic) has visited since.
//!
//! ## Why it matters
//!
//! Recovering from a crash, the server throws its statistics away (12-14 remove the
//! statistics collector's files, 15+ drop the shared-memory statistics): `n_dead_tup`,
//! `n_mod_since_analyze` and `n_ins_since_vacuum` start again from 0, and `last_autovacuum`
//! becomes NULL. Autovacuum decides from those counters alone, so the dead rows a table had
//! before the crash no longer count toward its trigger: a table that was close to being
//! vacuumed waits until as many rows again have died, and bloats meanwhile. The statistics do
//! not say so: `pg_stat_database.stats_reset` stays as it was (NULL on most servers).
//!
//! ## How it is computed
//!
//! The crash restart shows in `pg_stat_activity`: the checkpointer (which starts with the
//! server and ends only with it) started more than 10 seconds after `pg_postmaster_start_time()`.
//! Seeing the checkpointer's `backend_start` needs `pg_read_all_stats` (or superuser); without
//! it pgvac cannot tell and the rule is quiet. The tables named are those with `relpages` of
//! 128 (1 MB) or more, ordinary tables only, whose `last_vacuum`, `last_autovacuum`,
//! `last_analyze` and `last_autoanalyze` are all NULL or older than the restart: what they
//! counted before it is gone. How many dead rows were lost is not known: the finding does not
//! guess. A clean restart later makes the crash invisible, and a table ANALYZE or VACUUM has
//! visited since is counted again: the finding then goes.
//!
//! ## Fix
//!
//! `ANALYZE` each named table (in its database): it estimates `n_live_tup` and `n_dead_tup`
//! again from a sample, and autovacuum then sees the dead rows and vacuums where a trigger is
//! passed. With more than 20 tables, `ANALYZE;` in the database does them all. ANALYZE reads a
//! sample of each table (up to 300 x `default_statistics_target` pages) and takes a SHARE UPDATE
//! EXCLUSIVE lock while it runs (it waits for DDL, and a running vacuum of the table). A big
//! table known to have had many dead rows can be vacuumed at once instead (`VACUUM (ANALYZE)
//! table`), which also counts its TOAST table's dead rows, which ANALYZE does not.
//!
//! ## Version notes
//!
//! 12-18 all discard the statistics after a crash: 12-14 in `pgstat_reset_all` (the collector's
//! files), 15+ in `pgstat_discard_stats` (the shared-memory statistics, saved only at a clean
//! shutdown).
//!
//! ## Source
//!
//! - PostgreSQL, "The Cumulative Statistics System" (statistics are discarded after a crash):
//!   https://www.postgresql.org/docs/current/monitoring-stats.html
//! - PostgreSQL, "The Autovacuum Daemon" (autovacuum decides from these counters):
//!   https://www.postgresql.org/docs/current/routine-vacuuming.html#AUTOVACUUM

use chrono::{DateTime, Utc};

use crate::analysis::blockers::crash_restart;
use crate::analysis::findings::{Finding, Needs, Object, Recommendation, RunOn, Safety, Severity};
use crate::analysis::rules::{Category, Context, Rule, TableView};
use crate::analysis::tuning::display_name;
use crate::analysis::units::duration;
use crate::snapshot::{Persistence, RelKind};
use crate::sql::quote_ident;

pub const RULE: Rule = Rule {
    code: "CONFIG008",
    name: "statistics-lost-in-crash",
    category: Category::Config,
    severity: Severity::Warning,
    source: include_str!("statistics_lost_in_crash.rs"),
    check,
    #[cfg(test)]
    examples,
};

/// Tables smaller than this many pages (1 MB) are left out: what they lost is little.
const MIN_PAGES: i64 = 128;
/// More tables than this: one `ANALYZE;` for the database.
const MAX_STATEMENTS: usize = 20;

/// Whether no vacuum or analyze has visited `view` since `restart`.
fn blind_since(view: &TableView, restart: DateTime<Utc>) -> bool {
    let Some(stats) = &view.table.stats else {
        return false;
    };
    [
        stats.last_vacuum,
        stats.last_autovacuum,
        stats.last_analyze,
        stats.last_autoanalyze,
    ]
    .into_iter()
    .flatten()
    .all(|at| at < restart)
}

fn check(context: &Context) -> Vec<Finding> {
    let Some(restart) = crash_restart(context.snapshot) else {
        return Vec::new();
    };
    let now = context.snapshot.server.collected_at;
    let mut found = Vec::new();
    for view in &context.databases {
        let mut blind: Vec<TableView> = context
            .tables()
            .filter(|v| std::ptr::eq(v.database, view.database))
            .filter(|v| v.table.kind == RelKind::Table)
            .filter(|v| v.table.persistence != Persistence::Temporary)
            .filter(|v| v.table.relpages >= MIN_PAGES)
            .filter(|v| blind_since(v, restart))
            .collect();
        if blind.is_empty() {
            continue;
        }
        blind.sort_by(|a, b| {
            b.table
                .relpages
                .cmp(&a.table.relpages)
                .then(a.table.oid.cmp(&b.table.oid))
        });
        let database = &view.database.name;
        let names: Vec<String> = blind.iter().map(display_name).collect();
        let sql = if blind.len() <= MAX_STATEMENTS {
            blind
                .iter()
                .map(|v| {
                    format!(
                        "ANALYZE {}.{};",
                        quote_ident(&v.table.schema),
                        quote_ident(&v.table.name)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            "ANALYZE;".to_string()
        };
        let shown: Vec<&str> = names.iter().take(10).map(String::as_str).collect();
        let more = names.len().saturating_sub(shown.len());
        let finding = RULE
            .finding(
                Object::database(database),
                format!(
                    "the server restarted after a crash {} ago and discarded its statistics: \
                     autovacuum no longer sees the dead rows {} {} had before it",
                    duration((now - restart).num_seconds().max(0)),
                    if blind.len() == 1 {
                        "1 table".to_string()
                    } else {
                        format!("{} tables", blind.len())
                    },
                    if more > 0 {
                        format!("({}, and {more} more)", shown.join(", "))
                    } else {
                        format!("({})", shown.join(", "))
                    }
                ),
            )
            .with("crash_restart", restart.to_rfc3339())
            .with("database", database.as_str())
            .with("tables", names.join(", "))
            .with("tables_without_statistics", names.len() as i64)
            .recommend(Recommendation {
                text: format!(
                    "ANALYZE the tables, so that autovacuum sees their dead rows again (in \
                     database {database}); a big table known to have many dead rows can be \
                     vacuumed instead (VACUUM (ANALYZE)), which also counts its TOAST table's. \
                     ANALYZE reads a sample of each table."
                ),
                sql: Some(sql),
                safety: Safety::NeedsCare,
                destructive: false,
                run_on: Some(RunOn::database(database)),
                lock: Some("SHARE UPDATE EXCLUSIVE on each table, while it runs".to_string()),
                needs: Needs::None,
                settings: Vec::new(),
                signals: Vec::new(),
            });
        found.push(finding);
    }
    found
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use chrono::Duration;

    use crate::analysis::rules::blocking::fixture::session;
    use crate::analysis::rules::fixture::{Fx, T};
    use crate::snapshot::Session;

    // A server up for a day whose checkpointer restarted `ago` seconds ago (None: never),
    // with a 100,000-row table last autovacuumed `vacuumed` seconds ago (None: never).
    let server = |crash: Option<i64>, vacuumed: Option<i64>| {
        let fx = Fx::new(16);
        let now = fx.now();
        let checkpointer = session(&fx, 90, "idle", 0, 0);
        let mut big = T::new("big").rows(100_000);
        big.0.stats.as_mut().unwrap().last_autovacuum =
            vacuumed.map(|s| now - Duration::seconds(s));
        fx.table(big)
            .with(|s| {
                s.server.postmaster_start_time = now - Duration::days(1);
                let started = crash.map_or(s.server.postmaster_start_time, |ago| {
                    now - Duration::seconds(ago)
                });
                s.sessions.push(Session {
                    backend_type: Some("checkpointer".into()),
                    backend_start: Some(started),
                    database: None,
                    user: None,
                    application_name: None,
                    client_addr: None,
                    state: None,
                    xact_start: None,
                    query_start: None,
                    state_change: None,
                    backend_xid: None,
                    backend_xid_age: None,
                    query: None,
                    ..checkpointer.clone()
                });
            })
            .done()
    };
    crate::analysis::rules::fixture::Examples {
        fires: vec![
            (
                "a crash restart an hour ago, the table never vacuumed since",
                server(Some(3600), None),
            ),
            (
                "a crash restart an hour ago, the table vacuumed before it",
                server(Some(3600), Some(7200)),
            ),
        ],
        quiet: vec![
            ("no crash restart", server(None, None)),
            (
                "the table vacuumed since the crash restart",
                server(Some(3600), Some(600)),
            ),
        ],
    }
}
