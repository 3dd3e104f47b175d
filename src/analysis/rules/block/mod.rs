//! BLOCK: what holds vacuum back, one rule per kind of blocker.

pub mod defer_cleanup_age_holds_horizon;
pub mod holder_harms_tables;
pub mod idle_in_transaction_holds_horizon;
pub mod lock_keeps_autovacuum_out;
pub mod long_transaction_holds_horizon;
pub mod orphaned_temp_schema;
pub mod prepared_transaction_holds_horizon;
pub mod replication_slot_holds_horizon;
pub mod standby_feedback_holds_horizon;
pub mod temp_table_pins_datfrozenxid;
