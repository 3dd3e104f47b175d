//! libFuzzer target for the log parser: any bytes, read as a stderr log (with one of several
//! log_line_prefixes), a csvlog or a jsonlog, summed up and drawn in every output format.
//!
//! The first byte picks the format, the second the prefix; the rest is the log. Besides "no
//! panic, no hang", it checks what a user relies on: every line is either part of an entry or
//! counted as not of the format, and the samples stay bounded.

#![no_main]

use pgvac::logs::render::{self, Options};
use pgvac::logs::{InputFormat, Prefix, summarise_text};

const PREFIXES: [&str; 4] = [
    "%m [%p] ",
    "%t:%r:%u@%d:[%p]:",
    "%m [%p] %q%u@%d/%a ",
    "%n [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h %e ",
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let [format, prefix, log @ ..] = data else {
        return;
    };
    let format = match format % 4 {
        0 => Some(InputFormat::Stderr),
        1 => Some(InputFormat::Csvlog),
        2 => Some(InputFormat::Jsonlog),
        _ => None,
    };
    let prefix = Prefix::new(PREFIXES[usize::from(*prefix) % PREFIXES.len()]).unwrap();
    let summary = summarise_text(log, &prefix, format).finish(3);
    assert!(summary.unrecognised.first.len() <= 20);
    assert!(summary.problems.first.len() <= 20);
    if let Some(file) = summary.files.first() {
        assert!(file.autovacuum_entries <= file.entries);
        let lines = log.split(|&b| b == b'\n').count() as u64;
        assert!(
            file.unrecognised <= lines,
            "{} > {lines}",
            file.unrecognised
        );
        assert!(file.entries <= lines, "{} > {lines}", file.entries);
    }
    let options = Options {
        top: Some(5),
        width: 80,
    };
    let mut out = Vec::new();
    render::table(&mut out, &summary, &options).unwrap();
    render::markdown(&mut out, &summary, &options).unwrap();
    serde_json::to_writer(&mut out, &summary).unwrap();
});
