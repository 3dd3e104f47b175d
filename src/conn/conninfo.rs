//! libpq's connection parameters and its two connection-string forms.
//!
//! [`KEYWORDS`] is libpq 18's `PQconninfoOptions`: every keyword with the environment variable
//! that supplies it and its compiled-in default. The parsers follow `conninfo_parse` and
//! `conninfo_uri_parse` in libpq's `fe-connect.c`, including their error texts, so that a
//! mistake reads as it does in psql.

use std::collections::BTreeMap;

/// One libpq connection parameter.
#[derive(Debug, Clone, Copy)]
pub struct Keyword {
    pub name: &'static str,
    /// The environment variable that supplies it when neither the string nor a service does.
    pub env: Option<&'static str>,
    /// libpq's compiled-in default (for a build without GSSAPI, as pgvac is).
    pub default: Option<&'static str>,
}

const fn kw(
    name: &'static str,
    env: Option<&'static str>,
    default: Option<&'static str>,
) -> Keyword {
    Keyword { name, env, default }
}

/// Every parameter libpq 18 documents, in `PQconninfoOptions` order.
pub const KEYWORDS: &[Keyword] = &[
    kw("service", Some("PGSERVICE"), None),
    kw("servicefile", Some("PGSERVICEFILE"), None),
    kw("user", Some("PGUSER"), None),
    kw("password", Some("PGPASSWORD"), None),
    kw("passfile", Some("PGPASSFILE"), None),
    kw("channel_binding", Some("PGCHANNELBINDING"), Some("prefer")),
    kw("connect_timeout", Some("PGCONNECT_TIMEOUT"), None),
    kw("dbname", Some("PGDATABASE"), None),
    kw("host", Some("PGHOST"), None),
    kw("hostaddr", Some("PGHOSTADDR"), None),
    kw("port", Some("PGPORT"), Some("5432")),
    kw("client_encoding", Some("PGCLIENTENCODING"), None),
    kw("options", Some("PGOPTIONS"), None),
    kw("application_name", Some("PGAPPNAME"), None),
    kw("fallback_application_name", None, None),
    kw("keepalives", None, None),
    kw("keepalives_idle", None, None),
    kw("keepalives_interval", None, None),
    kw("keepalives_count", None, None),
    kw("tcp_user_timeout", None, None),
    kw("sslmode", Some("PGSSLMODE"), Some("prefer")),
    kw("sslnegotiation", Some("PGSSLNEGOTIATION"), Some("postgres")),
    kw("sslcompression", Some("PGSSLCOMPRESSION"), Some("0")),
    kw("sslcert", Some("PGSSLCERT"), None),
    kw("sslkey", Some("PGSSLKEY"), None),
    kw("sslcertmode", Some("PGSSLCERTMODE"), Some("allow")),
    kw("sslpassword", None, None),
    kw("sslrootcert", Some("PGSSLROOTCERT"), None),
    kw("sslcrl", Some("PGSSLCRL"), None),
    kw("sslcrldir", Some("PGSSLCRLDIR"), None),
    kw("sslsni", Some("PGSSLSNI"), Some("1")),
    kw("sslkeylogfile", None, None),
    kw("requirepeer", Some("PGREQUIREPEER"), None),
    kw("require_auth", Some("PGREQUIREAUTH"), None),
    kw(
        "ssl_min_protocol_version",
        Some("PGSSLMINPROTOCOLVERSION"),
        Some("TLSv1.2"),
    ),
    kw(
        "ssl_max_protocol_version",
        Some("PGSSLMAXPROTOCOLVERSION"),
        None,
    ),
    kw("min_protocol_version", Some("PGMINPROTOCOLVERSION"), None),
    kw("max_protocol_version", Some("PGMAXPROTOCOLVERSION"), None),
    kw("gssencmode", Some("PGGSSENCMODE"), Some("disable")),
    kw("krbsrvname", Some("PGKRBSRVNAME"), Some("postgres")),
    kw("gsslib", Some("PGGSSLIB"), None),
    kw("gssdelegation", Some("PGGSSDELEGATION"), Some("0")),
    kw("replication", None, None),
    kw(
        "target_session_attrs",
        Some("PGTARGETSESSIONATTRS"),
        Some("any"),
    ),
    kw(
        "load_balance_hosts",
        Some("PGLOADBALANCEHOSTS"),
        Some("disable"),
    ),
    kw("scram_client_key", None, None),
    kw("scram_server_key", None, None),
    kw("oauth_issuer", None, None),
    kw("oauth_client_id", None, None),
    kw("oauth_client_secret", None, None),
    kw("oauth_scope", None, None),
];

/// The keyword named `name`, if libpq knows it.
pub fn keyword(name: &str) -> Option<&'static Keyword> {
    KEYWORDS.iter().find(|k| k.name == name)
}

/// Parameters as given: keyword to value, the last occurrence winning as in libpq.
pub type Params = BTreeMap<&'static str, String>;

/// Whether psql would take `text` as a connection string rather than a database name.
pub fn is_connection_string(text: &str) -> bool {
    uri_prefix_len(text) > 0 || text.contains('=')
}

fn uri_prefix_len(text: &str) -> usize {
    ["postgresql://", "postgres://"]
        .iter()
        .find(|p| text.starts_with(**p))
        .map_or(0, |p| p.len())
}

/// Parse a connection string: a `postgresql://` URI or `keyword = value` pairs.
pub fn parse(text: &str) -> Result<Params, String> {
    let prefix = uri_prefix_len(text);
    if prefix > 0 {
        parse_uri(text, prefix)
    } else {
        parse_keywords(text)
    }
}

fn store(params: &mut Params, key: &str, value: String) -> Result<(), String> {
    match keyword(key) {
        Some(k) => {
            params.insert(k.name, value);
            Ok(())
        }
        None => Err(format!("invalid connection option \"{key}\"")),
    }
}

fn parse_keywords(text: &str) -> Result<Params, String> {
    let mut params = Params::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let mut key = String::new();
        while i < chars.len() && chars[i] != '=' && !chars[i].is_whitespace() {
            key.push(chars[i]);
            i += 1;
        }
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() || chars[i] != '=' {
            return Err(format!(
                "missing \"=\" after \"{key}\" in connection info string"
            ));
        }
        i += 1;
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < chars.len() && chars[i] == '\'' {
            i += 1;
            loop {
                if i >= chars.len() {
                    return Err("unterminated quoted string in connection info string".into());
                }
                match chars[i] {
                    '\\' => {
                        i += 1;
                        if i < chars.len() {
                            value.push(chars[i]);
                            i += 1;
                        }
                    }
                    '\'' => {
                        i += 1;
                        break;
                    }
                    c => {
                        value.push(c);
                        i += 1;
                    }
                }
            }
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                if chars[i] == '\\' {
                    i += 1;
                    if i < chars.len() {
                        value.push(chars[i]);
                        i += 1;
                    }
                } else {
                    value.push(chars[i]);
                    i += 1;
                }
            }
        }
        store(&mut params, &key, value)?;
    }
    Ok(params)
}

/// `%XY` decoding as libpq's `conninfo_uri_decode` does it: `%00` and bad escapes are errors.
fn uri_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |b: u8| (b as char).to_digit(16);
            let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            ) else {
                return Err(format!("invalid percent-encoded token: \"{text}\""));
            };
            let byte = (hi * 16 + lo) as u8;
            if byte == 0 {
                return Err(format!(
                    "forbidden value %00 in percent-encoded value: \"{text}\""
                ));
            }
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("invalid percent-encoded token: \"{text}\""))
}

fn parse_uri(uri: &str, prefix: usize) -> Result<Params, String> {
    let mut params = Params::new();
    let rest = &uri[prefix..];
    // The authority ends at the first '/' or '?'.
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let hosts_part = match authority.find('@') {
        Some(at) => {
            let userspec = &authority[..at];
            let (user, password) = match userspec.find(':') {
                Some(colon) => (&userspec[..colon], Some(&userspec[colon + 1..])),
                None => (userspec, None),
            };
            if !user.is_empty() {
                params.insert("user", uri_decode(user)?);
            }
            if let Some(password) = password.filter(|p| !p.is_empty()) {
                params.insert("password", uri_decode(password)?);
            }
            &authority[at + 1..]
        }
        None => authority,
    };
    let mut hosts = Vec::new();
    let mut ports = Vec::new();
    let mut any_port = false;
    if !hosts_part.is_empty() {
        for spec in split_hosts(hosts_part, uri)? {
            let (host, port) = spec;
            hosts.push(host);
            if port.is_some() {
                any_port = true;
            }
            ports.push(port.unwrap_or_default());
        }
    }
    let host_list = hosts.join(",");
    if !host_list.is_empty() && host_list.chars().any(|c| c != ',') {
        params.insert("host", uri_decode(&host_list)?);
    }
    if any_port {
        params.insert("port", uri_decode(&ports.join(","))?);
    }
    let (path, query) = match tail.find('?') {
        Some(q) => (&tail[..q], Some(&tail[q + 1..])),
        None => (tail, None),
    };
    let dbname = path.strip_prefix('/').unwrap_or(path);
    if !dbname.is_empty() {
        params.insert("dbname", uri_decode(dbname)?);
    }
    if let Some(query) = query {
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let mut parts = pair.splitn(3, '=');
            let key = parts.next().unwrap_or("");
            let Some(value) = parts.next() else {
                return Err(format!(
                    "missing key/value separator \"=\" in URI query parameter: \"{pair}\""
                ));
            };
            if parts.next().is_some() {
                return Err(format!(
                    "extra key/value separator \"=\" in URI query parameter: \"{pair}\""
                ));
            }
            let key = uri_decode(key)?;
            let mut value = uri_decode(value)?;
            let key = if key == "ssl" && value == "true" {
                value = "require".to_string();
                "sslmode".to_string()
            } else {
                key
            };
            if keyword(&key).is_none() {
                return Err(format!("invalid URI query parameter: \"{key}\""));
            }
            store(&mut params, &key, value)?;
        }
    }
    Ok(params)
}

/// `host[:port]` entries separated by commas; IPv6 addresses in brackets.
fn split_hosts(text: &str, uri: &str) -> Result<Vec<(String, Option<String>)>, String> {
    let mut out = Vec::new();
    for entry in text.split(',') {
        let (host, rest) = if let Some(inner) = entry.strip_prefix('[') {
            let Some(close) = inner.find(']') else {
                return Err(format!(
                    "end of string reached when looking for matching \"]\" in IPv6 host address in URI: \"{uri}\""
                ));
            };
            if close == 0 {
                return Err(format!(
                    "IPv6 host address may not be empty in URI: \"{uri}\""
                ));
            }
            (inner[..close].to_string(), &inner[close + 1..])
        } else {
            match entry.find(':') {
                Some(colon) => (entry[..colon].to_string(), &entry[colon..]),
                None => (entry.to_string(), ""),
            }
        };
        let port = match rest.strip_prefix(':') {
            Some(port) => Some(port.to_string()),
            None if rest.is_empty() => None,
            None => {
                let c = rest.chars().next().unwrap_or(' ');
                return Err(format!(
                    "unexpected character \"{c}\" in URI (expected \":\" or \"/\"): \"{uri}\""
                ));
            }
        };
        out.push((host, port));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_strings_parse_like_libpq() {
        let p = parse(
            "host=db.example.com port = 5433 dbname='my db' user=app password='it\\'s' sslmode=verify-full",
        )
        .unwrap();
        assert_eq!(p["host"], "db.example.com");
        assert_eq!(p["port"], "5433");
        assert_eq!(p["dbname"], "my db");
        assert_eq!(p["password"], "it's");
        assert_eq!(p["sslmode"], "verify-full");
        assert_eq!(parse("host=a host=b").unwrap()["host"], "b");
        assert_eq!(parse("password=a\\ b").unwrap()["password"], "a b");
    }

    #[test]
    fn uris_parse_with_several_hosts_and_percent_decoding() {
        let p = parse(
            "postgresql://app:p%40ss@%2Fvar%2Frun%2Fpostgresql:5433/my%20db?sslmode=require&application_name=x",
        )
        .unwrap();
        assert_eq!(p["host"], "/var/run/postgresql");
        assert_eq!(p["password"], "p@ss");
        assert_eq!(p["dbname"], "my db");
        assert_eq!(p["sslmode"], "require");
        let p = parse("postgres://a:1,[::1],c:3/db?ssl=true").unwrap();
        assert_eq!(p["host"], "a,::1,c");
        assert_eq!(p["port"], "1,,3");
        assert_eq!(p["sslmode"], "require");
        let p = parse("postgresql:///db?host=/tmp").unwrap();
        assert_eq!(p["host"], "/tmp");
        assert!(!p.contains_key("user"));
    }

    #[test]
    fn malformed_strings_get_libpqs_messages() {
        for (text, expected) in [
            (
                "host=x port",
                "missing \"=\" after \"port\" in connection info string",
            ),
            (
                "host='x",
                "unterminated quoted string in connection info string",
            ),
            ("hots=x", "invalid connection option \"hots\""),
            (
                "postgres://h/db?bogus=1",
                "invalid URI query parameter: \"bogus\"",
            ),
            ("postgres://h/db?sslmode", "missing key/value separator"),
            (
                "postgres://h/d%zz",
                "invalid percent-encoded token: \"d%zz\"",
            ),
            ("postgres://h/d%00", "forbidden value %00"),
            ("postgres://[::1/db", "matching \"]\""),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn a_lone_word_is_a_database_name() {
        assert!(!is_connection_string("mydb"));
        assert!(is_connection_string("dbname=mydb"));
        assert!(is_connection_string("postgres://"));
    }
}
