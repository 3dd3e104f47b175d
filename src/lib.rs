//! pgvac: an autovacuum advisor for PostgreSQL 12-18.
//!
//! The program is one pipeline with one seam: `cli -> conn -> collect -> Snapshot`, and
//! everything after the snapshot is a pure function of it. Only [`collect`] talks to PostgreSQL,
//! and [`terminate`], which ends sessions for `pgvac sessions --terminate --execute`, and
//! [`demo`], which plants problems on a throwaway server it started (or an empty one it was
//! given) for `pgvac demo`.

pub mod autovacuum;
pub mod blockers;
pub mod cli;
pub mod collect;
pub mod conn;
pub mod demo;
pub mod findings;
pub mod help;
pub mod history;
pub mod local_server;
pub mod output;
pub mod progress;
pub mod logs;
pub mod render;
pub mod rules;
pub mod sessions;
pub mod snapshot;
pub mod sql;
pub mod temp_owner;
pub mod terminate;
