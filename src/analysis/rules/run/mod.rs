//! RUN: vacuums running now.

pub mod all_autovacuum_workers_busy;
pub mod anti_wraparound_vacuum_running;
pub mod vacuum_index_passes_repeated;
pub mod vacuum_running_over_a_day;
