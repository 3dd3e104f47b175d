//! Throwaway PostgreSQL clusters for the integration tests.
//!
//! A cluster is initdb'd into a temporary directory and started with pg_ctl on a free port; it is
//! stopped and removed when the `Cluster` is dropped, which the harness does after every trial,
//! passed or failed. initdb refuses to run as root, so when the tests run as root the server
//! runs as the unprivileged user `nobody`.
//!
//! Binaries are found, per major version, in the directories listed in `PGVAC_PG_BINDIRS`
//! (colon-separated), then on `PATH`, then under `/usr/lib/postgresql/*/bin`.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::RwLock;
use std::time::Duration;

/// Settings every test cluster runs with. `autovacuum_naptime = 1s` lets the oracle tests see
/// autovacuum decide within seconds; the rest enable prepared transactions and logical slots.
const SERVER_SETTINGS: &[(&str, &str)] = &[
    ("listen_addresses", "'127.0.0.1'"),
    ("max_connections", "100"),
    ("shared_buffers", "32MB"),
    ("fsync", "off"),
    ("synchronous_commit", "off"),
    ("full_page_writes", "off"),
    ("max_prepared_transactions", "10"),
    ("wal_level", "logical"),
    ("max_replication_slots", "10"),
    ("max_wal_senders", "10"),
    ("autovacuum_naptime", "1s"),
    ("log_line_prefix", "'%m [%p] %a@%d '"),
    ("log_min_messages", "info"),
    ("password_encryption", "'md5'"),
    ("ssl", "on"),
];

/// A test CA (`ca.crt` in the cluster directory) and a server certificate for 127.0.0.1 and
/// localhost signed by it, so the tests can check `sslmode=verify-full` end to end.
fn write_certificates(dir: &Path, data: &Path) -> Result<(), String> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let err = |e: rcgen::Error| format!("test certificates: {e}");
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "pgvac test CA");
    let ca_cert = ca_params.self_signed(&ca_key).map_err(err)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().map_err(err)?;
    let mut server_params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .map_err(err)?;
    server_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let server_cert = server_params.signed_by(&server_key, &issuer).map_err(err)?;
    write_owned(&data.join("server.crt"), &server_cert.pem(), 0o644)?;
    write_owned(&data.join("server.key"), &server_key.serialize_pem(), 0o600)?;
    write_owned(&dir.join("ca.crt"), &ca_cert.pem(), 0o644)
}

pub struct Cluster {
    pub major: u32,
    pub version: String,
    pub bindir: PathBuf,
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// Tests that hold back the xmin horizon or change cluster-wide state take this for writing;
    /// all others take it for reading, so they never see each other's horizon holders.
    pub exclusive: RwLock<()>,
}

/// Major version to bin directory, for every PostgreSQL installation that can be found.
pub fn installations() -> BTreeMap<u32, PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Ok(list) = std::env::var("PGVAC_PG_BINDIRS") {
        dirs.extend(list.split(':').filter(|s| !s.is_empty()).map(PathBuf::from));
    }
    if let Ok(path) = std::env::var("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut found: Vec<PathBuf> = entries.flatten().map(|e| e.path().join("bin")).collect();
        found.sort();
        dirs.extend(found);
    }
    let mut by_major = BTreeMap::new();
    for dir in dirs {
        let postgres = dir.join("postgres");
        if !postgres.is_file() || !dir.join("pg_ctl").is_file() || !dir.join("initdb").is_file() {
            continue;
        }
        let Ok(output) = Command::new(&postgres).arg("--version").output() else {
            continue;
        };
        // "postgres (PostgreSQL) 16.14"
        let text = String::from_utf8_lossy(&output.stdout);
        let Some(version) = text.split_whitespace().nth(2) else {
            continue;
        };
        let Some(major) = version
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok())
        else {
            continue;
        };
        by_major.entry(major).or_insert(dir);
    }
    by_major
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe extern "C" {
        fn geteuid() -> u32;
    }
    unsafe { geteuid() == 0 }
}

const NOBODY: u32 = 65534;

fn command(program: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LC_ALL", "C");
    if is_root() {
        command.uid(NOBODY).gid(NOBODY);
    }
    command
}

fn check(output: std::io::Result<Output>, what: &str) -> Result<Output, String> {
    let output = output.map_err(|e| format!("{what}: {e}"))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free TCP port on 127.0.0.1")
}

impl Cluster {
    pub fn start(major: u32, bindir: &Path) -> Result<Cluster, String> {
        Cluster::start_with(major, bindir, "")
    }

    /// A cluster with `settings` (postgresql.conf lines) after the test settings.
    pub fn start_with(major: u32, bindir: &Path, settings: &str) -> Result<Cluster, String> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("pgvac-pg{major}-"))
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        own(dir.path())?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .map_err(|e| e.to_string())?;
        let data = dir.path().join("data");
        check(
            command(&bindir.join("initdb"))
                .arg("-D")
                .arg(&data)
                .args([
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ])
                .output(),
            &format!("initdb for PostgreSQL {major}"),
        )?;
        let mut conf = String::from("\n# pgvac test cluster\n");
        for (name, value) in SERVER_SETTINGS {
            conf.push_str(&format!("{name} = {value}\n"));
        }
        conf.push_str(settings);
        append(&data.join("postgresql.conf"), &conf)?;
        write_certificates(dir.path(), &data)?;
        // Password authentication over TCP for every role but postgres, so the tests can check
        // a wrong password; postgres and local sockets are trusted.
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\n\
             host all postgres 127.0.0.1/32 trust\n\
             host replication all 127.0.0.1/32 trust\n\
             host all all 127.0.0.1/32 md5\n",
        )
        .map_err(|e| e.to_string())?;

        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let result = check(
                command(&bindir.join("pg_ctl"))
                    .arg("-D")
                    .arg(&data)
                    .arg("-l")
                    .arg(dir.path().join("server.log"))
                    .args(["-w", "-t", "60", "-o"])
                    .arg(format!("-p {port} -k {}", dir.path().display()))
                    .arg("start")
                    .output(),
                &format!("pg_ctl start for PostgreSQL {major}"),
            );
            match result {
                Ok(_) => {
                    let version = String::from_utf8_lossy(
                        &Command::new(bindir.join("postgres"))
                            .arg("--version")
                            .output()
                            .map_err(|e| e.to_string())?
                            .stdout,
                    )
                    .split_whitespace()
                    .nth(2)
                    .unwrap_or("?")
                    .to_string();
                    return Ok(Cluster {
                        major,
                        version,
                        bindir: bindir.to_path_buf(),
                        port,
                        dir,
                        exclusive: RwLock::new(()),
                    });
                }
                Err(e) => {
                    last_error = format!("{e}\n{}", self_log(dir.path()));
                }
            }
        }
        Err(last_error)
    }

    /// The CA that signed the server's certificate.
    pub fn ca_path(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// The data directory (where a `logging_collector` writes its `log_directory`).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The server log as text.
    pub fn log(&self) -> String {
        self_log(self.dir.path())
    }

    /// A URL for `user` on `database`.
    pub fn url(&self, user: &str, database: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{database}", self.port)
    }

    /// Change postgresql.conf and reload.
    pub fn reload_with(&self, settings: &str) -> Result<(), String> {
        append(&self.dir.path().join("data/postgresql.conf"), settings)?;
        check(
            command(&self.bindir.join("pg_ctl"))
                .arg("-D")
                .arg(self.dir.path().join("data"))
                .arg("reload")
                .output(),
            "pg_ctl reload",
        )
        .map(|_| ())
    }
}

/// A hot standby of a test cluster, streaming through a physical slot with
/// `hot_standby_feedback = on`. Stopped when dropped (its slot stays: drop it on the primary).
pub struct Standby {
    pub port: u16,
    bindir: PathBuf,
    data: PathBuf,
    log: PathBuf,
}

impl Standby {
    /// The standby's server log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Cluster {
    /// Build a hot standby, feedback on and reported every second, streaming through the
    /// physical slot `slot` (created here). The copy is made with the server's own low-level
    /// backup API (`pg_backup_start` / `pg_start_backup`, a file copy, `pg_backup_stop` /
    /// `pg_stop_backup`), because the npm packages ship no pg_basebackup: the same code builds a
    /// standby on every version.
    pub fn start_standby(&self, slot: &str) -> Result<Standby, String> {
        let data = self.dir.path().join(format!("standby-{slot}"));
        let mut admin = crate::client::Client::connect(self, "postgres")?;
        // Reserved now, so the primary keeps the WAL from before the backup's start.
        admin.execute(&format!(
            "SELECT pg_create_physical_replication_slot('{slot}', true)"
        ))?;
        let (start, stop) = if self.major >= 15 {
            (
                "SELECT pg_backup_start('pgvac standby', true)::text",
                "SELECT labelfile FROM pg_backup_stop(true)",
            )
        } else {
            (
                "SELECT pg_start_backup('pgvac standby', true, false)::text",
                "SELECT labelfile FROM pg_stop_backup(false, true)",
            )
        };
        admin.text(start)?;
        let copied = copy_data_directory(&self.dir.path().join("data"), &data);
        // End the backup whatever happened to the copy.
        let label = admin.text(stop)?;
        copied?;
        let label = label.ok_or("the backup returned no backup_label")?;
        write_owned(&data.join("backup_label"), &label, 0o600)?;
        write_owned(&data.join("standby.signal"), "", 0o600)?;
        append(
            &data.join("postgresql.auto.conf"),
            &format!(
                "\nprimary_conninfo = 'host=127.0.0.1 port={} user=postgres application_name={slot}'\n\
                 primary_slot_name = '{slot}'\nhot_standby = on\nhot_standby_feedback = on\n\
                 wal_receiver_status_interval = 1s\n",
                self.port
            ),
        )?;
        let log = self.dir.path().join(format!("standby-{slot}.log"));
        let port = free_port();
        check(
            command(&self.bindir.join("pg_ctl"))
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "-o"])
                .arg(format!("-p {port} -k {}", self.dir.path().display()))
                .arg("start")
                .output(),
            "pg_ctl start for the standby",
        )
        .map_err(|e| format!("{e}\n{}", std::fs::read_to_string(&log).unwrap_or_default()))?;
        Ok(Standby {
            port,
            bindir: self.bindir.clone(),
            data,
            log,
        })
    }
}

impl Drop for Standby {
    fn drop(&mut self) {
        let _ = command(&self.bindir.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// Directories whose contents a base backup leaves out (as pg_basebackup does): WAL comes from
/// streaming, slots are the primary's, the rest is rebuilt at startup.
const EMPTY_IN_BACKUP: &[&str] = &[
    "pg_wal",
    "pg_replslot",
    "pg_dynshmem",
    "pg_notify",
    "pg_serial",
    "pg_snapshots",
    "pg_stat_tmp",
    "pg_subtrans",
];

/// Files a base backup leaves out.
const LEFT_OUT_OF_BACKUP: &[&str] = &["postmaster.pid", "postmaster.opts", "pg_internal.init"];

/// Copy a running cluster's data directory for a base backup, owned as the server expects. Files
/// that vanish during the copy (a dropped table) are skipped: WAL replay accounts for them.
fn copy_data_directory(from: &Path, to: &Path) -> Result<(), String> {
    fn copy(from: &Path, to: &Path, top: bool) -> Result<(), String> {
        let error = |e: std::io::Error, path: &Path| format!("copying {}: {e}", path.display());
        make_dir(to)?;
        let entries = match std::fs::read_dir(from) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(error(e, from)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| error(e, from))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let source = entry.path();
            let target = to.join(&*name);
            if LEFT_OUT_OF_BACKUP.contains(&&*name) {
                continue;
            }
            let kind = match entry.file_type() {
                Ok(kind) => kind,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(error(e, &source)),
            };
            if kind.is_dir() {
                if top && EMPTY_IN_BACKUP.contains(&&*name) {
                    make_dir(&target)?;
                    if name == "pg_wal" {
                        make_dir(&target.join("archive_status"))?;
                    }
                } else {
                    copy(&source, &target, false)?;
                }
            } else if kind.is_file() {
                match std::fs::copy(&source, &target) {
                    Ok(_) => own(&target)?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(error(e, &source)),
                }
            }
        }
        Ok(())
    }
    copy(from, to, true)
}

/// Hand a file or directory to the server's OS user (`nobody` when the tests run as root).
fn own(path: &Path) -> Result<(), String> {
    if is_root() {
        std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY))
            .map_err(|e| format!("chown {}: {e}", path.display()))?;
    }
    Ok(())
}

/// A directory only the server's OS user can use, as PostgreSQL requires of its data.
fn make_dir(path: &Path) -> Result<(), String> {
    std::fs::create_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    own(path)
}

/// Write a file with `mode`, owned by the server's OS user.
fn write_owned(path: &Path, text: &str, mode: u32) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    own(path)
}

fn self_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
}

fn append(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(text.as_bytes()).map_err(|e| e.to_string())
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = command(&self.bindir.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// Wait up to `timeout` for `condition` to hold, checking every 100 ms.
pub fn wait_for(
    timeout: Duration,
    mut condition: impl FnMut() -> Result<bool, String>,
) -> Result<bool, String> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if condition()? {
            return Ok(true);
        }
        if std::time::Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
