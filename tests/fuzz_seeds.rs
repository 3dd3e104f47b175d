//! The fuzz targets (`fuzz/targets.rs`) over their committed seeds (`fuzz/seeds/TARGET/`), in
//! the ordinary test run: the fuzzer itself needs its own build (see the README, "Fuzzing"), but
//! the functions it calls and the inputs it starts from are checked on every `cargo test`. A
//! crash the fuzzer finds becomes a seed here once it is fixed.

#[path = "../fuzz/targets.rs"]
mod targets;

use std::path::Path;

/// Run `target` over every seed; the names of the seeds it accepted.
fn run_seeds(target: &str, run: fn(&[u8]) -> bool) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    seeds.sort();
    let mut accepted = Vec::new();
    for seed in seeds {
        let data = std::fs::read(&seed).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        let name = seed.file_name().unwrap().to_string_lossy().into_owned();
        match outcome {
            Ok(true) => accepted.push(name),
            Ok(false) => {}
            Err(_) => panic!("{target}: crashed on {}", seed.display()),
        }
    }
    accepted
}

#[test]
fn fuzz_snapshot_seeds() {
    // The real snapshots reach the analysis and every renderer; the broken files are refused.
    assert_eq!(
        run_seeds("snapshot", targets::snapshot),
        [
            "base-12.json",
            "base-18.json",
            "report-critical.json",
            "report-incomplete.json"
        ]
    );
}

#[test]
fn fuzz_reloptions_seeds() {
    let accepted = run_seeds("reloptions", targets::reloptions);
    assert_eq!(
        accepted,
        [
            "disabled", "extreme", "freeze", "insert", "negative", "numbers", "tuned"
        ]
    );
}

#[test]
fn fuzz_conninfo_seeds() {
    // Malformed strings and a service that is defined nowhere are refused; the rest resolve.
    assert_eq!(
        run_seeds("conninfo", targets::conninfo),
        ["dbname", "hosts", "keywords", "quoted", "socket", "uri"]
    );
}
