//! `pgvac logs` and `pgvac report --log` as a DBA runs them, on the real-server corpus in
//! `tests/fixtures/logs/`: stdout, stderr and exit status together, gzip and stdin, the JSON
//! against its committed schema, and the one-line errors of bad input (exit 3).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn transcript(&self) -> String {
        format!(
            "exit status: {}\n--- stderr\n{}--- stdout\n{}",
            self.status, self.stderr, self.stdout
        )
        .replace(env!("CARGO_PKG_VERSION"), "[version]")
    }
}

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/logs")
        .join(name)
}

fn pgvac_with_stdin(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pgvac"));
    for (key, _) in std::env::vars() {
        if key.starts_with("PG") || key == "NO_COLOR" {
            command.env_remove(key);
        }
    }
    command
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/logs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("pgvac runs");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(bytes) = stdin {
        input.write_all(bytes).expect("stdin written");
    }
    drop(input);
    let output = child.wait_with_output().expect("pgvac ends");
    Run {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn pgvac(args: &[&str]) -> Run {
    pgvac_with_stdin(args, None)
}

fn json(run: &Run) -> serde_json::Value {
    assert_eq!(run.status, 0, "{}", run.transcript());
    serde_json::from_str(&run.stdout).expect("stdout is one JSON document")
}

#[test]
fn the_summary_of_a_real_16_log() {
    let run = pgvac(&["logs", "pg16-rds.log", "--prefix", "rds", "--top", "8"]);
    assert_eq!(run.status, 0, "{}", run.transcript());
    assert!(run.stderr.is_empty());
    assert!(
        run.stdout.lines().all(|l| l.chars().count() <= 100),
        "{}",
        run.stdout
    );
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn markdown_of_a_real_18_log() {
    let run = pgvac(&[
        "logs",
        "pg18-default.csv",
        "--format",
        "markdown",
        "--top",
        "5",
    ]);
    assert_eq!(run.status, 0, "{}", run.transcript());
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn json_follows_the_committed_schema() {
    let schema_text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/logs.schema.json"),
    )
    .unwrap();
    let schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for (file, prefix) in [
        ("pg12-default.log", "%m [%p] "),
        ("pg14-custom.csv", "%m [%p] "),
        ("pg17-custom.json", "%m [%p] "),
    ] {
        let document = json(&pgvac(&[
            "logs", file, "--prefix", prefix, "--format", "json",
        ]));
        let errors: Vec<String> = validator
            .iter_errors(&document)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{file}: {}", errors.join("\n"));
        assert!(
            document["totals"]["vacuums"].as_u64().unwrap() > 0,
            "{file}"
        );
    }
}

#[test]
fn gzip_and_stdin_read_the_same_as_the_plain_file() {
    let plain = json(&pgvac(&[
        "logs",
        "pg13-rds.log",
        "--prefix",
        "rds",
        "--format",
        "json",
    ]));
    let raw = std::fs::read(corpus("pg13-rds.log")).unwrap();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&raw).unwrap();
    let gz = encoder.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("postgresql.log.gz");
    std::fs::write(&path, &gz).unwrap();
    let from_gz = json(&pgvac(&[
        "logs",
        path.to_str().unwrap(),
        "--prefix",
        "rds",
        "--format",
        "json",
    ]));
    let from_stdin = json(&pgvac_with_stdin(
        &["logs", "-", "--prefix", "rds", "--format", "json"],
        Some(&gz),
    ));
    for other in [&from_gz, &from_stdin] {
        assert_eq!(other["totals"], plain["totals"]);
        assert_eq!(other["tables"], plain["tables"]);
    }
}

#[test]
fn a_wrong_prefix_or_a_missing_file_is_one_line_and_exit_3() {
    let wrong = pgvac(&["logs", "pg13-rds.log"]);
    assert_eq!(wrong.status, 3, "{}", wrong.transcript());
    assert!(wrong.stdout.is_empty());
    assert_eq!(wrong.stderr.lines().count(), 1, "{}", wrong.stderr);
    assert!(wrong.stderr.contains("--prefix"), "{}", wrong.stderr);
    let missing = pgvac(&["logs", "no-such.log"]);
    assert_eq!(missing.status, 3, "{}", missing.transcript());
    assert_eq!(missing.stderr.lines().count(), 1, "{}", missing.stderr);
    assert!(missing.stderr.contains("no-such.log"), "{}", missing.stderr);
    let bad = pgvac(&["logs", "pg13-rds.log", "--prefix", "%m [%p] (("]);
    assert_eq!(bad.status, 3, "{}", bad.transcript());
    insta::assert_snapshot!(format!(
        "{}{}{}",
        wrong.transcript(),
        missing.transcript(),
        bad.transcript()
    ));
}

#[test]
fn lines_of_another_format_are_counted_and_shown() {
    let mut text = std::fs::read(corpus("pg15-default.log")).unwrap();
    text.extend_from_slice(b"this line is not a log entry\n");
    let run = pgvac_with_stdin(&["logs", "-"], Some(&text));
    assert_eq!(run.status, 0, "{}", run.transcript());
    assert!(
        run.stdout.contains("Lines not of the format (1)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("-:"), "{}", run.stdout);
    assert!(
        run.stdout.contains("this line is not a log entry"),
        "{}",
        run.stdout
    );
}

#[test]
fn report_with_a_log_adds_its_findings() {
    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/base-16.json");
    let run = pgvac(&[
        "report",
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--log",
        "pg16-rds.log",
        "--log-prefix",
        "rds",
        "--format",
        "json",
    ]);
    // The failsafe fired in that log: critical.
    assert_eq!(run.status, 2, "{}", run.transcript());
    let document: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let codes: Vec<&str> = document["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    for code in ["LOG004", "LOG007"] {
        assert!(codes.contains(&code), "{code} missing: {codes:?}");
    }
    let table = pgvac(&[
        "report",
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--log",
        "pg16-rds.log",
        "--log-prefix",
        "rds",
    ]);
    assert!(
        table.stdout.contains("From the server log"),
        "{}",
        table.stdout
    );
    let without = pgvac(&["report", "--snapshot", snapshot.to_str().unwrap()]);
    assert!(!without.stdout.contains("LOG0"), "{}", without.stdout);
}
