//! Test helpers for the files under `docs/` that the code generates (the rule reference and the
//! JSON Schemas), and for validating documents against those schemas.

use std::path::Path;

/// Fail when the committed file at `relative` (from the crate root) is not `generated`. With
/// `UPDATE_DOCS` set, write it first: `UPDATE_DOCS=1 cargo test` regenerates every such file.
pub fn assert_current(relative: &str, generated: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{relative} is stale: run UPDATE_DOCS=1 cargo test and commit it"
    );
}

/// A validator for a schema given as text.
pub fn validator(schema: &str) -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(schema).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

/// Every way `document` breaks the schema, with where; empty when it is valid.
pub fn errors(validator: &jsonschema::Validator, document: &serde_json::Value) -> Vec<String> {
    validator
        .iter_errors(document)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}
