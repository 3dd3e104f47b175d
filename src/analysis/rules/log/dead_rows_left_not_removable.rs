//! Vacuums of a table left many dead rows behind because something held the xmin horizon back.
//!
//! ## What it checks
//!
//! Tables with a logged vacuum that left at least 10,000 dead rows "dead but not yet removable",
//! and at least a tenth of the dead rows it found. The finding ties the horizon the run had to
//! keep (`removable cutoff`, 15+, or `oldest xmin`, 12-14) to what holds the horizon in the
//! snapshot now.
//!
//! ## Why it matters
//!
//! Vacuum may only remove a row version that no transaction can still see. A session idle in
//! transaction, a long query, a prepared transaction, a replication slot or a standby with
//! `hot_standby_feedback` holds the horizon back; vacuum then does all the work of scanning the
//! table and removes nothing, and comes back to do it again: the table bloats while autovacuum
//! looks busy.
//!
//! ## How it is computed
//!
//! From `pgvac report --log`: per table, the run with the most rows not yet removable. Its
//! cutoff is a 32-bit XID, as the horizon of each blocker pgvac finds in the snapshot
//! (`pgvac sessions`): a blocker holding exactly that XID held this run back and still holds;
//! blockers holding other XIDs are listed as what holds the horizon now. When the snapshot has no
//! blocker, the holder is gone (or the log is older than the snapshot).
//!
//! ## Fix
//!
//! End what holds the horizon: `pgvac sessions` lists the blockers with the SQL that releases
//! each (`--terminate` for sessions). Then the next vacuum removes the rows.
//!
//! ## Version notes
//!
//! 12-14 log `oldest xmin: N` on the tuples line; 15+ log `removable cutoff: N, which was M XIDs
//! old when operation ended`, so only 15+ say how far behind the horizon was.
//!
//! ## Source
//!
//! - PostgreSQL, "Routine Vacuuming", recovering disk space:
//!   https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-SPACE-RECOVERY
//! - RDS guide, blockers of vacuum (`postgres_get_av_diag()`):
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html

use crate::analysis::blockers::{HorizonSource, Thresholds, find_blockers};
use crate::analysis::findings::{Finding, Recommendation, Severity, group_digits};
use crate::analysis::rules::logged::object;
use crate::analysis::rules::{Category, Context, Rule};

pub const RULE: Rule = Rule {
    code: "LOG003",
    name: "dead-rows-left-not-removable",
    category: Category::Log,
    severity: Severity::Warning,
    source: include_str!("dead_rows_left_not_removable.rs"),
    check,
    #[cfg(test)]
    examples,
};

/// Dead rows one run left behind that make a finding.
const LEFT: u64 = 10_000;

fn check(context: &Context) -> Vec<Finding> {
    let Some(log) = context.log else {
        return Vec::new();
    };
    let blockers = find_blockers(context.snapshot, &Thresholds::default());
    let mut found = Vec::new();
    for row in &log.tables {
        let Some(worst) = &row.worst_not_removable else {
            continue;
        };
        let left = worst.tuples_not_removable;
        let removed = worst.tuples_removed.unwrap_or(0);
        if left < LEFT || left * 10 < left + removed {
            continue;
        }
        let mut message = format!(
            "a vacuum at {} left {} dead rows it could not remove yet (it removed {})",
            worst.at.as_deref().unwrap_or("?"),
            group_digits(left as i64),
            group_digits(removed as i64)
        );
        if let Some(cutoff) = worst.cutoff_xid {
            message.push_str(&format!(": the horizon was XID {cutoff}"));
            if let Some(age) = worst.cutoff_age {
                message.push_str(&format!(", {} XIDs old", group_digits(age)));
            }
        }
        let relevant: Vec<_> = blockers
            .iter()
            .filter(|b| b.horizon.source != HorizonSource::Relfrozenxid)
            .filter(|b| b.database.is_none() || b.database.as_deref() == row.database.as_deref())
            .collect();
        let same = worst.cutoff_xid.and_then(|cutoff| {
            relevant
                .iter()
                .find(|b| b.horizon.xid == i64::try_from(cutoff).ok())
        });
        let mut finding = RULE.finding(object(context, row), String::new());
        match (same, relevant.first()) {
            (Some(blocker), _) => {
                message.push_str(&format!(
                    "; {} holds that XID now: it held this run back",
                    blocker.identity
                ));
                finding = finding.with("held_by", blocker.identity.as_str());
            }
            (None, Some(oldest)) => {
                message.push_str(&format!(
                    "; now {} holds the horizon at XID {}",
                    oldest.identity,
                    oldest
                        .horizon
                        .xid
                        .map_or("?".to_string(), |x| x.to_string())
                ));
                finding = finding.with("held_now_by", oldest.identity.as_str());
            }
            (None, None) => {
                message.push_str(
                    "; nothing holds the horizon in the snapshot now: the holder is gone",
                );
            }
        }
        finding.message = message;
        finding = finding
            .with("tuples_not_removable", left as i64)
            .with("tuples_removed", removed as i64);
        if let Some(cutoff) = worst.cutoff_xid {
            finding = finding.with("cutoff_xid", cutoff as i64);
        }
        if let Some(age) = worst.cutoff_age {
            finding = finding.with("cutoff_age", age);
        }
        found.push(finding.recommend(Recommendation::text(
            "End what holds the xmin horizon: `pgvac sessions` lists the blockers with the SQL \
             that releases each; the next vacuum then removes these rows.",
        )));
    }
    found
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::entries::{self, Dead};
    use crate::analysis::rules::fixture::{Fx, T};
    let held = Dead {
        removed: 100,
        left: 250_000,
        cutoff: 5000,
        cutoff_age: 1_200_000,
        elapsed: 40.0,
    };
    let log = entries::vacuum("08:00:00", 100, "vacuum ", "app.public.orders", 1, held);
    let clean = entries::vacuum(
        "08:00:00",
        100,
        "vacuum ",
        "app.public.orders",
        1,
        entries::clean(250_000, 40.0),
    );
    crate::analysis::rules::fixture::Examples {
        fires: vec![(
            "250,000 dead rows left behind",
            Fx::new(16).table(T::new("orders")).log_text(&log).done(),
        )],
        quiet: vec![(
            "every dead row removed",
            Fx::new(16).table(T::new("orders")).log_text(&clean).done(),
        )],
    }
}
