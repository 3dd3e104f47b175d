//! CONFIG: server-wide settings.

pub mod autovacuum_falling_behind;
pub mod autovacuum_logging_off;
pub mod autovacuum_off;
pub mod rds_adaptive_autovacuum;
pub mod statistics_lost_in_crash;
pub mod track_counts_off;
pub mod vacuum_cost_settings_slow;
pub mod vacuum_memory_too_small;
