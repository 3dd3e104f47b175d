//! LOG: what the server log says autovacuum did (`pgvac report --log`).

pub mod anti_wraparound_vacuums_repeated;
pub mod autovacuum_cancelled_repeatedly;
pub mod autovacuum_skipped_for_locks;
pub mod autovacuum_worker_start_timeout;
pub mod dead_rows_left_not_removable;
pub mod logged_vacuum_index_passes_repeated;
pub mod vacuum_failsafe_triggered;
pub mod vacuum_runs_outlast_naptime_cycle;
pub mod wraparound_messages_logged;
