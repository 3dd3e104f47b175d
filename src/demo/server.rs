//! The demo's throwaway server: a cluster in a temporary directory, reachable only through a
//! Unix socket in that directory, run as `nobody` when pgvac runs as root.
//!
//! Nothing of it may outlive the demo. The postmaster runs in its own process group (so a
//! Ctrl-C in the terminal reaches pgvac, which stops it in order, and not the server), and with
//! a parent-death signal: should pgvac itself be killed, the kernel sends the postmaster SIGQUIT
//! and it takes its backends down. [`LocalServer::stop_and_remove`] stops it with SIGQUIT
//! (immediate shutdown: nothing is worth keeping) and removes the directory; dropping a
//! `LocalServer` does the same.

use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rustix::process::{Pid, Signal};

use crate::local_server::{self, Installation};

/// Settings of the throwaway server itself, before the demo's own ([`super::seed::SETTINGS`]).
const SERVER_SETTINGS: &[(&str, &str)] = &[
    ("listen_addresses", "''"),
    ("max_connections", "20"),
    ("shared_buffers", "32MB"),
    ("fsync", "off"),
    ("synchronous_commit", "off"),
    ("full_page_writes", "off"),
];

pub struct LocalServer {
    pub installation: Installation,
    pub port: u16,
    dir: Option<tempfile::TempDir>,
    postmaster: Option<Child>,
}

impl LocalServer {
    /// A private temporary directory for the cluster, owned by the server's user.
    pub fn create(installation: Installation) -> Result<LocalServer> {
        let dir = tempfile::Builder::new()
            .prefix("pgvac-demo-")
            .tempdir()
            .context("could not create a temporary directory for the demo server")?;
        local_server::own(dir.path())?;
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
        }
        let port = local_server::free_port().context("no free port")?;
        let server = LocalServer {
            installation,
            port,
            dir: Some(dir),
            postmaster: None,
        };
        // The socket's path must fit in sun_path (108 bytes with its NUL).
        if server
            .dir()
            .join(format!(".s.PGSQL.{port}"))
            .as_os_str()
            .len()
            > 100
        {
            bail!(
                "the temporary directory {} is too long a path for a Unix socket: set TMPDIR to a \
                 shorter one",
                server.dir().display()
            );
        }
        Ok(server)
    }

    /// The cluster's directory, which is also where its socket is.
    pub fn dir(&self) -> &Path {
        self.dir.as_ref().map_or(Path::new(""), |d| d.path())
    }

    fn data(&self) -> PathBuf {
        self.dir().join("data")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir().join("server.log")
    }

    /// The postmaster's pid, once started.
    pub fn pid(&self) -> Option<u32> {
        self.postmaster.as_ref().map(Child::id)
    }

    /// initdb, then the demo's settings and socket-only trust authentication.
    pub async fn init(&mut self, settings: &[(&str, &str, &str)]) -> Result<()> {
        let data = self.data();
        let mut initdb: tokio::process::Command =
            local_server::initdb_command(&self.installation.bindir, &data).into();
        let output = initdb.kill_on_drop(true).output().await;
        local_server::check(output, "initdb")?;
        let mut conf = String::from("\n# pgvac demo\n");
        conf.push_str(&format!(
            "port = {}\nunix_socket_directories = '{}'\n",
            self.port,
            self.dir().display()
        ));
        for (name, value) in SERVER_SETTINGS {
            conf.push_str(&format!("{name} = {value}\n"));
        }
        for (name, value, why) in settings {
            conf.push_str(&format!("{name} = '{value}'  # {why}\n"));
        }
        local_server::append(&data.join("postgresql.conf"), &conf)?;
        local_server::write_owned(&data.join("pg_hba.conf"), "local all all trust\n", 0o600)?;
        Ok(())
    }

    /// Start the postmaster and wait until it accepts connections (its pid file says `ready`).
    pub async fn start(&mut self) -> Result<()> {
        let log = std::fs::File::create(self.log_path()).context("server log")?;
        let mut command = local_server::server_command(&self.installation.bindir.join("postgres"));
        command
            .arg("-D")
            .arg(self.data())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0);
        let parent = rustix::process::getpid();
        // SAFETY: the closure only makes two system calls, which is allowed between fork and
        // exec.
        unsafe {
            command.pre_exec(move || {
                rustix::process::set_parent_process_death_signal(Some(Signal::QUIT))?;
                if rustix::process::getppid() != Some(parent) {
                    return Err(io::Error::other("pgvac exited before the server started"));
                }
                Ok(())
            });
        }
        self.postmaster = Some(command.spawn().context("could not start postgres")?);
        let pid_file = self.data().join("postmaster.pid");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.postmaster.as_mut().and_then(|c| c.try_wait().ok()?) {
                self.postmaster = None;
                bail!("postgres exited ({status}) at startup: {}", self.log_tail());
            }
            // Line 8 of the pid file is the postmaster's status, `ready` once it accepts
            // connections (what pg_ctl -w waits for).
            let ready = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|text| text.lines().nth(7).map(|l| l.trim() == "ready"))
                .unwrap_or(false);
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("postgres did not start within 60 s: {}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The end of the server log, on one line, for an error message.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join(" | ")
    }

    /// Stop the postmaster (immediate shutdown: it takes every backend with it) and wait for it.
    fn stop(&mut self) -> Result<()> {
        let Some(mut child) = self.postmaster.take() else {
            return Ok(());
        };
        let pid = Pid::from_child(&child);
        let _ = rustix::process::kill_process(pid, Signal::QUIT);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if child.try_wait()?.is_some() {
                return Ok(());
            }
            if Instant::now() > deadline {
                // The backends notice their postmaster is gone and exit by themselves.
                let _ = child.kill();
                child.wait()?;
                bail!("postgres did not stop within 15 s of SIGQUIT and was killed");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stop the server and remove its directory.
    pub fn stop_and_remove(mut self) -> Result<PathBuf> {
        let path = self.dir().to_path_buf();
        let stopped = self.stop();
        if let Some(dir) = self.dir.take() {
            dir.close()
                .with_context(|| format!("could not remove {}", path.display()))?;
        }
        stopped?;
        Ok(path)
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
