//! The parser on the corpus of real server logs in `tests/fixtures/logs/` (written by the
//! real-server test `logs_count_what_the_server_logged` with `UPDATE_FIXTURES=1`): one insta
//! snapshot of the summary per file, every version 12-18 in every format it writes, and the
//! formats of one version agree.

use std::path::Path;

use super::{Prefix, summarise_text};
use crate::analysis::rules::fixture::{corpus_file, corpus_prefix};

fn corpus() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/logs");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("pg"))
        .collect();
    names.sort();
    names
}

fn summary(name: &str) -> super::LogSummary {
    let prefix = Prefix::new(corpus_prefix(name)).unwrap();
    summarise_text(&corpus_file(name), &prefix, None).finish(3)
}

#[test]
fn the_corpus_has_every_version_in_every_format() {
    let names = corpus();
    for major in 12..=18 {
        let formats: Vec<&str> = names
            .iter()
            .filter(|n| n.starts_with(&format!("pg{major}-")))
            .filter_map(|n| n.rsplit('.').next())
            .collect();
        let expected: &[&str] = if major >= 15 {
            &["csv", "json", "log"]
        } else {
            &["csv", "log"]
        };
        assert_eq!(formats, expected, "PostgreSQL {major}: {names:?}");
    }
}

#[test]
fn every_corpus_file_is_read_whole() {
    for name in corpus() {
        let summary = summary(&name);
        assert_eq!(
            summary.unrecognised.count, 0,
            "{name}: {:?}",
            summary.unrecognised
        );
        assert_eq!(summary.problems.count, 0, "{name}: {:?}", summary.problems);
        assert!(summary.totals.vacuums > 0, "{name}: no vacuum");
        assert!(summary.totals.cancelled > 0, "{name}: no cancellation");
        assert!(summary.totals.skipped_lock > 0, "{name}: no lock skip");
    }
}

#[test]
fn the_formats_of_one_version_agree() {
    let names = corpus();
    for major in 12..=18 {
        let of: Vec<&String> = names
            .iter()
            .filter(|n| n.starts_with(&format!("pg{major}-")))
            .collect();
        let totals: Vec<_> = of.iter().map(|n| summary(n).totals).collect();
        for (name, t) in of.iter().zip(&totals) {
            assert_eq!(
                (
                    t.vacuums,
                    t.analyzes,
                    t.cancelled,
                    t.skipped_lock,
                    t.failsafe
                ),
                (
                    totals[0].vacuums,
                    totals[0].analyzes,
                    totals[0].cancelled,
                    totals[0].skipped_lock,
                    totals[0].failsafe
                ),
                "{name} and {}",
                of[0]
            );
        }
    }
}

#[test]
fn corpus_snapshots() {
    for name in corpus() {
        let mut summary = summary(&name);
        summary.pgvac_version = "[version]".to_string();
        summary.files[0].path = name.clone();
        let json = serde_json::to_string_pretty(&summary).unwrap();
        insta::assert_snapshot!(name.replace('.', "_"), json);
    }
}
