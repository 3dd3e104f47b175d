//! Integration tests against real PostgreSQL servers, one per supported major version.
//!
//! The harness starts one throwaway cluster per version (see `cluster.rs`), runs every test
//! against every cluster as its own trial (`pg16::collect_dead_rows`, ...), and stops the
//! clusters afterwards. Versions come from `PGVAC_TEST_VERSIONS` (default `11,12,...,18`; 11 is
//! only used to check that pgvac refuses it). A version whose binaries cannot be found fails
//! its `setup` trial: a missing server is a failure, never a silent skip.

mod advice;
mod blockers;
mod client;
mod cluster;
mod collect;
mod connect;
mod faults;
mod formats;
mod harm;
mod history;
mod horizon;
mod logs;
mod lost_stats;
mod oracle;
mod ownership;
mod reliability;
mod report;
mod runner;

use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};

use cluster::Cluster;

/// The oldest version pgvac supports; older clusters only run `UNSUPPORTED_TESTS`.
const MIN_SUPPORTED: u32 = 12;

pub type TestFn = fn(&Cluster) -> Result<(), String>;

/// Tests run on every supported version.
fn tests() -> Vec<(&'static str, TestFn)> {
    let mut all = Vec::new();
    all.extend(collect::TESTS.iter().copied());
    all.extend(advice::TESTS.iter().copied());
    all.extend(blockers::TESTS.iter().copied());
    all.extend(oracle::TESTS.iter().copied());
    all.extend(horizon::TESTS.iter().copied());
    all.extend(harm::TESTS.iter().copied());
    all.extend(lost_stats::TESTS.iter().copied());
    all.extend(ownership::TESTS.iter().copied());
    all.extend(history::TESTS.iter().copied());
    all.extend(report::TESTS.iter().copied());
    all.extend(formats::TESTS.iter().copied());
    all.extend(connect::TESTS.iter().copied());
    all.extend(faults::TESTS.iter().copied());
    all.extend(reliability::TESTS.iter().copied());
    all.extend(logs::TESTS.iter().copied());
    all
}

/// Tests run on versions older than `MIN_SUPPORTED`.
fn unsupported_tests() -> Vec<(&'static str, TestFn)> {
    collect::UNSUPPORTED_TESTS.to_vec()
}

fn versions() -> Vec<u32> {
    match std::env::var("PGVAC_TEST_VERSIONS") {
        Ok(list) if !list.trim().is_empty() => list
            .split(',')
            .filter_map(|v| v.trim().parse().ok())
            .collect(),
        _ => (11..=18).collect(),
    }
}

fn main() {
    let mut args = Arguments::from_args();
    if args.test_threads.is_none() {
        // Tests mostly wait on the servers; two cores can run many at once.
        args.test_threads = Some(8);
    }
    let installed = cluster::installations();
    let wanted = versions();

    // Start the clusters in parallel.
    let started: Vec<(u32, Result<Arc<Cluster>, String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = wanted
            .iter()
            .map(|&major| {
                let bindir = installed.get(&major).cloned();
                scope.spawn(move || {
                    let result = match bindir {
                        None => Err(format!(
                            "no PostgreSQL {major} binaries found: run scripts/test-all, or list \
                             its bin directory in PGVAC_PG_BINDIRS, or leave {major} out of \
                             PGVAC_TEST_VERSIONS"
                        )),
                        Some(dir) => Cluster::start(major, &dir).map(Arc::new),
                    };
                    (major, result)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("cluster start thread"))
            .collect()
    });

    let mut trials = Vec::new();
    let mut clusters = Vec::new();
    for (major, result) in started {
        match result {
            Err(message) => trials.push(Trial::test(format!("pg{major}::setup"), move || {
                Err(Failed::from(message))
            })),
            Ok(cluster) => {
                eprintln!(
                    "pgvac tests: PostgreSQL {} ({}) on port {}",
                    cluster.version,
                    cluster.bindir.display(),
                    cluster.port
                );
                let list = if major >= MIN_SUPPORTED {
                    tests()
                } else {
                    unsupported_tests()
                };
                for (name, test) in list {
                    let cluster = Arc::clone(&cluster);
                    trials.push(Trial::test(format!("pg{major}::{name}"), move || {
                        test(&cluster).map_err(Failed::from)
                    }));
                }
                clusters.push(cluster);
            }
        }
    }
    let conclusion = libtest_mimic::run(&args, trials);
    drop(clusters);
    conclusion.exit();
}
