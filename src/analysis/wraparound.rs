//! The wraparound ladder shared by the WRAP rules: the RDS alarm steps and the server's own
//! warn and stop limits per version.
//!
//! XID and multixact ages are measured against 2^31. The server warns when fewer than a margin
//! remain and stops assigning IDs a smaller margin before wrap (facts sheet section 3, from
//! `SetTransactionIdLimit` / `SetMultiXactIdLimit` in varsup.c and multixact.c).

use crate::analysis::findings::Severity;

/// RDS: "a low-severity alarm": autovacuum may not be keeping up.
pub const LOW: i64 = 500_000_000;
/// RDS: act now.
pub const ACT: i64 = 1_000_000_000;
/// RDS: high severity, fix immediately.
pub const HIGH: i64 = 1_500_000_000;

const WRAP_LIMIT: i64 = (1 << 31) - 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Xid,
    Multixact,
}

impl IdKind {
    pub fn label(self) -> &'static str {
        match self {
            IdKind::Xid => "transaction ID",
            IdKind::Multixact => "multixact ID",
        }
    }
}

/// The ages at which the server warns and stops, for a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    pub warn_age: i64,
    pub stop_age: i64,
}

pub fn server_limits(major: i32, kind: IdKind) -> ServerLimits {
    let (warn_margin, stop_margin) = match (kind, major >= 14) {
        (_, true) => (40_000_000, 3_000_000),
        (IdKind::Xid, false) => (11_000_000, 1_000_000),
        (IdKind::Multixact, false) => (10_000_100, 100),
    };
    ServerLimits {
        warn_age: WRAP_LIMIT - warn_margin,
        stop_age: WRAP_LIMIT - stop_margin,
    }
}

/// Where an age stands on the ladder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub severity: Severity,
    /// What the step means, for the message.
    pub meaning: String,
}

/// Place an age on the ladder. `freeze_max_age` is what autovacuum forces a vacuum at: ages up
/// to it (and the climb back down after the forced vacuum) are the normal cycle and never a
/// step. `failsafe` is the effective failsafe age on 14+.
pub fn step(
    age: i64,
    kind: IdKind,
    major: i32,
    freeze_max_age: i64,
    failsafe: Option<i64>,
) -> Option<Step> {
    let limits = server_limits(major, kind);
    let step = |severity, meaning: String| Some(Step { severity, meaning });
    if age >= limits.stop_age {
        return step(
            Severity::Critical,
            format!(
                "past the stop limit ({}): the server refuses new {}s",
                limits.stop_age,
                kind.label()
            ),
        );
    }
    if age >= limits.warn_age {
        return step(
            Severity::Critical,
            format!(
                "past the server's warning limit ({}): {} left before it stops",
                limits.warn_age,
                limits.stop_age - age
            ),
        );
    }
    if let Some(failsafe) = failsafe
        && age >= failsafe
        && age >= LOW
    {
        return step(
            Severity::Critical,
            format!(
                "past the failsafe age ({failsafe}): vacuum skips index cleanup and throttling to \
                 freeze"
            ),
        );
    }
    if age >= HIGH {
        return step(
            Severity::Critical,
            "past 1.5 billion: high severity, fix immediately".to_string(),
        );
    }
    if age >= ACT {
        return step(Severity::Critical, "past 1 billion: act now".to_string());
    }
    if age >= LOW && age > freeze_max_age {
        return step(
            Severity::Warning,
            "past 500 million: autovacuum is not keeping up".to_string(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_cycle_is_not_a_step() {
        // Climbing to the freeze max age and past it while the forced vacuum runs.
        for age in [0, 150_000_000, 200_000_000, 210_000_000, 499_999_999] {
            assert_eq!(step(age, IdKind::Xid, 17, 200_000_000, None), None, "{age}");
        }
        // With a freeze max age above 500M, ages below it are the cycle too.
        assert_eq!(step(700_000_000, IdKind::Xid, 17, 800_000_000, None), None);
    }

    #[test]
    fn the_ladder_steps() {
        let at = |age| step(age, IdKind::Xid, 17, 200_000_000, Some(1_600_000_000));
        assert_eq!(at(500_000_000).map(|s| s.severity), Some(Severity::Warning));
        assert_eq!(at(999_999_999).map(|s| s.severity), Some(Severity::Warning));
        assert_eq!(
            at(1_000_000_000).map(|s| s.severity),
            Some(Severity::Critical)
        );
        assert!(at(1_500_000_000).unwrap().meaning.contains("1.5 billion"));
        assert!(at(1_600_000_000).unwrap().meaning.contains("failsafe"));
        assert!(at(2_107_483_647).unwrap().meaning.contains("warning limit"));
        assert!(at(2_144_483_647).unwrap().meaning.contains("stop limit"));
    }

    #[test]
    fn server_limits_per_version() {
        assert_eq!(server_limits(12, IdKind::Xid).stop_age, 2_146_483_647);
        assert_eq!(server_limits(13, IdKind::Xid).warn_age, 2_136_483_647);
        assert_eq!(server_limits(14, IdKind::Xid).stop_age, 2_144_483_647);
        assert_eq!(server_limits(18, IdKind::Multixact).warn_age, 2_107_483_647);
        assert_eq!(server_limits(12, IdKind::Multixact).stop_age, 2_147_483_547);
    }
}
