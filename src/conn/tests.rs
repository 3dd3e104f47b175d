//! Resolution tests: the environment is fed in, nothing is read from the process.

use super::*;

fn env(vars: &[(&str, &str)]) -> Environment {
    Environment {
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        home: Some(PathBuf::from("/nonexistent-home")),
        os_user: Some("osuser".to_string()),
        socket_dir: PACKAGED_SOCKET_DIR.to_string(),
        sysconfdir: PathBuf::from("/nonexistent-etc"),
    }
}

fn args(dsn: &str) -> ConnectionArgs {
    ConnectionArgs {
        dsn: Some(dsn.to_string()),
        statement_timeout: Duration::from_secs(30),
        lock_timeout: Duration::from_secs(1),
        ..Default::default()
    }
}

fn error(dsn: &str, vars: &[(&str, &str)]) -> String {
    resolve(&args(dsn), &env(vars)).unwrap_err().to_string()
}

#[test]
fn with_nothing_given_it_is_the_default_socket_the_os_user_and_their_database() {
    let s = resolve(&args(""), &env(&[])).unwrap();
    assert_eq!(s.user, "osuser");
    assert_eq!(s.dbname, "osuser");
    assert_eq!(s.hosts.len(), 1);
    assert_eq!(s.hosts[0].port, 5432);
    assert_eq!(s.hosts[0].pgpass_host, "localhost");
    assert!(
        matches!(&s.hosts[0].address, Address::Socket(d) if d == Path::new(PACKAGED_SOCKET_DIR))
    );
    // -p alone keeps the socket.
    let s = resolve(
        &ConnectionArgs {
            port: Some(5433),
            ..args("")
        },
        &env(&[]),
    )
    .unwrap();
    assert!(
        s.hosts[0].label.contains(".s.PGSQL.5433"),
        "{}",
        s.hosts[0].label
    );
}

#[test]
fn the_string_wins_over_flags_and_environment_as_in_psql() {
    let a = ConnectionArgs {
        host: Some("flaghost".into()),
        user: Some("flaguser".into()),
        ..args("host=stringhost")
    };
    let s = resolve(
        &a,
        &env(&[
            ("PGHOST", "envhost"),
            ("PGPORT", "6000"),
            ("PGUSER", "envuser"),
        ]),
    )
    .unwrap();
    assert_eq!(s.hosts[0].pgpass_host, "stringhost");
    assert_eq!(s.hosts[0].port, 6000);
    assert_eq!(s.user, "flaguser");
    // -d names the database over the string.
    let a = ConnectionArgs {
        dbname: Some("visit".into()),
        ..args("dbname=other")
    };
    assert_eq!(resolve(&a, &env(&[])).unwrap().dbname, "visit");
}

#[test]
fn several_hosts_pair_with_ports_and_hostaddr() {
    let s = resolve(&args("host=a,b port=1,2"), &env(&[])).unwrap();
    assert_eq!((s.hosts[0].port, s.hosts[1].port), (1, 2));
    let s = resolve(&args("host=a,b port=7"), &env(&[])).unwrap();
    assert_eq!((s.hosts[0].port, s.hosts[1].port), (7, 7));
    assert_eq!(
        error("host=a,b port=1,2,3", &[]),
        "could not match 3 port numbers to 2 hosts"
    );
    assert_eq!(
        error("host=a,b hostaddr=127.0.0.1", &[]),
        "could not match 2 host names to 1 hostaddr values"
    );
    let s = resolve(&args("host=db.example hostaddr=127.0.0.1"), &env(&[])).unwrap();
    assert_eq!(s.hosts[0].pgpass_host, "db.example");
    assert!(
        matches!(&s.hosts[0].address, Address::Tcp { connect_to, tls_name } if connect_to == "127.0.0.1" && tls_name == "db.example")
    );
}

#[test]
fn values_are_checked_with_libpqs_words() {
    assert_eq!(
        error("sslmode=bogus", &[]),
        "invalid sslmode value: \"bogus\""
    );
    assert_eq!(
        error("", &[("PGSSLMODE", "nope")]),
        "invalid sslmode value: \"nope\""
    );
    assert_eq!(
        error("target_session_attrs=master", &[]),
        "invalid target_session_attrs value: \"master\""
    );
    assert_eq!(
        error("gssencmode=require", &[]),
        "gssencmode value \"require\" invalid when GSSAPI support is not compiled in"
    );
    assert_eq!(
        error("connect_timeout=1.5", &[]),
        "invalid integer value \"1.5\" for connection option \"connect_timeout\""
    );
    assert_eq!(error("port=99999", &[]), "invalid port number: \"99999\"");
    assert!(
        error("sslmode=verify-ca sslrootcert=/nonexistent/ca.pem", &[])
            .contains("root certificate file \"/nonexistent/ca.pem\" does not exist")
    );
    assert!(error("sslmode=verify-full", &[]).contains(
        "root certificate file \"/nonexistent-home/.postgresql/root.crt\" does not exist"
    ));
}

#[test]
fn parameters_pgvac_cannot_honour_are_refused_by_name() {
    for (dsn, keyword) in [
        ("keepalives_idle=30", "keepalives_idle=30"),
        ("keepalives=1", "keepalives=1"),
        ("requirepeer=postgres", "requirepeer"),
        ("channel_binding=require", "channel_binding=require"),
        ("sslcrl=/x.crl", "sslcrl"),
        ("replication=database", "replication"),
        ("options='-B 100'", "options=-B"),
        ("client_encoding=LATIN1", "client_encoding=LATIN1"),
        ("sslnegotiation=direct", "sslnegotiation=direct"),
    ] {
        let err = error(dsn, &[]);
        assert!(
            err.contains(keyword) && err.contains("not supported by pgvac"),
            "{dsn}: {err}"
        );
    }
    // Accepted and honoured: no keepalives, no GSS, settings in options.
    let s = resolve(
        &args("keepalives=0 gssencmode=prefer options='-c geqo=off --work-mem=4MB'"),
        &env(&[]),
    )
    .unwrap();
    assert_eq!(
        s.server_options,
        vec![
            ("geqo".to_string(), "off".to_string()),
            ("work_mem".to_string(), "4MB".to_string())
        ]
    );
}

#[test]
fn connect_timeout_follows_libpq_and_the_flag_takes_fractions() {
    let timeout = |dsn: &str, flag: Option<Duration>| {
        resolve(
            &ConnectionArgs {
                connect_timeout: flag,
                ..args(dsn)
            },
            &env(&[]),
        )
        .unwrap()
        .connect_timeout
    };
    assert_eq!(
        timeout("connect_timeout=1", None),
        Some(Duration::from_secs(2))
    );
    assert_eq!(timeout("connect_timeout=0", None), None);
    assert_eq!(timeout("connect_timeout=-5", None), None);
    assert_eq!(
        timeout("connect_timeout=7", None),
        Some(Duration::from_secs(7))
    );
    assert_eq!(timeout("", None), Some(DEFAULT_CONNECT_TIMEOUT));
    assert_eq!(timeout("", Some(Duration::ZERO)), None);
    assert_eq!(
        timeout("", Some(Duration::from_millis(1500))),
        Some(Duration::from_secs(2))
    );
    assert_eq!(
        timeout("connect_timeout=9", Some(Duration::from_millis(2500))),
        Some(Duration::from_millis(2500))
    );
}

#[test]
fn short_statement_timeouts_round_up_never_to_zero() {
    assert_eq!(round_up_ms(Duration::from_micros(500)), 1);
    assert_eq!(round_up_ms(Duration::from_micros(1500)), 2);
    assert_eq!(round_up_ms(Duration::from_secs(30)), 30_000);
}

#[test]
fn application_name_is_the_users_and_pgvac_only_the_fallback() {
    let name = |dsn: &str, vars: &[(&str, &str)]| {
        resolve(&args(dsn), &env(vars)).unwrap().application_name
    };
    assert_eq!(name("", &[]), "pgvac");
    assert_eq!(name("application_name=nightly", &[]), "nightly");
    assert_eq!(name("", &[("PGAPPNAME", "fromenv")]), "fromenv");
    assert_eq!(name("fallback_application_name=fb", &[]), "fb");
}

#[test]
fn a_service_supplies_what_the_string_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("services");
    std::fs::write(&file, "[prod]\nhost=prodhost\nport=6543\nuser=svc\n").unwrap();
    let file_text = file.display().to_string();
    let s = resolve(
        &args("service=prod user=me"),
        &env(&[("PGSERVICEFILE", &file_text)]),
    )
    .unwrap();
    assert_eq!(s.hosts[0].pgpass_host, "prodhost");
    assert_eq!(s.hosts[0].port, 6543);
    assert_eq!(s.user, "me");
    // The service beats the environment.
    let s = resolve(
        &args(""),
        &env(&[
            ("PGSERVICEFILE", &file_text),
            ("PGSERVICE", "prod"),
            ("PGPORT", "1"),
        ]),
    )
    .unwrap();
    assert_eq!(s.hosts[0].port, 6543);
    assert_eq!(
        error("service=missing", &[("PGSERVICEFILE", &file_text)]),
        "definition of service \"missing\" not found"
    );
}

#[test]
fn the_password_never_shows_in_debug_output() {
    let s = resolve(&args("host=a password=secret"), &env(&[])).unwrap();
    assert!(!format!("{s:?}").contains("secret"));
}
