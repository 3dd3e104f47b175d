//! `pgvac demo` end to end, as a new user runs it, on PostgreSQL 12 and 18 found the way the
//! demo and the test harness find them (`pgvac::local_server`): the report shows a finding of
//! every category, and afterwards nothing of the demo is left, also when it is interrupted
//! halfway or kept running with `--keep`.
//!
//! "Nothing left" is checked without looking at other servers on this machine (other test
//! suites run theirs at the same time): pgvac runs in a process group of its own, which must be
//! empty afterwards (initdb and anything else it started); the postmaster, whose pid the demo
//! prints, must be gone; no process may have its working directory in the demo's directory
//! (every backend does: they chdir to the data directory), and that directory must be gone.
//!
//! `UPDATE_DOCS=1 cargo test --test demo` also rewrites `examples/demo-snapshot.json` from the
//! PostgreSQL 18 run.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

/// The demo promises to be done well within this; past it the test kills it and fails.
const CEILING: Duration = Duration::from_secs(120);

fn bindir(major: u32) -> PathBuf {
    match pgvac::local_server::installations().remove(&major) {
        Some(installation) => installation.bindir,
        None => panic!(
            "no PostgreSQL {major} binaries found: run scripts/test-all, or list its bin \
             directory in PGVAC_PG_BINDIRS"
        ),
    }
}

/// A running `pgvac demo`, its stderr read line by line as it comes.
struct Demo {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Vec<String>,
    stdout: std::thread::JoinHandle<String>,
    started: Instant,
}

impl Demo {
    fn start(major: u32, extra: &[&str]) -> Demo {
        // The binaries are found through PGVAC_PG_BINDIRS or the default places; pin the one
        // asked for with --pg-version.
        let _ = bindir(major);
        let mut command = Command::new(env!("CARGO_BIN_EXE_pgvac"));
        for (key, _) in std::env::vars() {
            if key.starts_with("PG") && key != "PGVAC_PG_BINDIRS" && key != "PGVAC_PG_ROOT" {
                command.env_remove(key);
            }
        }
        command
            .env("NO_COLOR", "1")
            .args(["demo", "--pg-version", &major.to_string()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command.spawn().expect("pgvac runs");
        let (send, lines) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stdout = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text);
            text
        });
        Demo {
            child,
            lines,
            stderr: Vec::new(),
            stdout,
            started: Instant::now(),
        }
    }

    /// Read stderr until a line contains `wanted`; that line.
    fn wait_for_line(&mut self, wanted: &str) -> String {
        loop {
            let left = CEILING.saturating_sub(self.started.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stderr.push(line.clone());
                    if line.contains(wanted) {
                        return line;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!(
                        "no line with {wanted:?} within {CEILING:?}:\n{}",
                        self.stderr.join("\n")
                    );
                }
            }
        }
    }

    fn signal(&self, signal: Signal) {
        rustix::process::kill_process(Pid::from_child(&self.child), signal).unwrap();
    }

    /// Wait for the exit (at most until the ceiling); exit status, stdout, all of stderr.
    fn finish(mut self) -> Finished {
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if self.started.elapsed() > CEILING {
                let _ = self.child.kill();
                panic!(
                    "pgvac demo still running after {CEILING:?}:\n{}",
                    self.stderr.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let took = self.started.elapsed();
        let stdout = self.stdout.join().unwrap();
        self.stderr.extend(self.lines.iter());
        let stderr = self.stderr.join("\n");
        let pgvac = self.child.id();
        Finished {
            status: status.code().unwrap_or(-1),
            stdout,
            stderr,
            pgvac,
            took,
        }
    }
}

struct Finished {
    status: i32,
    stdout: String,
    stderr: String,
    pgvac: u32,
    took: Duration,
}

impl Finished {
    fn describe(&self) -> String {
        format!(
            "exit {} after {:.1} s\n--- stderr\n{}\n--- stdout\n{}",
            self.status,
            self.took.as_secs_f64(),
            self.stderr,
            self.stdout
        )
    }

    /// The demo's directory and the postmaster's pid, from the line the demo prints at start.
    fn server(&self) -> (PathBuf, u32) {
        let line = self
            .stderr
            .lines()
            .find(|l| l.starts_with("demo: server pid "))
            .unwrap_or_else(|| panic!("no server line:\n{}", self.describe()));
        let words: Vec<&str> = line.split_whitespace().collect();
        (PathBuf::from(words[5]), words[3].parse().unwrap())
    }

    /// Nothing of the demo is left: no process in pgvac's process group, no postmaster, no
    /// process working in the demo's directory, no directory.
    fn assert_nothing_left(&self) {
        let (dir, postmaster) = self.server();
        assert!(
            !dir.exists(),
            "{} is left\n{}",
            dir.display(),
            self.describe()
        );
        let group = Pid::from_raw(self.pgvac as i32).unwrap();
        assert!(
            rustix::process::test_kill_process_group(group).is_err(),
            "processes left in pgvac's process group\n{}",
            self.describe()
        );
        let left = processes_in(&dir);
        assert!(
            left.is_empty(),
            "processes left working in {}: {left:?}\n{}",
            dir.display(),
            self.describe()
        );
        let postmaster = Pid::from_raw(postmaster as i32).unwrap();
        assert!(
            rustix::process::test_kill_process(postmaster).is_err()
                || processes_in(&dir).is_empty(),
            "the postmaster is left\n{}",
            self.describe()
        );
    }
}

/// Processes whose working directory is `dir` or below it (deleted or not).
fn processes_in(dir: &Path) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cwd) = std::fs::read_link(entry.path().join("cwd"))
            && cwd.starts_with(dir)
        {
            found.push(pid);
        }
    }
    found
}

/// Codes the report must show on every version, and the categories they stand for.
const ALWAYS: &[&str] = &[
    "WRAP005",
    "WRAP006",
    "TABLE001",
    "TABLE003",
    "TABLE005",
    "CONFIG003",
    "CONFIG004",
    "BLOCK006",
    "RUN001",
];

fn runs_to_the_end(major: u32) {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("snapshot.json");
    let demo = Demo::start(major, &["--save-snapshot", saved.to_str().unwrap()]);
    let run = demo.finish();
    eprintln!(
        "pgvac demo on PostgreSQL {major}: {:.1} s",
        run.took.as_secs_f64()
    );
    assert_eq!(run.status, 0, "{}", run.describe());
    assert!(!run.stderr.contains("NOT shown"), "{}", run.describe());
    run.assert_nothing_left();

    // The report printed is the report of the snapshot saved: analyse it offline and check
    // each category, and each planted problem, by code.
    let offline = Command::new(env!("CARGO_BIN_EXE_pgvac"))
        .args(["report", "--format", "json", "--snapshot"])
        .arg(&saved)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&offline.stdout).unwrap();
    let codes: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect();
    let mut expected: Vec<&str> = ALWAYS.to_vec();
    if major < 17 {
        // Before 17 a slot's inactivity has no start time: an inactive slot is a warning.
        expected.push("BLOCK004");
    }
    for code in &expected {
        assert!(
            codes.iter().any(|c| c == code),
            "{code} not in the report: {codes:?}\n{}",
            run.describe()
        );
        assert!(run.stdout.contains(code), "{code} not printed");
    }
    for prefix in ["WRAP", "TABLE", "CONFIG", "BLOCK", "RUN"] {
        assert!(codes.iter().any(|c| c.starts_with(prefix)), "no {prefix}");
    }
    assert!(run.stdout.contains("payment-4711"), "sessions view missing");
    // Not on a terminal, the report and the sessions view fit the default 100 columns.
    let widest = run
        .stdout
        .lines()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    assert!(widest <= 100, "a line of {widest} columns:\n{}", run.stdout);
    if major == 18 && std::env::var_os("UPDATE_DOCS").is_some() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-snapshot.json");
        std::fs::copy(&saved, example).unwrap();
    }
}

#[test]
fn demo_on_12_shows_every_category_and_leaves_nothing() {
    runs_to_the_end(12);
}

#[test]
fn demo_on_18_shows_every_category_and_leaves_nothing() {
    runs_to_the_end(18);
}

/// SIGINT in the middle of the seeding: exit 130, nothing left.
fn interrupted_halfway(major: u32) {
    let mut demo = Demo::start(major, &[]);
    demo.wait_for_line("consuming 150,000 transaction IDs");
    demo.signal(Signal::INT);
    let run = demo.finish();
    assert_eq!(run.status, 130, "{}", run.describe());
    assert!(run.stderr.contains("interrupted"), "{}", run.describe());
    assert!(!run.stdout.contains("Findings:"), "{}", run.describe());
    run.assert_nothing_left();
}

#[test]
fn demo_on_12_interrupted_halfway_leaves_nothing() {
    interrupted_halfway(12);
}

#[test]
fn demo_on_18_interrupted_halfway_leaves_nothing() {
    interrupted_halfway(18);
}

/// `--keep`: the printed command terminates the demo's idle session, the demo notices, and
/// Ctrl-C then removes everything (exit 0: that is how a kept demo ends).
#[test]
fn demo_keep_lets_a_user_terminate_its_idle_session() {
    let mut demo = Demo::start(18, &["--keep"]);
    let line = demo.wait_for_line("terminate:  pgvac sessions");
    let command = line.split("terminate:  pgvac ").nth(1).unwrap().to_string();
    let args: Vec<&str> = command.split_whitespace().collect();
    let pid = args[args.iter().position(|a| *a == "--pid").unwrap() + 1].to_string();
    let terminate = Command::new(env!("CARGO_BIN_EXE_pgvac"))
        .args(&args)
        .arg("--yes")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&terminate.stdout);
    assert_eq!(
        terminate.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&terminate.stderr)
    );
    assert!(
        stdout.contains(&format!("pid {pid}: terminated")),
        "{stdout}"
    );
    demo.wait_for_line(&format!("pid {pid} has ended"));
    demo.signal(Signal::INT);
    let run = demo.finish();
    assert_eq!(run.status, 0, "{}", run.describe());
    run.assert_nothing_left();
}

/// A server of the test's own for `--server`: socket only, in a temporary directory; stopped
/// when dropped.
struct Existing {
    bindir: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl Existing {
    fn start(major: u32, settings: &str) -> Existing {
        use pgvac::local_server as ls;
        let bindir = bindir(major);
        let dir = tempfile::tempdir().unwrap();
        ls::own(dir.path()).unwrap();
        let data = dir.path().join("data");
        ls::check(ls::initdb_command(&bindir, &data).output(), "initdb").unwrap();
        let port = ls::free_port().unwrap();
        ls::append(
            &data.join("postgresql.conf"),
            &format!(
                "\nlisten_addresses = ''\nport = {port}\nunix_socket_directories = '{}'\n\
                 fsync = off\n{settings}",
                dir.path().display()
            ),
        )
        .unwrap();
        let server = Existing { bindir, dir, port };
        server.pg_ctl(&["-l", "/dev/null", "-w", "start"]);
        server
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.dir.path().join("data");
        let output = pgvac::local_server::server_command(&self.bindir.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .args(args)
            .output();
        pgvac::local_server::check(output, "pg_ctl").unwrap();
    }

    fn conninfo(&self) -> String {
        format!(
            "host={} port={} user=postgres dbname=postgres sslmode=disable",
            self.dir.path().display(),
            self.port
        )
    }

    fn demo(&self) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_pgvac"))
            .args(["demo", "--server", &self.conninfo()])
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }
}

impl Drop for Existing {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = pgvac::local_server::server_command(&self.bindir.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// `--server` (the docker-compose route): a server without the demo's settings is refused with
/// the flags to add; an empty one with them is seeded and reported on; a second run refuses it,
/// since it now has databases of its own.
#[test]
fn demo_server_seeds_only_an_empty_server_with_the_settings() {
    let settings: String = pgvac::demo::SETTINGS
        .iter()
        .map(|(name, value, _)| format!("{name} = '{value}'\n"))
        .collect();
    let plain = Existing::start(18, "");
    let refused = plain.demo();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("-c autovacuum_freeze_max_age=100000"),
        "{stderr}"
    );
    drop(plain);

    let server = Existing::start(18, &settings);
    let seeded = server.demo();
    let stdout = String::from_utf8_lossy(&seeded.stdout);
    let stderr = String::from_utf8_lossy(&seeded.stderr);
    assert_eq!(seeded.status.code(), Some(0), "{stderr}\n{stdout}");
    for code in ALWAYS {
        assert!(stdout.contains(code), "{code}:\n{stderr}\n{stdout}");
    }
    let again = server.demo();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("databases of its own (archive_2019, shop)"),
        "{stderr}"
    );
}

/// An error once everything is planted (the snapshot cannot be saved): one error line, exit 3,
/// nothing left.
#[test]
fn demo_failing_at_the_end_leaves_nothing() {
    let demo = Demo::start(12, &["--save-snapshot", "/nonexistent/dir/snapshot.json"]);
    let run = demo.finish();
    assert_eq!(run.status, 3, "{}", run.describe());
    assert!(
        run.stderr
            .lines()
            .any(|l| l.starts_with("pgvac: error:") && l.contains("/nonexistent/dir")),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr.contains("consuming 20,000 more"),
        "failed too early"
    );
    run.assert_nothing_left();
}
