//! The pgvac binary as cron and a DBA run it, on snapshot files: stdout, stderr and exit status
//! together for every exit code (0 ok, 1 warning, 2 critical, 3 could not complete), and each
//! format. No server needed: `--snapshot` analyses a collected snapshot offline.
//!
//! Fixtures: `tests/fixtures/base-16.json` (a fresh cluster: info only),
//! `report-warning.json` and `report-critical.json` (made from `render::fixtures`).

use std::path::{Path, PathBuf};
use std::process::Command;

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// stdout, stderr and the exit status in one text, for insta, with what changes between runs
    /// (the report time, pgvac's version) redacted.
    fn transcript(&self) -> String {
        redact(&format!(
            "exit status: {}\n--- stderr\n{}--- stdout\n{}",
            self.status, self.stderr, self.stdout
        ))
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn pgvac(args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pgvac"));
    for (key, _) in std::env::vars() {
        if key.starts_with("PG") || key == "NO_COLOR" {
            command.env_remove(key);
        }
    }
    let output = command.args(args).output().expect("pgvac runs");
    Run {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn report(snapshot: &str, args: &[&str]) -> Run {
    let path = fixture(snapshot);
    let mut all = vec!["report", "--snapshot", path.to_str().unwrap()];
    all.extend_from_slice(args);
    pgvac(&all)
}

/// Replace the report time (an RFC 3339 timestamp after `generated`/`Generated`) and the
/// version of pgvac.
fn redact(text: &str) -> String {
    let text = text.replace(env!("CARGO_PKG_VERSION"), "[version]");
    text.lines()
        .map(|line| {
            let lower = line.to_ascii_lowercase();
            match lower.find("generated") {
                Some(at) if line[at..].contains("20") => {
                    let rest = &line[at..];
                    let start = at + rest.find("20").unwrap_or(0);
                    let end = line[start..]
                        .find(['"', ' '])
                        .map_or(line.len(), |e| start + e);
                    format!("{}[generated]{}", &line[..start], &line[end..])
                }
                _ => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn exit_0_on_a_healthy_cluster() {
    let run = report("base-16.json", &[]);
    assert_eq!(run.status, 0, "{}", run.transcript());
    assert!(run.stderr.is_empty());
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn exit_1_on_warnings_unless_fail_on_says_otherwise() {
    let run = report("report-warning.json", &[]);
    assert_eq!(run.status, 1, "{}", run.transcript());
    assert!(run.stderr.is_empty());
    assert!(run.stdout.contains("WARNING"));
    insta::assert_snapshot!(run.transcript());
    for (fail_on, status) in [("warning", 1), ("critical", 0), ("never", 0)] {
        let run = report("report-warning.json", &["--fail-on", fail_on]);
        assert_eq!(
            run.status,
            status,
            "--fail-on {fail_on}: {}",
            run.transcript()
        );
    }
}

#[test]
fn exit_2_on_critical_findings() {
    let run = report("report-critical.json", &["--format", "json"]);
    assert_eq!(run.status, 2, "{}", run.transcript());
    assert!(run.stderr.is_empty());
    let value: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is only JSON");
    assert_eq!(value["summary"]["worst"], "critical");
    insta::assert_snapshot!(run.transcript());
    for (fail_on, status) in [("warning", 2), ("critical", 2), ("never", 0)] {
        let run = report("report-critical.json", &["--fail-on", fail_on]);
        assert_eq!(
            run.status,
            status,
            "--fail-on {fail_on}: {}",
            run.transcript()
        );
    }
}

#[test]
fn exit_3_when_pgvac_cannot_complete() {
    // A missing snapshot, a corrupt one, a bad flag value: one line on stderr, nothing on stdout.
    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("corrupt.json");
    std::fs::write(&corrupt, "{\"snapshot_version\": 1, \"server\": ").unwrap();
    let missing = dir.path().join("missing.json");
    let runs = [
        pgvac(&["report", "--snapshot", missing.to_str().unwrap()]),
        pgvac(&["report", "--snapshot", corrupt.to_str().unwrap()]),
        report("base-16.json", &["--format", "yaml"]),
        report("base-16.json", &["--fail-on", "sometimes"]),
    ];
    let mut transcripts = Vec::new();
    for run in &runs {
        assert_eq!(run.status, 3, "{}", run.transcript());
        assert!(run.stdout.is_empty(), "{}", run.transcript());
        assert!(!run.stderr.is_empty(), "{}", run.transcript());
        transcripts.push(
            run.transcript()
                .replace(dir.path().to_str().unwrap(), "[dir]"),
        );
    }
    // The report errors are one line; clap's usage errors name the bad value and the choices.
    assert_eq!(runs[0].stderr.trim().lines().count(), 1);
    assert_eq!(runs[1].stderr.trim().lines().count(), 1);
    insta::assert_snapshot!(transcripts.join("\n"));
}

#[test]
fn output_file_is_written_whole_and_stdout_stays_empty() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let run = report(
        "report-critical.json",
        &["--format", "json", "-o", out.to_str().unwrap()],
    );
    assert_eq!(run.status, 2, "{}", run.transcript());
    assert!(run.stdout.is_empty() && run.stderr.is_empty());
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(value["schema_version"], 1);
    // Only the report is left in the directory: no temporary file.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    // A directory that does not exist: exit 3, and nothing written.
    let bad = dir.path().join("nope/report.json");
    let run = report("report-critical.json", &["-o", bad.to_str().unwrap()]);
    assert_eq!(run.status, 3, "{}", run.transcript());
    assert!(!bad.exists());
}

#[test]
fn every_format_from_the_command_line() {
    for format in ["sql", "markdown", "prometheus"] {
        let run = report("report-warning.json", &["--format", format]);
        assert_eq!(run.status, 1, "{format}: {}", run.transcript());
        assert!(run.stderr.is_empty(), "{format}: {}", run.transcript());
        insta::assert_snapshot!(format!("format_{format}"), run.transcript());
    }
}

#[test]
fn colour_only_when_asked_and_never_with_no_color() {
    let plain = report("report-critical.json", &[]);
    assert!(!plain.stdout.contains('\x1b'), "not a terminal: no colour");
    let always = report("report-critical.json", &["--color", "always"]);
    assert!(always.stdout.contains("\x1b["), "{}", always.stdout);
    let never = report("report-critical.json", &["--color", "never"]);
    assert_eq!(never.stdout, plain.stdout);
    // JSON never carries colour, whatever --color says.
    let json = report(
        "report-critical.json",
        &["--format", "json", "--color", "always"],
    );
    assert!(!json.stdout.contains('\x1b'));
}

#[test]
fn width_and_top_shape_the_terminal_report() {
    for width in ["80", "100", "140"] {
        let run = report("report-warning.json", &["--width", width]);
        let widest = run
            .stdout
            .lines()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0);
        assert!(
            widest <= width.parse().unwrap(),
            "--width {width}: {widest}\n{}",
            run.stdout
        );
    }
    let top = report("report-warning.json", &["--top", "1"]);
    assert!(
        top.stdout.contains("more tables (--top shows more)"),
        "{}",
        top.stdout
    );
    let verbose = report("report-warning.json", &["--verbose"]);
    assert!(verbose.stdout.contains("Evidence: "), "{}", verbose.stdout);
}

#[test]
fn help_documents_exit_codes_and_every_report_flag() {
    let top = pgvac(&["--help"]);
    assert_eq!(top.status, 0);
    let words = top.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("0 nothing at warning or above, 1 a warning, 2 something critical, 3 pgvac could not complete"),
        "{}",
        top.stdout
    );
    let help = pgvac(&["report", "--help"]);
    assert_eq!(help.status, 0);
    for flag in [
        "--snapshot",
        "--format",
        "--output",
        "--fail-on",
        "--color",
        "--width",
        "--top",
        "--verbose",
        "--include-destructive",
        "--history",
        "Exit status: 0",
    ] {
        assert!(
            help.stdout.contains(flag),
            "{flag} missing:\n{}",
            help.stdout
        );
    }
}

/// The example `pgvac demo` offers when no PostgreSQL is installed (a snapshot of a real demo
/// run on 18, rewritten by `UPDATE_DOCS=1 cargo test --test demo`) still parses with this pgvac
/// and reports every kind of problem the demo plants.
#[test]
fn the_demo_example_snapshot_reports_every_category() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-snapshot.json");
    let run = pgvac(&["report", "--snapshot", example.to_str().unwrap()]);
    assert_eq!(run.status, 1, "{}", run.transcript());
    assert!(run.stderr.is_empty(), "{}", run.transcript());
    for code in [
        "WRAP005",
        "WRAP006",
        "TABLE001",
        "TABLE003",
        "TABLE005",
        "CONFIG004",
        "BLOCK006",
        "RUN001",
    ] {
        assert!(run.stdout.contains(code), "{code}: {}", run.transcript());
    }
    let json = pgvac(&[
        "report",
        "--snapshot",
        example.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(value["summary"]["worst"], "warning");
}

/// Without server binaries, the demo says in one line what to install, offers the example, and
/// exits 3 having started nothing. (PostgreSQL 13 is never in /usr/lib/postgresql here: the
/// test machines have only Debian's 15 there.)
#[test]
fn demo_without_binaries_says_what_to_install_and_offers_the_example() {
    let output = Command::new(env!("CARGO_BIN_EXE_pgvac"))
        .args(["demo", "--pg-version", "13"])
        .env_remove("PGVAC_PG_BINDIRS")
        .env("PGVAC_PG_ROOT", "/nonexistent")
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(output.stdout.is_empty());
    let error: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("pgvac: error:"))
        .collect();
    assert_eq!(error.len(), 1, "{stderr}");
    assert!(
        error[0].contains("no PostgreSQL 13 server binaries found") && error[0].contains("install"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pgvac report --snapshot examples/demo-snapshot.json"),
        "{stderr}"
    );
}

/// Whether these tests run as root (then the file cases run both as root and as `nobody`).
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe extern "C" {
        fn geteuid() -> u32;
    }
    unsafe { geteuid() == 0 }
}

const NOBODY: u32 = 65534;

/// `pgvac report --snapshot FIXTURE --format json -o TARGET` as `uid` (None: as this process).
fn report_to(target: &Path, uid: Option<u32>) -> Run {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(env!("CARGO_BIN_EXE_pgvac"));
    command.args([
        "report",
        "--snapshot",
        fixture("report-warning.json").to_str().unwrap(),
        "--format",
        "json",
        "-o",
        target.to_str().unwrap(),
    ]);
    if let Some(uid) = uid {
        command.uid(uid).gid(uid);
    }
    let output = command.output().expect("pgvac runs");
    Run {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The -o cases of issue 8 §3, as the user `uid` (None: this process) in a directory it owns.
fn output_cases(uid: Option<u32>) {
    use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
    let who = uid.map_or("this user".to_string(), |u| format!("uid {u}"));
    let dir = tempfile::tempdir().unwrap();
    let owner = uid.unwrap_or_else(|| std::fs::metadata(dir.path()).unwrap().uid());
    if let Some(uid) = uid {
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(uid)).unwrap();
    }
    let is_report = |text: &str| {
        serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| v["schema_version"] == 1)
    };

    // A symlink: written through, still a symlink, the target keeps its mode.
    let real = dir.path().join("real.json");
    std::fs::write(&real, "old").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o644)).unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    if let Some(uid) = uid {
        std::os::unix::fs::lchown(&link, Some(uid), Some(uid)).unwrap();
        std::os::unix::fs::chown(&real, Some(uid), Some(uid)).unwrap();
    }
    let run = report_to(&link, uid);
    assert_eq!(run.status, 1, "{who}: {}", run.transcript());
    let link_meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(
        link_meta.file_type().is_symlink(),
        "{who}: the symlink was replaced"
    );
    assert!(is_report(&std::fs::read_to_string(&real).unwrap()), "{who}");
    assert_eq!(
        std::fs::metadata(&real).unwrap().mode() & 0o777,
        0o644,
        "{who}"
    );

    // A FIFO: written to, and still a FIFO.
    let fifo = dir.path().join("report.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    if let Some(uid) = uid {
        std::os::unix::fs::chown(&fifo, Some(uid), Some(uid)).unwrap();
    }
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let run = report_to(&fifo, uid);
    assert_eq!(run.status, 1, "{who}: {}", run.transcript());
    assert!(
        is_report(&reader.join().unwrap()),
        "{who}: the FIFO's reader got no report"
    );
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo(),
        "{who}"
    );

    // A new file: the mode the umask gives, as `>` would (pgvac inherits the umask).
    let new = dir.path().join("new.json");
    let run = report_to(&new, uid);
    assert_eq!(run.status, 1, "{who}: {}", run.transcript());
    let meta = std::fs::metadata(&new).unwrap();
    assert_eq!(meta.uid(), owner, "{who}");
    assert_eq!(meta.mode() & 0o777, 0o666 & !umask(), "{who}");

    // A 0644 file of another owner (root's, in a directory this user may write): replaced
    // whole, its mode kept; the owner is kept where the process may set it (as root).
    if is_root() {
        let foreign = dir.path().join("pgvac.prom");
        std::fs::write(&foreign, "old").unwrap();
        std::os::unix::fs::chown(&foreign, Some(1), Some(1)).unwrap();
        std::fs::set_permissions(&foreign, std::fs::Permissions::from_mode(0o644)).unwrap();
        let run = report_to(&foreign, uid);
        assert_eq!(run.status, 1, "{who}: {}", run.transcript());
        let meta = std::fs::metadata(&foreign).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o644, "{who}: the mode changed");
        let expected_owner = if uid.is_none() { 1 } else { owner };
        assert_eq!(meta.uid(), expected_owner, "{who}: owner");
        assert!(
            is_report(&std::fs::read_to_string(&foreign).unwrap()),
            "{who}"
        );
    }

    // A character device the test made (1,3: what /dev/null is), never the system's.
    if is_root() {
        let device = dir.path().join("null");
        let made = Command::new("mknod")
            .arg(&device)
            .args(["c", "1", "3"])
            .status()
            .unwrap();
        assert!(made.success());
        std::fs::set_permissions(&device, std::fs::Permissions::from_mode(0o666)).unwrap();
        let run = report_to(&device, uid);
        assert_eq!(run.status, 1, "{who}: {}", run.transcript());
        let meta = std::fs::symlink_metadata(&device).unwrap();
        assert!(
            meta.file_type().is_char_device(),
            "{who}: the device was replaced"
        );
        assert_eq!(meta.rdev(), (1 << 8) | 3, "{who}");
    }

    // Nothing else was left in the directory: no temporary file.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names.iter().all(|n| !n.starts_with('.')),
        "{who}: left behind: {names:?}"
    );
}

fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
    u32::from_str_radix(line.split_whitespace().nth(1).unwrap(), 8).unwrap()
}

#[test]
fn output_goes_through_symlinks_fifos_and_devices_and_keeps_mode_and_owner() {
    output_cases(None);
    if is_root() {
        output_cases(Some(NOBODY));
    } else {
        eprintln!("not root: the device node and other-owner cases need root and did not run");
    }
}

#[test]
fn an_incomplete_snapshot_exits_3_and_leaves_the_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    std::fs::write(&out, "previous\n").unwrap();
    let run = report(
        "report-incomplete.json",
        &["--format", "json", "-o", out.to_str().unwrap()],
    );
    assert_eq!(run.status, 3, "{}", run.transcript());
    assert!(run.stdout.is_empty());
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.transcript());
    assert!(
        run.stderr
            .starts_with("pgvac: error: incomplete run, exit 3: not read: 2 of 7 databases"),
        "{}",
        run.transcript()
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous\n");
    // --allow-partial: the findings decide, the file is written, and it says it is partial.
    let run = report(
        "report-incomplete.json",
        &[
            "--format",
            "json",
            "--allow-partial",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(run.status, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .starts_with("pgvac: warning: incomplete run accepted")
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(written["complete"], false);
    // Without -o the report is printed, and still exit 3.
    let run = report("report-incomplete.json", &[]);
    assert_eq!(run.status, 3, "{}", run.transcript());
    assert!(
        run.stdout.contains("INCOMPLETE: not read"),
        "{}",
        run.stdout
    );
    // sessions agrees.
    let sessions = pgvac(&[
        "sessions",
        "--snapshot",
        fixture("report-incomplete.json").to_str().unwrap(),
    ]);
    assert_eq!(sessions.status, 3, "{}", sessions.transcript());
    assert!(
        sessions.stdout.starts_with("INCOMPLETE"),
        "{}",
        sessions.stdout
    );
    // A snapshot from a pgvac that did not record completeness is never taken for complete.
    let text = std::fs::read_to_string(fixture("report-warning.json")).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value.as_object_mut().unwrap().remove("missing");
    let old = dir.path().join("old.json");
    std::fs::write(&old, value.to_string()).unwrap();
    let run = pgvac(&[
        "report",
        "--snapshot",
        old.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(run.status, 3, "{}", run.transcript());
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["missing"][0]["cause"], "not_recorded");
}

#[test]
fn usage_errors_are_one_line_and_exit_3() {
    let snapshot = fixture("base-16.json");
    let snapshot = snapshot.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["report", "--snapshot", snapshot, "--format", "yaml"],
            "invalid value 'yaml' for '--format <FORMAT>'",
        ),
        (
            vec!["report", "--snapshot", snapshot, "-h", "db.example.com"],
            "cannot be used with",
        ),
        (
            vec!["report", "--snapshot", snapshot, "host=db.example.com"],
            "cannot be used with",
        ),
        (
            vec!["sessions", "--snapshot", snapshot, "-p", "5433"],
            "-p/--port cannot be used with --snapshot",
        ),
        (
            vec!["sessions", "--snapshot", snapshot, "-d", "app"],
            "-d/--dbname cannot be used with --snapshot",
        ),
        (
            vec![
                "sessions",
                "--snapshot",
                snapshot,
                "--xid-age-warning",
                "1000",
                "--xid-age-critical",
                "10",
            ],
            "--xid-age-warning 1000 is above --xid-age-critical 10",
        ),
        (vec!["report", "--no-such-flag"], "unexpected argument"),
        (vec![], "a command is needed"),
    ];
    for (args, expected) in cases {
        let run = pgvac(&args);
        assert_eq!(run.status, 3, "{args:?}: {}", run.transcript());
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.transcript());
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert!(
            lines.len() == 1
                && lines[0].starts_with("pgvac: error: ")
                && lines[0].contains(expected),
            "{args:?}: expected one line with {expected:?}: {}",
            run.transcript()
        );
    }
    // With --terminate, -d filters the snapshot's sessions: still accepted.
    let run = pgvac(&[
        "sessions",
        "--snapshot",
        snapshot,
        "--terminate",
        "-d",
        "app",
    ]);
    assert_eq!(run.status, 0, "{}", run.transcript());
}

/// `--ignore` (and `PGVAC_IGNORE`) leaves a rule's findings out of every view and of the exit
/// status, and says so; an unknown code is a usage error.
#[test]
fn ignored_rules_count_for_nothing_and_are_named() {
    let warnings = |run: &Run| -> Vec<String> {
        let document: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        document["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "warning")
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect()
    };
    let all = report("report-warning.json", &["--format", "json"]);
    assert_eq!(all.status, 1, "{}", all.transcript());
    let mut codes = warnings(&all);
    codes.sort();
    codes.dedup();
    assert!(!codes.is_empty());

    // Ignoring every rule that warns: exit 0, and the document says what was left out.
    let mut args = vec!["--format", "json"];
    for code in &codes {
        args.extend(["--ignore", code.as_str()]);
    }
    let quiet = report("report-warning.json", &args);
    assert_eq!(quiet.status, 0, "{}", quiet.transcript());
    assert!(warnings(&quiet).is_empty());
    let document: serde_json::Value = serde_json::from_str(&quiet.stdout).unwrap();
    let ignored: Vec<&str> = document["ignored"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        ignored,
        codes.iter().map(String::as_str).collect::<Vec<_>>()
    );

    // The same from the environment, comma-separated, and named in the terminal report.
    let path = fixture("report-warning.json");
    let output = Command::new(env!("CARGO_BIN_EXE_pgvac"))
        .args(["report", "--snapshot", path.to_str().unwrap()])
        .env("PGVAC_IGNORE", codes.join(","))
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("Ignored (--ignore): "), "{text}");

    let unknown = report("report-warning.json", &["--ignore", "NOPE999"]);
    assert_eq!(unknown.status, 3);
    assert_eq!(unknown.stderr.lines().count(), 1, "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("no rule \"NOPE999\""),
        "{}",
        unknown.stderr
    );
}

/// `pgvac rules --format json` lists every rule for tooling; a reader that stops early (`head`)
/// is no error.
#[test]
fn rules_as_json_and_a_closed_pipe() {
    let run = pgvac(&["rules", "--format", "json"]);
    assert_eq!(run.status, 0, "{}", run.transcript());
    let document: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(document["rules"].as_array().unwrap().len() > 30);
    assert!(document["retired"].is_array());

    let mut child = Command::new(env!("CARGO_BIN_EXE_pgvac"))
        .args(["rules", "--markdown"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read nothing, close the pipe: pgvac must not complain.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

/// Every kind of file that is not a snapshot pgvac can read: exit 3, one line naming the file
/// and what is wrong with it, nothing on stdout, and `-o` not written (docs/reliability.md).
#[test]
fn bad_snapshot_files_are_refused_in_one_line_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, content: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    };
    let good = std::fs::read_to_string(fixture("base-16.json")).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&good).unwrap();
    value["snapshot_version"] = (pgvac::snapshot::SNAPSHOT_VERSION + 1).into();
    let newer = serde_json::to_string(&value).unwrap();
    value["snapshot_version"] = pgvac::snapshot::SNAPSHOT_VERSION.into();
    value["server"]["version_num"] = "sixteen".into();
    let wrong_type = serde_json::to_string(&value).unwrap();
    let cases: Vec<(&str, PathBuf, &str)> = vec![
        (
            "empty",
            write("empty.json", b""),
            "is not a pgvac snapshot: it is not a JSON object",
        ),
        (
            "blank",
            write("blank.json", b"  \n\t\n"),
            "is not a pgvac snapshot: it is not a JSON object",
        ),
        (
            "truncated",
            write("truncated.json", &good.as_bytes()[..good.len() / 2]),
            "is not a pgvac snapshot: invalid JSON (EOF while parsing",
        ),
        (
            "not JSON",
            write("text.json", b"pgvac report, 2026-01-02\n"),
            "is not a pgvac snapshot: it is not a JSON object",
        ),
        (
            "a JSON array",
            write("array.json", b"[{\"snapshot_version\": 1}]"),
            "is not a pgvac snapshot: it is not a JSON object",
        ),
        (
            "a report, not a snapshot",
            write("report.json", b"{\"schema_version\": 1, \"findings\": []}"),
            "is not a pgvac snapshot: it has no snapshot_version",
        ),
        (
            "a newer format",
            write("newer.json", newer.as_bytes()),
            "is a version 2 snapshot; this pgvac reads version 1: collect it again with this pgvac",
        ),
        (
            "a field of the wrong type",
            write("wrong-type.json", wrong_type.as_bytes()),
            "is not a valid pgvac snapshot: invalid type: string \"sixteen\", expected i32",
        ),
        (
            "not UTF-8",
            write(
                "binary.json",
                b"{\"snapshot_version\": 1, \"x\": \"\xff\xfe\"}",
            ),
            "could not be read",
        ),
        ("a directory", dir.path().to_path_buf(), "could not be read"),
        (
            "a missing file",
            dir.path().join("missing.json"),
            "could not be read",
        ),
    ];
    let out = dir.path().join("out.json");
    for (what, path, expected) in &cases {
        for command in ["report", "sessions"] {
            let run = pgvac(&[
                command,
                "--snapshot",
                path.to_str().unwrap(),
                "--format",
                "json",
                "-o",
                out.to_str().unwrap(),
            ]);
            // sessions has no -o: it refuses the flag, which is also exit 3 in one line.
            if command == "sessions" {
                let run = pgvac(&[command, "--snapshot", path.to_str().unwrap()]);
                assert_eq!(run.status, 3, "sessions, {what}: {}", run.transcript());
                assert!(
                    run.stderr.contains(expected),
                    "sessions, {what}: {}",
                    run.transcript()
                );
                continue;
            }
            assert_eq!(run.status, 3, "{what}: {}", run.transcript());
            assert!(run.stdout.is_empty(), "{what}: {}", run.transcript());
            let lines: Vec<&str> = run.stderr.lines().collect();
            assert!(
                lines.len() == 1
                    && lines[0].starts_with("pgvac: error: ")
                    && lines[0].contains(path.to_str().unwrap())
                    && lines[0].contains(expected),
                "{what}: expected one line naming the file with {expected:?}: {}",
                run.transcript()
            );
            assert!(!out.exists(), "{what}: -o was written");
        }
    }
}

/// Outputs that cannot be written: exit 3, one line naming the file and the system's reason,
/// and nothing left behind; an existing file stays as it was.
#[test]
fn unwritable_outputs_exit_3_in_one_line_and_leave_nothing() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let snapshot = fixture("report-warning.json");
    let run_as = |uid: Option<u32>, args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pgvac"));
        command.args(["report", "--snapshot", snapshot.to_str().unwrap()]);
        command.args(args);
        if let Some(uid) = uid {
            command.uid(uid).gid(uid);
        }
        let output = command.output().expect("pgvac runs");
        Run {
            status: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    };
    let one_line = |run: &Run, what: &str, expected: &[&str]| {
        assert_eq!(run.status, 3, "{what}: {}", run.transcript());
        assert!(run.stdout.is_empty(), "{what}: {}", run.transcript());
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert!(
            lines.len() == 1
                && lines[0].starts_with("pgvac: error: ")
                && expected.iter().all(|e| lines[0].contains(e)),
            "{what}: expected one line with {expected:?}: {}",
            run.transcript()
        );
    };

    // A full disk: /dev/full is a device, so pgvac writes to it directly, and it is full.
    let run = run_as(None, &["-o", "/dev/full"]);
    one_line(
        &run,
        "/dev/full",
        &["could not write /dev/full", "No space left on device"],
    );

    // A directory as the output.
    let dir = tempfile::tempdir().unwrap();
    let run = run_as(None, &["-o", dir.path().to_str().unwrap()]);
    one_line(&run, "a directory", &["Is a directory"]);

    // A directory pgvac may not write in, holding a file it may: the file cannot be replaced
    // atomically there, so it is left as it was. As root, run as nobody (root may write
    // anywhere).
    let uid = is_root().then_some(NOBODY);
    // Reachable by that user, so the refusal is the directory's, not the way to it.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    let existing = locked.join("report.json");
    std::fs::write(&existing, "previous\n").unwrap();
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    let history = locked.join("history");
    let new = locked.join("new.json");
    let (new, existing_text, history) = (
        new.to_str().unwrap(),
        existing.to_str().unwrap(),
        history.to_str().unwrap(),
    );
    for (what, args, expected) in [
        (
            "a new file in a read-only directory",
            vec!["-o", new],
            vec!["could not write", "new.json", "Permission denied"],
        ),
        (
            "an existing file in a read-only directory",
            vec!["-o", existing_text],
            vec!["could not write", "report.json", "Permission denied"],
        ),
        (
            "--history in a read-only directory",
            vec!["--history", history],
            vec!["history", "Permission denied"],
        ),
    ] {
        let run = run_as(uid, &args);
        if uid.is_none() && run.status != 3 {
            // Not root, and still allowed to write there (a CAP_DAC_OVERRIDE container): the
            // case cannot be made here.
            eprintln!("{what}: the directory is writable for this user; not checked");
            continue;
        }
        one_line(&run, what, &expected);
    }
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "previous\n");
    let mut left: Vec<String> = std::fs::read_dir(&locked)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["report.json"], "left behind in the directory");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Flags that contradict each other or make no sense alone: exit 3, one line naming them.
#[test]
fn contradictory_and_dangling_flags_are_usage_errors() {
    let snapshot = fixture("base-16.json");
    let snapshot = snapshot.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["sessions", "--execute"], "--terminate"),
        (vec!["sessions", "--yes"], "--terminate --execute"),
        (vec!["sessions", "--pid", "42"], "--terminate"),
        (vec!["sessions", "--min-xid-age", "5"], "--terminate"),
        (
            vec!["report", "--snapshot", snapshot, "--keep", "3"],
            "--history <DIR>",
        ),
        (
            vec!["report", "--snapshot", snapshot, "--exclude-db", "app"],
            "'--snapshot <FILE>' cannot be used with '--exclude-db <DBNAME>'",
        ),
        (
            vec!["collect", "--dsn", "host=a", "host=b"],
            "'--dsn <CONNINFO>' cannot be used with '[CONNINFO]'",
        ),
        (
            vec!["collect", "--statement-timeout", "0"],
            "must be more than 0 (0 would mean no timeout at all)",
        ),
        (
            vec!["collect", "--lock-timeout", "0s"],
            "must be more than 0 (0 would mean no timeout at all)",
        ),
        (vec!["collect", "--jobs", "0"], "0 is not in 1..=64"),
        (
            vec!["report", "--snapshot", snapshot, "--width", "10"],
            "10 is not in 60..=1000",
        ),
        (
            vec![
                "sessions",
                "--snapshot",
                snapshot,
                "--xid-age-warning",
                "2000000000",
            ],
            "--xid-age-warning 2000000000 is above --xid-age-critical 1000000000",
        ),
    ];
    for (args, expected) in cases {
        let run = pgvac(&args);
        assert_eq!(run.status, 3, "{args:?}: {}", run.transcript());
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.transcript());
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert!(
            lines.len() == 1
                && lines[0].starts_with("pgvac: error: ")
                && lines[0].contains(expected),
            "{args:?}: expected one line with {expected:?}: {}",
            run.transcript()
        );
    }
}

/// Ctrl-C while pgvac waits for a server that never answers: exit 130 at once with one line,
/// nothing on stdout, no -o file. (The real-server test checks that a running statement is
/// cancelled on the server.)
#[test]
fn ctrl_c_while_connecting_exits_130_and_writes_nothing() {
    use std::io::Read;
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snapshot.json");
    for (command, expected) in [
        (
            "collect",
            "pgvac: interrupted: no statement of pgvac's was running on the server; nothing was written",
        ),
        ("ping", "pgvac: interrupted"),
    ] {
        let mut args = vec![
            command,
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "postgres",
            "--connect-timeout",
            "60",
        ];
        if command == "collect" {
            args.extend(["-o", out.to_str().unwrap()]);
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_pgvac"))
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Long enough to be waiting on the silent port.
        std::thread::sleep(std::time::Duration::from_millis(700));
        assert!(
            Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .unwrap()
                .success()
        );
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > std::time::Duration::from_secs(10) {
                child.kill().unwrap();
                panic!("{command}: still running 10 s after Ctrl-C");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let mut stdout = String::new();
        let mut stderr = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert_eq!(status.code(), Some(130), "{command}: {status:?}\n{stderr}");
        assert_eq!(stderr.trim_end(), expected, "{command}");
        assert!(stdout.is_empty(), "{command}: {stdout}");
        assert!(!out.exists(), "{command}: -o was written");
    }
    drop(silent);
}

/// docs/reliability.md names the test behind each row: every name must be a test that exists,
/// where the doc says it is, so the table cannot drift from the suite.
#[test]
fn reliability_doc_names_only_tests_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/reliability.md")).unwrap();
    let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap();
    let postgres: String = std::fs::read_dir(root.join("tests/postgres"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let mut lib = String::new();
    let mut dirs = vec![root.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                lib.push_str(&std::fs::read_to_string(path).unwrap());
            }
        }
    }
    let mut named = 0;
    for quoted in doc.split('`').skip(1).step_by(2) {
        let (binary, name) = if let Some(name) = quoted.strip_prefix("pgN::") {
            ("postgres", name)
        } else if let Some(name) = quoted.strip_prefix("pg11::") {
            ("postgres 11", name)
        } else if let Some((binary @ ("cli" | "cli_logs" | "lib" | "fuzz_seeds"), name)) =
            quoted.split_once(' ')
        {
            (binary, name)
        } else {
            continue;
        };
        if name == "name" {
            // The intro's `pgN::name`.
            continue;
        }
        named += 1;
        let exists = match binary {
            "postgres" => postgres.contains(&format!("\"{name}\"")),
            "postgres 11" => {
                let unsupported = read("tests/postgres/collect.rs");
                let list = &unsupported[unsupported.find("UNSUPPORTED_TESTS").unwrap()..];
                list.contains(&format!("\"{name}\""))
            }
            "cli" => read("tests/cli.rs").contains(&format!("fn {name}(")),
            "cli_logs" => read("tests/cli_logs.rs").contains(&format!("fn {name}(")),
            "fuzz_seeds" => read("tests/fuzz_seeds.rs").contains(&format!("fn {name}(")),
            _ => {
                let function = name.rsplit("::").next().unwrap();
                lib.contains(&format!("fn {function}("))
            }
        };
        assert!(
            exists,
            "docs/reliability.md names `{quoted}`, which is no test"
        );
    }
    assert!(
        named >= 40,
        "only {named} tests named in docs/reliability.md"
    );
}
