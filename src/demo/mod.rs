//! `pgvac demo`: pgvac finding real problems on a real server, with nothing to set up.
//!
//! It starts a throwaway PostgreSQL from the binaries installed on this machine
//! ([`crate::local_server`]), plants the problems pgvac knows ([`seed`]), runs the report and
//! the sessions view against it exactly as `pgvac report` and `pgvac sessions` would, and
//! removes everything: on success, on an error and on Ctrl-C (SIGINT, SIGTERM, SIGHUP). With
//! `--keep` the server and the demo's sessions stay until Ctrl-C, to try pgvac by hand. With
//! `--server` it seeds an existing empty server instead (the Docker route) and leaves it seeded.
//!
//! Besides `terminate`, this is the only module that writes to a server, and only to one it
//! started or was explicitly given and found empty.

mod seed;
mod server;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::collect::{CollectOptions, collect};
use crate::conn::{ConnectionArgs, ConnectionSettings};
use crate::local_server::{self, Installation};
use crate::render::{self, Format, Report};
use crate::snapshot::Snapshot;

pub use seed::SETTINGS;
use server::LocalServer;

/// The example the demo offers when there is no PostgreSQL to start: a snapshot from a real
/// demo run, committed (`pgvac demo --save-snapshot examples/demo-snapshot.json` makes it).
pub const EXAMPLE_SNAPSHOT: &str = "examples/demo-snapshot.json";

/// The oldest and newest PostgreSQL the demo starts (the ones pgvac supports).
const MAJORS: std::ops::RangeInclusive<u32> = 12..=18;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Start this major version (12-18) of those installed [default: the newest].
    #[arg(long, value_name = "MAJOR", value_parser = clap::value_parser!(u32).range(12..=18))]
    pub pg_version: Option<u32>,
    /// Seed this existing server instead of starting one (the Docker route): a superuser
    /// connection string. It must be a throwaway server with no databases of its own and the
    /// demo's settings (`docker-compose.yml` starts one); it is left seeded.
    #[arg(long, value_name = "CONNINFO", conflicts_with = "pg_version")]
    pub server: Option<String>,
    /// After the report, keep the server and the demo's sessions until Ctrl-C, to try pgvac on
    /// them by hand (for example `pgvac sessions --terminate`).
    #[arg(long)]
    pub keep: bool,
    /// Also write the snapshot the report was made from to FILE.
    #[arg(long, value_name = "FILE")]
    pub save_snapshot: Option<PathBuf>,
}

/// What the report should show, and what was planted for it. BLOCK004 needs a slot whose
/// inactivity is unknown (before 17) and WRAP006 a server that knows invalid databases.
const EXPECTED: &[(&str, &str)] = &[
    ("WRAP005", "audit_archive is past autovacuum_freeze_max_age"),
    ("WRAP006", "the invalid database archive_2019"),
    ("TABLE001", "orders churns under the default scale factor"),
    ("TABLE003", "events is append-only"),
    (
        "TABLE005",
        "staging_import has autovacuum off and dead rows",
    ),
    ("CONFIG003", "autovacuum logging is off"),
    ("CONFIG004", "autovacuum_vacuum_cost_delay is 20ms"),
    ("BLOCK004", "the slot cdc_orders has no consumer"),
    (
        "BLOCK006",
        "cart-service's temporary table pins shop's datfrozenxid",
    ),
    (
        "RUN001",
        "the forced vacuum of audit_archive is running, throttled",
    ),
];

/// Exit status after a signal: 128 + its number, as shells report it.
fn signal_status(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(130)
}

struct Signals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl Signals {
    fn install() -> Result<Signals> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// The next of them to arrive.
    async fn next(&mut self) -> i32 {
        tokio::select! {
            _ = self.interrupt.recv() => 2,
            _ = self.terminate.recv() => 15,
            _ = self.hangup.recv() => 1,
        }
    }
}

/// What needs undoing, whatever happens.
#[derive(Default)]
struct State {
    server: Option<LocalServer>,
    held: Option<seed::Held>,
    reported: bool,
}

fn say(text: &str) {
    let _ = std::io::stdout().flush();
    eprintln!("demo: {text}");
}

pub fn run(args: DemoArgs) -> Result<u8> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: DemoArgs) -> Result<u8> {
    // Before anything is started, so a Ctrl-C at any moment is ours to handle.
    let mut signals = Signals::install()?;
    let started = Instant::now();
    let mut state = State::default();
    let outcome = tokio::select! {
        result = demo(&args, &mut state) => Ok(result),
        signal = signals.next() => Err(signal),
    };
    if let Err(signal) = outcome
        && !(state.reported && args.keep)
    {
        say(&format!("interrupted (signal {signal}): cleaning up"));
    }
    // The sessions first (with --server they are all that ends), then the server.
    drop(state.held.take());
    let removed = state.server.take().map(LocalServer::stop_and_remove);
    let took = started.elapsed().as_secs();
    match &removed {
        Some(Ok(dir)) => say(&format!(
            "stopped the server and removed {} ({took} s in all)",
            dir.display()
        )),
        Some(Err(e)) => say(&format!("could not clean up everything: {e:#}")),
        None => {}
    }
    let cleaned = removed.transpose();
    match outcome {
        Ok(result) => {
            result?;
            cleaned?;
            Ok(0)
        }
        Err(_) if state.reported && args.keep => {
            cleaned?;
            Ok(0)
        }
        Err(signal) => {
            cleaned?;
            Ok(signal_status(signal))
        }
    }
}

/// The newest installed version, or the one asked for; a clear line when there is none.
fn choose(wanted: Option<u32>) -> Result<Installation> {
    let found = local_server::installations();
    let supported: Vec<&Installation> = found
        .values()
        .filter(|i| MAJORS.contains(&i.major))
        .collect();
    let chosen = match wanted {
        Some(major) => supported.iter().find(|i| i.major == major).copied(),
        None => supported.last().copied(),
    };
    match chosen {
        Some(installation) => Ok(installation.clone()),
        None => {
            let which = match wanted {
                Some(major) => format!("PostgreSQL {major}"),
                None => "PostgreSQL 12-18".to_string(),
            };
            let have: Vec<String> = supported.iter().map(|i| i.major.to_string()).collect();
            let have = if have.is_empty() {
                String::new()
            } else {
                format!(" (found {})", have.join(", "))
            };
            say(&format!(
                "to see what the demo shows without a server: pgvac report --snapshot \
                 {EXAMPLE_SNAPSHOT}"
            ));
            bail!(
                "no {which} server binaries found{have}: install them (Debian/Ubuntu: apt-get \
                 install postgresql; or run scripts/demo, which installs them), or name their bin \
                 directory in PGVAC_PG_BINDIRS"
            )
        }
    }
}

async fn demo(args: &DemoArgs, state: &mut State) -> Result<()> {
    let mut target = "CONNINFO".to_string();
    let settings = match &args.server {
        Some(conninfo) => ConnectionSettings::resolve(&ConnectionArgs {
            dsn: Some(conninfo.clone()),
            statement_timeout: Duration::from_secs(30),
            lock_timeout: Duration::from_secs(1),
            ..ConnectionArgs::default()
        })?,
        None => {
            let installation = choose(args.pg_version)?;
            let server = state
                .server
                .insert(LocalServer::create(installation.clone())?);
            say(&format!(
                "starting PostgreSQL {} from {} as user {}",
                installation.version,
                installation.bindir.display(),
                local_server::server_user()
            ));
            server.init(SETTINGS).await?;
            server.start().await?;
            say(&format!(
                "server pid {} in {} (socket only, port {}); it is removed when the demo ends",
                server.pid().unwrap_or(0),
                server.dir().display(),
                server.port
            ));
            target = format!(
                "-h {} -p {} -U postgres",
                server.dir().display(),
                server.port
            );
            ConnectionSettings::resolve(&ConnectionArgs {
                dsn: Some(format!(
                    "host={} port={} user=postgres dbname=postgres sslmode=disable",
                    server.dir().display(),
                    server.port
                )),
                statement_timeout: Duration::from_secs(30),
                lock_timeout: Duration::from_secs(1),
                ..ConnectionArgs::default()
            })?
        }
    };
    let facts = seed::check_server(&settings).await?;
    for (name, value, why) in SETTINGS {
        say(&format!("setting {name} = {value} ({why})"));
    }
    say(&format!("seeding database {}:", seed::DATABASE));
    let held = seed::seed(&settings, &facts, &mut |line| say(&format!("  {line}"))).await?;
    let pids = [held.idle_pid, held.temp_owner_pid];
    state.held = Some(held);

    say(&format!(
        "waiting for autovacuum to start the forced vacuum of {}",
        seed::SLOW_TABLE
    ));
    let wait = Instant::now();
    if seed::wait_for_forced_vacuum(&settings, Duration::from_secs(60)).await? {
        say(&format!(
            "it started after {:.1} s",
            wait.elapsed().as_secs_f64()
        ));
    } else {
        say("it did not start within 60 s: the report may show no running vacuum");
    }

    let snapshot = collect(&settings, &CollectOptions::default()).await?;
    if let Some(path) = &args.save_snapshot {
        crate::cli::write_output(Some(path), |out| {
            serde_json::to_writer_pretty(&mut *out, &snapshot)?;
            out.write_all(b"\n")?;
            Ok(())
        })?;
    }
    show(&target, &snapshot)?;
    state.reported = true;

    if args.server.is_some() && !args.keep {
        say(
            "the server keeps the demo's databases, prepared transaction and slot: remove it \
             (docker compose down -v) to start over",
        );
        return Ok(());
    }
    if args.keep {
        keep(&settings, &target, state, &pids).await?;
    }
    Ok(())
}

/// The report and the sessions view, as `pgvac report` and `pgvac sessions` print them, and
/// what of the planted problems the report shows.
fn show(target: &str, snapshot: &Snapshot) -> Result<()> {
    use std::io::IsTerminal;
    let analysis = crate::analysis::Analysis::new(snapshot);
    let report = Report::new(&analysis, chrono::Utc::now());
    let to_terminal = std::io::stdout().is_terminal();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let options = render::Options {
        color: to_terminal && !no_color,
        width: if to_terminal {
            terminal_size::terminal_size().map_or(render::DEFAULT_WIDTH, |(w, _)| usize::from(w.0))
        } else {
            render::DEFAULT_WIDTH
        },
        ..render::Options::default()
    };
    say(&format!("the report (pgvac report {target}):"));
    crate::cli::write_output(None, |out| {
        render::write(out, Format::Table, &report, &options).context("could not render")
    })?;
    say(&format!(
        "what holds vacuum back, also below the report's thresholds (pgvac sessions {target}):"
    ));
    let sessions = crate::render::sessions::SessionsReport::new(&analysis, None);
    crate::cli::write_output(None, |out| {
        crate::render::sessions::write_table(out, &sessions, options.width)
            .context("could not render")
    })?;

    say("what was planted, and whether the report shows it:");
    let major = snapshot.server.major();
    for (code, planted) in EXPECTED {
        let applies = match *code {
            "BLOCK004" => major < 17,
            "WRAP006" => seed::knows_invalid_databases(snapshot.server.version_num),
            _ => true,
        };
        if !applies {
            continue;
        }
        let shown = analysis.findings.iter().any(|f| f.code == *code);
        say(&format!(
            "  {code:<9} {planted}: {}",
            if shown { "shown" } else { "NOT shown" }
        ));
    }
    Ok(())
}

/// `--keep`: say how to use the server, then wait for Ctrl-C, telling when a held session ends.
async fn keep(
    settings: &ConnectionSettings,
    flags: &str,
    state: &State,
    pids: &[i32; 2],
) -> Result<()> {
    let [idle, temp_owner] = *pids;
    say("the demo server stays up until you press Ctrl-C; then it is stopped and removed.");
    if let Some(server) = &state.server {
        say(&format!(
            "  psql:       psql -h {} -p {} -U postgres {}",
            server.dir().display(),
            server.port,
            seed::DATABASE
        ));
    }
    say(&format!("  report:     pgvac report {flags}"));
    say(&format!(
        "  dry run:    pgvac sessions {flags} --terminate --pid {idle}"
    ));
    say(&format!(
        "  terminate:  pgvac sessions {flags} --terminate --pid {idle} --execute"
    ));
    say(&format!(
        "  (pid {idle} is the session idle in transaction, pid {temp_owner} owns the temporary table)"
    ));
    let mut watcher = seed::watcher(settings).await?;
    let mut watching: Vec<i32> = pids.to_vec();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let gone = seed::gone(&mut watcher, &watching).await?;
        for pid in gone {
            say(&format!("pid {pid} has ended (terminated?)"));
            watching.retain(|p| *p != pid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docker-compose.yml starts its server with the demo's settings, or `pgvac demo --server`
    /// refuses it: the two lists must not drift apart.
    #[test]
    fn the_compose_server_has_the_demo_settings() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docker-compose.yml");
        let compose = std::fs::read_to_string(path).unwrap();
        for (name, value, _) in SETTINGS {
            assert!(
                compose.contains(&format!("      - {name}={value}\n")),
                "docker-compose.yml lacks -c {name}={value}"
            );
        }
    }
}
