//! What the BLOCK rules share: each turns the blockers of one kind (see [`crate::analysis::blockers`])
//! into findings, with the blocker's numbers as evidence and its recommended action as the fix.
//!
//! A blocker becomes a finding at warning or above (the thresholds of
//! [`crate::analysis::blockers::Thresholds`]' defaults): an idle transaction of a few seconds holds the
//! horizon too, but is not worth a line in a report. `pgvac sessions` lists every blocker.

use crate::analysis::blockers::{Blocker, BlockerKind, Holder};
use crate::analysis::findings::{self, Finding, Object, Recommendation};
use crate::analysis::rules::{Context, Rule};

/// The findings of `rule` for the blockers of `kind` at `min` severity or above. A blocker that
/// harms tables now is BLOCK010's (one finding a blocker): its age is in that finding's notes.
pub fn findings(
    context: &Context,
    rule: &Rule,
    kind: BlockerKind,
    min: findings::Severity,
) -> Vec<Finding> {
    context
        .blockers
        .iter()
        .enumerate()
        .filter(|(i, _)| !context.harm.iter().any(|h| h.blocker == *i))
        .map(|(_, b)| b)
        .filter(|b| b.kind == kind)
        .filter(|b| b.severity >= min)
        .map(|b| finding(rule, b))
        .collect()
}

/// What a finding about `blocker` is about.
pub fn object(blocker: &Blocker) -> Object {
    match &blocker.holder {
        Holder::Session { pid, .. } | Holder::Standby { pid, .. } => Object::Session {
            pid: *pid,
            database: blocker.database.clone(),
        },
        Holder::PreparedTransaction { gid, .. } => Object::PreparedTransaction {
            gid: gid.clone(),
            database: blocker.database.clone().unwrap_or_default(),
        },
        Holder::ReplicationSlot { slot_name, .. } => Object::ReplicationSlot {
            name: slot_name.clone(),
        },
        Holder::TempTable { .. } | Holder::OrphanedTempSchema { .. } => {
            Object::database(blocker.database.as_deref().unwrap_or_default())
        }
        Holder::Setting { name, .. } => Object::setting(name),
    }
}

/// The finding of `rule` about `blocker`: its numbers as evidence, its first action as the fix.
pub fn finding(rule: &Rule, blocker: &Blocker) -> Finding {
    let behind = findings::group_digits(blocker.horizon.age);
    let mut message = format!(
        "{} holds the horizon {behind} XIDs behind",
        blocker.identity
    );
    if let Some(reason) = blocker.reasons.first() {
        message = format!("{message}: {reason}");
    }
    let mut finding = rule.finding(object(blocker), message);
    finding.severity = blocker.severity;
    if let Some(xid) = blocker.horizon.xid {
        finding = finding.with("held_xid", xid);
    }
    finding = finding.with("held_xid_age", blocker.horizon.age);
    if let Some(database) = &blocker.database {
        finding = finding.with("database", database.as_str());
    }
    if let Some(secs) = blocker.held_secs {
        finding = finding.with("held_seconds", secs);
    }
    if let Some(secs) = blocker.idle_secs {
        finding = finding.with("idle_seconds", secs);
    }
    for reason in blocker.reasons.iter().skip(1) {
        finding = finding.with("note", reason.as_str());
    }
    if let Some(action) = blocker.actions.first() {
        finding = finding.recommend(Recommendation {
            text: format!(
                "{} (run on {}). Cost: {}.",
                capitalise(&action.summary),
                action.run_on,
                action.cost
            ),
            sql: (!action.statements.is_empty()).then(|| action.statements.join("\n")),
            safety: action.safety,
            destructive: action.destructive,
            run_on: (!action.statements.is_empty()).then(|| action.run_on.clone()),
            lock: action.lock.clone(),
            needs: action.needs,
            settings: Vec::new(),
            signals: action.signal.iter().cloned().collect(),
        });
    }
    finding
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Test snapshots for the BLOCK rules.
#[cfg(test)]
pub mod fixture {
    use chrono::Duration;

    use crate::analysis::rules::fixture::Fx;
    use crate::snapshot::{PreparedTransaction, ReplicationSlot, Session, Snapshot};

    /// A proven owner, pid `pid` (started at the fixture's epoch).
    pub fn owned(pid: i32) -> crate::snapshot::TempOwner {
        crate::snapshot::TempOwner::Known {
            pid,
            source: "index_lock".into(),
            backend_start: Some(Fx::new(16).now() - Duration::seconds(3600)),
            proof: format!("pid {pid} holds AccessShareLock on btree index pg_temp_3.scratch_pkey"),
        }
    }

    /// An owner not proven: pid `pid` only has the backend id.
    pub fn unproven(pid: i32) -> crate::snapshot::TempOwner {
        crate::snapshot::TempOwner::Unknown {
            candidate: Some(crate::snapshot::TempCandidate {
                pid,
                backend_start: None,
            }),
            reason: format!("pid {pid} has backend id 3 in this database, but it is idle"),
        }
    }

    /// No owner.
    pub fn orphaned() -> crate::snapshot::TempOwner {
        crate::snapshot::TempOwner::Orphaned {
            reason: "no session connected to this database has backend id 3".into(),
        }
    }

    /// Database `app` with an old table and a temp table `scratch` (in `pg_temp_3`) that is
    /// `age` XIDs old, owned as `owner` says.
    pub fn temp_schema(owner: crate::snapshot::TempOwner, age: i64) -> Snapshot {
        use crate::analysis::rules::fixture::T;
        use crate::snapshot::{Persistence, TempSchema};
        let mut fx = Fx::new(16).table(T::new("orders").xid_age(1_000)).table(
            T::new("scratch")
                .schema("pg_temp_3")
                .persistence(Persistence::Temporary)
                .xid_age(age),
        );
        let oid = fx
            .app()
            .tables
            .iter()
            .find(|t| t.name == "scratch")
            .map(|t| t.oid)
            .unwrap_or(0);
        fx.app().temp_schemas.push(TempSchema {
            schema: "pg_temp_3".into(),
            backend_id: 3,
            owner,
            table_oids: vec![oid],
        });
        fx.done()
    }

    /// A client session of `app` in database `app`, `state` for `secs` seconds, its transaction
    /// holding `xid` that is `age` XIDs old.
    pub fn session(fx: &Fx, pid: i32, state: &str, secs: i64, age: i64) -> Session {
        let now = fx.now();
        Session {
            pid,
            database: Some("app".into()),
            user: Some("app".into()),
            application_name: Some("web".into()),
            client_addr: Some("10.0.0.5".into()),
            backend_type: Some("client backend".into()),
            state: Some(state.into()),
            backend_start: Some(now - Duration::seconds(secs + 60)),
            xact_start: Some(now - Duration::seconds(secs)),
            query_start: Some(now - Duration::seconds(secs)),
            state_change: Some(now - Duration::seconds(secs)),
            backend_xid: Some(1000),
            backend_xmin: None,
            backend_xid_age: Some(age),
            backend_xmin_age: None,
            wait_event_type: None,
            wait_event: None,
            query: Some("UPDATE orders SET paid = true".into()),
            leader_pid: None,
            is_pgvac: false,
            redacted: false,
        }
    }

    pub fn with_session(state: &str, secs: i64, age: i64) -> Snapshot {
        let fx = Fx::new(16);
        let s = session(&fx, 4242, state, secs, age);
        fx.with(|snap| snap.sessions.push(s)).done()
    }

    pub fn with_prepared(secs: i64, age: i64) -> Snapshot {
        let fx = Fx::new(16);
        let prepared = PreparedTransaction {
            gid: "order-17".into(),
            xid: 1000,
            xid_age: age,
            prepared: fx.now() - Duration::seconds(secs),
            owner: "app".into(),
            database: "app".into(),
        };
        fx.with(|s| s.prepared_transactions.push(prepared)).done()
    }

    pub fn slot(kind: &str, active: bool, age: i64) -> ReplicationSlot {
        let logical = kind == "logical";
        ReplicationSlot {
            slot_name: format!("{kind}_slot"),
            slot_type: kind.into(),
            plugin: logical.then(|| "pgoutput".to_string()),
            database: logical.then(|| "app".to_string()),
            temporary: false,
            active,
            active_pid: active.then_some(77),
            xmin: (!logical).then_some(1000),
            xmin_age: (!logical).then_some(age),
            catalog_xmin: logical.then_some(1000),
            catalog_xmin_age: logical.then_some(age),
            restart_lsn: None,
            confirmed_flush_lsn: None,
            wal_status: None,
            safe_wal_size: None,
            inactive_since: None,
            invalidation_reason: None,
        }
    }

    pub fn with_slot(kind: &str, active: bool, age: i64) -> Snapshot {
        let slot = slot(kind, active, age);
        Fx::new(16).with(|s| s.replication_slots.push(slot)).done()
    }
}
