//! WRAP: transaction ID and multixact wraparound.

pub mod anti_wraparound_vacuum_due;
pub mod database_mxid_age_high;
pub mod database_xid_age_high;
pub mod invalid_database;
pub mod table_mxid_age_high;
pub mod table_xid_age_high;
