//! Connecting as psql does, proven by running psql beside pgvac.
//!
//! Debian's psql is libpq. Each case of the oracle runs `psql` and `pgvac ping` with the same
//! environment (same HOME and its files, same PG* variables, same OS user, same arguments) and
//! asserts that both reach the same server (its `port` setting), database, role, TLS or not and
//! primary or standby, or that both fail; each case also states what should happen, so a broken
//! set-up cannot pass as "both failed". The table is printed.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::TestFn;
use crate::client::Client;
use crate::cluster::{Cluster, OsUser, is_root};

pub const TESTS: &[(&str, TestFn)] = &[
    ("connect_reaches_what_psql_reaches", oracle),
    (
        "connect_with_no_flags_as_the_os_user_through_the_default_socket",
        default_socket,
    ),
    ("connect_password_problems_each_say_which", passwords),
    ("connect_refuses_bad_input_in_one_line", bad_input),
    (
        "connect_rounds_session_timeouts_up_never_to_zero",
        session_timeouts,
    ),
];

const PSQL: &str = "/usr/lib/postgresql/15/bin/psql";
const QUERY: &str = "select current_setting('port'), current_database(), current_user, \
                     coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()), false), \
                     pg_is_in_recovery()";
const PASSWORD: &str = "p@ss:w/rd";
const NOBODY: OsUser = OsUser {
    uid: 65534,
    gid: 65534,
};

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}

/// Where a client got to: the server's port setting, database, role, TLS, standby.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reached {
    port: u16,
    database: String,
    user: String,
    tls: bool,
    standby: bool,
}

impl std::fmt::Display for Reached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}@{}{}{}",
            self.port,
            self.user,
            self.database,
            if self.tls { " tls" } else { "" },
            if self.standby { " standby" } else { "" }
        )
    }
}

/// What a case should give.
#[derive(Debug, Clone)]
enum Expect {
    Reach {
        port: u16,
        database: &'static str,
        user: &'static str,
        tls: bool,
    },
    Fail,
}

/// One connection set-up.
struct Case {
    name: &'static str,
    /// The connection string (psql's dbname argument, pgvac's CONNINFO).
    conninfo: Option<String>,
    flags: Vec<String>,
    env: Vec<(&'static str, String)>,
    /// Files in the fresh HOME: relative path, content, mode.
    home: Vec<(&'static str, String, u32)>,
    as_user: Option<OsUser>,
    expect: Expect,
}

impl Case {
    fn new(name: &'static str, expect: Expect) -> Case {
        Case {
            name,
            conninfo: None,
            flags: Vec::new(),
            env: Vec::new(),
            home: Vec::new(),
            as_user: None,
            expect,
        }
    }
    fn conninfo(mut self, text: impl Into<String>) -> Case {
        self.conninfo = Some(text.into());
        self
    }
    fn flags(mut self, flags: &[&str]) -> Case {
        self.flags = flags.iter().map(|f| f.to_string()).collect();
        self
    }
    fn env(mut self, key: &'static str, value: impl Into<String>) -> Case {
        self.env.push((key, value.into()));
        self
    }
    fn file(mut self, path: &'static str, text: impl Into<String>, mode: u32) -> Case {
        self.home.push((path, text.into(), mode));
        self
    }
    fn run_as(mut self, user: OsUser) -> Case {
        self.as_user = Some(user);
        self
    }
}

/// A client command with nothing from the caller's environment but PATH.
fn client_command(program: &Path, home: &Path, case: &Case) -> Command {
    let mut command = Command::new(program);
    command
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home)
        .env("LC_ALL", "C");
    for (key, value) in &case.env {
        command.env(key, value);
    }
    if let Some(user) = case.as_user
        && is_root()
    {
        command.uid(user.uid).gid(user.gid);
    }
    command
}

/// The first line of stderr, for the table.
fn first_line(text: &str) -> String {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .to_string()
}

fn run_psql(home: &Path, case: &Case) -> Result<Result<Reached, String>, String> {
    let mut command = client_command(Path::new(PSQL), home, case);
    command
        .args(["-X", "-A", "-t", "-w", "-c", QUERY])
        .args(&case.flags);
    if let Some(conninfo) = &case.conninfo {
        command.arg(conninfo);
    }
    let output = command
        .output()
        .map_err(|e| format!("running {PSQL}: {e}"))?;
    if !output.status.success() {
        return Ok(Err(first_line(&String::from_utf8_lossy(&output.stderr))));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = text.trim().split('|').collect();
    if fields.len() != 5 {
        return Err(format!("psql printed {text:?}"));
    }
    Ok(Ok(Reached {
        port: fields[0]
            .parse()
            .map_err(|_| format!("psql port {text:?}"))?,
        database: fields[1].to_string(),
        user: fields[2].to_string(),
        tls: fields[3] == "t",
        standby: fields[4] == "t",
    }))
}

/// The quoted value after `label "` in pgvac ping's line.
fn quoted(line: &str, label: &str) -> Option<String> {
    let start = line.find(&format!("{label} \""))? + label.len() + 2;
    let end = line[start..].find('"')? + start;
    Some(line[start..end].to_string())
}

/// Parse `pgvac ping`'s line.
fn parse_ping(line: &str) -> Option<Reached> {
    let port = line.rsplit("server port ").next()?.trim().parse().ok()?;
    Some(Reached {
        port,
        database: quoted(line, "database")?,
        user: quoted(line, "user")?,
        tls: line.contains(", TLS on,"),
        standby: line.contains(", standby,"),
    })
}

fn run_pgvac(home: &Path, case: &Case) -> Result<Result<Reached, String>, String> {
    let mut command = client_command(Path::new(env!("CARGO_BIN_EXE_pgvac")), home, case);
    command.arg("ping");
    if let Some(conninfo) = &case.conninfo {
        command.arg(conninfo);
    }
    command.args(&case.flags);
    let output = command
        .output()
        .map_err(|e| format!("running pgvac: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(0) {
        return parse_ping(stdout.trim())
            .map(Ok)
            .ok_or_else(|| format!("{}: pgvac ping printed {stdout:?}", case.name));
    }
    // A failure is exit 3 and exactly one line.
    let lines: Vec<&str> = stderr.lines().collect();
    ensure(
        output.status.code() == Some(3)
            && lines.len() == 1
            && lines[0].starts_with("pgvac: error: ")
            && stdout.is_empty(),
        || {
            format!(
                "{}: a failed pgvac ping should exit 3 with one line: exit {:?}\n{stderr}{stdout}",
                case.name,
                output.status.code()
            )
        },
    )?;
    Ok(Err(lines[0].to_string()))
}

/// A fresh HOME with the case's files; owned by the case's user, readable by it.
fn make_home(case: &Case) -> Result<tempfile::TempDir, String> {
    let home = tempfile::Builder::new()
        .prefix("pgvac-home-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    for (path, text, mode) in &case.home {
        let full = home.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| e.to_string())?;
        }
        std::fs::write(&full, text).map_err(|e| e.to_string())?;
        std::fs::set_permissions(&full, std::fs::Permissions::from_mode(*mode))
            .map_err(|e| e.to_string())?;
    }
    Ok(home)
}

/// A CA, a server certificate for `localhost` only and a client certificate for pgvac_cert.
struct Certificates {
    ca: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
    stranger_ca: String,
}

fn certificates() -> Result<Certificates, String> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let err = |e: rcgen::Error| e.to_string();
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "pgvac connect test CA");
    let ca = ca_params.self_signed(&ca_key).map_err(err)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().map_err(err)?;
    let mut server_params = CertificateParams::new(vec!["localhost".to_string()]).map_err(err)?;
    server_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let server = server_params.signed_by(&server_key, &issuer).map_err(err)?;
    let client_key = KeyPair::generate().map_err(err)?;
    let mut client_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    client_params
        .distinguished_name
        .push(DnType::CommonName, "pgvac_cert");
    let client = client_params.signed_by(&client_key, &issuer).map_err(err)?;
    let stranger_key = KeyPair::generate().map_err(err)?;
    let mut stranger_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    stranger_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let stranger = stranger_params.self_signed(&stranger_key).map_err(err)?;
    Ok(Certificates {
        ca: ca.pem(),
        server_cert: server.pem(),
        server_key: server_key.serialize_pem(),
        client_cert: client.pem(),
        client_key: client_key.serialize_pem(),
        stranger_ca: stranger.pem(),
    })
}

const HBA: &str = "local all all trust\n\
                   hostssl all pgvac_cert 127.0.0.1/32 cert\n\
                   host all pgvac_cert 127.0.0.1/32 reject\n\
                   host all postgres 127.0.0.1/32 trust\n\
                   host replication all 127.0.0.1/32 trust\n\
                   host all all 127.0.0.1/32 md5\n";

/// A free TCP port with nothing listening on it.
fn closed_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// pgpass lines escape ':' and '\'.
fn pgpass_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace(':', "\\:")
}

fn oracle(shared: &Cluster) -> Result<(), String> {
    ensure(Path::new(PSQL).is_file(), || {
        format!("{PSQL} is missing: the oracle needs Debian's psql (postgresql-client-15)")
    })?;
    let certs = certificates()?;
    let primary = Cluster::start_with(shared.major, &shared.bindir, "")?;
    primary.write_data_file("server.crt", &certs.server_cert, 0o644)?;
    primary.write_data_file("server.key", &certs.server_key, 0o600)?;
    primary.write_data_file("connect-ca.crt", &certs.ca, 0o644)?;
    primary.set_hba(HBA)?;
    primary.reload_with("\nssl_ca_file = 'connect-ca.crt'\n")?;
    {
        let mut admin = Client::connect(&primary, "postgres")?;
        admin.execute(&format!(
            "CREATE ROLE pgvac_pw LOGIN PASSWORD '{PASSWORD}'; CREATE ROLE pgvac_cert LOGIN"
        ))?;
        admin.execute("CREATE DATABASE connect_db")?;
        admin.execute("CREATE DATABASE \"my db\"")?;
        admin.execute("CREATE DATABASE pin_db")?;
    }
    let standby = primary.start_standby("connect_standby")?;
    // The standby serves its copy of the roles, databases, certificates and pg_hba.conf.
    crate::cluster::wait_for(Duration::from_secs(30), || {
        Ok(Client::connect_at(standby.port, "postgres", "connect_db").is_ok())
    })?;

    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    let write = |name: &str, text: &str, mode: u32| -> Result<String, String> {
        let path = dir.path().join(name);
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| e.to_string())?;
        Ok(path.display().to_string())
    };
    let ca = write("ca.crt", &certs.ca, 0o644)?;
    let stranger = write("stranger.crt", &certs.stranger_ca, 0o644)?;
    let client_cert = write("client.crt", &certs.client_cert, 0o644)?;
    let client_key = write("client.key", &certs.client_key, 0o600)?;
    let port = primary.port;
    let sport = standby.port;
    let down = closed_port()?;
    let socket = primary.dir.path().display().to_string();
    let p = port.to_string();
    let pgpass_line = format!(
        "127.0.0.1:{port}:postgres:pgvac_pw:{}\n",
        pgpass_escape(PASSWORD)
    );
    let pgpass_file = write("pgpass", &pgpass_line, 0o600)?;
    let services = format!(
        "# services\n[svc]\nhost=127.0.0.1\nport={port}\nuser=postgres\ndbname=connect_db\n\n\
         [socket]\nhost={socket}\nport={port}\n"
    );
    let service_file = write("services.conf", &services, 0o644)?;
    let sysconfdir = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::write(
        sysconfdir.path().join("pg_service.conf"),
        format!("[system]\nhost=localhost\nport={port}\nuser=postgres\nsslmode=verify-full\nsslrootcert={ca}\n"),
    )
    .map_err(|e| e.to_string())?;
    std::fs::set_permissions(sysconfdir.path(), std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    let sysconf = sysconfdir.path().display().to_string();

    let reach = |port: u16, database: &'static str, user: &'static str, tls: bool| Expect::Reach {
        port,
        database,
        user,
        tls,
    };
    let tcp = |user: &str| format!("host=127.0.0.1 port={port} user={user} dbname=postgres");
    let local = |user: &str| format!("host=localhost port={port} user={user} dbname=postgres");
    let mut cases = vec![
        Case::new("environment variables", reach(port, "postgres", "postgres", true))
            .env("PGHOST", "127.0.0.1")
            .env("PGPORT", &p)
            .env("PGUSER", "postgres"),
        Case::new("PGDATABASE and PGSSLMODE", reach(port, "connect_db", "postgres", false))
            .env("PGHOST", "127.0.0.1")
            .env("PGPORT", &p)
            .env("PGUSER", "postgres")
            .env("PGDATABASE", "connect_db")
            .env("PGSSLMODE", "disable"),
        Case::new("keywords over the environment", reach(port, "postgres", "postgres", false))
            .conninfo(format!("{} sslmode=disable", tcp("postgres")))
            .env("PGPORT", down.to_string())
            .env("PGDATABASE", "connect_db"),
        Case::new("keywords over -h/-p flags", reach(port, "postgres", "postgres", false))
            .conninfo(format!("host={socket} port={port}"))
            .flags(&["-h", "127.0.0.1", "-p", &down.to_string(), "-U", "postgres"]),
        Case::new("flags where the string is silent", reach(port, "connect_db", "postgres", true))
            .conninfo("dbname=connect_db")
            .flags(&["-h", "127.0.0.1", "-p", &p, "-U", "postgres"]),
        Case::new("URL", reach(port, "postgres", "postgres", true))
            .conninfo(format!("postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=require")),
        Case::new("URL percent-encoded password and database", reach(port, "my db", "pgvac_pw", true))
            .conninfo(format!("postgres://pgvac_pw:p%40ss%3Aw%2Frd@127.0.0.1:{port}/my%20db")),
        Case::new("URL with a socket directory as host", reach(port, "postgres", "postgres", false))
            .conninfo(format!(
                "postgresql://postgres@{}:{port}/postgres",
                socket.replace('/', "%2F")
            )),
        Case::new("Unix socket by directory", reach(port, "connect_db", "postgres", false))
            .conninfo(format!("host={socket} port={port} user=postgres dbname=connect_db")),
        Case::new("Unix socket ignores sslmode=require", reach(port, "postgres", "postgres", false))
            .conninfo(format!("host={socket} port={port} user=postgres dbname=postgres sslmode=require")),
        Case::new("the OS user as the default role", Expect::Fail)
            .conninfo(format!("host={socket} port={port}")),
        Case::new("service file from PGSERVICEFILE", reach(port, "connect_db", "postgres", true))
            .conninfo("service=svc")
            .env("PGSERVICEFILE", &service_file),
        Case::new("service with the string over it", reach(port, "postgres", "postgres", true))
            .conninfo("service=svc dbname=postgres")
            .env("PGSERVICEFILE", &service_file),
        Case::new("PGSERVICE and ~/.pg_service.conf", reach(port, "postgres", "postgres", false))
            .env("PGSERVICE", "socket")
            .env("PGUSER", "postgres")
            .file(".pg_service.conf", services.clone(), 0o644),
        Case::new("PGSYSCONFDIR/pg_service.conf", reach(port, "postgres", "postgres", true))
            .conninfo("service=system")
            .env("PGSYSCONFDIR", &sysconf),
        Case::new("unknown service", Expect::Fail)
            .conninfo("service=nosuch")
            .env("PGSERVICEFILE", &service_file),
        Case::new(".pgpass exact line", reach(port, "postgres", "pgvac_pw", true))
            .conninfo(tcp("pgvac_pw"))
            .file(".pgpass", pgpass_line.clone(), 0o600),
        Case::new(".pgpass wildcards", reach(port, "postgres", "pgvac_pw", true))
            .conninfo(tcp("pgvac_pw"))
            .file(".pgpass", format!("other:1:*:*:x\n*:*:*:pgvac_pw:{}\n", pgpass_escape(PASSWORD)), 0o600),
        Case::new(".pgpass readable by others is ignored", Expect::Fail)
            .conninfo(tcp("pgvac_pw"))
            .file(".pgpass", pgpass_line.clone(), 0o644),
        Case::new(".pgpass with a wrong password", Expect::Fail)
            .conninfo(tcp("pgvac_pw"))
            .file(".pgpass", "*:*:*:pgvac_pw:wrong\n".to_string(), 0o600),
        Case::new("passfile=", reach(port, "postgres", "pgvac_pw", true))
            .conninfo(format!("{} passfile={pgpass_file}", tcp("pgvac_pw"))),
        Case::new("PGPASSFILE", reach(port, "postgres", "pgvac_pw", true))
            .conninfo(tcp("pgvac_pw"))
            .env("PGPASSFILE", &pgpass_file),
        Case::new("PGPASSWORD over .pgpass", reach(port, "postgres", "pgvac_pw", true))
            .conninfo(tcp("pgvac_pw"))
            .env("PGPASSWORD", PASSWORD)
            .file(".pgpass", "*:*:*:pgvac_pw:wrong\n".to_string(), 0o600),
        Case::new("hostaddr with host: .pgpass by host name", reach(port, "postgres", "pgvac_pw", true))
            .conninfo(format!("host=localhost hostaddr=127.0.0.1 port={port} user=pgvac_pw dbname=postgres"))
            .file(".pgpass", format!("localhost:{port}:*:pgvac_pw:{}\n", pgpass_escape(PASSWORD)), 0o600),
        Case::new("hostaddr alone", reach(port, "postgres", "postgres", true))
            .conninfo(format!("hostaddr=127.0.0.1 port={port} user=postgres dbname=postgres")),
        Case::new("several hosts, the first down", reach(port, "postgres", "postgres", true))
            .conninfo(format!("host=127.0.0.1,127.0.0.1 port={down},{port} user=postgres dbname=postgres")),
        Case::new("several hosts in a URL, the first down", reach(port, "postgres", "postgres", true))
            .conninfo(format!("postgresql://127.0.0.1:{down},127.0.0.1:{port}/postgres?user=postgres")),
        Case::new("several hosts, all down", Expect::Fail)
            .conninfo(format!("host=127.0.0.1,127.0.0.1 port={down},{down} user=postgres")),
        Case::new("target_session_attrs=read-write", reach(port, "connect_db", "postgres", true))
            .conninfo(format!("host=127.0.0.1,127.0.0.1 port={sport},{port} user=postgres dbname=connect_db target_session_attrs=read-write")),
        Case::new("target_session_attrs=primary", reach(port, "connect_db", "postgres", true))
            .conninfo(format!("host=127.0.0.1,127.0.0.1 port={sport},{port} user=postgres dbname=connect_db target_session_attrs=primary")),
        Case::new("target_session_attrs=standby", reach(sport, "connect_db", "postgres", true))
            .conninfo(format!("host=127.0.0.1,127.0.0.1 port={port},{sport} user=postgres dbname=connect_db target_session_attrs=standby")),
        Case::new("target_session_attrs=read-only", reach(sport, "connect_db", "postgres", true))
            .conninfo(format!("host=127.0.0.1,127.0.0.1 port={port},{sport} user=postgres dbname=connect_db target_session_attrs=read-only")),
        Case::new("target_session_attrs=prefer-standby", reach(sport, "connect_db", "postgres", true))
            .conninfo(format!("host=127.0.0.1,127.0.0.1 port={port},{sport} user=postgres dbname=connect_db target_session_attrs=prefer-standby")),
        Case::new("prefer-standby with no standby", reach(port, "connect_db", "postgres", true))
            .conninfo(format!("host=127.0.0.1 port={port} user=postgres dbname=connect_db target_session_attrs=prefer-standby")),
        Case::new("target_session_attrs=standby, no standby", Expect::Fail)
            .conninfo(format!("host=127.0.0.1 port={port} user=postgres dbname=connect_db target_session_attrs=standby")),
        Case::new("target_session_attrs=any takes the first", reach(sport, "connect_db", "postgres", true))
            .conninfo(format!("host=127.0.0.1,127.0.0.1 port={sport},{port} user=postgres dbname=connect_db")),
    ];
    for (mode, tls) in [
        ("disable", false),
        ("allow", false),
        ("prefer", true),
        ("require", true),
        ("verify-ca", true),
        ("verify-full", true),
    ] {
        let name: &'static str =
            Box::leak(format!("sslmode={mode} with the right CA").into_boxed_str());
        cases.push(
            Case::new(name, reach(port, "postgres", "postgres", tls)).conninfo(format!(
                "{} sslmode={mode} sslrootcert={ca}",
                local("postgres")
            )),
        );
    }
    cases.extend([
        Case::new("verify-full, a name the certificate lacks", Expect::Fail).conninfo(format!(
            "{} sslmode=verify-full sslrootcert={ca}",
            tcp("postgres")
        )),
        Case::new("verify-ca, the wrong CA", Expect::Fail).conninfo(format!(
            "{} sslmode=verify-ca sslrootcert={stranger}",
            local("postgres")
        )),
        Case::new("require with a root certificate verifies it", Expect::Fail).conninfo(format!(
            "{} sslmode=require sslrootcert={stranger}",
            local("postgres")
        )),
        Case::new(
            "require, no root certificate: no check",
            reach(port, "postgres", "postgres", true),
        )
        .conninfo(format!("{} sslmode=require", local("postgres"))),
        Case::new(
            "prefer, the wrong CA: retried without TLS",
            reach(port, "postgres", "postgres", false),
        )
        .conninfo(format!(
            "{} sslmode=prefer sslrootcert={stranger}",
            local("postgres")
        )),
        Case::new(
            "~/.postgresql/root.crt for verify-full",
            reach(port, "postgres", "postgres", true),
        )
        .conninfo(format!("{} sslmode=verify-full", local("postgres")))
        .file(".postgresql/root.crt", certs.ca.clone(), 0o644),
        Case::new("~/.postgresql/root.crt makes require verify", Expect::Fail)
            .conninfo(format!("{} sslmode=require", local("postgres")))
            .file(".postgresql/root.crt", certs.stranger_ca.clone(), 0o644),
        Case::new("verify-ca with no root certificate at all", Expect::Fail)
            .conninfo(format!("{} sslmode=verify-ca", local("postgres"))),
        Case::new(
            "PGSSLMODE and PGSSLROOTCERT",
            reach(port, "postgres", "postgres", true),
        )
        .conninfo(local("postgres"))
        .env("PGSSLMODE", "verify-full")
        .env("PGSSLROOTCERT", &ca),
        Case::new(
            "client certificate by sslcert/sslkey",
            reach(port, "postgres", "pgvac_cert", true),
        )
        .conninfo(format!(
            "{} sslmode=verify-full sslrootcert={ca} sslcert={client_cert} sslkey={client_key}",
            local("pgvac_cert")
        )),
        Case::new(
            "client certificate from ~/.postgresql",
            reach(port, "postgres", "pgvac_cert", true),
        )
        .conninfo(format!("{} sslmode=require", local("pgvac_cert")))
        .file(
            ".postgresql/postgresql.crt",
            certs.client_cert.clone(),
            0o644,
        )
        .file(
            ".postgresql/postgresql.key",
            certs.client_key.clone(),
            0o600,
        ),
        Case::new(
            "allow: refused in plain text, retried with TLS",
            reach(port, "postgres", "pgvac_cert", true),
        )
        .conninfo(format!(
            "{} sslmode=allow sslcert={client_cert} sslkey={client_key}",
            local("pgvac_cert")
        )),
        Case::new(
            "PGHOST as a socket directory and -p",
            reach(port, "postgres", "postgres", false),
        )
        .flags(&["-p", &p, "-U", "postgres", "-d", "postgres"])
        .env("PGHOST", &socket),
        Case::new("client certificate missing", Expect::Fail)
            .conninfo(format!("{} sslmode=require", local("pgvac_cert"))),
        Case::new("client key readable by others", Expect::Fail)
            .conninfo(format!("{} sslmode=require", local("pgvac_cert")))
            .file(
                ".postgresql/postgresql.crt",
                certs.client_cert.clone(),
                0o644,
            )
            .file(
                ".postgresql/postgresql.key",
                certs.client_key.clone(),
                0o644,
            )
            .run_as(NOBODY),
        Case::new(
            "gssencmode=prefer means no GSS",
            reach(port, "postgres", "postgres", true),
        )
        .conninfo(format!("{} gssencmode=prefer", tcp("postgres"))),
        Case::new(
            "connect_timeout=0 waits without limit",
            reach(port, "postgres", "postgres", true),
        )
        .conninfo(format!("{} connect_timeout=0", tcp("postgres"))),
        Case::new(
            "application_name and options",
            reach(port, "postgres", "postgres", true),
        )
        .conninfo(format!(
            "{} application_name=nightly options='-c search_path=pg_catalog'",
            tcp("postgres")
        )),
        Case::new("missing database", Expect::Fail).conninfo(format!(
            "host=127.0.0.1 port={port} user=postgres dbname=no_such_db"
        )),
        Case::new("invalid sslmode", Expect::Fail)
            .conninfo(format!("{} sslmode=bogus", tcp("postgres"))),
        Case::new("unreadable .pgpass", Expect::Fail)
            .conninfo(tcp("pgvac_pw"))
            .file(".pgpass", pgpass_line.clone(), 0o600)
            .run_as(NOBODY),
    ]);

    let mut table = vec![format!(
        "{:<48} {:<34} {:<34} verdict",
        "case", "psql", "pgvac"
    )];
    let mut failures = Vec::new();
    for case in &cases {
        let home = make_home(case)?;
        let psql = run_psql(home.path(), case)?;
        let pgvac = run_pgvac(home.path(), case)?;
        let show = |r: &Result<Reached, String>| match r {
            Ok(reached) => reached.to_string(),
            Err(_) => "fails".to_string(),
        };
        let agree = match (&psql, &pgvac) {
            (Ok(a), Ok(b)) => a == b,
            (Err(_), Err(_)) => true,
            _ => false,
        };
        let expected = match (&case.expect, &psql) {
            (Expect::Fail, Err(_)) => true,
            (
                Expect::Reach {
                    port,
                    database,
                    user,
                    tls,
                },
                Ok(r),
            ) => r.port == *port && r.database == *database && r.user == *user && r.tls == *tls,
            _ => false,
        };
        let verdict = match (agree, expected) {
            (true, true) => "same",
            (false, _) => "DIFFERENT",
            (true, false) => "UNEXPECTED",
        };
        table.push(format!(
            "{:<48} {:<34} {:<34} {verdict}",
            case.name,
            show(&psql),
            show(&pgvac)
        ));
        if verdict != "same" {
            failures.push(format!(
                "{}: psql {psql:?}, pgvac {pgvac:?}, expected {:?}",
                case.name, case.expect
            ));
        }
    }
    eprintln!(
        "pg{}: psql and pgvac on {} connection set-ups\n{}",
        shared.major,
        cases.len(),
        table.join("\n")
    );
    ensure(failures.is_empty(), || failures.join("\n"))?;
    keep_to_the_chosen_server(&primary, standby.port)?;
    drop(standby);
    Ok(())
}

/// A run visits every database on the host its first connection chose. The primary's
/// pg_hba.conf now rejects pin_db while the standby keeps its copy of the old file: a run that
/// chose a host per database would read pin_db from the standby.
fn keep_to_the_chosen_server(primary: &Cluster, standby_port: u16) -> Result<(), String> {
    primary.set_hba(&format!("host pin_db all 127.0.0.1/32 reject\n{HBA}"))?;
    let conninfo = format!(
        "host=127.0.0.1,127.0.0.1 port={},{standby_port} user=postgres dbname=postgres sslmode=disable",
        primary.port
    );
    let output = crate::runner::command()
        .args(["collect", &conninfo])
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let snapshot: pgvac::snapshot::Snapshot = serde_json::from_str(&stdout).map_err(|e| {
        format!(
            "collect over primary,standby: {e}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    ensure(!snapshot.server.in_recovery, || {
        "the run chose the standby".to_string()
    })?;
    let visit = |name: &str| {
        snapshot
            .database(name)
            .map(|d| format!("{:?}", d.visit))
            .unwrap_or_else(|| format!("{name} missing"))
    };
    ensure(visit("connect_db") == "Visited", || {
        format!("connect_db: {}", visit("connect_db"))
    })?;
    ensure(visit("pin_db").contains("pg_hba.conf rejects"), || {
        format!(
            "pin_db should not be read (the chosen primary rejects it), not from the standby: {}",
            visit("pin_db")
        )
    })?;
    primary.set_hba(HBA)
}

/// `sudo -u postgres pgvac report` with no flags, as `sudo -u postgres psql`: the server runs
/// as the OS user postgres with its socket in the default directory pgvac uses.
fn default_socket(shared: &Cluster) -> Result<(), String> {
    let socket_dir = pgvac::conn::Environment::read().socket_dir;
    ensure(socket_dir == pgvac::conn::PACKAGED_SOCKET_DIR, || {
        format!(
            "pgvac's default socket directory is {socket_dir}; Debian's psql uses /var/run/postgresql"
        )
    })?;
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(|e| e.to_string())?;
    let entry = passwd
        .lines()
        .find(|l| l.starts_with("postgres:"))
        .ok_or("no OS user postgres (Debian's postgresql-common creates it)")?;
    let fields: Vec<&str> = entry.split(':').collect();
    let user = OsUser {
        uid: fields[2].parse().map_err(|_| "uid")?,
        gid: fields[3].parse().map_err(|_| "gid")?,
    };
    ensure(is_root(), || {
        "this test switches to the OS user postgres: run it as root".to_string()
    })?;
    let cluster = Cluster::start_as(
        shared.major,
        &shared.bindir,
        "\nlisten_addresses = ''\n",
        user,
        Some(Path::new(&socket_dir)),
    )?;
    let home = tempfile::Builder::new()
        .prefix("pgvac-home-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    std::os::unix::fs::chown(home.path(), Some(user.uid), Some(user.gid))
        .map_err(|e| e.to_string())?;
    // Only one server can own .s.PGSQL.5432 here; the port comes from PGPORT, as it would.
    let port = cluster.port.to_string();
    let case = Case::new("default socket, OS user", Expect::Fail)
        .env("PGPORT", port.clone())
        .run_as(user);
    let psql = run_psql(home.path(), &case)?;
    let pgvac = run_pgvac(home.path(), &case)?;
    let expected = Reached {
        port: cluster.port,
        database: "postgres".into(),
        user: "postgres".into(),
        tls: false,
        standby: false,
    };
    ensure(psql.as_ref() == Ok(&expected), || format!("psql: {psql:?}"))?;
    ensure(pgvac.as_ref() == Ok(&expected), || {
        format!("pgvac ping: {pgvac:?}, psql {psql:?}")
    })?;
    let output = client_command(Path::new(env!("CARGO_BIN_EXE_pgvac")), home.path(), &case)
        .args(["report", "--format", "json"])
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    ensure(
        matches!(output.status.code(), Some(0..=2)) && stdout.contains("\"schema_version\""),
        || {
            format!(
                "pgvac report with no flags as postgres: exit {:?}\n{}\n{stdout:.2000}",
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            )
        },
    )
}

/// One line each, saying which password problem it is.
fn passwords(cluster: &Cluster) -> Result<(), String> {
    let _shared = cluster.exclusive.read().unwrap();
    let mut admin = Client::connect(cluster, "postgres")?;
    admin.execute(
        "DROP ROLE IF EXISTS pgvac_conn_pw; CREATE ROLE pgvac_conn_pw LOGIN PASSWORD 'right';",
    )?;
    let conninfo = format!(
        "host=127.0.0.1 port={} user=pgvac_conn_pw dbname=postgres",
        cluster.port
    );
    let line = "*:*:*:pgvac_conn_pw:right\n".to_string();
    let cases = [
        (
            Case::new("no password", Expect::Fail).conninfo(&conninfo),
            "no password supplied",
        ),
        (
            Case::new("wrong password", Expect::Fail)
                .conninfo(&conninfo)
                .env("PGPASSWORD", "wrong"),
            "password authentication failed for user \"pgvac_conn_pw\"",
        ),
        (
            Case::new("wrong password from .pgpass", Expect::Fail)
                .conninfo(&conninfo)
                .file(".pgpass", "*:*:*:pgvac_conn_pw:wrong\n".to_string(), 0o600),
            "password retrieved from file",
        ),
        (
            Case::new("pgpass readable by others", Expect::Fail)
                .conninfo(&conninfo)
                .file(".pgpass", line.clone(), 0o644),
            "has group or world access; permissions should be u=rw (0600) or less",
        ),
        (
            Case::new("pgpass unreadable", Expect::Fail)
                .conninfo(&conninfo)
                .file(".pgpass", line.clone(), 0o600)
                .run_as(NOBODY),
            "could not be read: Permission denied",
        ),
    ];
    for (case, expected) in &cases {
        let home = make_home(case)?;
        let log_before = cluster.log().len();
        let outcome = run_pgvac(home.path(), case)?;
        // Without a password pgvac leaves when asked for one, as libpq does: the server logs
        // no failed authentication.
        if case.name == "no password" || case.name.starts_with("pgpass") {
            let log = cluster.log();
            let new = log.get(log_before..).unwrap_or("");
            ensure(!new.contains("password authentication failed"), || {
                format!(
                    "{}: the server logged a failed password attempt:\n{new}",
                    case.name
                )
            })?;
        }
        let Err(line) = outcome else {
            return Err(format!("{}: pgvac connected: {outcome:?}", case.name));
        };
        ensure(line.contains(expected) && !line.contains("right"), || {
            format!("{}: expected {expected:?} in {line:?}", case.name)
        })?;
        if case.name.starts_with("pgpass") || case.name == "no password" {
            ensure(line.contains("no password supplied"), || {
                format!("{}: {line}", case.name)
            })?;
        }
    }
    let right = Case::new("right password from .pgpass", Expect::Fail)
        .conninfo(&conninfo)
        .file(".pgpass", line, 0o600);
    let home_right = make_home(&right)?;
    let outcome = run_pgvac(home_right.path(), &right)?;
    ensure(outcome.is_ok(), || {
        format!("right password from .pgpass: {outcome:?}")
    })
}

/// Bad input and unreachable servers: exit 3, one line that says what was wrong.
fn bad_input(cluster: &Cluster) -> Result<(), String> {
    let _shared = cluster.exclusive.read().unwrap();
    let port = cluster.port;
    let down = closed_port()?;
    let silent = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let silent_port = silent.local_addr().map_err(|e| e.to_string())?.port();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let stranger = dir.path().join("stranger.crt");
    std::fs::write(&stranger, certificates()?.stranger_ca).map_err(|e| e.to_string())?;
    let ca = cluster.ca_path().display().to_string();
    let stranger = stranger.display().to_string();
    let tcp = format!("host=127.0.0.1 port={port} user=postgres dbname=postgres");
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "missing =",
            vec!["host=127.0.0.1 port".into()],
            "missing \"=\" after \"port\" in connection info string",
        ),
        (
            "unterminated quote",
            vec!["host='127.0.0.1".into()],
            "unterminated quoted string",
        ),
        (
            "unknown keyword",
            vec!["hots=127.0.0.1".into()],
            "invalid connection option \"hots\"",
        ),
        (
            "bad URL parameter",
            vec![format!(
                "postgres://127.0.0.1:{port}/postgres?sslmod=require"
            )],
            "invalid URI query parameter: \"sslmod\"",
        ),
        (
            "bad percent-encoding",
            vec!["postgres://127.0.0.1/db%zz".into()],
            "invalid percent-encoded token",
        ),
        (
            "invalid sslmode",
            vec![format!("{tcp} sslmode=bogus")],
            "invalid sslmode value: \"bogus\"",
        ),
        (
            "ports and hosts do not pair",
            vec!["host=a,b port=1,2,3".into()],
            "could not match 3 port numbers to 2 hosts",
        ),
        (
            "unsupported parameter",
            vec![format!("{tcp} keepalives_idle=30")],
            "keepalives_idle=30 is not supported by pgvac",
        ),
        (
            "gssencmode=require",
            vec![format!("{tcp} gssencmode=require")],
            "gssencmode value \"require\" invalid when GSSAPI support is not compiled in",
        ),
        (
            "unknown host",
            vec!["host=no-such-host.invalid user=postgres".into()],
            "server at \"no-such-host.invalid\", port 5432",
        ),
        (
            "refused port",
            vec![
                "-h".into(),
                "127.0.0.1".into(),
                "-p".into(),
                down.to_string(),
                "-U".into(),
                "postgres".into(),
            ],
            "Connection refused",
        ),
        (
            "a listener that never answers",
            vec![
                "-h".into(),
                "127.0.0.1".into(),
                "-p".into(),
                silent_port.to_string(),
                "-U".into(),
                "postgres".into(),
                "--connect-timeout".into(),
                "1.5".into(),
            ],
            "no answer within 2 s (connect timeout)",
        ),
        (
            "several hosts, all down",
            vec![format!(
                "host=127.0.0.1,localhost port={down} user=postgres"
            )],
            "server at \"localhost\"",
        ),
        (
            "TLS: the wrong CA",
            vec![format!("{tcp} sslmode=verify-ca sslrootcert={stranger}")],
            "invalid peer certificate: UnknownIssuer",
        ),
        (
            "TLS: missing root certificate",
            vec![format!(
                "{tcp} sslmode=verify-full sslrootcert=/nonexistent/root.crt"
            )],
            "root certificate file \"/nonexistent/root.crt\" does not exist",
        ),
        (
            "TLS: verify-full with a different host and hostaddr",
            vec![format!(
                "host=db.example hostaddr=127.0.0.1 port={port} user=postgres sslmode=verify-full sslrootcert={ca}"
            )],
            "hostaddr=127.0.0.1 is not supported by pgvac",
        ),
        (
            "missing database",
            vec![format!(
                "host=127.0.0.1 port={port} user=postgres dbname=no_such_db"
            )],
            "database \"no_such_db\" does not exist",
        ),
    ];
    for (what, args, expected) in cases {
        let output = crate::runner::command()
            .arg("ping")
            .args(&args)
            .output()
            .map_err(|e| e.to_string())?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        ensure(
            output.status.code() == Some(3)
                && output.stdout.is_empty()
                && lines.len() == 1
                && lines[0].starts_with("pgvac: error: ")
                && lines[0].contains(expected),
            || {
                format!(
                    "{what}: expected exit 3 and one line with {expected:?}, got exit {:?}:\n{stderr}",
                    output.status.code()
                )
            },
        )?;
    }
    drop(silent);
    Ok(())
}

/// `--statement-timeout` and `--lock-timeout` reach the server rounded up to whole
/// milliseconds: 500us must not become 0, which the server reads as no timeout.
fn session_timeouts(cluster: &Cluster) -> Result<(), String> {
    let _shared = cluster.exclusive.read().unwrap();
    let run = crate::runner::on(
        cluster,
        "collect",
        &[
            "-d",
            "postgres",
            "--statement-timeout",
            "2s 400us",
            "--lock-timeout",
            "500us",
        ],
    )?;
    ensure(run.status == 0, || run.describe())?;
    let snapshot: pgvac::snapshot::Snapshot =
        serde_json::from_str(&run.stdout).map_err(|e| format!("{e}\n{}", run.describe()))?;
    let session = &snapshot.server.session;
    ensure(
        session.statement_timeout == "2001ms" && session.lock_timeout == "1ms",
        || {
            format!(
                "statement_timeout {} (want 2001ms), lock_timeout {} (want 1ms)",
                session.statement_timeout, session.lock_timeout
            )
        },
    )?;
    let zero = crate::runner::on(cluster, "collect", &["--statement-timeout", "0"])?;
    ensure(
        zero.status == 3 && zero.stderr.contains("must be more than 0"),
        || format!("--statement-timeout 0: {}", zero.describe()),
    )
}
