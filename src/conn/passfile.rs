//! The password file (`~/.pgpass`, `PGPASSFILE`, `passfile=`), read as libpq's
//! `passwordFromFile` reads it: `host:port:database:user:password` lines, `*` matching anything,
//! `\` escaping `:` and `\`, the default socket directory matched as `localhost`, and a file
//! that group or others may read ignored with libpq's warning.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// What the password file gave for one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A matching line: the password, and the file it came from.
    Found { password: String, file: PathBuf },
    /// No file, or no line for this host, port, database and user.
    NotFound,
    /// The file exists but was not used; the reason, as one sentence.
    Ignored(String),
}

/// The password for `host` (already mapped: a socket directory other than the default is
/// matched literally), `port`, `dbname` and `user`.
pub fn lookup(file: &Path, host: &str, port: &str, dbname: &str, user: &str) -> Lookup {
    let metadata = match std::fs::metadata(file) {
        Ok(metadata) => metadata,
        Err(_) => return Lookup::NotFound,
    };
    if !metadata.is_file() {
        return Lookup::Ignored(format!(
            "password file \"{}\" is not a plain file",
            file.display()
        ));
    }
    if metadata.permissions().mode() & 0o077 != 0 {
        return Lookup::Ignored(format!(
            "password file \"{}\" has group or world access; permissions should be u=rw (0600) or less",
            file.display()
        ));
    }
    let text = match std::fs::read(file) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            return Lookup::Ignored(format!(
                "password file \"{}\" could not be read: {}",
                file.display(),
                super::io_reason(&e)
            ));
        }
    };
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(rest) = [host, port, dbname, user]
            .iter()
            .try_fold(line, |rest, token| matches(rest, token))
        else {
            continue;
        };
        let mut password = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                ':' => break,
                '\\' => match chars.next() {
                    Some(next) => password.push(next),
                    None => password.push('\\'),
                },
                c => password.push(c),
            }
        }
        return Lookup::Found {
            password,
            file: file.to_path_buf(),
        };
    }
    Lookup::NotFound
}

/// If the field at the start of `line` matches `token` (or is `*`), the rest after its `:`.
fn matches<'a>(line: &'a str, token: &str) -> Option<&'a str> {
    if let Some(rest) = line.strip_prefix("*:") {
        return Some(rest);
    }
    let mut wanted = token.chars();
    let mut chars = line.char_indices();
    while let Some((i, c)) = chars.next() {
        let (c, escaped) = if c == '\\' {
            match chars.next() {
                Some((_, next)) => (next, true),
                None => return None,
            }
        } else {
            (c, false)
        };
        if c == ':' && !escaped {
            return if wanted.next().is_none() {
                Some(&line[i + 1..])
            } else {
                None
            };
        }
        if wanted.next() != Some(c) {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(text: &str, mode: u32) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        (dir, path)
    }

    #[test]
    fn lines_match_field_by_field_with_wildcards_and_escapes() {
        let (_dir, path) = file_with(
            "# comment\nother:5432:*:app:no\nlocalhost:5432:*:app:first\n*:*:*:app:second\n\
             h\\:x:1:d:u:pa\\:ss\\\\word\n",
            0o600,
        );
        let found = |host, port, db, user| match lookup(&path, host, port, db, user) {
            Lookup::Found { password, .. } => Some(password),
            _ => None,
        };
        assert_eq!(
            found("localhost", "5432", "db", "app").as_deref(),
            Some("first")
        );
        assert_eq!(
            found("elsewhere", "6543", "db", "app").as_deref(),
            Some("second")
        );
        assert_eq!(found("h:x", "1", "d", "u").as_deref(), Some("pa:ss\\word"));
        assert_eq!(found("localhost", "5432", "db", "nobody"), None);
    }

    #[test]
    fn a_file_others_can_read_is_ignored_with_libpqs_warning() {
        let (_dir, path) = file_with("*:*:*:*:secret\n", 0o644);
        match lookup(&path, "h", "1", "d", "u") {
            Lookup::Ignored(why) => assert!(why.contains("has group or world access"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            lookup(Path::new("/nonexistent/pgpass"), "h", "1", "d", "u"),
            Lookup::NotFound
        );
    }
}
