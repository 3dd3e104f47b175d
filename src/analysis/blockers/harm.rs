//! The harm a blocker does now, by the tables it pins: which tables' dead rows it keeps
//! (their last vacuum ended after its horizon was fixed), which of those are far over their
//! trigger, and whether the statistics that tell it were lost in a crash restart. Judged from
//! the snapshot alone: what `n_dead_tup` cannot tell is said, not guessed.

use chrono::{DateTime, Utc};

use super::{Blocker, HorizonSource};
use crate::analysis::units::duration;
use crate::snapshot::{Database, Snapshot, Table};

impl Blocker {
    /// Whether this blocker holds back the removal of dead rows of `table` (of `database`;
    /// `owner` is a TOAST table's owner): a session's or prepared transaction's horizon holds
    /// its own database (the shared catalogs of every database too, not counted here), a slot's
    /// `xmin`, a standby's feedback and `vacuum_defer_cleanup_age` hold every table, a logical
    /// slot's `catalog_xmin` the catalogs (schema `pg_catalog`, and user catalog tables) only,
    /// and a temporary table's `relfrozenxid` no dead rows at all.
    pub fn holds_dead_rows_of(&self, database: &str, table: &Table, owner: Option<&Table>) -> bool {
        match self.horizon.source {
            HorizonSource::Relfrozenxid => false,
            HorizonSource::SlotCatalogXmin => {
                let catalog = |t: &Table| {
                    t.schema == "pg_catalog"
                        || t.reloptions
                            .iter()
                            .any(|o| o.eq_ignore_ascii_case("user_catalog_table=true"))
                };
                catalog(table) || owner.is_some_and(catalog)
            }
            HorizonSource::SlotXmin
            | HorizonSource::StandbyXmin
            | HorizonSource::DeferCleanupAge => true,
            HorizonSource::BackendXid | HorizonSource::BackendXmin | HorizonSource::PreparedXid => {
                self.database.as_deref().is_none_or(|db| db == database)
            }
        }
    }
}

/// A table whose dead rows the blocker that holds its horizon keeps: the table's last vacuum
/// (manual or autovacuum) ended after that blocker's horizon was already fixed
/// ([`Blocker::fixed_since`]). That vacuum could not remove a row deleted by a transaction
/// newer than the held XID, and no vacuum can until the blocker lets go; the dead rows counted
/// since it ran were all deleted after the horizon was fixed. What `n_dead_tup` does not tell
/// is how many of the rows that vacuum left were older: the count is what is dead now, most of
/// it (all that came after the vacuum) pinned.
#[derive(Debug, Clone, PartialEq)]
pub struct Pinned {
    /// Index of the blocker in the ranked list.
    pub blocker: usize,
    pub database: String,
    pub oid: u32,
    /// `schema.name`, or `TOAST table of schema.name`.
    pub name: String,
    /// When its last vacuum ended (`last_vacuum` or `last_autovacuum`, the later).
    pub last_vacuum: DateTime<Utc>,
    /// `n_dead_tup` now.
    pub dead_rows: i64,
    /// Its dead-row trigger, as autovacuum computes it.
    pub trigger_rows: f64,
}

/// Every table whose dead rows are pinned by the blocker holding its horizon (the oldest one
/// that holds back that table), from the tables of the visited databases and the model's
/// verdict on each (parallel slices). A table whose oldest blocker has no proven
/// [`Blocker::fixed_since`] is not claimed, whatever younger blockers do: ending those would
/// not free it.
pub fn pinned_tables(
    blockers: &[Blocker],
    databases: &[(&Database, &[crate::analysis::autovacuum::TableAutovacuum])],
) -> Vec<Pinned> {
    let mut pinned = Vec::new();
    for (database, evaluations) in databases {
        for (table, evaluation) in database.tables.iter().zip(evaluations.iter()) {
            let Some(stats) = &table.stats else { continue };
            let Some(dead_rows) = stats.n_dead_tup.filter(|&d| d > 0) else {
                continue;
            };
            let Some(last_vacuum) = stats.last_vacuum.max(stats.last_autovacuum) else {
                continue;
            };
            let owner = table
                .owner_oid
                .and_then(|oid| database.tables.iter().find(|t| t.oid == oid));
            let Some(index) = blockers
                .iter()
                .position(|b| b.holds_dead_rows_of(&database.name, table, owner))
            else {
                continue;
            };
            if blockers[index]
                .fixed_since
                .is_none_or(|fixed| last_vacuum <= fixed)
            {
                continue;
            }
            let name = match owner.filter(|_| table.kind == crate::snapshot::RelKind::Toast) {
                Some(owner) => format!("TOAST table of {}.{}", owner.schema, owner.name),
                None => format!("{}.{}", table.schema, table.name),
            };
            pinned.push(Pinned {
                blocker: index,
                database: database.name.clone(),
                oid: table.oid,
                name,
                last_vacuum,
                dead_rows,
                trigger_rows: evaluation.dead_rows.rows,
            });
        }
    }
    pinned
}

/// Dead rows a pinned table must have to count as harm: fewer are a few pages at most.
pub const HARM_MIN_DEAD_ROWS: i64 = 1_000;
/// ... and how many times its trigger: far over it, after a vacuum since the horizon was fixed.
pub const HARM_TRIGGER_FACTOR: f64 = 2.0;

/// The harm a blocker does now, by the tables it pins: dead rows it keeps in tables vacuumed
/// since its horizon was fixed that are still far over their trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct Harm {
    /// Index of the blocker in the ranked list.
    pub blocker: usize,
    /// The tables, the most dead rows first.
    pub tables: Vec<Pinned>,
}

/// The blockers that harm tables now, the most harmful first (most dead rows kept): a blocker
/// whose horizon has been fixed for at least one `autovacuum_naptime` (the daemon has had a
/// round since), pinning tables with at least [`HARM_MIN_DEAD_ROWS`] dead rows and more than
/// [`HARM_TRIGGER_FACTOR`] times their trigger. Young holders on busy systems (every OLTP
/// server has a snapshot a few milliseconds old) are left out by the first condition; the
/// size of a table is not a condition: small hot tables are where a held horizon hurts first.
pub fn harm(
    blockers: &[Blocker],
    pinned: &[Pinned],
    naptime: std::time::Duration,
    now: DateTime<Utc>,
) -> Vec<Harm> {
    let naptime = chrono::Duration::from_std(naptime).unwrap_or(chrono::Duration::MAX);
    let mut found: Vec<Harm> = Vec::new();
    for p in pinned {
        let held_long_enough = blockers[p.blocker]
            .fixed_since
            .is_some_and(|fixed| now - fixed >= naptime);
        let far_over = p.dead_rows >= HARM_MIN_DEAD_ROWS
            && p.dead_rows as f64 > HARM_TRIGGER_FACTOR * p.trigger_rows;
        if !(held_long_enough && far_over) {
            continue;
        }
        match found.iter_mut().find(|h| h.blocker == p.blocker) {
            Some(h) => h.tables.push(p.clone()),
            None => found.push(Harm {
                blocker: p.blocker,
                tables: vec![p.clone()],
            }),
        }
    }
    for h in &mut found {
        h.tables
            .sort_by(|a, b| b.dead_rows.cmp(&a.dead_rows).then(a.name.cmp(&b.name)));
    }
    let total = |h: &Harm| h.tables.iter().map(|t| t.dead_rows).sum::<i64>();
    found.sort_by(|a, b| total(b).cmp(&total(a)).then(a.blocker.cmp(&b.blocker)));
    found
}

/// The reason a harmful blocker gets: the tables it keeps dead rows in.
pub fn harm_reason(harm: &Harm, now: DateTime<Utc>) -> String {
    let worst = &harm.tables[0];
    let mut reason = format!(
        "holds dead rows in {}.{}: {} dead rows, {:.0} times its trigger, although it was \
         vacuumed {} ago, after this horizon was fixed",
        worst.database,
        worst.name,
        crate::analysis::findings::group_digits(worst.dead_rows),
        worst.dead_rows as f64 / worst.trigger_rows.max(1.0),
        duration((now - worst.last_vacuum).num_seconds().max(0))
    );
    if harm.tables.len() > 1 {
        reason.push_str(&format!(" and in {} more tables", harm.tables.len() - 1));
    }
    reason
}

/// When the server last restarted after a crash, if it did: the checkpointer restarts with
/// every other process then, while the postmaster keeps its start time.
pub fn crash_restart(snapshot: &Snapshot) -> Option<DateTime<Utc>> {
    let checkpointer = snapshot
        .sessions
        .iter()
        .find(|s| s.backend_type.as_deref() == Some("checkpointer"))?
        .backend_start?;
    let started = snapshot.server.postmaster_start_time;
    (checkpointer - started > chrono::Duration::seconds(10)).then_some(checkpointer)
}
