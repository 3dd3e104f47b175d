//! How analysis and rendering grow with the number of tables: prints measurements, asserts
//! nothing. Run by `scripts/bench`, which collects the snapshot of its 100,000-table database
//! first; by hand:
//!
//! ```sh
//! PGVAC_BENCH_SNAPSHOT=snapshot.json cargo bench --bench growth
//! ```
//!
//! The database of the snapshot with the most tables is cut to its first 10,000, 30,000 and
//! 100,000 tables (by oid, with their TOAST tables and the catalogs), and each cut is analysed
//! (`Analysis`: the model, plans, blockers and every rule) and rendered as JSON and as the terminal report from
//! that analysis, best of three. Linear growth shows as a steady time per table.

use std::time::{Duration, Instant};

use pgvac::analysis::Analysis;
use pgvac::render::{self, Format, Report};
use pgvac::snapshot::{RelKind, Snapshot};

const SIZES: [usize; 3] = [10_000, 30_000, 100_000];
const RUNS: usize = 3;

/// The first run's time and the best of [`RUNS`]. The first is what one pgvac run pays: its
/// memory is new to the process (page faults included). Later runs reuse freed memory only
/// while the allocations stay under glibc's mmap threshold (32 MB), which the largest sizes
/// pass: so only the first runs compare across sizes.
fn first_and_best<T>(mut run: impl FnMut() -> T) -> (Duration, Duration) {
    let times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(run());
            start.elapsed()
        })
        .collect();
    (times[0], times.iter().copied().min().expect("RUNS > 0"))
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// The snapshot with its largest database cut to its first `tables` tables (kind `table`, by
/// oid) and every other relation up to the last of them.
fn cut(snapshot: &Snapshot, tables: usize) -> Option<Snapshot> {
    let mut cut = snapshot.clone();
    let database = cut.databases.iter_mut().max_by_key(|d| d.tables.len())?;
    let last = database
        .tables
        .iter()
        .filter(|t| t.kind == RelKind::Table)
        .nth(tables - 1)?
        .oid;
    database.tables.retain(|t| t.oid <= last);
    Some(cut)
}

fn main() {
    let Some(path) = std::env::var_os("PGVAC_BENCH_SNAPSHOT") else {
        println!("growth: set PGVAC_BENCH_SNAPSHOT to a snapshot (pgvac collect -o FILE)");
        return;
    };
    let text = std::fs::read_to_string(&path).expect("the snapshot can be read");
    let snapshot: Snapshot = serde_json::from_str(&text).expect("a pgvac snapshot");
    drop(text);
    println!("first run (best of {RUNS}), ms; us/table from the first runs of analysis + json");
    println!(
        "{:>8} {:>10} {:>18} {:>18} {:>18} {:>9}",
        "tables", "relations", "analysis", "json", "table", "us/table"
    );
    for size in SIZES {
        let Some(cut) = cut(&snapshot, size) else {
            println!("{size:>8} (the snapshot has fewer tables)");
            continue;
        };
        let relations: usize = cut.databases.iter().map(|d| d.tables.len()).sum();
        let analysis = first_and_best(|| Analysis::new(&cut));
        let built = Analysis::new(&cut);
        let options = render::Options::default();
        let render = |format: Format| {
            first_and_best(|| {
                let report = Report::new(&built, chrono::Utc::now());
                let mut out = Vec::new();
                render::write(&mut out, format, &report, &options).expect("rendered");
                out.len()
            })
        };
        let json = render(Format::Json);
        let table = render(Format::Table);
        let per_table = (analysis.0 + json.0).as_secs_f64() * 1e6 / size as f64;
        let cell =
            |(first, best): (Duration, Duration)| format!("{:.1} ({:.1})", ms(first), ms(best));
        println!(
            "{size:>8} {relations:>10} {:>18} {:>18} {:>18} {per_table:>9.2}",
            cell(analysis),
            cell(json),
            cell(table),
        );
    }
}
