//! Does the server want a password? Asked before pgvac has one to give.
//!
//! libpq, holding no password, stops when the server asks for one and says "no password
//! supplied"; the server sees the client leave and logs no failed authentication. sqlx instead
//! answers with an empty password, which the server logs as a failed attempt (and which a
//! `fail2ban` watching the log may count). So when no password is known, pgvac first opens the
//! same transport sqlx would (the same socket, the same TLS through sqlx's own TLS code, so the
//! same `pg_hba.conf` line applies), sends a startup packet, reads the server's first answer and
//! leaves: a request for a password becomes pgvac's "no password supplied", a refusal is
//! reported as it is, and anything else lets the real connection go ahead.

use std::io;

use sqlx::postgres::PgSslMode;
use sqlx_core::net::tls::{self, CertificateInput, TlsConfig};
use sqlx_core::net::{Socket, WithSocket};

/// The server's first answer to a startup packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// It asked for a password (cleartext, MD5 or SCRAM).
    WantsPassword,
    /// It let the session in, or asked for something other than a password.
    Proceed,
    /// It refused the connection with this message.
    Refused(String),
}

/// Everything the probe needs to open the transport the real connection will use.
pub struct Probe<'a> {
    pub user: &'a str,
    pub database: &'a str,
    /// Disable, Prefer, Require, VerifyCa or VerifyFull, as handed to sqlx.
    pub ssl: PgSslMode,
    pub tls_name: &'a str,
    pub root_cert: Option<&'a CertificateInput>,
    pub client_cert: Option<&'a CertificateInput>,
    pub client_key: Option<&'a CertificateInput>,
}

impl Probe<'_> {
    /// Ask over a Unix-domain socket (never TLS, as in libpq).
    pub async fn over_socket(&self, path: &str) -> Result<Answer, String> {
        sqlx_core::net::connect_uds(
            path,
            Startup {
                probe: self,
                tls: false,
            },
        )
        .await
        .map_err(|e| e.to_string())?
    }

    /// Ask over TCP.
    pub async fn over_tcp(&self, host: &str, port: u16) -> Result<Answer, String> {
        let tls = !matches!(self.ssl, PgSslMode::Disable | PgSslMode::Allow);
        sqlx_core::net::connect_tcp(host, port, Startup { probe: self, tls })
            .await
            .map_err(|e| e.to_string())?
    }
}

struct Startup<'a> {
    probe: &'a Probe<'a>,
    tls: bool,
}

impl WithSocket for Startup<'_> {
    type Output = Result<Answer, String>;

    async fn with_socket<S: Socket>(self, mut socket: S) -> Self::Output {
        if !self.tls {
            return ask(socket, self.probe).await.map_err(|e| e.to_string());
        }
        // SSLRequest: length 8, code 80877103.
        socket
            .write(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
            .await
            .map_err(|e| e.to_string())?;
        let reply = read_exact(&mut socket, 1)
            .await
            .map_err(|e| e.to_string())?;
        if reply[0] != b'S' {
            if matches!(self.probe.ssl, PgSslMode::Prefer) {
                return ask(socket, self.probe).await.map_err(|e| e.to_string());
            }
            // The real connection will say so in its own words.
            return Ok(Answer::Proceed);
        }
        let config = TlsConfig {
            accept_invalid_certs: !matches!(
                self.probe.ssl,
                PgSslMode::VerifyCa | PgSslMode::VerifyFull
            ),
            accept_invalid_hostnames: !matches!(self.probe.ssl, PgSslMode::VerifyFull),
            hostname: self.probe.tls_name,
            root_cert_path: self.probe.root_cert,
            client_cert_path: self.probe.client_cert,
            client_key_path: self.probe.client_key,
        };
        match tls::handshake(socket, config, AfterTls { probe: self.probe }).await {
            Ok(answer) => answer,
            // A TLS failure is the real connection's to report (or to retry, for prefer).
            Err(_) => Ok(Answer::Proceed),
        }
    }
}

struct AfterTls<'a> {
    probe: &'a Probe<'a>,
}

impl WithSocket for AfterTls<'_> {
    type Output = Result<Answer, String>;

    async fn with_socket<S: Socket>(self, socket: S) -> Self::Output {
        ask(socket, self.probe).await.map_err(|e| e.to_string())
    }
}

/// Send the startup packet, read the first message, and leave.
async fn ask<S: Socket>(mut socket: S, probe: &Probe<'_>) -> io::Result<Answer> {
    let mut body = Vec::new();
    body.extend_from_slice(&196608u32.to_be_bytes()); // protocol 3.0
    for (key, value) in [
        ("user", probe.user),
        ("database", probe.database),
        ("application_name", "pgvac"),
    ] {
        body.extend_from_slice(key.as_bytes());
        body.push(0);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut packet = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    packet.extend_from_slice(&body);
    socket.write(&packet).await?;
    let header = read_exact(&mut socket, 5).await?;
    let length = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    let body = read_exact(&mut socket, length.saturating_sub(4).min(64 * 1024)).await?;
    let answer = match header[0] {
        b'R' if body.len() >= 4 => match u32::from_be_bytes([body[0], body[1], body[2], body[3]]) {
            3 | 5 | 10 => Answer::WantsPassword,
            _ => Answer::Proceed,
        },
        b'E' => Answer::Refused(error_message(&body)),
        _ => Answer::Proceed,
    };
    // Terminate, so the server sees a client that left, not a broken connection.
    let _ = socket.write(&[b'X', 0, 0, 0, 4]).await;
    let _ = socket.shutdown().await;
    Ok(answer)
}

/// The `M` field of an ErrorResponse.
fn error_message(body: &[u8]) -> String {
    let mut fields = body.split(|b| *b == 0);
    for field in fields.by_ref() {
        if let Some((&b'M', text)) = field.split_first() {
            return String::from_utf8_lossy(text).into_owned();
        }
    }
    "the server refused the connection".to_string()
}

async fn read_exact<S: Socket>(socket: &mut S, n: usize) -> io::Result<Vec<u8>> {
    let mut out = vec![0u8; n];
    let mut filled = 0;
    while filled < n {
        let mut slice: &mut [u8] = &mut out[filled..];
        let got = socket.read(&mut slice).await?;
        if got == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        filled += got;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_of_an_error_response_is_its_m_field() {
        let body = b"SFATAL\0C28000\0Mno pg_hba.conf entry for host\0\0";
        assert_eq!(error_message(body), "no pg_hba.conf entry for host");
    }
}
