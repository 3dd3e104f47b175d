//! The command line as clap reads it: the commands, their flags, and the parsers of flag values.
//! Nothing here runs anything; [`super`] resolves these into settings and runs the command.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use crate::analysis::blockers::Thresholds;
use crate::analysis::{findings, rules};
use crate::collect::CollectOptions;
use crate::conn::{ConnectionArgs, ConnectionSettings};
use crate::render::{self, Format};
use crate::store::history;

#[derive(Debug, Parser)]
#[command(
    name = "pgvac",
    version,
    about = "Autovacuum advisor for PostgreSQL 12-18",
    long_about = "pgvac reads the catalog and statistics of every database of a PostgreSQL 12-18 \
                  cluster, read-only, and tells what autovacuum needs: per-table thresholds, global \
                  settings, wraparound distance and what holds vacuum back.\n\n\
                  Connection: as psql connects, through the same libpq rules: a URL or key=value \
                  string, -h/-p/-U/-d, service files, the PG* environment variables and the \
                  password file; `pgvac ping` shows where that leads.\n\n\
                  Exit status (Nagios convention, for cron and monitoring): 0 nothing at warning \
                  or above, 1 a warning, 2 something critical, 3 pgvac could not complete \
                  (connection, bad snapshot, bad flags, or an incomplete run: a database or \
                  source it set out to read and could not; --allow-partial accepts one); 130 \
                  interrupted by Ctrl-C, which cancels pgvac's statements on the server and \
                  writes nothing. `pgvac report --fail-on` chooses which findings make the \
                  status non-zero.",
    disable_help_flag = true
)]
pub struct Cli {
    /// Print help (-h is the host, as in psql).
    #[arg(long, short = '?', global = true, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read the cluster into a JSON snapshot (to stdout, or atomically to --output).
    Collect(CollectArgs),
    /// What holds vacuum back (sessions, prepared transactions, slots, standbys, temp tables),
    /// ranked, with the SQL that releases each; --terminate ends the sessions among them.
    #[command(long_about = SESSIONS_ABOUT)]
    Sessions(SessionsArgs),
    /// Analyse a cluster (or a snapshot file) and print the findings, most severe first.
    Report(ReportArgs),
    /// List the rules pgvac checks.
    Rules(RulesArgs),
    /// Print the documentation of one rule: what it checks, why, how, the fix, sources.
    Explain(ExplainArgs),
    /// What autovacuum did, from the server log: per table, database and hour.
    #[command(long_about = crate::logs::cli::LOGS_ABOUT)]
    Logs(crate::logs::cli::LogsArgs),
    /// Connect as the other commands would, and say where: server, port, database, role, TLS,
    /// primary or standby. Exit 0 when connected, 3 when not (with the reason on one line).
    Ping(PingArgs),
    /// Start a throwaway PostgreSQL with the problems pgvac finds, show the report, remove it.
    Demo(crate::demo::DemoArgs),
    /// Print the completion script of a shell (bash, zsh, fish, elvish, powershell).
    Completions(crate::cli::help::CompletionsArgs),
    /// Print pgvac's man page, or one command's, in roff.
    Man(crate::cli::help::ManArgs),
}

#[derive(Debug, Args)]
pub struct PingArgs {
    #[command(flatten)]
    pub connection: ConnectionFlags,
}

const SESSIONS_ABOUT: &str = "\
Lists everything that holds back the xmin horizon (so dead rows cannot be removed) or a \
database's datfrozenxid (so it cannot be frozen), ranked by how many XIDs behind it holds it, \
the oldest first: sessions with an old backend_xid or backend_xmin (idle in transaction, long \
transactions, snapshot-only sessions), prepared transactions, replication slots (xmin, \
catalog_xmin), standbys with hot_standby_feedback, temporary tables that pin their database's \
datfrozenxid and orphaned temporary schemas. Each comes with the SQL that releases it and what \
that costs. A lazy VACUUM (manual or autovacuum: every pid in pg_stat_progress_vacuum) is never \
a blocker, as the server ignores it; VACUUM FULL, CLUSTER and ANALYZE are. Backups (pg_dump) \
and maintenance commands are named as such.

Temporary tables: a session owns pg_temp_N only once it has used temporary tables itself, so \
having backend id N proves nothing (after a crash restart, or a session that died before its \
cleanup, a new session with that id is not the owner). The owner is named only with proof, on \
12-18 alike: it holds AccessShareLock or RowShareLock on a btree index of one of the tables and \
has been idle in transaction since before pgvac read the locks. Otherwise the owner is unknown \
(with the session that has the id as a candidate, where known: 16+ always, 12-15 while it is \
in a transaction) or orphaned (provably no session can own it).

Severity: the XID age ladder (--xid-age-warning, --xid-age-critical); idle in transaction \
longer than --idle-threshold and transactions, prepared transactions and inactive slots older \
than --transaction-threshold are warnings.

--terminate ends the client sessions among the blockers (and the proven owners of pinning \
temporary tables). Without --pid, --min-xact-age, --min-idle or --min-xid-age, only those at \
warning or above. Backups and maintenance commands only when named with --pid. It is a dry run \
that prints the exact SQL unless --execute is given; --execute asks for confirmation on a \
terminal, and refuses without one unless --yes is given. It never touches its own session, \
autovacuum workers, walsenders, parallel workers or other background processes, a session \
whose start time is hidden from pgvac's role (GRANT pg_read_all_stats), or a session that only \
has a temporary schema's backend id; naming one of the last two with --pid refuses the whole \
run with one line saying why. Right before acting it re-reads each session and signals it only \
if its pid, backend_start and xact_start still match, in the same statement: a pid reused by a \
new session is never killed. It first checks that the role may signal every target \
(superuser; or pg_signal_backend or the target's own role, for non-superuser sessions) and \
stops with one line naming the missing privilege, terminating nobody. Each outcome is reported: \
terminated, already gone, changed (skipped), refused.

Exit status: 0 nothing at warning or above, 1 warning, 2 critical (the worst blocker); with \
--execute, 0 once every target was handled; 3 could not complete, or an incomplete run (a \
database or source not read: --execute then terminates nobody unless --allow-partial).";

/// How to connect, as psql takes it.
#[derive(Debug, Args, Clone)]
pub struct ConnectionFlags {
    /// Connection string: a postgres:// URL or 'host=... dbname=...' pairs (libpq's keywords;
    /// its values win over -h/-p/-U, as in psql), or a database name.
    #[arg(value_name = "CONNINFO")]
    pub conninfo: Option<String>,
    /// Connection string, as a flag.
    #[arg(long, value_name = "CONNINFO", conflicts_with = "conninfo")]
    pub dsn: Option<String>,
    /// Database server host or socket directory; a comma-separated list tries each in turn
    /// [env: PGHOST; default: the Unix-domain socket in /var/run/postgresql, or /tmp where that
    /// directory does not exist].
    #[arg(short = 'h', long)]
    pub host: Option<String>,
    /// Database server port [env: PGPORT; default: 5432].
    #[arg(short = 'p', long)]
    pub port: Option<u16>,
    /// Database user name [env: PGUSER; default: the operating-system user].
    #[arg(short = 'U', long = "username")]
    pub user: Option<String>,
    /// Visit only this database (repeatable); the first is where pgvac connects first.
    /// Default: every database that accepts connections, starting from the one psql would
    /// connect to (the connection string's, the service's, PGDATABASE, else the role's name).
    #[arg(short = 'd', long = "dbname", value_name = "DBNAME")]
    pub dbname: Vec<String>,
    /// Do not visit this database (repeatable).
    #[arg(long, value_name = "DBNAME")]
    pub exclude_db: Vec<String>,
    /// Databases read at the same time.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Give up on a host after this long (seconds, fractions allowed, or 2min...; 0 waits without
    /// limit; as in libpq, less than 2 s counts as 2 s) [env: PGCONNECT_TIMEOUT or
    /// connect_timeout=, whole seconds; default 10s].
    #[arg(long, value_parser = parse_connect_timeout)]
    pub connect_timeout: Option<Duration>,
    /// statement_timeout of pgvac's sessions (rounded up to whole milliseconds; 0 is refused,
    /// since the server reads it as no timeout).
    #[arg(long, default_value = "30s", value_parser = parse_session_timeout)]
    pub statement_timeout: Duration,
    /// lock_timeout of pgvac's sessions (rounded up to whole milliseconds; not 0).
    #[arg(long, default_value = "1s", value_parser = parse_session_timeout)]
    pub lock_timeout: Duration,
}

impl ConnectionFlags {
    pub fn settings(&self) -> Result<ConnectionSettings> {
        let args = ConnectionArgs {
            dsn: self.conninfo.clone().or_else(|| self.dsn.clone()),
            host: self.host.clone(),
            port: self.port,
            user: self.user.clone(),
            dbname: self.dbname.first().cloned(),
            connect_timeout: self.connect_timeout,
            statement_timeout: self.statement_timeout,
            lock_timeout: self.lock_timeout,
        };
        Ok(ConnectionSettings::resolve(&args)?)
    }

    pub fn collect_options(&self) -> CollectOptions {
        CollectOptions {
            databases: self.dbname.clone(),
            exclude: self.exclude_db.clone(),
            jobs: usize::from(self.jobs),
        }
    }
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    #[command(flatten)]
    pub connection: ConnectionFlags,
    /// Write the snapshot to FILE (atomically: all or nothing) instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Accept an incomplete run (a database or source that could not be read): exit 0 and
    /// write --output anyway. The snapshot still records what is missing.
    #[arg(long)]
    pub allow_partial: bool,
}

#[derive(Debug, Args)]
pub struct SessionsArgs {
    #[command(flatten)]
    pub connection: ConnectionFlags,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: SessionsFormat,
    /// Columns the table fits in [default: the terminal's width, or 100].
    #[arg(long, value_name = "COLUMNS", value_parser = clap::value_parser!(u16).range(60..=1000))]
    pub width: Option<u16>,
    /// Analyse this snapshot (from `pgvac collect`) instead of reading the server. With
    /// --terminate --execute pgvac still connects, checks the snapshot is from that server since
    /// its last restart, and re-checks every session before acting.
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
    /// Idle in transaction longer than this is a warning.
    #[arg(long, default_value_t = Span::secs(Thresholds::default().idle_in_transaction_secs))]
    pub idle_threshold: Span,
    /// Transactions, prepared transactions and inactive slots held longer than this are a warning.
    #[arg(long, default_value_t = Span::secs(Thresholds::default().transaction_secs))]
    pub transaction_threshold: Span,
    /// Holding the horizon this many XIDs behind is a warning (RDS ladder: 500M).
    #[arg(long, default_value_t = Thresholds::default().xid_age_warning,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub xid_age_warning: i64,
    /// Holding the horizon this many XIDs behind is critical (RDS ladder: 1B act now, 1.5B fix
    /// immediately).
    #[arg(long, default_value_t = Thresholds::default().xid_age_critical,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub xid_age_critical: i64,
    /// End the blocking client sessions (a dry run printing the SQL unless --execute).
    #[arg(long)]
    pub terminate: bool,
    /// Really terminate (asks on a terminal; see --yes).
    #[arg(long, requires = "terminate")]
    pub execute: bool,
    /// Do not ask for confirmation (needed with --execute when stdin is not a terminal).
    #[arg(long, requires = "execute")]
    pub yes: bool,
    /// Only sessions whose transaction has been open at least this long.
    #[arg(long, value_parser = parse_duration, requires = "terminate")]
    pub min_xact_age: Option<Duration>,
    /// Only sessions idle in transaction at least this long (from state_change).
    #[arg(long, value_parser = parse_duration, requires = "terminate")]
    pub min_idle: Option<Duration>,
    /// Only sessions holding the horizon at least this many XIDs behind.
    #[arg(long, requires = "terminate")]
    pub min_xid_age: Option<i64>,
    /// Only sessions of this role (repeatable). Not the role pgvac connects as: that is -U.
    #[arg(long = "user", value_name = "ROLE", requires = "terminate")]
    pub users: Vec<String>,
    /// Only this pid (repeatable). -d/--dbname also limits --terminate to those databases.
    #[arg(long = "pid", value_name = "PID", requires = "terminate")]
    pub pids: Vec<i32>,
    /// Accept an incomplete run (a database or source that could not be read): the worst
    /// blocker decides the exit status, and --execute may act on what was read.
    #[arg(long)]
    pub allow_partial: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 nothing at warning or above, 1 warning, 2 critical, 3 could not \
                  complete (with --fail-on critical, warnings exit 0; with --fail-on never, \
                  only 3 is non-zero). A run that could not read a database or source it set \
                  out to read is incomplete: exit 3 whatever the findings, and --output and \
                  --history are left as they were, unless --allow-partial.\n\n\
                  Cron: `pgvac report --format json -o /var/lib/pgvac/report.json` replaces the \
                  file atomically; `--format prometheus -o DIR/pgvac.prom` feeds node_exporter's \
                  textfile collector.\n\n\
                  Each finding has a code; `pgvac explain CODE` prints what it checks, why it \
                  matters, how it is computed and how to fix it."
)]
pub struct ReportArgs {
    #[command(flatten)]
    pub connection: ConnectionFlags,
    /// Analyse this snapshot file (from `pgvac collect`) instead of connecting; the report is
    /// the one the live run would have given. No connection options with it.
    #[arg(long, value_name = "FILE", conflicts_with_all = CONNECTION_ARGS)]
    pub snapshot: Option<PathBuf>,
    /// Output format: table (the terminal report), json (schema in docs/report.schema.json),
    /// sql (a script of the fixes for psql), markdown, prometheus (textfile collector).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report to FILE (atomically: the old file or the whole new one) instead of
    /// stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Which findings make the exit status non-zero: warning (1 or 2), critical (2 only), or
    /// never (0 unless pgvac could not complete).
    #[arg(long, value_enum, default_value_t = FailOn::Warning, value_name = "LEVEL")]
    pub fail_on: FailOn,
    /// Leave out the findings of this rule (a code such as TABLE003, or its name; repeatable,
    /// or comma-separated in PGVAC_IGNORE): for findings a team has accepted. They count for
    /// nothing, and the report says how many were left out.
    #[arg(long = "ignore", value_name = "CODE", env = "PGVAC_IGNORE", value_delimiter = ',',
          value_parser = parse_rule_code)]
    pub ignore: Vec<&'static str>,
    /// Colour in the terminal report: auto (on a terminal, unless NO_COLOR is set), always,
    /// never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Columns the terminal report fits in [default: the terminal's width, or 100].
    #[arg(long, value_name = "COLUMNS", value_parser = clap::value_parser!(u16).range(60..=1000))]
    pub width: Option<u16>,
    /// Show at most N rows and findings per section.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub top: Option<u32>,
    /// Show the evidence of each finding (the numbers the rule used) and the locks fixes take.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// SQL script: leave statements that end sessions or drop objects uncommented.
    #[arg(long)]
    pub include_destructive: bool,
    /// Keep what trends need of each run in DIR (created if missing; one compressed file a
    /// run) and report trends against the earlier ones: XIDs consumed per hour, time until each
    /// database reaches its limits, dead rows and autovacuums per table. Rates need two runs.
    #[arg(long, value_name = "DIR")]
    pub history: Option<PathBuf>,
    #[command(flatten)]
    pub log: crate::logs::cli::ReportLogArgs,
    /// With --history: how many runs to keep (the newest).
    #[arg(long, value_name = "N", default_value_t = history::DEFAULT_KEEP, requires = "history",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub keep: usize,
    /// Accept an incomplete run (a database or source that could not be read): the findings
    /// decide the exit status, and --output and --history are written anyway. The report still
    /// says what was not read.
    #[arg(long)]
    pub allow_partial: bool,
}

/// The arguments that say how to connect: meaningless with `--snapshot`, so refused with it
/// rather than silently ignored.
const CONNECTION_ARGS: [&str; 7] = [
    "conninfo",
    "dsn",
    "host",
    "port",
    "user",
    "dbname",
    "exclude_db",
];

/// Output formats of `pgvac sessions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SessionsFormat {
    /// A table for people.
    Table,
    /// One JSON object.
    Json,
}

/// `--fail-on`: the least severe finding that makes the exit status non-zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Warning,
    Critical,
    Never,
}

impl FailOn {
    /// The exit status for findings whose worst severity is `worst`.
    pub fn exit_status(self, worst: Option<findings::Severity>) -> u8 {
        use findings::Severity;
        let least = match self {
            FailOn::Never => return 0,
            FailOn::Critical => Severity::Critical,
            FailOn::Warning => Severity::Warning,
        };
        worst
            .filter(|w| *w >= least)
            .map_or(0, Severity::exit_status)
    }
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ReportArgs {
    /// Resolve the drawing flags against the environment: colour only on a terminal (and never
    /// with `NO_COLOR` set, or into a file), the width of the terminal or 100.
    pub fn render_options(&self) -> render::Options {
        use std::io::IsTerminal;
        let to_terminal = self.output.is_none() && std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                to_terminal && !no_color && std::env::var("TERM").map_or(true, |t| t != "dumb")
            }
        } && self.format == Format::Table;
        let width = render::fit_width(self.width, to_terminal);
        render::Options {
            top: self.top.map(|n| n as usize),
            verbose: self.verbose,
            color,
            width,
            include_destructive: self.include_destructive,
        }
    }
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// table (code, name, severity, summary), markdown (every rule's documentation: the source
    /// of docs/rules.md) or json (for tooling; schema in docs/rules.schema.json).
    #[arg(long, value_enum, default_value_t = RulesFormat::Table)]
    pub format: RulesFormat,
    /// Same as --format markdown.
    #[arg(long, conflicts_with = "format")]
    pub markdown: bool,
}

/// Output formats of `pgvac rules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RulesFormat {
    Table,
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A rule code (e.g. TABLE001) or name (e.g. dead-row-trigger-too-high).
    #[arg(value_name = "CODE")]
    pub code: String,
}

/// `--ignore`: a rule's code (any case) or name; a retired code is named as such.
fn parse_rule_code(text: &str) -> Result<&'static str, String> {
    if let Some(rule) = rules::find(text) {
        return Ok(rule.code);
    }
    let wanted = text.trim();
    match rules::RETIRED
        .iter()
        .find(|(code, _)| code.eq_ignore_ascii_case(wanted))
    {
        Some((code, why)) => Err(format!("{code} is a retired rule ({why})")),
        None => Err(format!("no rule {wanted:?}: `pgvac rules` lists the codes")),
    }
}

/// `--connect-timeout`: a number of seconds (fractions allowed) or a duration; 0 is no limit.
fn parse_connect_timeout(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds)
            .map_err(|_| format!("{text} is not a number of seconds of 0 or more"));
    }
    parse_duration(text)
}

/// `--statement-timeout`, `--lock-timeout`: more than zero, which the server reads as "none".
fn parse_session_timeout(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration.is_zero() {
        return Err("must be more than 0 (0 would mean no timeout at all)".to_string());
    }
    Ok(duration)
}

/// `30s`, `500ms`, `2min`, or a plain number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(text).map_err(|e| format!("{e} (examples: 30s, 500ms, 2min)"))
}

/// A duration flag whose default comes from the analysis' own constant (so `--help` shows the
/// default the analysis uses, from one place): parsed as [`parse_duration`], shown as `5m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(pub Duration);

impl Span {
    pub fn secs(seconds: i64) -> Span {
        Span(Duration::from_secs(u64::try_from(seconds).unwrap_or(0)))
    }
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl std::str::FromStr for Span {
    type Err = String;
    fn from_str(text: &str) -> Result<Span, String> {
        parse_duration(text).map(Span)
    }
}
