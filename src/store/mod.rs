//! Files pgvac keeps: [`output`], the one writer every file goes through, and [`history`], the
//! directory of earlier runs that trends are computed from, and [`snapshot_file`], the one
//! reader of snapshot files.

pub mod history;
pub mod output;
pub mod snapshot_file;
