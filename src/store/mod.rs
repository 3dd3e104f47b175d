//! Files pgvac keeps: [`output`], the one writer every file goes through, and [`history`], the
//! directory of earlier runs that trends are computed from.

pub mod history;
pub mod output;
