//! Running the real pgvac binary, as a user would, against a test cluster.

use std::path::Path;
use std::process::{Command, Output};

use pgvac::snapshot::Snapshot;

use crate::cluster::Cluster;

/// The pgvac binary with a clean libpq environment (no PG* variables from the caller).
pub fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pgvac"));
    for (key, _) in std::env::vars() {
        if key.starts_with("PG") {
            command.env_remove(key);
        }
    }
    command.env("HOME", "/nonexistent").env_remove("NO_COLOR");
    command
}

pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn describe(&self) -> String {
        format!(
            "exit {}\n--- stderr\n{}\n--- stdout (first 2000 bytes)\n{}",
            self.status,
            self.stderr,
            {
                let mut end = self.stdout.len().min(2000);
                while !self.stdout.is_char_boundary(end) {
                    end -= 1;
                }
                &self.stdout[..end]
            }
        )
    }
}

pub fn run(command: &mut Command) -> Result<Run, String> {
    let Output {
        status,
        stdout,
        stderr,
    } = command
        .output()
        .map_err(|e| format!("running pgvac: {e}"))?;
    Ok(Run {
        status: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

/// `pgvac <subcommand> -h 127.0.0.1 -p PORT -U postgres` plus `args`.
pub fn on(cluster: &Cluster, subcommand: &str, args: &[&str]) -> Result<Run, String> {
    let port = cluster.port.to_string();
    run(command()
        .arg(subcommand)
        .args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres"])
        .args(args))
}

/// `pgvac collect -d DATABASE` as postgres, parsed.
pub fn collect(cluster: &Cluster, database: &str) -> Result<Snapshot, String> {
    let run = on(cluster, "collect", &["-d", database])?;
    if run.status != 0 {
        return Err(format!("pgvac collect failed: {}", run.describe()));
    }
    let document: serde_json::Value = serde_json::from_str(&run.stdout)
        .map_err(|e| format!("snapshot JSON: {e}\n{}", run.describe()))?;
    // Every snapshot a real server gives is valid under the committed schema.
    validate(&document, "docs/snapshot.schema.json")?;
    serde_json::from_value(document).map_err(|e| format!("snapshot: {e}\n{}", run.describe()))
}

/// Whether a file exists, for the "nothing half-written" checks.
pub fn exists(path: &Path) -> bool {
    path.exists()
}

/// Check a JSON document pgvac wrote against the schema committed at `schema_file` (relative to
/// the crate root, e.g. `docs/report.schema.json`).
pub fn validate(document: &serde_json::Value, schema_file: &str) -> Result<(), String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(schema_file);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let schema: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let validator = jsonschema::validator_for(&schema).map_err(|e| e.to_string())?;
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "pgvac's JSON does not validate against {schema_file}:\n{}\n{document:#}",
            errors.join("\n")
        ))
    }
}
