//! Throwaway PostgreSQL clusters for the integration tests.
//!
//! A cluster is initdb'd into a temporary directory and started with pg_ctl on a free port; it is
//! stopped and removed when the `Cluster` is dropped, which the harness does after every trial,
//! passed or failed. initdb refuses to run as root, so when the tests run as root the server
//! runs as the unprivileged user `nobody`.
//!
//! Finding the binaries and running them as that user is `pgvac::local_server`'s, shared with
//! `pgvac demo`.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::RwLock;
use std::time::Duration;

use pgvac::local_server;

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
fn write_certificates(dir: &Path, data: &Path, user: OsUser) -> Result<(), String> {
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
    write_owned(&data.join("server.crt"), &server_cert.pem(), 0o644, user)?;
    write_owned(
        &data.join("server.key"),
        &server_key.serialize_pem(),
        0o600,
        user,
    )?;
    write_owned(&dir.join("ca.crt"), &ca_cert.pem(), 0o644, user)
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
    /// The operating-system user the server runs as (when the tests run as root).
    pub os_user: OsUser,
}

/// An operating-system user for the server's processes and files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OsUser {
    pub uid: u32,
    pub gid: u32,
}

/// `nobody`, the default server user.
pub const NOBODY_USER: OsUser = OsUser {
    uid: NOBODY,
    gid: NOBODY,
};

/// Major version to bin directory, for every PostgreSQL installation that can be found.
pub fn installations() -> BTreeMap<u32, PathBuf> {
    local_server::installations()
        .into_iter()
        .map(|(major, installation)| (major, installation.bindir))
        .collect()
}

pub fn is_root() -> bool {
    local_server::is_root()
}

const NOBODY: u32 = local_server::SERVER_UID;

/// A server program run as `user` (when the tests run as root), in the clean environment of
/// `local_server::server_command`.
fn command(program: &Path, user: OsUser) -> Command {
    let mut command = local_server::server_command(program);
    if is_root() {
        command.uid(user.uid).gid(user.gid);
    }
    command
}

fn check(output: std::io::Result<Output>, what: &str) -> Result<Output, String> {
    local_server::check(output, what).map_err(|e| e.to_string())
}

fn free_port() -> u16 {
    local_server::free_port().expect("a free TCP port on 127.0.0.1")
}

impl Cluster {
    pub fn start(major: u32, bindir: &Path) -> Result<Cluster, String> {
        Cluster::start_with(major, bindir, "")
    }

    /// A cluster with `settings` (postgresql.conf lines) after the test settings.
    pub fn start_with(major: u32, bindir: &Path, settings: &str) -> Result<Cluster, String> {
        Cluster::start_as(major, bindir, settings, NOBODY_USER, None)
    }

    /// A cluster run by `user`, with its Unix-domain socket in `socket_dir` (default: the
    /// cluster's own temporary directory).
    pub fn start_as(
        major: u32,
        bindir: &Path,
        settings: &str,
        user: OsUser,
        socket_dir: Option<&Path>,
    ) -> Result<Cluster, String> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("pgvac-pg{major}-"))
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        own(dir.path(), user)?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .map_err(|e| e.to_string())?;
        let data = dir.path().join("data");
        check(
            command(&bindir.join("initdb"), user)
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
        write_certificates(dir.path(), &data, user)?;
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

        let socket_dir = socket_dir.unwrap_or(dir.path()).to_path_buf();
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let result = check(
                command(&bindir.join("pg_ctl"), user)
                    .arg("-D")
                    .arg(&data)
                    .arg("-l")
                    .arg(dir.path().join("server.log"))
                    .args(["-w", "-t", "60", "-o"])
                    .arg(format!("-p {port} -k {}", socket_dir.display()))
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
                        os_user: user,
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

    /// Restart the server (fast shutdown: sessions are terminated), on the same port, and wait
    /// until it accepts connections again. For a cluster of the test's own
    /// ([`Cluster::start_with`]): a restart of the shared one would break the other tests.
    pub fn restart(&self) -> Result<(), String> {
        check(
            command(&self.bindir.join("pg_ctl"), self.os_user)
                .arg("-D")
                .arg(self.dir.path().join("data"))
                .arg("-l")
                .arg(self.log_path())
                .args(["-m", "fast", "-w", "-t", "60", "restart"])
                .output(),
            "pg_ctl restart",
        )
        .map(|_| ())
    }

    /// A crash restart: backend `pid` is killed with SIGKILL, so the postmaster ends every
    /// other process and starts them again (it keeps its own start time). Waits until the
    /// server accepts connections to `database` again and its checkpointer is a new process, and
    /// returns a session there. For a cluster of the test's own ([`Cluster::start_with`]).
    pub fn crash_restart(&self, pid: i32, database: &str) -> Result<crate::client::Client, String> {
        let killed = Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .map_err(|e| e.to_string())?;
        if !killed.success() {
            return Err(format!("kill -9 {pid} failed"));
        }
        let mut admin = None;
        wait_for(Duration::from_secs(60), || {
            admin = crate::client::Client::connect(self, database).ok();
            Ok(admin.is_some())
        })?;
        let mut admin = admin.ok_or("the server did not come back after the crash")?;
        let restarted = admin.text(
            "SELECT ((SELECT backend_start FROM pg_stat_activity WHERE backend_type = 'checkpointer') \
                    > pg_postmaster_start_time())::text",
        )?;
        if restarted.as_deref() != Some("true") {
            return Err("the checkpointer did not restart: no crash restart?".to_string());
        }
        Ok(admin)
    }

    /// Change postgresql.conf and reload.
    pub fn reload_with(&self, settings: &str) -> Result<(), String> {
        append(&self.dir.path().join("data/postgresql.conf"), settings)?;
        check(
            command(&self.bindir.join("pg_ctl"), self.os_user)
                .arg("-D")
                .arg(self.dir.path().join("data"))
                .arg("reload")
                .output(),
            "pg_ctl reload",
        )
        .map(|_| ())
    }

    /// Replace pg_hba.conf and reload.
    pub fn set_hba(&self, text: &str) -> Result<(), String> {
        self.write_data_file("pg_hba.conf", text, 0o600)?;
        self.reload_with("")
    }

    /// Write a file into the data directory (a certificate, say), owned by the server's user.
    pub fn write_data_file(&self, name: &str, text: &str, mode: u32) -> Result<(), String> {
        write_owned(
            &self.dir.path().join("data").join(name),
            text,
            mode,
            self.os_user,
        )
    }
}

/// A hot standby of a test cluster, streaming through a physical slot with
/// `hot_standby_feedback = on`. Stopped when dropped (its slot stays: drop it on the primary).
pub struct Standby {
    pub port: u16,
    bindir: PathBuf,
    data: PathBuf,
    log: PathBuf,
    os_user: OsUser,
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
        self.build_standby(slot, true)
    }

    /// A hot standby named `name` with feedback on, streaming without a slot: its feedback then
    /// shows only as its walsender's xmin (`pg_stat_replication.backend_xmin`). A slot of that
    /// name keeps the WAL for the copy and is dropped once the standby streams.
    pub fn start_standby_without_slot(&self, name: &str) -> Result<Standby, String> {
        let standby = self.build_standby(name, false)?;
        let mut admin = crate::client::Client::connect(self, "postgres")?;
        let streaming = wait_for(Duration::from_secs(30), || {
            Ok(admin.text(&format!(
                "SELECT state FROM pg_stat_replication WHERE application_name = '{name}'"
            ))? == Some("streaming".to_string()))
        })?;
        if !streaming {
            return Err(format!(
                "the standby {name} never streamed:\n{}",
                standby.log()
            ));
        }
        admin.execute(&format!("SELECT pg_drop_replication_slot('{name}')"))?;
        Ok(standby)
    }

    fn build_standby(&self, slot: &str, use_slot: bool) -> Result<Standby, String> {
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
        let copied = copy_data_directory(&self.dir.path().join("data"), &data, self.os_user);
        // End the backup whatever happened to the copy.
        let label = admin.text(stop)?;
        copied?;
        let label = label.ok_or("the backup returned no backup_label")?;
        write_owned(&data.join("backup_label"), &label, 0o600, self.os_user)?;
        write_owned(&data.join("standby.signal"), "", 0o600, self.os_user)?;
        append(
            &data.join("postgresql.auto.conf"),
            &format!(
                "\nprimary_conninfo = 'host=127.0.0.1 port={} user=postgres application_name={slot}'\n\
                 {}hot_standby = on\nhot_standby_feedback = on\n\
                 wal_receiver_status_interval = 1s\n",
                self.port,
                if use_slot {
                    format!("primary_slot_name = '{slot}'\n")
                } else {
                    String::new()
                }
            ),
        )?;
        let log = self.dir.path().join(format!("standby-{slot}.log"));
        let port = free_port();
        check(
            command(&self.bindir.join("pg_ctl"), self.os_user)
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
            os_user: self.os_user,
        })
    }
}

impl Drop for Standby {
    fn drop(&mut self) {
        let _ = command(&self.bindir.join("pg_ctl"), self.os_user)
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
fn copy_data_directory(from: &Path, to: &Path, user: OsUser) -> Result<(), String> {
    fn copy(from: &Path, to: &Path, top: bool, user: OsUser) -> Result<(), String> {
        let error = |e: std::io::Error, path: &Path| format!("copying {}: {e}", path.display());
        make_dir(to, user)?;
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
                    make_dir(&target, user)?;
                    if name == "pg_wal" {
                        make_dir(&target.join("archive_status"), user)?;
                    }
                } else {
                    copy(&source, &target, false, user)?;
                }
            } else if kind.is_file() {
                match std::fs::copy(&source, &target) {
                    Ok(_) => own(&target, user)?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(error(e, &source)),
                }
            }
        }
        Ok(())
    }
    copy(from, to, true, user)
}

/// Hand a file or directory to the server's OS user (`nobody` when the tests run as root).
fn own(path: &Path, user: OsUser) -> Result<(), String> {
    if is_root() {
        std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid))
            .map_err(|e| format!("chown {}: {e}", path.display()))?;
    }
    Ok(())
}

/// A directory only the server's OS user can use, as PostgreSQL requires of its data.
fn make_dir(path: &Path, user: OsUser) -> Result<(), String> {
    std::fs::create_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    own(path, user)
}

/// Write a file with `mode`, owned by the server's OS user.
fn write_owned(path: &Path, text: &str, mode: u32, user: OsUser) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    own(path, user)
}

fn self_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
}

fn append(path: &Path, text: &str) -> Result<(), String> {
    local_server::append(path, text).map_err(|e| e.to_string())
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = command(&self.bindir.join("pg_ctl"), self.os_user)
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
