//! How often each expensive step of an analysis ran, so a test can prove that one report
//! computes the model, the plans and the blockers once each and every view reads that one
//! result. Counting is compiled into test builds only; elsewhere [`count`] does nothing.

/// A step of the analysis that must run once per report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The autovacuum model: the settings resolved and every table evaluated.
    Model,
    /// The per-table trigger advice.
    Plans,
    /// What holds vacuum back.
    Blockers,
}

#[cfg(test)]
thread_local! {
    static COUNTS: std::cell::Cell<[usize; 3]> = const { std::cell::Cell::new([0; 3]) };
}

/// Note that `step` ran (on this thread).
#[inline]
pub fn count(step: Step) {
    #[cfg(test)]
    COUNTS.with(|counts| {
        let mut now = counts.get();
        now[step as usize] += 1;
        counts.set(now);
    });
    #[cfg(not(test))]
    let _ = step;
}

/// How often `step` ran on this thread since the last [`reset`].
#[cfg(test)]
pub fn times(step: Step) -> usize {
    COUNTS.with(|counts| counts.get()[step as usize])
}

#[cfg(test)]
pub fn reset() {
    COUNTS.with(|counts| counts.set([0; 3]));
}
