//! The analysis of a snapshot: what autovacuum will do with each table ([`autovacuum`]), what
//! holds vacuum back ([`blockers`]), the per-table advice ([`tuning`]), the wraparound ladder
//! ([`wraparound`]) and the rules that turn them into [`findings`].
//!
//! Everything here is a pure function of a [`crate::snapshot::Snapshot`]: no I/O, no clock, no
//! environment. It may import `snapshot` and `sql` (quoting), nothing else of pgvac.

pub mod autovacuum;
pub mod blockers;
pub mod findings;
pub mod rules;
pub mod tuning;
pub mod wraparound;
