//! Connection service files (`pg_service.conf`), read as libpq's `parseServiceInfo` and
//! `parseServiceFile` read them: the user's file (`servicefile=`, else `PGSERVICEFILE`, else
//! `~/.pg_service.conf`) first, then `PGSYSCONFDIR/pg_service.conf` (or the system directory);
//! the first file that defines the service supplies its parameters; a parameter already given in
//! the connection string is not overridden.

use std::path::{Path, PathBuf};

use super::conninfo::{Params, keyword};

/// Fill `params` from the definition of `service`, in `user_file` or else `system_file`.
pub fn apply(
    params: &mut Params,
    service: &str,
    user_file: Option<&Path>,
    system_file: &Path,
) -> Result<(), String> {
    for file in user_file.into_iter().chain([system_file]) {
        if std::fs::metadata(file).is_err() {
            continue;
        }
        if read(params, service, file)? {
            return Ok(());
        }
    }
    Err(format!("definition of service \"{service}\" not found"))
}

/// Apply `service` from `file`; whether the file defines it.
fn read(params: &mut Params, service: &str, file: &Path) -> Result<bool, String> {
    let text = std::fs::read(file).map_err(|e| {
        format!(
            "service file \"{}\" could not be read: {}",
            file.display(),
            super::io_reason(&e)
        )
    })?;
    let text = String::from_utf8_lossy(&text);
    let syntax = |line: usize| {
        format!(
            "syntax error in service file \"{}\", line {line}",
            file.display()
        )
    };
    let mut in_group = false;
    let mut found = false;
    for (index, line) in text.lines().enumerate() {
        let line_number = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[') {
            if found {
                break;
            }
            in_group = name.strip_suffix(']') == Some(service);
            found = in_group;
            continue;
        }
        if !in_group {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(syntax(line_number));
        };
        if key == "service" || key == "servicefile" {
            return Err(format!(
                "nested {key} specifications not supported in service file \"{}\", line {line_number}",
                file.display()
            ));
        }
        let Some(keyword) = keyword(key) else {
            return Err(syntax(line_number));
        };
        params
            .entry(keyword.name)
            .or_insert_with(|| value.to_string());
    }
    Ok(found)
}

/// The user's service file: `servicefile`, else `PGSERVICEFILE`, else `~/.pg_service.conf`.
pub fn user_file(explicit: Option<&str>, home: Option<&Path>) -> Option<PathBuf> {
    match explicit.filter(|f| !f.is_empty()) {
        Some(file) => Some(PathBuf::from(file)),
        None => home.map(|h| h.join(".pg_service.conf")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_file_wins_and_given_parameters_stay() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("user.conf");
        let system = dir.path().join("pg_service.conf");
        std::fs::write(&user, "# mine\n[prod]\nhost=a\nport=1\n\n[other]\nhost=z\n").unwrap();
        std::fs::write(&system, "[prod]\nhost=b\n[sys]\nhost=c\ndbname=d\n").unwrap();
        let mut params = Params::new();
        params.insert("port", "9".to_string());
        apply(&mut params, "prod", Some(&user), &system).unwrap();
        assert_eq!(params["host"], "a");
        assert_eq!(params["port"], "9");
        let mut params = Params::new();
        apply(&mut params, "sys", Some(&user), &system).unwrap();
        assert_eq!(params["dbname"], "d");
        let err = apply(&mut Params::new(), "none", Some(&user), &system).unwrap_err();
        assert_eq!(err, "definition of service \"none\" not found");
    }

    #[test]
    fn bad_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.conf");
        std::fs::write(&file, "[s]\nhots=x\n").unwrap();
        let err = apply(
            &mut Params::new(),
            "s",
            Some(&file),
            Path::new("/nonexistent"),
        )
        .unwrap_err();
        assert!(
            err.contains("syntax error in service file") && err.ends_with("line 2"),
            "{err}"
        );
        std::fs::write(&file, "[s]\nservice=t\n").unwrap();
        let err = apply(
            &mut Params::new(),
            "s",
            Some(&file),
            Path::new("/nonexistent"),
        )
        .unwrap_err();
        assert!(err.contains("nested service"), "{err}");
    }
}
