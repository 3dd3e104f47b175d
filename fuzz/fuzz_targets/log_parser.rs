//! libFuzzer target for the log parser: any bytes, read as a stderr log (with one of several
//! log_line_prefixes), a csvlog or a jsonlog, summed up and drawn in every output format.
//!
//! The first byte picks the format (and, with its high bit, whether to draw the outputs too), the
//! second the prefix; the rest is the log. Besides "no panic, no hang", it checks what a user
//! relies on: no more entries or unreadable lines than lines, and the samples stay bounded.

#![no_main]

use pgvac::logs::render::{self, Options};
use pgvac::logs::{InputFormat, Prefix, summarise_text};

const PREFIXES: [&str; 4] = [
    "%m [%p] ",
    "%t:%r:%u@%d:[%p]:",
    "%m [%p] %q%u@%d/%a ",
    "%n [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h %e ",
];

/// The prefixes, compiled once: compiling a regex per input would be most of the work.
fn prefixes() -> &'static [Prefix] {
    static COMPILED: std::sync::OnceLock<Vec<Prefix>> = std::sync::OnceLock::new();
    COMPILED.get_or_init(|| PREFIXES.iter().map(|p| Prefix::new(p).unwrap()).collect())
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let [format_byte, prefix, log @ ..] = data else {
        return;
    };
    let format = match format_byte % 4 {
        0 => Some(InputFormat::Stderr),
        1 => Some(InputFormat::Csvlog),
        2 => Some(InputFormat::Jsonlog),
        _ => None,
    };
    let prefix = &prefixes()[usize::from(*prefix) % PREFIXES.len()];
    let summary = summarise_text(log, prefix, format).finish(3);
    assert!(summary.unrecognised.first.len() <= 20);
    assert!(summary.problems.first.len() <= 20);
    if let Some(file) = summary.files.first() {
        assert!(file.autovacuum_entries <= file.entries);
        // csvlog records also end at a bare carriage return (the csv crate's CRLF terminator).
        let lines = log.split(|&b| b == b'\n' || b == b'\r').count() as u64;
        assert!(
            file.unrecognised <= lines,
            "{} > {lines}",
            file.unrecognised
        );
        assert!(file.entries <= lines, "{} > {lines}", file.entries);
    }
    if format_byte & 0x80 == 0 {
        return;
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
