//! Reading a snapshot file (`pgvac collect -o`, `report --snapshot`, `sessions --snapshot`, the
//! history directory): the one reader, so every command names a bad file the same way.
//!
//! The format version is read first, from a pass that keeps nothing else, so a snapshot of
//! another format is named as such rather than reported as a field-by-field mismatch. The rest
//! is typed deserialization into [`Snapshot`]: a file that passes it is a valid snapshot of
//! this format (the committed JSON Schema, `docs/snapshot.schema.json`, describes the same).

use std::path::Path;

use crate::snapshot::{SNAPSHOT_VERSION, Snapshot};

/// Why a file is not a snapshot this pgvac can read. Each reads as the end of a sentence that
/// starts with the file's name.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotFileError {
    #[error("could not be read: {0}")]
    Unreadable(#[from] std::io::Error),
    #[error("is not a pgvac snapshot: it is not a JSON object")]
    NotAnObject,
    #[error("is not a pgvac snapshot: invalid JSON ({0})")]
    NotJson(serde_json::Error),
    #[error("is not a pgvac snapshot: it has no snapshot_version")]
    NoVersion,
    #[error(
        "is a version {0} snapshot; this pgvac reads version {SNAPSHOT_VERSION}: collect it \
         again with this pgvac"
    )]
    OtherVersion(u64),
    #[error("is not a valid pgvac snapshot: {0}")]
    Invalid(serde_json::Error),
}

/// Parse a snapshot from its JSON text.
pub fn parse(text: &str) -> Result<Snapshot, SnapshotFileError> {
    #[derive(serde::Deserialize)]
    struct Version {
        snapshot_version: Option<u64>,
    }
    if !text.trim_start().starts_with('{') {
        return Err(SnapshotFileError::NotAnObject);
    }
    let version: Version = serde_json::from_str(text).map_err(SnapshotFileError::NotJson)?;
    match version.snapshot_version {
        None => return Err(SnapshotFileError::NoVersion),
        Some(version) if version != u64::from(SNAPSHOT_VERSION) => {
            return Err(SnapshotFileError::OtherVersion(version));
        }
        Some(_) => {}
    }
    serde_json::from_str(text).map_err(SnapshotFileError::Invalid)
}

/// Read and parse a snapshot file.
pub fn read(path: &Path) -> Result<Snapshot, SnapshotFileError> {
    parse(&std::fs::read_to_string(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_bad_file_is_named() {
        let cases = [
            ("", "not a JSON object"),
            ("[1]", "not a JSON object"),
            ("{\"snapshot_version\": ", "invalid JSON"),
            ("{}", "no snapshot_version"),
            ("{\"snapshot_version\": 99}", "a version 99 snapshot"),
            ("{\"snapshot_version\": 1}", "not a valid pgvac snapshot"),
        ];
        for (text, expected) in cases {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
            assert!(!error.contains('\n'), "{error}");
        }
        let missing = read(Path::new("/nonexistent/snapshot.json")).unwrap_err();
        assert!(matches!(missing, SnapshotFileError::Unreadable(_)));
    }
}
