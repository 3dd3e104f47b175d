//! A progress line on stderr while a live run reads the cluster: databases read and tables so
//! far. Only when stderr is a terminal, only once the run has taken more than a moment (a quick
//! run shows nothing), never on stdout, and cleared before the report is printed.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::collect::{CollectError, CollectOptions, Progress, collect_until};
use crate::conn::ConnectionSettings;
use crate::snapshot::Snapshot;

/// How long a run goes before the line appears.
const MOMENT: Duration = Duration::from_millis(700);

/// Counts for the line, shared with the collection.
#[derive(Default)]
struct Counts {
    total: AtomicUsize,
    read: AtomicUsize,
    tables: AtomicUsize,
}

impl Counts {
    fn line(&self) -> String {
        let total = self.total.load(Ordering::Relaxed);
        if total == 0 {
            return "reading the cluster-wide views".to_string();
        }
        format!(
            "{}/{total} databases read, {} tables so far",
            self.read.load(Ordering::Relaxed),
            crate::analysis::findings::group_digits(self.tables.load(Ordering::Relaxed) as i64)
        )
    }
}

struct Line {
    counts: Counts,
    bar: ProgressBar,
}

impl Progress for Line {
    fn visiting(&self, databases: usize) {
        self.counts.total.store(databases.max(1), Ordering::Relaxed);
        self.bar.set_message(self.counts.line());
    }

    fn database_read(&self, tables: usize) {
        self.counts.read.fetch_add(1, Ordering::Relaxed);
        self.counts.tables.fetch_add(tables, Ordering::Relaxed);
        self.bar.set_message(self.counts.line());
    }
}

/// [`crate::collect::collect_until`] (Ctrl-C is `interrupt`), with the progress line when
/// stderr is a terminal.
pub async fn collect(
    settings: &ConnectionSettings,
    options: &CollectOptions,
    interrupt: impl std::future::Future<Output = ()>,
) -> Result<Snapshot, CollectError> {
    if !std::io::stderr().is_terminal() {
        return collect_until(settings, options, &(), interrupt).await;
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template("{spinner} pgvac: {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let line = Line {
        counts: Counts::default(),
        bar: bar.clone(),
    };
    bar.set_message(line.counts.line());
    // Shown by a timer unless the run is over first; the flag keeps the two from crossing.
    let done = Arc::new(Mutex::new(false));
    let timer = {
        let (bar, done) = (bar.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            std::thread::sleep(MOMENT);
            let done = done.lock().unwrap_or_else(|e| e.into_inner());
            if !*done {
                bar.set_draw_target(ProgressDrawTarget::stderr());
                bar.enable_steady_tick(Duration::from_millis(120));
            }
        })
    };
    let result = collect_until(settings, options, &line, interrupt).await;
    {
        let mut done = done.lock().unwrap_or_else(|e| e.into_inner());
        *done = true;
        bar.finish_and_clear();
    }
    drop(timer);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_counts_databases_and_tables() {
        let line = Line {
            counts: Counts::default(),
            bar: ProgressBar::hidden(),
        };
        assert_eq!(line.counts.line(), "reading the cluster-wide views");
        line.visiting(3);
        line.database_read(1200);
        line.database_read(34);
        assert_eq!(
            line.counts.line(),
            "2/3 databases read, 1,234 tables so far"
        );
    }
}
