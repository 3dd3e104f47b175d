//! Connecting exactly as psql does, and only ever read-only.
//!
//! libpq resolves a connection in a fixed order (`conninfo_add_defaults` and `connectOptions2`
//! in `fe-connect.c`), and this module follows it step by step, each parameter once:
//!
//! 1. the connection string (a `postgresql://` URI or `key=value` pairs), over the `-h -p -U`
//!    flags (as in psql, where the string given as the database wins over them); `-d` then names
//!    the database, since pgvac's `-d` is the list of databases to visit;
//! 2. the service named by `service=` or `PGSERVICE`, from `servicefile=`/`PGSERVICEFILE`/
//!    `~/.pg_service.conf`, else `PGSYSCONFDIR/pg_service.conf`;
//! 3. the `PG*` environment variable of each parameter still unset;
//! 4. libpq's compiled-in defaults: port 5432, the Unix-domain socket directory, the operating
//!    system user as the role, the role's name as the database;
//! 5. per host and database, the password file (`passfile`, `PGPASSFILE`, `~/.pgpass`).
//!
//! The process environment is read once ([`Environment`]), and then cleared of `PG*`
//! variables, so that sqlx, which reads some of them itself, cannot apply a second resolution
//! behind this one; [`resolve`] is a pure function of the flags and that snapshot. The result goes
//! to sqlx through its typed [`PgConnectOptions`] builder.
//!
//! Every libpq parameter ([`conninfo::KEYWORDS`]) is either honoured or refused with a line that
//! names it; see the README's "Connecting" section for the list and the reasons. Things sqlx does
//! not do and that are done here: several hosts with `target_session_attrs` and
//! `load_balance_hosts`, service files, the password file with libpq's matching and permission
//! check, `sslmode=allow` and `prefer`'s retry without TLS, `require` verifying the chain when a
//! root certificate exists, `~/.postgresql/root.crt` and the client certificate defaults,
//! `hostaddr`, `fallback_application_name`, and libpq's error texts.
//!
//! Once a host has been chosen, every later connection of the run (each database visited, the
//! `--terminate` session) goes to that host: a run never mixes two servers.
//!
//! Every session pgvac opens is gentle: `default_transaction_read_only`, a statement timeout, a
//! lock timeout and UTC for timestamps. A password never leaves this module: errors name the
//! host, port, database and user only.

pub mod conninfo;
mod passfile;
mod probe;
mod service;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::{ConnectOptions, Connection};

use conninfo::Params;
pub use passfile::Lookup as PasswordLookup;

/// Errors a user can cause while connecting. Each reads as one line.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("invalid connection string: {0}")]
    InvalidConnectionString(String),
    #[error("{0}")]
    InvalidOption(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("could not connect to {target}: {reason}")]
    Failed { target: String, reason: String },
    #[error("could not connect to {target}: no answer within {seconds} s (connect timeout)")]
    TimedOut { target: String, seconds: String },
    #[error(
        "{target} runs PostgreSQL {version}, which pgvac does not support: pgvac needs PostgreSQL 12 or newer"
    )]
    UnsupportedVersion { target: String, version: String },
}

/// The process environment as libpq reads it, captured once.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// The `PG*` variables.
    pub vars: BTreeMap<String, String>,
    /// `HOME`, else the user's home directory from the password database.
    pub home: Option<PathBuf>,
    /// The operating-system user name (of the effective user id), libpq's default role.
    pub os_user: Option<String>,
    /// The default Unix-domain socket directory: libpq's compiled-in `DEFAULT_PGSOCKET_DIR`.
    pub socket_dir: String,
    /// The directory of the system-wide service file when `PGSYSCONFDIR` is unset.
    pub sysconfdir: PathBuf,
}

/// The socket directory of Debian's, Ubuntu's, Red Hat's and the PGDG packages' libpq.
pub const PACKAGED_SOCKET_DIR: &str = "/var/run/postgresql";
/// The socket directory of libpq built from source.
pub const UPSTREAM_SOCKET_DIR: &str = "/tmp";

static PROCESS_ENVIRONMENT: OnceLock<Environment> = OnceLock::new();

impl Environment {
    /// Read the environment of this process.
    pub fn read() -> Environment {
        let vars = std::env::vars()
            .filter(|(k, _)| k.starts_with("PG") && !k.starts_with("PGVAC_"))
            .collect();
        #[allow(deprecated)]
        let home = std::env::home_dir().filter(|h| !h.as_os_str().is_empty());
        let socket_dir = if Path::new(PACKAGED_SOCKET_DIR).is_dir() {
            PACKAGED_SOCKET_DIR
        } else {
            UPSTREAM_SOCKET_DIR
        };
        Environment {
            vars,
            home,
            os_user: whoami::username().ok(),
            socket_dir: socket_dir.to_string(),
            sysconfdir: PathBuf::from("/etc/postgresql-common"),
        }
    }

    /// Capture the environment for the whole run and remove the `PG*` variables from the
    /// process, so that no library reads them again. Call it first thing in `main`, before any
    /// thread starts.
    pub fn capture_process() -> &'static Environment {
        let environment = PROCESS_ENVIRONMENT.get_or_init(Environment::read);
        for key in environment.vars.keys() {
            // SAFETY: called at the start of the program, before any other thread exists.
            unsafe { std::env::remove_var(key) };
        }
        environment
    }

    /// The captured environment (captured now if `capture_process` was not called).
    pub fn process() -> &'static Environment {
        PROCESS_ENVIRONMENT.get_or_init(Environment::read)
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }
}

/// What the user typed: the connection string and the psql-style flags.
#[derive(Debug, Clone, Default)]
pub struct ConnectionArgs {
    pub dsn: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub dbname: Option<String>,
    /// `--connect-timeout`: `Some(ZERO)` waits without limit. Over `connect_timeout`.
    pub connect_timeout: Option<Duration>,
    pub statement_timeout: Duration,
    pub lock_timeout: Duration,
}

/// How the password of a host is known.
#[derive(Clone)]
enum Password {
    Given(String),
    File(PathBuf),
    None,
}

/// One entry of the host list.
#[derive(Debug, Clone)]
struct Host {
    /// Where the socket goes: a socket directory or a TCP host (name or address).
    address: Address,
    port: u16,
    /// The host name for password-file lookups (`host`, else `hostaddr`, `localhost` for the
    /// default socket directory).
    pgpass_host: String,
    /// For messages, as libpq words them.
    label: String,
}

#[derive(Debug, Clone)]
enum Address {
    Socket(PathBuf),
    /// `connect_to` is where the TCP connection goes; `tls_name` what the certificate must
    /// name under `verify-full`.
    Tcp {
        connect_to: String,
        tls_name: String,
    },
}

/// libpq's sslmode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Any,
    ReadWrite,
    ReadOnly,
    Primary,
    Standby,
    PreferStandby,
}

/// How to reach the server, resolved once; the password file is read per database.
#[derive(Clone)]
pub struct ConnectionSettings {
    hosts: Vec<Host>,
    user: String,
    dbname: String,
    password: Password,
    sslmode: SslMode,
    /// A root certificate file that exists (verification of the chain), if any.
    root_cert: Option<PathBuf>,
    client_cert: Option<(PathBuf, PathBuf)>,
    target: Target,
    application_name: String,
    /// `options`: the user's `-c name=value` settings, applied before pgvac's.
    server_options: Vec<(String, String)>,
    /// `None`: wait without limit.
    pub connect_timeout: Option<Duration>,
    pub statement_timeout: Duration,
    pub lock_timeout: Duration,
    /// The host chosen by the first connection; later connections go there only.
    chosen: Arc<Mutex<Option<usize>>>,
    /// Hosts that let pgvac in without a password once: not asked again.
    passwordless: Arc<Mutex<Vec<usize>>>,
}

impl std::fmt::Debug for ConnectionSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionSettings")
            .field("hosts", &self.hosts)
            .field("user", &self.user)
            .field("dbname", &self.dbname)
            .field(
                "password",
                &match self.password {
                    Password::Given(_) => "********".to_string(),
                    Password::File(ref f) => format!("from {}", f.display()),
                    Password::None => "none".to_string(),
                },
            )
            .field("sslmode", &self.sslmode)
            .field("target", &self.target)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

const NO_PASSWORD: &str =
    "no password supplied (give it with PGPASSWORD, a password file or the connection string)";

/// pgvac's own default: a cron job should not hang on a silent network (libpq has none).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn invalid(message: String) -> ConnectError {
    ConnectError::InvalidOption(message)
}

fn unsupported(keyword: &str, value: &str, why: &str) -> ConnectError {
    ConnectError::Unsupported(format!(
        "connection parameter {keyword}={value} is not supported by pgvac: {why}"
    ))
}

/// An I/O error as one short phrase ("No such file or directory").
fn io_reason(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// Resolve the flags and the environment into settings, as libpq would.
pub fn resolve(
    args: &ConnectionArgs,
    env: &Environment,
) -> Result<ConnectionSettings, ConnectError> {
    // 1. Flags, then the connection string over them, then -d.
    let mut params = Params::new();
    if let Some(host) = &args.host {
        params.insert("host", host.clone());
    }
    if let Some(port) = args.port {
        params.insert("port", port.to_string());
    }
    if let Some(user) = &args.user {
        params.insert("user", user.clone());
    }
    if let Some(dsn) = args.dsn.as_deref() {
        if conninfo::is_connection_string(dsn) {
            let given = conninfo::parse(dsn).map_err(ConnectError::InvalidConnectionString)?;
            params.extend(given);
        } else if !dsn.is_empty() {
            params.insert("dbname", dsn.to_string());
        }
    }
    if let Some(dbname) = &args.dbname {
        params.insert("dbname", dbname.clone());
    }
    // 2. The service file.
    let service = params
        .get("service")
        .cloned()
        .or_else(|| env.var("PGSERVICE").map(str::to_string))
        .filter(|s| !s.is_empty());
    if let Some(service) = service {
        let explicit = params
            .get("servicefile")
            .map(String::as_str)
            .or_else(|| env.var("PGSERVICEFILE"));
        let user_file = service::user_file(explicit, env.home.as_deref());
        let sysconfdir = env
            .var("PGSYSCONFDIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| env.sysconfdir.clone());
        service::apply(
            &mut params,
            &service,
            user_file.as_deref(),
            &sysconfdir.join("pg_service.conf"),
        )
        .map_err(invalid)?;
    }
    // 3. Environment variables, 4. compiled-in defaults.
    for keyword in conninfo::KEYWORDS {
        if params.contains_key(keyword.name) {
            continue;
        }
        if let Some(value) = keyword.env.and_then(|v| env.var(v)) {
            params.insert(keyword.name, value.to_string());
        } else if let Some(default) = keyword.default {
            params.insert(keyword.name, default.to_string());
        }
    }
    let get = |key: &str| {
        params
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };

    let user = match get("user") {
        Some(user) => user.to_string(),
        None => env.os_user.clone().ok_or_else(|| {
            invalid("could not look up the local user name: give the role with -U or PGUSER".into())
        })?,
    };
    let dbname = get("dbname").unwrap_or(&user).to_string();
    let hosts = hosts(&params, env)?;

    let password = match get("password") {
        Some(password) => Password::Given(password.to_string()),
        None => match get("passfile") {
            Some(file) => Password::File(PathBuf::from(file)),
            None => match &env.home {
                Some(home) => Password::File(home.join(".pgpass")),
                None => Password::None,
            },
        },
    };

    refuse_unsupported(&params)?;

    match get("channel_binding").unwrap_or("prefer") {
        "disable" | "prefer" => {}
        "require" => {
            return Err(unsupported(
                "channel_binding",
                "require",
                "its driver does not bind SCRAM authentication to the TLS channel",
            ));
        }
        other => {
            return Err(invalid(format!(
                "invalid channel_binding value: \"{other}\""
            )));
        }
    }
    let sslrootcert = get("sslrootcert");
    let sslmode = match get("sslmode") {
        None if sslrootcert == Some("system") => SslMode::VerifyFull,
        None => SslMode::Prefer,
        Some("disable") => SslMode::Disable,
        Some("allow") => SslMode::Allow,
        Some("prefer") => SslMode::Prefer,
        Some("require") => SslMode::Require,
        Some("verify-ca") => SslMode::VerifyCa,
        Some("verify-full") => SslMode::VerifyFull,
        Some(other) => return Err(invalid(format!("invalid sslmode value: \"{other}\""))),
    };
    if sslrootcert == Some("system") && sslmode != SslMode::VerifyFull {
        let mode = get("sslmode").unwrap_or("");
        return Err(invalid(format!(
            "weak sslmode \"{mode}\" may not be used with sslrootcert=system (use \"verify-full\")"
        )));
    }
    check_tls_versions(
        get("ssl_min_protocol_version"),
        get("ssl_max_protocol_version"),
    )?;
    let send_client_cert = match get("sslcertmode").unwrap_or("allow") {
        "allow" => true,
        "disable" => false,
        "require" => {
            return Err(unsupported(
                "sslcertmode",
                "require",
                "its driver cannot tell whether the server asked for a client certificate",
            ));
        }
        other => return Err(invalid(format!("invalid sslcertmode value: \"{other}\""))),
    };
    match get("gssencmode").unwrap_or("disable") {
        "disable" | "prefer" => {}
        "require" => {
            return Err(invalid(
                "gssencmode value \"require\" invalid when GSSAPI support is not compiled in"
                    .into(),
            ));
        }
        other => return Err(invalid(format!("invalid gssencmode value: \"{other}\""))),
    }
    let target = match get("target_session_attrs").unwrap_or("any") {
        "any" => Target::Any,
        "read-write" => Target::ReadWrite,
        "read-only" => Target::ReadOnly,
        "primary" => Target::Primary,
        "standby" => Target::Standby,
        "prefer-standby" => Target::PreferStandby,
        other => {
            return Err(invalid(format!(
                "invalid target_session_attrs value: \"{other}\""
            )));
        }
    };
    let mut hosts = hosts;
    match get("load_balance_hosts").unwrap_or("disable") {
        "disable" => {}
        "random" => shuffle(&mut hosts),
        other => {
            return Err(invalid(format!(
                "invalid load_balance_hosts value: \"{other}\""
            )));
        }
    }
    let connect_timeout = match args.connect_timeout {
        Some(flag) if flag.is_zero() => None,
        Some(flag) => Some(flag.max(Duration::from_secs(2))),
        None => match get("connect_timeout") {
            None => Some(DEFAULT_CONNECT_TIMEOUT),
            Some(text) => {
                let seconds = parse_int(text, "connect_timeout")?;
                // fe-connect.c: negative means 0, which means no limit; under 2 s is 2 s.
                (seconds > 0).then(|| Duration::from_secs(seconds.max(2) as u64))
            }
        },
    };

    let (root_cert, client_cert) = tls_files(&params, sslmode, send_client_cert, env)?;
    let application_name = get("application_name")
        .or_else(|| get("fallback_application_name"))
        .unwrap_or("pgvac")
        .to_string();
    let server_options = match get("options") {
        Some(options) => parse_server_options(options)?,
        None => Vec::new(),
    };
    if let Some(encoding) = get("client_encoding") {
        let normal = encoding.to_ascii_lowercase().replace(['-', '_'], "");
        if normal != "utf8" && normal != "unicode" && normal != "auto" {
            return Err(unsupported(
                "client_encoding",
                encoding,
                "pgvac reads the server in UTF8 (unset PGCLIENTENCODING)",
            ));
        }
    }
    Ok(ConnectionSettings {
        hosts,
        user,
        dbname,
        password,
        sslmode,
        root_cert,
        client_cert,
        target,
        application_name,
        server_options,
        connect_timeout,
        statement_timeout: args.statement_timeout,
        lock_timeout: args.lock_timeout,
        chosen: Arc::new(Mutex::new(None)),
        passwordless: Arc::new(Mutex::new(Vec::new())),
    })
}

/// `pqParseIntParam`: an integer, white space around it allowed.
fn parse_int(text: &str, keyword: &str) -> Result<i64, ConnectError> {
    text.trim().parse::<i64>().map_err(|_| {
        invalid(format!(
            "invalid integer value \"{text}\" for connection option \"{keyword}\""
        ))
    })
}

/// The host list: `host`, `hostaddr` and `port` as comma-separated lists (`connectOptions2`).
fn hosts(params: &Params, env: &Environment) -> Result<Vec<Host>, ConnectError> {
    let split = |key: &str| -> Option<Vec<String>> {
        params
            .get(key)
            .filter(|v| !v.is_empty())
            .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
    };
    let names = split("host");
    let addrs = split("hostaddr");
    let count = match (&addrs, &names) {
        (Some(a), _) => a.len(),
        (None, Some(n)) => n.len(),
        (None, None) => 1,
    };
    if let (Some(a), Some(n)) = (&addrs, &names)
        && a.len() != n.len()
    {
        return Err(invalid(format!(
            "could not match {} host names to {} hostaddr values",
            n.len(),
            a.len()
        )));
    }
    let ports: Vec<String> = match split("port") {
        None => vec![String::new(); count],
        Some(p) if p.len() == 1 => vec![p[0].clone(); count],
        Some(p) if p.len() == count => p,
        Some(p) => {
            return Err(invalid(format!(
                "could not match {} port numbers to {count} hosts",
                p.len()
            )));
        }
    };
    let mut hosts = Vec::with_capacity(count);
    for i in 0..count {
        let name = names
            .as_ref()
            .map(|n| n[i].clone())
            .filter(|n| !n.is_empty());
        let addr = addrs
            .as_ref()
            .map(|a| a[i].clone())
            .filter(|a| !a.is_empty());
        let port_text = if ports[i].is_empty() {
            "5432"
        } else {
            &ports[i]
        };
        let port_number = parse_int(port_text, "port")?;
        let port = u16::try_from(port_number)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| invalid(format!("invalid port number: \"{port_text}\"")))?;
        let host = match (addr, name) {
            (Some(addr), name) => {
                if addr.parse::<std::net::IpAddr>().is_err() {
                    return Err(invalid(format!(
                        "could not parse network address \"{addr}\": Name or service not known"
                    )));
                }
                Host {
                    label: format!("server at \"{addr}\", port {port}"),
                    pgpass_host: name.clone().unwrap_or_else(|| addr.clone()),
                    address: Address::Tcp {
                        tls_name: name.unwrap_or_else(|| addr.clone()),
                        connect_to: addr,
                    },
                    port,
                }
            }
            (None, Some(name)) if name.starts_with('/') || name.starts_with('@') => {
                if name.starts_with('@') {
                    return Err(unsupported(
                        "host",
                        &name,
                        "its driver cannot reach abstract Unix-domain sockets",
                    ));
                }
                socket_host(&name, port, env)
            }
            (None, Some(name)) => Host {
                label: format!("server at \"{name}\", port {port}"),
                pgpass_host: name.clone(),
                address: Address::Tcp {
                    connect_to: name.clone(),
                    tls_name: name,
                },
                port,
            },
            (None, None) => socket_host(&env.socket_dir, port, env),
        };
        hosts.push(host);
    }
    Ok(hosts)
}

fn socket_host(dir: &str, port: u16, env: &Environment) -> Host {
    let pgpass_host = if dir == env.socket_dir {
        "localhost".to_string()
    } else {
        dir.to_string()
    };
    Host {
        label: format!("server on socket \"{dir}/.s.PGSQL.{port}\""),
        address: Address::Socket(PathBuf::from(dir)),
        pgpass_host,
        port,
    }
}

/// Fisher-Yates with a seed from the standard library's per-process random hasher keys.
fn shuffle(hosts: &mut [Host]) {
    use std::hash::{BuildHasher, Hasher};
    let mut state = std::collections::hash_map::RandomState::new().build_hasher();
    for i in (1..hosts.len()).rev() {
        state.write_usize(i);
        let j = (state.finish() % (i as u64 + 1)) as usize;
        hosts.swap(i, j);
    }
}

/// Parameters whose effect pgvac cannot give, refused with a line rather than dropped.
fn refuse_unsupported(params: &Params) -> Result<(), ConnectError> {
    let get = |key: &str| {
        params
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let keepalive_why = "its driver opens the TCP socket and cannot set keepalives on it; \
                         pgvac's sessions have no TCP keepalives";
    if let Some(value) = get("keepalives") {
        parse_int(value, "keepalives")
            .map_err(|_| invalid("keepalives parameter must be an integer".into()))?;
        if value.trim() != "0" {
            return Err(unsupported("keepalives", value, keepalive_why));
        }
    }
    for key in [
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
    ] {
        if let Some(value) = get(key) {
            parse_int(value, key)?;
            return Err(unsupported(key, value, keepalive_why));
        }
    }
    let refusals: &[(&str, &str)] = &[
        (
            "requirepeer",
            "its driver cannot read the server process's user from the socket",
        ),
        (
            "require_auth",
            "its driver does not report which authentication method the server used",
        ),
        (
            "sslpassword",
            "its TLS library cannot read encrypted private keys",
        ),
        (
            "sslcrl",
            "its TLS library does not check certificate revocation lists",
        ),
        (
            "sslcrldir",
            "its TLS library does not check certificate revocation lists",
        ),
        ("sslkeylogfile", "its TLS library does not write key logs"),
        ("scram_client_key", "it authenticates with passwords only"),
        ("scram_server_key", "it authenticates with passwords only"),
        ("oauth_issuer", "it has no OAuth support"),
        ("oauth_client_id", "it has no OAuth support"),
        ("oauth_client_secret", "it has no OAuth support"),
        ("oauth_scope", "it has no OAuth support"),
    ];
    for (key, why) in refusals {
        if let Some(value) = get(key) {
            let shown = if key.contains("secret") || key.contains("password") {
                "..."
            } else {
                value
            };
            return Err(unsupported(key, shown, why));
        }
    }
    if let Some(value) = get("replication") {
        match value.to_ascii_lowercase().as_str() {
            "0" | "off" | "false" | "no" => {}
            _ => {
                return Err(unsupported(
                    "replication",
                    value,
                    "pgvac reads catalogs and needs a normal session",
                ));
            }
        }
    }
    match get("sslnegotiation").unwrap_or("postgres") {
        "postgres" => {}
        "direct" => {
            return Err(unsupported(
                "sslnegotiation",
                "direct",
                "its driver always starts TLS with an SSLRequest",
            ));
        }
        other => {
            return Err(invalid(format!(
                "invalid sslnegotiation value: \"{other}\""
            )));
        }
    }
    match get("sslcompression").unwrap_or("0") {
        "0" => {}
        "1" => {
            return Err(unsupported(
                "sslcompression",
                "1",
                "its TLS library has no compression",
            ));
        }
        other => {
            return Err(invalid(format!(
                "invalid sslcompression value: \"{other}\""
            )));
        }
    }
    match get("sslsni").unwrap_or("1") {
        "1" => {}
        "0" => {
            return Err(unsupported(
                "sslsni",
                "0",
                "its TLS library always sends the host name",
            ));
        }
        other => return Err(invalid(format!("invalid sslsni value: \"{other}\""))),
    }
    if let Some(value) = get("gssdelegation")
        && value != "0"
        && value != "1"
    {
        return Err(invalid(format!("invalid gssdelegation value: \"{value}\"")));
    }
    for key in ["min_protocol_version", "max_protocol_version"] {
        match get(key) {
            None | Some("3.0") => {}
            Some("3.2") | Some("latest") if key == "max_protocol_version" => {}
            Some("3.2") | Some("latest") => {
                return Err(unsupported(
                    key,
                    get(key).unwrap_or(""),
                    "its driver speaks protocol 3.0",
                ));
            }
            Some(other) => return Err(invalid(format!("invalid {key} value: \"{other}\""))),
        }
    }
    Ok(())
}

/// `ssl_min_protocol_version` / `ssl_max_protocol_version`: libpq's values; rustls speaks TLS
/// 1.2 and 1.3 only, so a minimum up to 1.2 holds, and a bound it cannot keep is refused.
fn check_tls_versions(min: Option<&str>, max: Option<&str>) -> Result<(), ConnectError> {
    let rank = |key: &str, v: &str| -> Result<u8, ConnectError> {
        match v {
            "TLSv1" => Ok(0),
            "TLSv1.1" => Ok(1),
            "TLSv1.2" => Ok(2),
            "TLSv1.3" => Ok(3),
            other => Err(invalid(format!("invalid {key} value: \"{other}\""))),
        }
    };
    let min_rank = min
        .map(|v| rank("ssl_min_protocol_version", v))
        .transpose()?;
    let max_rank = max
        .map(|v| rank("ssl_max_protocol_version", v))
        .transpose()?;
    if let (Some(lo), Some(hi)) = (min_rank, max_rank)
        && lo > hi
    {
        return Err(invalid("invalid SSL protocol version range".into()));
    }
    if min_rank == Some(3) {
        return Err(unsupported(
            "ssl_min_protocol_version",
            "TLSv1.3",
            "its TLS library cannot be limited to TLS 1.3",
        ));
    }
    if let Some(hi) = max_rank
        && hi < 3
    {
        return Err(unsupported(
            "ssl_max_protocol_version",
            max.unwrap_or(""),
            "its TLS library cannot be limited below TLS 1.3",
        ));
    }
    Ok(())
}

/// The root certificate (verification) and client certificate files, as libpq finds them.
#[allow(clippy::type_complexity)]
fn tls_files(
    params: &Params,
    sslmode: SslMode,
    send_client_cert: bool,
    env: &Environment,
) -> Result<(Option<PathBuf>, Option<(PathBuf, PathBuf)>), ConnectError> {
    if sslmode == SslMode::Disable {
        return Ok((None, None));
    }
    let get = |key: &str| {
        params
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let in_home = |file: &str| env.home.as_ref().map(|h| h.join(".postgresql").join(file));
    let root_path = match get("sslrootcert") {
        Some("system") => Some(system_roots(env)?),
        Some(path) => Some(PathBuf::from(path)),
        None => in_home("root.crt"),
    };
    let root_cert = root_path.clone().filter(|p| std::fs::metadata(p).is_ok());
    let verifies = matches!(sslmode, SslMode::VerifyCa | SslMode::VerifyFull);
    if verifies && root_cert.is_none() {
        let shown = root_path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "~/.postgresql/root.crt".to_string());
        return Err(invalid(format!(
            "root certificate file \"{shown}\" does not exist; either provide the file, use the \
             system's trusted roots with sslrootcert=system, or change sslmode to disable server \
             certificate verification"
        )));
    }
    if root_cert.is_some() {
        let crl = in_home("root.crl").filter(|p| p.exists());
        if let Some(crl) = crl {
            return Err(ConnectError::Unsupported(format!(
                "{} exists, and pgvac cannot check certificate revocation lists: its TLS library \
                 does not read them",
                crl.display()
            )));
        }
    }
    let cert = get("sslcert")
        .map(PathBuf::from)
        .or_else(|| in_home("postgresql.crt"));
    let client = match cert.filter(|c| send_client_cert && std::fs::metadata(c).is_ok()) {
        None => None,
        Some(cert) => {
            let key = get("sslkey")
                .map(PathBuf::from)
                .or_else(|| in_home("postgresql.key"))
                .unwrap_or_default();
            check_private_key(&key)?;
            Some((cert, key))
        }
    };
    Ok((root_cert, client))
}

/// The system's trusted roots for `sslrootcert=system`: OpenSSL's default bundle file.
fn system_roots(env: &Environment) -> Result<PathBuf, ConnectError> {
    let _ = env;
    for candidate in [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/cert.pem",
    ] {
        if Path::new(candidate).is_file() {
            return Ok(PathBuf::from(candidate));
        }
    }
    Err(invalid(
        "sslrootcert=system: no system certificate bundle found".into(),
    ))
}

/// libpq's checks of the client's private key file.
fn check_private_key(key: &Path) -> Result<(), ConnectError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let metadata = std::fs::metadata(key).map_err(|_| {
        invalid(format!(
            "certificate present, but not private key file \"{}\"",
            key.display()
        ))
    })?;
    if !metadata.is_file() {
        return Err(invalid(format!(
            "private key file \"{}\" is not a regular file",
            key.display()
        )));
    }
    let mode = metadata.permissions().mode();
    let loose = if metadata.uid() == 0 {
        mode & 0o137 != 0
    } else {
        mode & 0o077 != 0
    };
    if loose {
        return Err(invalid(format!(
            "private key file \"{}\" has group or world access; file must have permissions \
             u=rw (0600) or less if owned by the current user, or permissions u=rw,g=r (0640) or \
             less if owned by root",
            key.display()
        )));
    }
    Ok(())
}

/// The `options` string: the server's command-line switches. Only settings (`-c name=value`,
/// `--name=value`) are passed on; anything else is refused.
fn parse_server_options(text: &str) -> Result<Vec<(String, String)>, ConnectError> {
    // The server splits on white space, a backslash escaping the next character.
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = text.chars();
    let mut in_word = false;
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            if in_word {
                words.push(std::mem::take(&mut word));
                in_word = false;
            }
        } else if c == '\\' {
            in_word = true;
            if let Some(next) = chars.next() {
                word.push(next);
            }
        } else {
            in_word = true;
            word.push(c);
        }
    }
    if in_word {
        words.push(word);
    }
    let refuse = |w: &str| {
        unsupported(
            "options",
            w,
            "pgvac passes only settings (-c name=value or --name=value) to the server",
        )
    };
    let mut settings = Vec::new();
    let mut iter = words.into_iter();
    while let Some(word) = iter.next() {
        let setting = if word == "-c" {
            iter.next().ok_or_else(|| refuse("-c"))?
        } else if let Some(rest) = word.strip_prefix("-c") {
            rest.to_string()
        } else if let Some(rest) = word.strip_prefix("--") {
            rest.to_string()
        } else {
            return Err(refuse(&word));
        };
        let Some((name, value)) = setting.split_once('=') else {
            return Err(refuse(&setting));
        };
        settings.push((name.replace('-', "_"), value.to_string()));
    }
    Ok(settings)
}

/// What went wrong with one attempt on one host.
enum AttemptError {
    Fatal(ConnectError),
    /// Try the next host; the reason, for the final message.
    Next(String),
}

impl ConnectionSettings {
    /// Resolve with the environment this process was started with.
    pub fn resolve(args: &ConnectionArgs) -> Result<ConnectionSettings, ConnectError> {
        resolve(args, Environment::process())
    }

    /// The database libpq would connect to first.
    pub fn initial_database(&self) -> String {
        self.dbname.clone()
    }

    /// The role pgvac connects as.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// sqlx options for one host and database, with pgvac's session settings.
    fn options_for(
        &self,
        host: &Host,
        database: &str,
        password: Option<&str>,
        ssl: PgSslMode,
        read_only_startup: bool,
    ) -> PgConnectOptions {
        let mut options = PgConnectOptions::new_without_pgpass()
            .port(host.port)
            .username(&self.user)
            .database(database)
            .application_name(&self.application_name)
            .ssl_mode(ssl)
            .disable_statement_logging();
        options = match &host.address {
            Address::Socket(dir) => options.host(&dir.display().to_string()).socket(dir),
            Address::Tcp { connect_to, .. } => options.host(connect_to),
        };
        if let Some(password) = password {
            options = options.password(password);
        }
        if !matches!(ssl, PgSslMode::Disable) {
            if let Some(root) = &self.root_cert {
                options = options.ssl_root_cert(root);
            }
            if let Some((cert, key)) = &self.client_cert {
                options = options.ssl_client_cert(cert).ssl_client_key(key);
            }
        }
        let statement_ms = round_up_ms(self.statement_timeout).to_string();
        let lock_ms = round_up_ms(self.lock_timeout).to_string();
        let mut settings: Vec<(String, String)> = self.server_options.clone();
        if read_only_startup {
            settings.push(("default_transaction_read_only".into(), "on".into()));
        }
        settings.extend([
            ("statement_timeout".to_string(), statement_ms),
            ("lock_timeout".to_string(), lock_ms),
            (
                "idle_in_transaction_session_timeout".to_string(),
                "0".to_string(),
            ),
            ("TimeZone".to_string(), "UTC".to_string()),
        ]);
        options.options(settings)
    }

    /// The password for `host` and `database`: given, from the file, or none (with why).
    fn password_for(&self, host: &Host, database: &str) -> (Option<String>, Option<String>) {
        match &self.password {
            Password::Given(p) => (Some(p.clone()), None),
            Password::None => (None, None),
            Password::File(file) => match passfile::lookup(
                file,
                &host.pgpass_host,
                &host.port.to_string(),
                database,
                &self.user,
            ) {
                PasswordLookup::Found { password, file } => (
                    Some(password),
                    Some(format!(
                        "password retrieved from file \"{}\"",
                        file.display()
                    )),
                ),
                PasswordLookup::NotFound => (None, None),
                PasswordLookup::Ignored(why) => (None, Some(why)),
            },
        }
    }

    /// Open a read-only session on `database` and check that the server is 12 or newer and of
    /// the kind `target_session_attrs` asks for.
    pub async fn connect(&self, database: &str) -> Result<PgConnection, ConnectError> {
        let pinned = *self.chosen.lock().expect("host choice lock");
        let order: Vec<usize> = match pinned {
            Some(i) => vec![i],
            None => (0..self.hosts.len()).collect(),
        };
        let passes: &[Target] = match (pinned, self.target) {
            (Some(_), _) => &[Target::Any],
            (None, Target::PreferStandby) => &[Target::Standby, Target::Any],
            (None, target) => std::slice::from_ref(match target {
                Target::Any => &Target::Any,
                Target::ReadWrite => &Target::ReadWrite,
                Target::ReadOnly => &Target::ReadOnly,
                Target::Primary => &Target::Primary,
                Target::Standby => &Target::Standby,
                Target::PreferStandby => &Target::Standby,
            }),
        };
        let mut failures = Vec::new();
        for target in passes {
            for &index in &order {
                let host = &self.hosts[index];
                let attempt = self.attempt(index, database, *target);
                let result = match self.connect_timeout {
                    Some(limit) => match tokio::time::timeout(limit, attempt).await {
                        Ok(result) => result,
                        Err(_) => Err(AttemptError::Next(format!(
                            "no answer within {} s (connect timeout)",
                            seconds(limit)
                        ))),
                    },
                    None => attempt.await,
                };
                match result {
                    Ok(conn) => {
                        *self.chosen.lock().expect("host choice lock") = Some(index);
                        return Ok(conn);
                    }
                    Err(AttemptError::Fatal(error)) => return Err(error),
                    Err(AttemptError::Next(reason)) => {
                        failures.push((host.label.clone(), reason));
                    }
                }
            }
        }
        let target = format!("database \"{database}\" as \"{}\"", self.user);
        if failures.len() == 1 {
            let (label, reason) = failures.remove(0);
            if let Some(limit) = self.connect_timeout
                && reason.starts_with("no answer within")
            {
                return Err(ConnectError::TimedOut {
                    target: format!("{label}, {target}"),
                    seconds: seconds(limit),
                });
            }
            return Err(ConnectError::Failed {
                target: format!("{label}, {target}"),
                reason,
            });
        }
        let reason = failures
            .iter()
            .map(|(label, reason)| format!("{label}: {reason}"))
            .collect::<Vec<_>>()
            .join("; ");
        Err(ConnectError::Failed { target, reason })
    }

    /// One host: the TLS attempts its sslmode calls for, then the version and target checks.
    async fn attempt(
        &self,
        index: usize,
        database: &str,
        target: Target,
    ) -> Result<PgConnection, AttemptError> {
        let host = &self.hosts[index];
        let (password, password_note) = self.password_for(host, database);
        if let Address::Tcp {
            connect_to,
            tls_name,
        } = &host.address
            && self.sslmode == SslMode::VerifyFull
            && tls_name != connect_to
        {
            return Err(AttemptError::Fatal(unsupported(
                "hostaddr",
                connect_to,
                "with sslmode=verify-full its driver checks the certificate against the address \
                 it connects to, not against host (use host alone, or sslmode=verify-ca)",
            )));
        }
        let verify = self.root_cert.is_some();
        let tries: Vec<PgSslMode> = match (&host.address, self.sslmode) {
            (Address::Socket(_), _) | (_, SslMode::Disable) => vec![PgSslMode::Disable],
            (_, SslMode::Allow) if verify => vec![PgSslMode::Disable, PgSslMode::VerifyCa],
            (_, SslMode::Allow) => vec![PgSslMode::Disable, PgSslMode::Require],
            (_, SslMode::Prefer) if verify => vec![PgSslMode::VerifyCa, PgSslMode::Disable],
            (_, SslMode::Prefer) => vec![PgSslMode::Prefer, PgSslMode::Disable],
            (_, SslMode::Require) if verify => vec![PgSslMode::VerifyCa],
            (_, SslMode::Require) => vec![PgSslMode::Require],
            (_, SslMode::VerifyCa) => vec![PgSslMode::VerifyCa],
            (_, SslMode::VerifyFull) => vec![PgSslMode::VerifyFull],
        };
        if password.is_none() {
            let asked = self
                .passwordless
                .lock()
                .expect("probe lock")
                .contains(&index);
            if !asked {
                match self.ask_for_password(host, database, tries[0]).await {
                    Some(probe::Answer::WantsPassword) => {
                        return Err(AttemptError::Next(match password_note {
                            Some(note) => format!("no password supplied ({note})"),
                            None => NO_PASSWORD.to_string(),
                        }));
                    }
                    Some(probe::Answer::Refused(message)) if tries.len() == 1 => {
                        return Err(AttemptError::Next(message));
                    }
                    Some(probe::Answer::Proceed) => {
                        self.passwordless.lock().expect("probe lock").push(index);
                    }
                    _ => {}
                }
            }
        }
        let read_only_startup = matches!(target, Target::Any | Target::Primary | Target::Standby);
        let mut last = String::new();
        for (i, ssl) in tries.iter().enumerate() {
            let options =
                self.options_for(host, database, password.as_deref(), *ssl, read_only_startup);
            match options.connect().await {
                Ok(conn) => return self.check_server(conn, host, database, target).await,
                Err(error) => {
                    last = self.explain(&error, password.is_some(), password_note.as_deref());
                    // allow and prefer try the other transport after any failure but one to
                    // reach the server (a failed TLS handshake arrives as InvalidData).
                    let retry = match &error {
                        sqlx::Error::Io(io) => io.kind() == std::io::ErrorKind::InvalidData,
                        _ => true,
                    };
                    if !retry || i + 1 == tries.len() {
                        break;
                    }
                }
            }
        }
        Err(AttemptError::Next(last))
    }

    /// Whether the server asks `host` for a password, over the transport `ssl` opens; `None`
    /// when the question could not be asked (the real connection then says why).
    async fn ask_for_password(
        &self,
        host: &Host,
        database: &str,
        ssl: PgSslMode,
    ) -> Option<probe::Answer> {
        use sqlx_core::net::tls::CertificateInput;
        let root = self.root_cert.clone().map(CertificateInput::File);
        let (cert, key) = match &self.client_cert {
            Some((cert, key)) => (
                Some(CertificateInput::File(cert.clone())),
                Some(CertificateInput::File(key.clone())),
            ),
            None => (None, None),
        };
        let tls_name = match &host.address {
            Address::Tcp { connect_to, .. } => connect_to.as_str(),
            Address::Socket(_) => "",
        };
        let question = probe::Probe {
            user: &self.user,
            database,
            ssl,
            tls_name,
            root_cert: root.as_ref(),
            client_cert: cert.as_ref(),
            client_key: key.as_ref(),
        };
        let answer = match &host.address {
            Address::Socket(dir) => {
                let path = format!("{}/.s.PGSQL.{}", dir.display(), host.port);
                question.over_socket(&path).await
            }
            Address::Tcp { connect_to, .. } => question.over_tcp(connect_to, host.port).await,
        };
        answer.ok()
    }

    /// One line for a failed attempt, saying what the user can act on.
    fn explain(&self, error: &sqlx::Error, had_password: bool, note: Option<&str>) -> String {
        let password_failed =
            matches!(error, sqlx::Error::Database(db) if db.code().as_deref() == Some("28P01"));
        if password_failed && !had_password {
            return match note {
                Some(note) => format!("no password supplied ({note})"),
                None => NO_PASSWORD.to_string(),
            };
        }
        let message = describe_sqlx_error(error);
        match (password_failed, note) {
            (true, Some(note)) => format!("{message} ({note})"),
            _ => message,
        }
    }

    /// The checks libpq makes after authentication, and pgvac's version floor.
    async fn check_server(
        &self,
        mut conn: PgConnection,
        host: &Host,
        database: &str,
        target: Target,
    ) -> Result<PgConnection, AttemptError> {
        let version_num = conn.server_version_num().unwrap_or(0);
        if version_num < 120000 {
            let version = if version_num == 0 {
                "unknown".to_string()
            } else if version_num >= 100000 {
                format!("{}.{}", version_num / 10000, version_num % 10000)
            } else {
                format!(
                    "{}.{}.{}",
                    version_num / 10000,
                    version_num / 100 % 100,
                    version_num % 100
                )
            };
            let _ = conn.close().await;
            return Err(AttemptError::Fatal(ConnectError::UnsupportedVersion {
                target: format!("{}, database \"{database}\"", host.label),
                version,
            }));
        }
        if target == Target::Any {
            return Ok(conn);
        }
        // libpq asks `SHOW transaction_read_only` (read-write, read-only) or
        // `pg_is_in_recovery()` (primary, standby) where the server does not report them.
        let row: Result<(bool, String), sqlx::Error> = sqlx::query_as(
            "SELECT pg_catalog.pg_is_in_recovery(), pg_catalog.current_setting('transaction_read_only')",
        )
        .fetch_one(&mut conn)
        .await;
        let (in_recovery, read_only) = match row {
            Ok((recovery, read_only)) => (recovery, read_only == "on"),
            Err(e) => return Err(AttemptError::Next(describe_sqlx_error(&e))),
        };
        let refusal = match target {
            Target::ReadWrite if read_only => Some("session is read-only"),
            Target::ReadOnly if !read_only => Some("session is not read-only"),
            Target::Primary if in_recovery => Some("server is in hot standby mode"),
            Target::Standby | Target::PreferStandby if !in_recovery => {
                Some("server is not in hot standby mode")
            }
            _ => None,
        };
        if let Some(refusal) = refusal {
            let _ = conn.close().await;
            return Err(AttemptError::Next(refusal.to_string()));
        }
        if matches!(target, Target::ReadWrite | Target::ReadOnly)
            && let Err(e) = sqlx::raw_sql("SET default_transaction_read_only = on")
                .execute(&mut conn)
                .await
        {
            return Err(AttemptError::Next(describe_sqlx_error(&e)));
        }
        Ok(conn)
    }
}

/// `pgvac ping`: connect as every command would, and say where, in one line.
pub async fn ping(settings: &ConnectionSettings) -> Result<String, ConnectError> {
    let database = settings.initial_database();
    let mut conn = settings.connect(&database).await?;
    let chosen = settings
        .chosen
        .lock()
        .expect("host choice lock")
        .unwrap_or(0);
    let row: Result<(String, String, String, bool, bool, String), sqlx::Error> = sqlx::query_as(
        "SELECT current_setting('port'), current_database()::text, current_user::text, \
                coalesce((SELECT ssl FROM pg_catalog.pg_stat_ssl WHERE pid = pg_backend_pid()), false), \
                pg_catalog.pg_is_in_recovery(), current_setting('server_version')",
    )
    .fetch_one(&mut conn)
    .await;
    let _ = conn.close().await;
    let (port, database, user, ssl, in_recovery, version) =
        row.map_err(|e| ConnectError::Failed {
            target: settings.hosts[chosen].label.clone(),
            reason: describe_sqlx_error(&e),
        })?;
    Ok(format!(
        "connected to {}: database \"{database}\", user \"{user}\", TLS {}, {}, PostgreSQL {version}, server port {port}",
        settings.hosts[chosen].label,
        if ssl { "on" } else { "off" },
        if in_recovery { "standby" } else { "primary" },
    ))
}

fn seconds(duration: Duration) -> String {
    let text = format!("{:.1}", duration.as_secs_f64());
    text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
}

/// Milliseconds for a server setting, rounded up so that a short timeout never becomes 0
/// (which the server reads as "no timeout").
pub fn round_up_ms(duration: Duration) -> u128 {
    duration.as_micros().div_ceil(1000)
}

/// One line for a sqlx error, without its Rust debug noise.
pub fn describe_sqlx_error(error: &sqlx::Error) -> String {
    let text = match error {
        sqlx::Error::Database(db) => db.message().to_string(),
        sqlx::Error::Io(io) => io_reason(io),
        sqlx::Error::Tls(tls) => format!("TLS error: {tls}"),
        sqlx::Error::Configuration(c) => c.to_string(),
        other => other.to_string(),
    };
    text.lines().next().unwrap_or("").to_string()
}

#[cfg(test)]
mod tests;
