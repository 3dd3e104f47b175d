//! Running a command: clap's flags ([`args`]) resolved once into settings the rest of pgvac
//! reads, the command run, its outcome mapped to the exit status.
//!
//! Exit status follows the Nagios convention used by check_postgres and check_pgactivity:
//! 0 nothing at warning or above, 1 warning, 2 critical, 3 could not complete. Usage errors
//! therefore exit 3, not clap's 2, so a typo in a cron line never reads as "critical".

pub mod args;
pub mod help;
pub mod progress;

pub use args::*;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::analysis::blockers::Thresholds;
use crate::analysis::{Analysis, findings, rules};
use crate::collect::{CollectError, CollectOptions};
use crate::conn::ConnectionSettings;
use crate::render::{self, Report};
use crate::snapshot::Snapshot;
use crate::store::history::HistoryDir;

/// Exit status when pgvac could not complete (Nagios UNKNOWN).
pub const EXIT_INCOMPLETE: u8 = 3;

/// Exit status of a run stopped by Ctrl-C (SIGINT): 128 + 2, as a shell reports it.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Read a snapshot written by `pgvac collect`, refusing other formats with one clear line.
pub fn read_snapshot(path: &Path) -> Result<Snapshot> {
    crate::store::snapshot_file::read(path).map_err(|e| anyhow::anyhow!("{} {e}", path.display()))
}

/// Parse the command line, run, and turn the outcome into an exit status.
pub fn run() -> ExitCode {
    // Before anything else (and any thread): the environment libpq would read, once.
    crate::conn::Environment::capture_process();
    let cli = match crate::cli::help::parse() {
        Ok(cli) => cli,
        Err(error) => {
            return match error.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    let _ = error.print();
                    ExitCode::SUCCESS
                }
                _ => {
                    eprintln!("pgvac: error: {}", usage_error(&error));
                    ExitCode::from(EXIT_INCOMPLETE)
                }
            };
        }
    };
    match execute(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => match error.downcast_ref::<CollectError>() {
            Some(CollectError::Interrupted(cancelled)) => {
                eprintln!("pgvac: interrupted: {cancelled}; nothing was written");
                ExitCode::from(EXIT_INTERRUPTED)
            }
            _ => {
                eprintln!("pgvac: error: {}", one_line(&error));
                ExitCode::from(EXIT_INCOMPLETE)
            }
        },
    }
}

/// A clap usage error as one line, as every other error: what was wrong, the choices where
/// clap lists them, and where the help is.
fn usage_error(error: &clap::Error) -> String {
    use clap::error::ErrorKind;
    let cli = <Cli as clap::CommandFactory>::command();
    let commands: Vec<&str> = cli.get_subcommands().map(|c| c.get_name()).collect();
    let command = std::env::args()
        .skip(1)
        .find(|a| commands.contains(&a.as_str()));
    let help = match &command {
        Some(command) => format!("see pgvac {command} --help"),
        None => "see pgvac --help".to_string(),
    };
    if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return format!("a command is needed: {} ({help})", commands.join(", "));
    }
    // The rendered text without its styles, its usage block and its "For more information".
    let text = error.render().to_string();
    let mut parts: Vec<String> = Vec::new();
    let mut in_usage = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            in_usage = false;
            continue;
        }
        if line.starts_with("Usage:") {
            in_usage = true;
            continue;
        }
        if in_usage || line.starts_with("For more information") {
            continue;
        }
        parts.push(line.strip_prefix("error: ").unwrap_or(line).to_string());
    }
    format!("{} ({help})", parts.join(" "))
}

/// The error and its causes on one line.
fn one_line(error: &anyhow::Error) -> String {
    format!("{error:#}").replace('\n', " ")
}

/// What an incomplete run means for the exit status and the files it would write: `None` when
/// the run is complete. Says on stderr what was not read.
fn incomplete(snapshot: &Snapshot, allow_partial: bool, output: Option<&Path>) -> Option<u8> {
    let summary = render::incomplete_summary(snapshot)?;
    if allow_partial {
        eprintln!("pgvac: warning: incomplete run accepted with --allow-partial: {summary}");
        return None;
    }
    let left = match output {
        Some(path) => format!("; {} was left as it was", path.display()),
        None => String::new(),
    };
    eprintln!(
        "pgvac: error: incomplete run, exit {EXIT_INCOMPLETE}: {summary}{left} (--allow-partial \
         accepts it)"
    );
    Some(EXIT_INCOMPLETE)
}

/// `--snapshot` with a flag that says how to connect: refused, not ignored. `allowed` names the
/// flags the command still uses with a snapshot.
fn refuse_connection_flags(flags: &ConnectionFlags, allowed: &[&str], why: &str) -> Result<()> {
    let given = [
        ("a connection string", flags.conninfo.is_some()),
        ("--dsn", flags.dsn.is_some()),
        ("-h/--host", flags.host.is_some()),
        ("-p/--port", flags.port.is_some()),
        ("-U/--username", flags.user.is_some()),
        ("-d/--dbname", !flags.dbname.is_empty()),
        ("--exclude-db", !flags.exclude_db.is_empty()),
    ];
    if let Some((name, _)) = given
        .iter()
        .find(|(name, given)| *given && !allowed.contains(name))
    {
        anyhow::bail!("{name} cannot be used with --snapshot: {why}");
    }
    Ok(())
}

fn execute(cli: Cli) -> Result<u8> {
    // Only the commands that read a server catch Ctrl-C; demo handles it itself.
    let runtime = match &cli.command {
        Command::Collect(_) | Command::Sessions(_) | Command::Report(_) | Command::Ping(_) => {
            Some(Runtime::start()?)
        }
        _ => None,
    };
    let runtime = || runtime.as_ref().expect("a runtime for this command");
    match cli.command {
        Command::Collect(args) => {
            let settings = args.connection.settings()?;
            let options = args.connection.collect_options();
            let snapshot = runtime().collect(&settings, &options)?;
            let status = incomplete(&snapshot, args.allow_partial, args.output.as_deref());
            let output = args.output.as_deref().filter(|_| status.is_none());
            if args.output.is_none() || output.is_some() {
                write_output(output, |out| {
                    serde_json::to_writer_pretty(&mut *out, &snapshot)?;
                    out.write_all(b"\n")?;
                    Ok(())
                })?;
            }
            Ok(status.unwrap_or(0))
        }
        Command::Sessions(args) => sessions(args, runtime()),
        Command::Report(args) => {
            // Open the history first, so an unusable directory fails before collecting.
            let history = args.history.as_deref().map(HistoryDir::open).transpose()?;
            let log = args.log.read()?;
            let snapshot = match &args.snapshot {
                Some(path) => read_snapshot(path)?,
                None => {
                    let settings = args.connection.settings()?;
                    let options = args.connection.collect_options();
                    runtime().collect(&settings, &options)?
                }
            };
            let trends = history
                .map(|dir| dir.record(&snapshot, args.keep, args.allow_partial))
                .transpose()?;
            let log = log.map(|log| log.finish(crate::logs::cli::max_workers(&snapshot)));
            let analysis = Analysis::build(&snapshot, Thresholds::default(), log.as_ref())
                .with_trends(trends)
                .ignoring(&args.ignore);
            let report = Report::new(&analysis, chrono::Utc::now());
            let options = args.render_options();
            let status = incomplete(&snapshot, args.allow_partial, args.output.as_deref());
            // An incomplete run never replaces the file a cron job or node_exporter reads.
            if args.output.is_none() || status.is_none() {
                write_output(args.output.as_deref(), |out| {
                    render::write(out, args.format, &report, &options)
                        .context("could not render the report")
                })?;
            }
            Ok(status.unwrap_or_else(|| {
                args.fail_on
                    .exit_status(findings::worst(&analysis.findings))
            }))
        }
        Command::Rules(args) => {
            let format = if args.markdown {
                RulesFormat::Markdown
            } else {
                args.format
            };
            write_output(None, |out| {
                match format {
                    RulesFormat::Markdown => {
                        out.write_all(render::rules::markdown(rules::all()).as_bytes())?
                    }
                    RulesFormat::Json => render::rules::write_json(out, rules::all())?,
                    RulesFormat::Table => render::rules::write_list(out, rules::all())?,
                }
                Ok(())
            })?;
            Ok(0)
        }
        Command::Ping(args) => {
            let settings = args.connection.settings()?;
            let line = runtime().tokio.block_on(crate::conn::ping(&settings))?;
            write_output(None, |out| Ok(writeln!(out, "{line}")?))?;
            Ok(0)
        }
        Command::Logs(args) => crate::logs::cli::run(&args),
        Command::Explain(args) => {
            let rule = rules::find(&args.code).ok_or_else(|| {
                anyhow::anyhow!("no rule {:?}: `pgvac rules` lists the codes", args.code)
            })?;
            write_output(None, |out| Ok(render::rules::write_explain(out, rule)?))?;
            Ok(0)
        }
        Command::Demo(args) => crate::demo::run(args),
        Command::Completions(args) => crate::cli::help::print_completions(&args),
        Command::Man(args) => crate::cli::help::print_man(&args),
    }
}

fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

fn sessions(args: SessionsArgs, runtime: &Runtime) -> Result<u8> {
    use crate::analysis::blockers::worst_severity;
    use crate::analysis::terminate::{Filters, dry_run};
    use crate::collect::terminate::execute;
    use crate::render::sessions::{SessionsReport, TerminateReport, write_json, write_table};
    use std::io::IsTerminal;

    if args.xid_age_warning > args.xid_age_critical {
        anyhow::bail!(
            "--xid-age-warning {} is above --xid-age-critical {}: a warning must come before \
             critical",
            args.xid_age_warning,
            args.xid_age_critical
        );
    }
    if args.snapshot.is_some() {
        if args.execute {
            // Acting needs the server: the connection flags say which one.
        } else if args.terminate {
            refuse_connection_flags(
                &args.connection,
                &["-d/--dbname"],
                "the snapshot is analysed offline (with --terminate, -d only filters; \
                 --execute connects)",
            )?;
        } else {
            refuse_connection_flags(&args.connection, &[], "the snapshot is analysed offline")?;
        }
    }
    let snapshot: Snapshot = match &args.snapshot {
        Some(path) => read_snapshot(path)?,
        None => {
            let settings = args.connection.settings()?;
            runtime.collect(&settings, &args.connection.collect_options())?
        }
    };
    let thresholds = Thresholds {
        idle_in_transaction_secs: secs(args.idle_threshold.0),
        transaction_secs: secs(args.transaction_threshold.0),
        xid_age_warning: args.xid_age_warning,
        xid_age_critical: args.xid_age_critical,
    };
    let analysis = Analysis::with_thresholds(&snapshot, thresholds);
    let severity_code = worst_severity(&analysis.context.blockers).exit_status();

    let emit = |terminate: Option<&TerminateReport>| -> Result<()> {
        let report = SessionsReport::new(&analysis, terminate);
        write_output(None, |out| {
            match args.format {
                SessionsFormat::Table => write_table(
                    out,
                    &report,
                    render::fit_width(args.width, std::io::stdout().is_terminal()),
                ),
                SessionsFormat::Json => write_json(out, &report),
            }
            .context("could not render the report")
        })
    };

    let incomplete_status = incomplete(&snapshot, args.allow_partial, None);
    let severity_code = incomplete_status.unwrap_or(severity_code);
    if !args.terminate {
        emit(None)?;
        return Ok(severity_code);
    }
    let filters = Filters {
        min_xact_age_secs: args.min_xact_age.map(secs),
        min_idle_secs: args.min_idle.map(secs),
        min_xid_age: args.min_xid_age,
        databases: args.connection.dbname.clone(),
        users: args.users.clone(),
        pids: args.pids.clone(),
    };
    let plan = analysis.terminate_plan(&filters);
    let dry = TerminateReport {
        mode: "dry_run",
        outcomes: dry_run(&plan),
        excluded: plan.excluded.clone(),
    };
    // Naming a session pgvac cannot prove is the one to end refuses the whole run: nothing else
    // is signalled either.
    if args.execute
        && let Some(refused) = plan
            .excluded
            .iter()
            .find(|e| e.refused && filters.pids.contains(&e.pid))
    {
        anyhow::bail!(
            "cannot terminate pid {} safely: {}",
            refused.pid,
            refused.reason
        );
    }
    if !args.execute || plan.targets.is_empty() {
        emit(Some(&dry))?;
        return Ok(severity_code);
    }
    if incomplete_status.is_some() {
        emit(Some(&dry))?;
        anyhow::bail!(
            "nothing terminated: the run is incomplete, so the plan may lack sessions it would \
             otherwise name (--allow-partial acts on what was read)"
        );
    }
    let targets = crate::analysis::findings::plural(plan.targets.len(), "session", "sessions");
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            anyhow::bail!(
                "--execute needs a confirmation and stdin is not a terminal: add --yes to \
                 terminate {targets} without asking"
            );
        }
        emit(Some(&TerminateReport {
            mode: "to_confirm",
            ..dry.clone()
        }))?;
        eprint!("Terminate {targets}? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .context("could not read the answer")?;
        if !matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
            eprintln!("pgvac: nothing terminated");
            return Ok(0);
        }
    }
    let settings = args.connection.settings()?;
    let database = args
        .connection
        .dbname
        .first()
        .cloned()
        .unwrap_or_else(|| settings.initial_database());
    let outcomes = runtime.tokio.block_on(execute(
        &settings,
        &database,
        snapshot.server.postmaster_start_time,
        &plan,
    ))?;
    emit(Some(&TerminateReport {
        mode: "execute",
        outcomes,
        excluded: plan.excluded,
    }))?;
    Ok(0)
}

/// A command's async runtime, with Ctrl-C (SIGINT) caught for as long as the command runs.
///
/// While pgvac reads the server ([`Runtime::collect`]), Ctrl-C stops the reading: collect drops
/// its connections and cancels what pgvac's sessions still execute on the server (a closed
/// connection alone leaves a statement running until its timeout), and the command ends with
/// exit 130 having written nothing: no `-o` file, no history, nothing on stdout. At any other
/// moment (the `--execute` confirmation, writing a file) pgvac exits 130 at once, as it would
/// without the handler; so does a second Ctrl-C while the cancel is under way.
struct Runtime {
    tokio: tokio::runtime::Runtime,
    /// Becomes true on the Ctrl-C that a reading run handles.
    interrupted: tokio::sync::watch::Receiver<bool>,
    /// Whether a reading run is under way.
    reading: Arc<AtomicBool>,
}

impl Runtime {
    fn start() -> Result<Runtime> {
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("could not start the async runtime")?;
        // Registered now, not when the task first runs, so no Ctrl-C falls between the two.
        let mut sigint = {
            let _context = tokio.enter();
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                .context("could not catch Ctrl-C")?
        };
        let (fire, interrupted) = tokio::sync::watch::channel(false);
        let reading = Arc::new(AtomicBool::new(false));
        let watching = Arc::clone(&reading);
        tokio.spawn(async move {
            sigint.recv().await;
            if watching.load(Ordering::SeqCst) {
                let _ = fire.send(true);
                sigint.recv().await;
            }
            eprintln!("pgvac: interrupted");
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        });
        Ok(Runtime {
            tokio,
            interrupted,
            reading,
        })
    }

    /// Read the server; Ctrl-C meanwhile gives [`CollectError::Interrupted`].
    fn collect(
        &self,
        settings: &ConnectionSettings,
        options: &CollectOptions,
    ) -> Result<Snapshot, CollectError> {
        self.reading.store(true, Ordering::SeqCst);
        let mut interrupted = self.interrupted.clone();
        let interrupt = async move {
            if interrupted.wait_for(|fired| *fired).await.is_err() {
                // The watcher is gone: no Ctrl-C will come through it.
                std::future::pending::<()>().await;
            }
        };
        let result = self
            .tokio
            .block_on(crate::cli::progress::collect(settings, options, interrupt));
        self.reading.store(false, Ordering::SeqCst);
        if result.is_ok() && *self.interrupted.borrow() {
            // Ctrl-C as the run ended: still nothing is written.
            return Err(CollectError::Interrupted(
                crate::collect::Cancelled::Statements(0),
            ));
        }
        result
    }
}

/// Write to stdout, or to FILE with pgvac's one file writer ([`crate::store::output`]: a regular file
/// is replaced atomically keeping its mode and owner; a device or FIFO is written in place).
/// `write` streams the content.
pub fn write_output(
    path: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    match path {
        None => crate::store::output::write_stdout(write)?,
        Some(path) => crate::store::output::write_file(path, write)?,
    }
    Ok(())
}
