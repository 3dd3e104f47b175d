//! Reading a snapshot file (`pgvac collect -o`, `report --snapshot`, `sessions --snapshot`, the
//! history directory): the one reader, so every command names a bad file the same way.
//!
//! The format version is read first, from a pass that keeps nothing else, so a snapshot of
//! another format is named as such rather than reported as a field-by-field mismatch. The rest
//! is typed deserialization into [`Snapshot`]: a file that passes it is a valid snapshot of
//! this format (the committed JSON Schema, `docs/snapshot.schema.json`, describes the same).

use std::path::Path;

use crate::snapshot::{SNAPSHOT_VERSION, Snapshot};

/// Where the snapshot's JSON Schema is committed (generated from the snapshot types).
pub const SCHEMA_PATH: &str = "docs/snapshot.schema.json";

/// The JSON Schema of a snapshot file, from the types it is read into.
pub fn schema() -> String {
    let schema = schemars::SchemaGenerator::new(
        schemars::generate::SchemaSettings::default().for_deserialize(),
    )
    .into_root_schema_for::<Snapshot>();
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

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

    /// The committed schema is what the types generate (`UPDATE_DOCS=1 cargo test` rewrites it),
    /// and every snapshot fixture (base clusters of 12-18, the report fixtures, the demo's
    /// example) is valid under it; a wrong type is not.
    #[test]
    fn snapshot_schema_is_current_and_every_fixture_validates() {
        crate::render::generated::assert_current(SCHEMA_PATH, &schema());
        let validator = crate::render::generated::validator(&schema());
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(root.join("tests/fixtures"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.push(root.join("examples/demo-snapshot.json"));
        assert!(files.len() >= 9, "{files:?}");
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            let document: serde_json::Value = serde_json::from_str(&text).unwrap();
            let errors = crate::render::generated::errors(&validator, &document);
            assert!(
                errors.is_empty(),
                "{}: {}",
                file.display(),
                errors.join("\n")
            );
            assert!(parse(&text).is_ok(), "{}", file.display());
        }
        let text = std::fs::read_to_string(root.join("tests/fixtures/base-16.json")).unwrap();
        let mut broken: serde_json::Value = serde_json::from_str(&text).unwrap();
        broken["server"]["next_xid"] = "soon".into();
        assert!(!validator.is_valid(&broken));
    }

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
