//! pgvac: an autovacuum advisor for PostgreSQL 12-18.
//!
//! The program is one pipeline with one seam between I/O and analysis:
//!
//! ```text
//! cli -> conn -> collect -> Snapshot -> analysis -> render
//!                  |                  (model, blockers,   (report formats, sessions)
//!                sql/*.sql            rules, plans)
//! ```
//!
//! - [`cli`] parses the command line, resolves it into settings once, runs a command and maps its
//!   outcome to the exit status. It may use every other module.
//! - [`conn`] resolves a connection the way libpq does and opens read-only sessions.
//! - [`collect`] is the only module that reads from PostgreSQL (its statements are in `sql/`);
//!   [`collect::terminate`] is its twin for the one action pgvac takes, ending sessions. Both
//!   use `conn` and produce or consume plain data.
//! - [`snapshot`] is the data collected: plain serializable types, the format of
//!   `pgvac collect`, of `report --snapshot` and of the history directory.
//! - [`analysis`] is a pure function of a snapshot (and its history): it imports only
//!   `snapshot` and `sql` (quoting), never I/O.
//! - [`render`] draws an analysis in each format; it reads `analysis` and `snapshot` and never
//!   computes what the analysis already has.
//! - [`store`] keeps files: the one atomic writer and the history directory.
//! - [`local_server`] finds PostgreSQL binaries and runs a throwaway server (as an unprivileged
//!   user when pgvac runs as root), for [`demo`] and the test harness; [`demo`] plants the
//!   problems pgvac finds on such a server for `pgvac demo`.

pub mod analysis;
pub mod cli;
pub mod collect;
pub mod conn;
pub mod demo;
pub mod local_server;
pub mod logs;
pub mod render;
pub mod snapshot;
pub mod sql;
pub mod store;
