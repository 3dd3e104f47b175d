//! Table statistics are not collected (track_counts is off), so autovacuum cannot decide anything.
//!
//! ## What it checks
//!
//! The server's `track_counts` setting is `off`, or autovacuum's workers in some database have it
//! off: `ALTER DATABASE ... SET track_counts = off`, or a setting of the role the workers run as
//! (the bootstrap superuser, `postgres` on most servers) or of every role (`ALTER ROLE ALL`).
//!
//! ## Why it matters
//!
//! Autovacuum decides from the per-table counters (`n_dead_tup`, `n_ins_since_vacuum`,
//! `n_mod_since_analyze`). Without them it acts as if it were off (`AutoVacuumingActive()`).
//! Server-wide, the launcher does not run: only forced anti-wraparound vacuums happen, and only
//! once a database's `age(datfrozenxid)` passes the server's `autovacuum_freeze_max_age` (or
//! `mxid_age(datminmxid)` the multixact one). For one database's workers, the launcher still
//! visits it, but its workers act on no threshold, only on the tables past their freeze max age.
//! `pg_stat_all_tables` also stops counting in those sessions, so pgvac's per-table advice has
//! less to go on.
//!
//! ## How it is computed
//!
//! `pg_settings.track_counts` as the autovacuum model reads it (the server-wide value: pgvac's
//! session may have its own role's), and the `pg_db_role_setting` entries autovacuum's workers
//! apply in each database (see the settings model: their database's, and the bootstrap
//! superuser's). A setting of pgvac's own role reaches no worker and does not fire.
//!
//! ## Fix
//!
//! Server-wide: `ALTER SYSTEM SET track_counts = 'on'; SELECT pg_reload_conf();`
//! (superuser-settable, a reload suffices). On RDS and Aurora, in the DB parameter group. For a
//! database or role setting, the `ALTER ... RESET track_counts` that removes it (new sessions and
//! workers started after it use the server's value).
//!
//! ## Version notes
//!
//! The same in 12-18.
//!
//! ## Source
//!
//! - PostgreSQL, `track_counts`:
//!   https://www.postgresql.org/docs/current/runtime-config-statistics.html
//! - `AutoVacuumingActive` in src/backend/postmaster/autovacuum.c:
//!   https://github.com/postgres/postgres/blob/master/src/backend/postmaster/autovacuum.c

use crate::analysis::autovacuum::SettingOrigin;
use crate::analysis::findings::{Finding, Needs, Object, Recommendation, RunOn, Safety, Severity};
use crate::analysis::rules::{Category, Context, Rule};

pub const RULE: Rule = Rule {
    code: "CONFIG002",
    name: "track-counts-off",
    category: Category::Config,
    severity: Severity::Critical,
    source: include_str!("track_counts_off.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    if !context.settings.track_counts {
        return vec![
            RULE.finding(
                Object::setting("track_counts"),
                "track_counts is off: autovacuum has no counts to act on",
            )
            .with("track_counts", "off")
            .recommend(context.change_settings(
                &[("track_counts", "on".to_string())],
                "Collect table statistics again.",
            )),
        ];
    }
    // Off for some databases' workers only: one finding per setting that does it.
    let mut out: Vec<Finding> = Vec::new();
    let mut seen: Vec<SettingOrigin> = Vec::new();
    for database in context.valid_databases() {
        let origin = &context.settings.in_database(database.oid).track_counts;
        if origin.value || seen.contains(&origin.origin) {
            continue;
        }
        seen.push(origin.origin.clone());
        let every_database = matches!(
            origin.origin,
            SettingOrigin::WorkerRole { .. } | SettingOrigin::AllRoles
        );
        let (object, whose) = if every_database {
            (
                Object::setting("track_counts"),
                "every database's autovacuum workers".to_string(),
            )
        } else {
            (
                Object::database(&database.name),
                format!("the autovacuum workers of {}", database.name),
            )
        };
        let finding = RULE
            .finding(
                object,
                format!(
                    "track_counts is off for {whose} ({}): they act on no threshold, only forced \
                     anti-wraparound vacuums",
                    origin.origin.describe()
                ),
            )
            .with("track_counts", "off")
            .with("set_by", origin.origin.describe());
        let sql = origin.origin.reset_sql("track_counts");
        let fix = Recommendation {
            text: "Remove the setting: sessions and autovacuum's workers then use the server's \
                   track_counts (new sessions; a worker reads it when it starts)."
                .to_string(),
            run_on: sql.as_ref().map(|_| RunOn::Server),
            sql,
            safety: Safety::Safe,
            destructive: false,
            lock: None,
            needs: Needs::None,
            settings: Vec::new(),
            signals: Vec::new(),
        };
        out.push(finding.recommend(fix));
    }
    out
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::Fx;
    crate::analysis::rules::fixture::Examples {
        fires: vec![
            ("off", Fx::new(14).set("track_counts", "off").done()),
            (
                "off for one database's workers",
                Fx::new(16).database_setting("track_counts", "off").done(),
            ),
            (
                "off for the role workers run as",
                Fx::new(12).role_setting(0, 10, "track_counts", "of").done(),
            ),
        ],
        quiet: vec![
            ("on", Fx::new(14).done()),
            (
                "off for pgvac's own role only",
                Fx::new(17)
                    .session_setting("track_counts", "off", "user")
                    .role_setting(0, 16500, "track_counts", "off")
                    .done(),
            ),
        ],
    }
}
