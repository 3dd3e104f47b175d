//! Connecting like psql does, and only ever read-only.
//!
//! A connection is described the way libpq users know: a URL or a `key=value` string, the
//! `-h -p -U -d` flags, the `PG*` environment variables and `~/.pgpass`. sqlx reads the
//! environment and the password file itself, but it parses URLs only; so whatever the user gave is
//! resolved into one libpq-style parameter map, turned into a URL per database, and handed to
//! sqlx, which then fills the gaps from the environment and looks the password up in `~/.pgpass`
//! for exactly that host, port, database and user.
//!
//! Every session pgvac opens is gentle: `default_transaction_read_only`, a statement timeout, a
//! lock timeout, `application_name = pgvac`, and UTC for timestamps. A password never leaves
//! this module: errors name the host, port, database and user only.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

/// Errors a user can cause while connecting. Each reads as one line.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("invalid connection string: {0}")]
    InvalidConnectionString(String),
    #[error("{0}")]
    InvalidOption(String),
    #[error("could not connect to {target}: {reason}")]
    Failed { target: String, reason: String },
    #[error("could not connect to {target}: no answer within {seconds} s (connect timeout)")]
    TimedOut { target: String, seconds: u64 },
    #[error(
        "{target} runs PostgreSQL {version}, which pgvac does not support: pgvac needs PostgreSQL 12 or newer"
    )]
    UnsupportedVersion { target: String, version: String },
}

/// Parameters accepted in a connection string, as libpq names them.
const KNOWN_KEYS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "connect_timeout",
    "application_name",
    "options",
];

/// How to reach the server, resolved from the connection string and flags.
/// The environment and `~/.pgpass` are applied later, by sqlx, per database.
#[derive(Clone)]
pub struct ConnectionSettings {
    /// libpq parameters given explicitly (connection string, then flags over it).
    params: BTreeMap<String, String>,
    pub connect_timeout: Duration,
    pub statement_timeout: Duration,
    pub lock_timeout: Duration,
}

impl std::fmt::Debug for ConnectionSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: BTreeMap<_, _> = self
            .params
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str(),
                    if k == "password" {
                        "********"
                    } else {
                        v.as_str()
                    },
                )
            })
            .collect();
        f.debug_struct("ConnectionSettings")
            .field("params", &shown)
            .field("connect_timeout", &self.connect_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("lock_timeout", &self.lock_timeout)
            .finish()
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
    pub connect_timeout: Option<Duration>,
    pub statement_timeout: Duration,
    pub lock_timeout: Duration,
}

impl ConnectionSettings {
    pub fn resolve(args: &ConnectionArgs) -> Result<ConnectionSettings, ConnectError> {
        let mut params = match args.dsn.as_deref() {
            None => BTreeMap::new(),
            Some(dsn) => parse_connection_string(dsn)?,
        };
        for (key, value) in [
            ("host", args.host.clone()),
            ("port", args.port.map(|p| p.to_string())),
            ("user", args.user.clone()),
            ("dbname", args.dbname.clone()),
        ] {
            if let Some(value) = value {
                params.insert(key.to_string(), value);
            }
        }
        if let Some(port) = params.get("port") {
            port.parse::<u16>().map_err(|_| {
                ConnectError::InvalidConnectionString(format!("invalid port number \"{port}\""))
            })?;
        }
        let connect_timeout = match args.connect_timeout {
            Some(timeout) => timeout,
            None => {
                let from_params = params
                    .get("connect_timeout")
                    .cloned()
                    .or_else(|| std::env::var("PGCONNECT_TIMEOUT").ok());
                match from_params {
                    Some(text) => {
                        let seconds = text.trim().parse::<u64>().map_err(|_| {
                            ConnectError::InvalidConnectionString(format!(
                                "invalid connect_timeout \"{text}\": a whole number of seconds"
                            ))
                        })?;
                        // libpq treats 0 as "wait forever" and anything under 2 s as 2 s.
                        Duration::from_secs(if seconds == 0 { 3600 } else { seconds.max(2) })
                    }
                    None => Duration::from_secs(10),
                }
            }
        };
        params.remove("connect_timeout");
        Ok(ConnectionSettings {
            params,
            connect_timeout,
            statement_timeout: args.statement_timeout,
            lock_timeout: args.lock_timeout,
        })
    }

    /// The database libpq would connect to first: the one named, else `PGDATABASE`, else `postgres`.
    pub fn initial_database(&self) -> String {
        self.params
            .get("dbname")
            .cloned()
            .or_else(|| std::env::var("PGDATABASE").ok().filter(|d| !d.is_empty()))
            .unwrap_or_else(|| "postgres".to_string())
    }

    /// sqlx options for one database, with pgvac's session settings.
    pub fn options_for(&self, database: &str) -> Result<PgConnectOptions, ConnectError> {
        let url = self.url_for(database);
        let options = PgConnectOptions::from_str(&url).map_err(|e| {
            ConnectError::InvalidConnectionString(scrub(&e.to_string(), &self.params))
        })?;
        let statement_ms = self.statement_timeout.as_millis().to_string();
        let lock_ms = self.lock_timeout.as_millis().to_string();
        Ok(options
            .application_name("pgvac")
            .options([
                ("default_transaction_read_only", "on"),
                ("statement_timeout", statement_ms.as_str()),
                ("lock_timeout", lock_ms.as_str()),
                ("idle_in_transaction_session_timeout", "0"),
                ("TimeZone", "UTC"),
            ])
            .disable_statement_logging())
    }

    /// A URL carrying exactly the parameters given; the rest comes from the environment.
    fn url_for(&self, database: &str) -> String {
        const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');
        let enc = |s: &str| utf8_percent_encode(s, COMPONENT).to_string();
        let mut url = String::from("postgres://");
        if let Some(user) = self.params.get("user") {
            url.push_str(&enc(user));
            if let Some(password) = self.params.get("password") {
                url.push(':');
                url.push_str(&enc(password));
            }
            url.push('@');
        } else if let Some(password) = self.params.get("password") {
            let user = std::env::var("PGUSER").unwrap_or_default();
            url.push_str(&enc(&user));
            url.push(':');
            url.push_str(&enc(password));
            url.push('@');
        }
        if let Some(host) = self.params.get("host") {
            url.push_str(&enc(host));
        }
        if let Some(port) = self.params.get("port") {
            url.push(':');
            url.push_str(port);
        }
        url.push('/');
        url.push_str(&enc(database));
        let query: Vec<String> = self
            .params
            .iter()
            .filter(|(k, _)| {
                !matches!(k.as_str(), "user" | "password" | "host" | "port" | "dbname")
            })
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query.join("&"));
        }
        url
    }

    /// `host:port/database as user`, for messages; never the password.
    pub fn describe(&self, options: &PgConnectOptions) -> String {
        let host = match options.get_socket() {
            Some(socket) => socket.display().to_string(),
            None => options.get_host().to_string(),
        };
        format!(
            "{host}:{} database \"{}\" as \"{}\"",
            options.get_port(),
            options.get_database().unwrap_or(""),
            options.get_username()
        )
    }

    /// Open a read-only session on `database` and check that the server is 12 or newer.
    pub async fn connect(&self, database: &str) -> Result<PgConnection, ConnectError> {
        let options = self.options_for(database)?;
        let target = self.describe(&options);
        let connection = tokio::time::timeout(self.connect_timeout, options.connect())
            .await
            .map_err(|_| ConnectError::TimedOut {
                target: target.clone(),
                seconds: self.connect_timeout.as_secs(),
            })?
            .map_err(|e| ConnectError::Failed {
                target: target.clone(),
                reason: scrub(&describe_sqlx_error(&e), &self.params),
            })?;
        let version_num = connection.server_version_num().unwrap_or(0);
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
            let _ = connection.close().await;
            return Err(ConnectError::UnsupportedVersion { target, version });
        }
        Ok(connection)
    }
}

/// One line for a sqlx error, without its Rust debug noise.
pub fn describe_sqlx_error(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => db.message().to_string(),
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Tls(tls) => format!("TLS error: {tls}"),
        sqlx::Error::Configuration(c) => c.to_string(),
        other => other.to_string(),
    }
    .lines()
    .next()
    .unwrap_or("")
    .to_string()
}

/// Remove the password from a message, should a library ever echo it.
fn scrub(message: &str, params: &BTreeMap<String, String>) -> String {
    let mut message = message.to_string();
    let env_password = std::env::var("PGPASSWORD").ok();
    for password in params
        .get("password")
        .into_iter()
        .chain(env_password.as_ref())
    {
        if !password.is_empty() {
            message = message.replace(password.as_str(), "********");
        }
    }
    message
}

/// Parse a libpq connection string: a `postgres://` / `postgresql://` URL or `key=value` pairs.
pub fn parse_connection_string(dsn: &str) -> Result<BTreeMap<String, String>, ConnectError> {
    let trimmed = dsn.trim();
    if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        return parse_url(trimmed);
    }
    if !trimmed.contains('=') {
        // psql treats a lone word as a database name.
        if trimmed.is_empty() {
            return Ok(BTreeMap::new());
        }
        return Ok(BTreeMap::from([(
            "dbname".to_string(),
            trimmed.to_string(),
        )]));
    }
    parse_keywords(trimmed)
}

fn parse_url(dsn: &str) -> Result<BTreeMap<String, String>, ConnectError> {
    let invalid = |why: &str| ConnectError::InvalidConnectionString(why.to_string());
    let url = url::Url::parse(dsn).map_err(|e| invalid(&format!("not a valid URL ({e})")))?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| invalid("the URL is not valid UTF-8 once decoded"))
    };
    let mut params = BTreeMap::new();
    if let Some(host) = url.host_str().filter(|h| !h.is_empty()) {
        let host = decode(host)?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        params.insert("host".to_string(), host);
    }
    if let Some(port) = url.port() {
        params.insert("port".to_string(), port.to_string());
    }
    if !url.username().is_empty() {
        params.insert("user".to_string(), decode(url.username())?);
    }
    if let Some(password) = url.password() {
        params.insert("password".to_string(), decode(password)?);
    }
    let path = url.path().trim_start_matches('/');
    if !path.is_empty() {
        params.insert("dbname".to_string(), decode(path)?);
    }
    for (key, value) in url.query_pairs() {
        let key = normalise_key(&key)?;
        params.insert(key, value.into_owned());
    }
    Ok(params)
}

fn normalise_key(key: &str) -> Result<String, ConnectError> {
    let key = key.replace('-', "_");
    let key = match key.as_str() {
        "database" => "dbname".to_string(),
        "username" => "user".to_string(),
        "ssl_mode" => "sslmode".to_string(),
        "ssl_root_cert" => "sslrootcert".to_string(),
        _ => key,
    };
    if KNOWN_KEYS.contains(&key.as_str()) {
        Ok(key)
    } else {
        Err(ConnectError::InvalidConnectionString(format!(
            "unknown parameter \"{key}\" (pgvac understands: {})",
            KNOWN_KEYS.join(", ")
        )))
    }
}

/// `key = value` pairs separated by white space; values may be single-quoted, with `\'` and
/// `\\` escapes, as libpq accepts them.
fn parse_keywords(dsn: &str) -> Result<BTreeMap<String, String>, ConnectError> {
    let invalid = |why: String| ConnectError::InvalidConnectionString(why);
    let mut params = BTreeMap::new();
    let mut chars = dsn.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(invalid(format!(
                "missing \"=\" after \"{key}\" (expected key=value pairs or a postgres:// URL)"
            )));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some(escaped) => value.push(escaped),
                        None => break,
                    },
                    '\'' => {
                        closed = true;
                        break;
                    }
                    other => value.push(other),
                }
            }
            if !closed {
                return Err(invalid(format!("unterminated quoted value for \"{key}\"")));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                if c == '\\' {
                    if let Some(escaped) = chars.next() {
                        value.push(escaped);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        if key.is_empty() {
            return Err(invalid("a value without a key".to_string()));
        }
        params.insert(normalise_key(&key)?, value);
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_strings_parse_like_libpq() {
        let p = parse_connection_string(
            "host=db.example.com port=5433 dbname='my db' user=app password='it\\'s' sslmode=verify-full",
        )
        .unwrap();
        assert_eq!(p["host"], "db.example.com");
        assert_eq!(p["port"], "5433");
        assert_eq!(p["dbname"], "my db");
        assert_eq!(p["password"], "it's");
        assert_eq!(p["sslmode"], "verify-full");
    }

    #[test]
    fn urls_parse_with_percent_decoding() {
        let p = parse_connection_string(
            "postgresql://app:p%40ss@%2Fvar%2Frun%2Fpostgresql:5433/my%20db?sslmode=require",
        )
        .unwrap();
        assert_eq!(p["host"], "/var/run/postgresql");
        assert_eq!(p["password"], "p@ss");
        assert_eq!(p["dbname"], "my db");
        assert_eq!(p["sslmode"], "require");
    }

    #[test]
    fn malformed_strings_are_refused_with_a_reason() {
        for (dsn, expected) in [
            ("host=x port", "missing \"=\""),
            ("host='x", "unterminated"),
            ("hots=x", "unknown parameter \"hots\""),
            ("postgres://x:notaport/db", "not a valid URL"),
        ] {
            let err = parse_connection_string(dsn).unwrap_err().to_string();
            assert!(err.contains(expected), "{dsn}: {err}");
        }
    }

    #[test]
    fn flags_override_the_connection_string_and_the_password_stays_hidden() {
        let settings = ConnectionSettings::resolve(&ConnectionArgs {
            dsn: Some("host=a port=1 user=u password=secret dbname=d".into()),
            host: Some("b".into()),
            port: Some(2),
            statement_timeout: Duration::from_secs(30),
            lock_timeout: Duration::from_secs(1),
            ..Default::default()
        })
        .unwrap();
        let options = settings.options_for("other").unwrap();
        assert_eq!(options.get_host(), "b");
        assert_eq!(options.get_port(), 2);
        assert_eq!(options.get_database(), Some("other"));
        assert!(!settings.describe(&options).contains("secret"));
        assert!(!format!("{settings:?}").contains("secret"));
    }
}
