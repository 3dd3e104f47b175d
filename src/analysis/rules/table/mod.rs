//! TABLE: per-table autovacuum settings.

pub mod analyze_trigger_too_high;
pub mod append_only_table_rarely_vacuumed;
pub mod dead_row_trigger_too_high;
pub mod freeze_max_age_below_table_age;
pub mod large_table_vacuum_throttled;
pub mod partitioned_table_never_analyzed;
pub mod table_autovacuum_disabled;
