//! The history directory of `pgvac report --history DIR`: one compressed file per run, holding
//! what trends need of it ([`Run`], computed and compared in [`crate::analysis::trends`]),
//! bounded by `--keep`, written whole or not at all (`crate::store::output`).
//!
//! Invariants:
//! - A run file is read only when it says what it is (`format`, `format_version`); anything
//!   else in the directory (a corrupt file, another format, a foreign file) is skipped with a
//!   note, never fatal. Whole snapshots saved by pgvac before run files existed are converted.
//! - A save is a temporary file renamed into place: a killed save leaves a temporary file,
//!   removed once stale, never a half-written run.
//! - An incomplete run is compared but saved only when accepted (`--allow-partial`).

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::analysis::trends::{History, Run, Trends, trends};
use crate::snapshot::Snapshot;

/// How many snapshots `--keep` keeps by default: two days of hourly runs.
pub const DEFAULT_KEEP: usize = 48;

/// A saved run: `run-<UTC collection time>.json.zst`, what trends need of one snapshot
/// ([`Run`]), as zstd-compressed JSON.
const RUN_PREFIX: &str = "run-";
const RUN_SUFFIX: &str = ".json.zst";
/// A whole snapshot, as pgvac saved runs before 0.2: still read, and converted to a run file
/// when the directory is loaded.
const SNAPSHOT_PREFIX: &str = "snapshot-";
const SNAPSHOT_SUFFIX: &str = ".json";
/// Temporary files `save` writes before the rename (`crate::store::output` names them
/// `.NAME.RANDOM.tmp`).
const TEMP_PREFIXES: [&str; 2] = [".run-", ".snapshot-"];
const TEMP_SUFFIX: &str = ".tmp";
/// What a run file says it is, so that no other JSON is taken for one.
const RUN_FORMAT: &str = "pgvac history run";
/// Version of the run file format. A reader refuses (skips, with a note) another version.
pub const RUN_FORMAT_VERSION: u32 = 1;
/// zstd's default level: a run of 100,000 tables compresses about 6 to 1 in tens of ms.
const ZSTD_LEVEL: i32 = 3;
/// A temporary file older than this was left by a run that was killed while saving (a save
/// takes seconds); a younger one may belong to a run saving right now, so it stays.
const STALE_TEMP: std::time::Duration = std::time::Duration::from_secs(3600);

// ---------------------------------------------------------------------------------------------
// Storage

/// Errors of the history directory. Each reads as one line.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("history directory {}: {message}", path.display())]
    Directory { path: PathBuf, message: String },
    #[error("could not save the snapshot as {}: {message}", path.display())]
    Save { path: PathBuf, message: String },
    #[error("could not remove the old snapshot {}: {message}", path.display())]
    Prune { path: PathBuf, message: String },
}

/// A directory of saved runs, one file per run, named `run-<UTC collection time>.json.zst` so
/// that the names sort by collection time. Each holds what trends need of the run's snapshot,
/// not the snapshot: a few dozen bytes a table before compression.
#[derive(Debug, Clone)]
pub struct HistoryDir {
    path: PathBuf,
}

impl HistoryDir {
    /// Open the directory, creating it if missing, and check that a file can be written there,
    /// so an unusable directory fails before anything is collected.
    pub fn open(path: &Path) -> Result<HistoryDir, HistoryError> {
        let error = |message: String| HistoryError::Directory {
            path: path.to_path_buf(),
            message,
        };
        if path.exists() && !path.is_dir() {
            return Err(error("is not a directory".to_string()));
        }
        fs::create_dir_all(path).map_err(|e| error(format!("cannot be created: {e}")))?;
        tempfile::Builder::new()
            .prefix(".pgvac-write-test-")
            .tempfile_in(path)
            .map_err(|e| error(format!("is not writable: {e}")))?;
        Ok(HistoryDir {
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file name a snapshot's run is saved under.
    pub fn file_name(snapshot: &Snapshot) -> String {
        Self::run_file_name(snapshot.server.collected_at)
    }

    fn run_file_name(collected_at: DateTime<Utc>) -> String {
        format!(
            "{RUN_PREFIX}{}{RUN_SUFFIX}",
            collected_at.format("%Y%m%dT%H%M%S%.6fZ")
        )
    }

    /// Save what trends need of a snapshot with pgvac's file writer (`crate::store::output`: a
    /// temporary file in the directory, then a rename): the file is either absent or whole. A
    /// run with the same collection time is replaced.
    pub fn save(&self, snapshot: &Snapshot) -> Result<PathBuf, HistoryError> {
        self.save_run(&Run::from_snapshot(snapshot, ""))
    }

    fn save_run(&self, run: &Run) -> Result<PathBuf, HistoryError> {
        let path = self.path.join(Self::run_file_name(run.collected_at()));
        crate::store::output::write_file(&path, |out| {
            let mut encoder = zstd::Encoder::new(out, ZSTD_LEVEL)?;
            serde_json::to_writer(&mut encoder, &StoredRun::new(run))?;
            encoder.finish()?;
            Ok(())
        })
        .map_err(|e| HistoryError::Save {
            path: path.clone(),
            message: e.message,
        })?;
        Ok(path)
    }

    /// The saved runs and the older whole snapshots, oldest first.
    pub fn list(&self) -> Result<Vec<PathBuf>, HistoryError> {
        let entries = fs::read_dir(&self.path).map_err(|e| HistoryError::Directory {
            path: self.path.clone(),
            message: format!("cannot be read: {e}"),
        })?;
        let mut names: Vec<(String, String)> = entries
            .flatten()
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter_map(|name| Some((collection_time_of(&name)?.to_string(), name)))
            .collect();
        names.sort();
        Ok(names
            .into_iter()
            .map(|(_, name)| self.path.join(name))
            .collect())
    }

    /// Load every run of the directory. A file that cannot be read or parsed, or that has
    /// another format version, is skipped with a note. A whole snapshot saved by an older pgvac
    /// is converted to a run file (and removed) with a note; should the conversion fail it is
    /// still read, and left as it was.
    pub fn load(&self) -> Result<History, HistoryError> {
        let mut history = History::default();
        let mut converted = 0usize;
        for path in self.list()? {
            let label = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string());
            if label.ends_with(RUN_SUFFIX) {
                match read_run(&path) {
                    Ok(mut run) => {
                        run.label = label;
                        history.runs.push(run);
                    }
                    Err(reason) => history.notes.push(format!("skipped {label}: {reason}")),
                }
                continue;
            }
            match read_snapshot(&path) {
                Ok(snapshot) => {
                    let mut run = Run::from_snapshot(&snapshot, &label);
                    drop(snapshot);
                    match self.save_run(&run) {
                        Ok(saved) => {
                            if saved != path && fs::remove_file(&path).is_ok() {
                                converted += 1;
                            }
                            run.label = saved
                                .file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or(label);
                        }
                        Err(error) => history.notes.push(format!(
                            "{label} is a whole snapshot of an older pgvac and could not be \
                             converted: {error}"
                        )),
                    }
                    history.runs.push(run);
                }
                Err(reason) => history.notes.push(format!("skipped {label}: {reason}")),
            }
        }
        if converted > 0 {
            history.notes.push(format!(
                "converted {} saved by an older pgvac to compact run files (what trends need, \
                 compressed)",
                crate::analysis::findings::plural(converted, "whole snapshot", "whole snapshots")
            ));
        }
        Ok(history)
    }

    /// Keep the newest `keep` run files and remove the others, and the temporary files of
    /// saves killed over an hour ago. Returns the removed files.
    pub fn prune(&self, keep: usize) -> Result<Vec<PathBuf>, HistoryError> {
        let files = self.list()?;
        let excess = files.len().saturating_sub(keep);
        let mut removed: Vec<PathBuf> = files.into_iter().take(excess).collect();
        removed.extend(self.stale_temp_files(STALE_TEMP));
        for path in &removed {
            fs::remove_file(path).map_err(|e| HistoryError::Prune {
                path: path.clone(),
                message: e.to_string(),
            })?;
        }
        Ok(removed)
    }

    /// `save`'s temporary files last modified more than `age` ago.
    fn stale_temp_files(&self, age: std::time::Duration) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(&self.path) else {
            return Vec::new();
        };
        let mut stale: Vec<PathBuf> = entries
            .flatten()
            .filter(|entry| {
                entry.file_name().to_str().is_some_and(|n| {
                    TEMP_PREFIXES.iter().any(|p| n.starts_with(p)) && n.ends_with(TEMP_SUFFIX)
                })
            })
            .filter(|entry| {
                entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|modified| modified.elapsed().ok())
                    .is_some_and(|elapsed| elapsed > age)
            })
            .map(|entry| entry.path())
            .collect();
        stale.sort();
        stale
    }

    /// What `--history` does: compare `current` with the runs kept here, then save it and keep
    /// the newest `keep` snapshots. An incomplete run is compared but not saved unless `save_incomplete`
    /// (`--allow-partial`): kept, it would stand as the previous run of every database it
    /// missed, and the next run's table trends for those would start over. Saved, it says in
    /// its `missing` what it lacks, and its databases that were not read have no tables, so
    /// trends skip them.
    pub fn record(
        &self,
        current: &Snapshot,
        keep: usize,
        save_incomplete: bool,
    ) -> Result<Trends, HistoryError> {
        let history = self.load()?;
        let mut trends = trends(current, &history);
        if current.is_complete() || save_incomplete {
            self.save(current)?;
            self.prune(keep.max(1))?;
        } else {
            trends.notes.push(
                "this run is incomplete: it was compared with the history but not saved to it \
                 (--allow-partial saves it)"
                    .to_string(),
            );
        }
        Ok(trends)
    }
}

/// The collection time in a history file name, for a run file or an older whole snapshot.
fn collection_time_of(name: &str) -> Option<&str> {
    name.strip_prefix(RUN_PREFIX)
        .and_then(|rest| rest.strip_suffix(RUN_SUFFIX))
        .or_else(|| {
            name.strip_prefix(SNAPSHOT_PREFIX)?
                .strip_suffix(SNAPSHOT_SUFFIX)
        })
}

/// Just enough of a run file to tell what it is before parsing the rest.
#[derive(Deserialize)]
struct RunProbe {
    format: Option<String>,
    format_version: Option<u32>,
}

/// Read a run file written by [`HistoryDir::save`].
pub fn read_run(path: &Path) -> Result<Run, String> {
    let compressed = fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
    let text = zstd::decode_all(compressed.as_slice())
        .map_err(|e| format!("not a pgvac run file: not zstd-compressed ({e})"))?;
    drop(compressed);
    let probe: RunProbe =
        serde_json::from_slice(&text).map_err(|e| format!("not a pgvac run file: {e}"))?;
    if probe.format.as_deref() != Some(RUN_FORMAT) {
        return Err("not a pgvac run file".to_string());
    }
    if probe.format_version != Some(RUN_FORMAT_VERSION) {
        return Err(format!(
            "run file format {}, this pgvac reads format {RUN_FORMAT_VERSION}",
            probe
                .format_version
                .map_or("unknown".to_string(), |v| v.to_string())
        ));
    }
    let stored: ReadRun =
        serde_json::from_slice(&text).map_err(|e| format!("not a pgvac run file: {e}"))?;
    Ok(stored.run)
}

fn read_snapshot(path: &Path) -> Result<Snapshot, String> {
    super::snapshot_file::read(path).map_err(|e| e.to_string())
}

/// What a run file holds: the run, and what wrote it.
#[derive(Serialize)]
struct StoredRun<'r> {
    format: &'static str,
    format_version: u32,
    pgvac_version: &'static str,
    run: &'r Run,
}

impl StoredRun<'_> {
    fn new(run: &Run) -> StoredRun<'_> {
        StoredRun {
            format: RUN_FORMAT,
            format_version: RUN_FORMAT_VERSION,
            pgvac_version: env!("CARGO_PKG_VERSION"),
            run,
        }
    }
}

#[derive(Deserialize)]
struct ReadRun {
    run: Run,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::trends::tests::{close, snapshot, table, time};
    use crate::analysis::trends::trends;
    use crate::snapshot::*;

    #[test]
    fn save_list_load_and_prune() {
        let dir = tempfile::tempdir().unwrap();
        let history = HistoryDir::open(&dir.path().join("created/on/demand")).unwrap();
        let runs: Vec<Snapshot> = (0..5)
            .map(|i| {
                snapshot(
                    time(10 + i, 0),
                    1_000_000 + 1000 * i as i64,
                    100_000_000,
                    0,
                    0,
                )
            })
            .collect();
        // Saved out of order: the names still sort by collection time.
        for run in runs.iter().rev() {
            history.save(run).unwrap();
        }
        let files = history.list().unwrap();
        assert_eq!(files.len(), 5);
        assert!(
            files[0].ends_with("run-20250301T100000.000000Z.json.zst"),
            "{files:?}"
        );
        let loaded = history.load().unwrap();
        assert!(loaded.notes.is_empty(), "{:?}", loaded.notes);
        assert_eq!(
            loaded
                .runs
                .iter()
                .map(Run::collected_at)
                .collect::<Vec<_>>(),
            runs.iter()
                .map(|s| s.server.collected_at)
                .collect::<Vec<_>>()
        );
        let removed = history.prune(2).unwrap();
        assert_eq!(removed.len(), 3);
        let kept = history.load().unwrap();
        assert_eq!(
            kept.runs.iter().map(Run::collected_at).collect::<Vec<_>>(),
            vec![time(13, 0), time(14, 0)]
        );
        // No temporary files left behind.
        let entries: Vec<_> = fs::read_dir(history.path()).unwrap().flatten().collect();
        assert_eq!(entries.len(), 2);
    }

    #[test]
    fn prune_removes_temporary_files_of_killed_saves_only_when_stale() {
        let dir = tempfile::tempdir().unwrap();
        let history = HistoryDir::open(dir.path()).unwrap();
        history
            .save(&snapshot(time(10, 0), 1_000_000, 100_000_000, 0, 0))
            .unwrap();
        // A save killed two hours ago, and one that may still be running.
        let killed = dir.path().join(".snapshot-killed.tmp");
        let running = dir.path().join(".snapshot-running.tmp");
        let other = dir.path().join("notes.tmp");
        for path in [&killed, &running, &other] {
            fs::write(path, "{").unwrap();
        }
        let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        for path in [&killed, &other] {
            fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(two_hours_ago)
                .unwrap();
        }
        let removed = history.prune(5).unwrap();
        assert_eq!(removed, vec![killed.clone()]);
        assert!(!killed.exists());
        assert!(
            running.exists(),
            "a recent temporary file may be a save in progress"
        );
        assert!(other.exists(), "files pgvac did not write are left alone");
        assert_eq!(history.list().unwrap().len(), 1);
    }

    #[test]
    fn corrupt_and_foreign_files_are_skipped_with_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let history = HistoryDir::open(dir.path()).unwrap();
        let good = snapshot(time(10, 0), 1_000_000, 100_000_000, 0, 0);
        history.save(&good).unwrap();
        let truncated = serde_json::to_string(&good).unwrap();
        fs::write(
            dir.path().join("snapshot-20250301T103000.000000Z.json"),
            &truncated[..truncated.len() / 2],
        )
        .unwrap();
        fs::write(
            dir.path().join("snapshot-20250301T104000.000000Z.json"),
            [0xff, 0xfe, 0x00],
        )
        .unwrap();
        let mut future = serde_json::to_value(&good).unwrap();
        future["snapshot_version"] = 99.into();
        fs::write(
            dir.path().join("snapshot-20250301T105000.000000Z.json"),
            future.to_string(),
        )
        .unwrap();
        fs::write(dir.path().join("notes.txt"), "not a snapshot").unwrap();
        let loaded = history.load().unwrap();
        assert_eq!(loaded.runs.len(), 1);
        assert_eq!(loaded.notes.len(), 3, "{:?}", loaded.notes);
        assert!(
            loaded
                .notes
                .iter()
                .any(|n| n.contains("a version 99 snapshot"))
        );
        assert!(loaded.notes.iter().all(|n| !n.contains('\n')));
        // The trends still come from the good one, and carry the notes.
        let now = snapshot(time(11, 0), 1_010_000, 100_010_000, 0, 0);
        let trends = trends(&now, &loaded);
        assert!(close(trends.xid_consumption.unwrap().per_hour, 10_000.0));
        assert_eq!(
            trends
                .notes
                .iter()
                .filter(|n| n.starts_with("skipped"))
                .count(),
            3
        );
    }

    #[test]
    fn an_unusable_directory_is_a_one_line_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, "x").unwrap();
        let error = HistoryDir::open(&file.join("history"))
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("history directory "), "{error}");
        assert!(!error.contains('\n'));
        let error = HistoryDir::open(&file).unwrap_err().to_string();
        assert!(error.contains("not a directory"), "{error}");
    }

    #[test]
    fn record_compares_then_saves_and_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let history = HistoryDir::open(dir.path()).unwrap();
        let first = snapshot(time(10, 0), 1_000_000, 100_000_000, 0, 0);
        let second = snapshot(time(11, 0), 1_020_000, 100_020_000, 0, 0);
        let third = snapshot(time(12, 0), 1_030_000, 100_030_000, 0, 0);
        assert!(
            history
                .record(&first, 2, false)
                .unwrap()
                .xid_consumption
                .is_none()
        );
        let trends = history.record(&second, 2, false).unwrap();
        assert!(close(trends.xid_consumption.unwrap().per_hour, 20_000.0));
        let trends = history.record(&third, 2, false).unwrap();
        assert_eq!(trends.earlier_runs, 2);
        assert_eq!(history.list().unwrap().len(), 2);
        // Recording the same snapshot again compares it with the earlier one only.
        let again = history.record(&third, 2, false).unwrap();
        assert_eq!(again.previous_collected_at, Some(time(11, 0)));
    }

    #[test]
    fn an_incomplete_run_is_compared_but_saved_only_when_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let history = HistoryDir::open(dir.path()).unwrap();
        history
            .record(
                &snapshot(time(10, 0), 1_000_000, 100_000_000, 0, 0),
                5,
                false,
            )
            .unwrap();
        let mut partial = snapshot(time(11, 0), 1_020_000, 100_020_000, 0, 0);
        partial.missing = crate::snapshot::Missing::not_recorded();
        let trends = history.record(&partial, 5, false).unwrap();
        assert!(trends.xid_consumption.is_some(), "still compared");
        assert!(trends.notes.iter().any(|n| n.contains("not saved")));
        assert_eq!(history.list().unwrap().len(), 1, "not saved");
        history.record(&partial, 5, true).unwrap();
        assert_eq!(
            history.list().unwrap().len(),
            2,
            "saved with --allow-partial"
        );
        let saved = read_run(&history.list().unwrap()[1]).unwrap();
        assert!(!saved.is_complete(), "and it says it is incomplete");
    }

    /// A history with something for every rule of the comparison: a restart, a statistics
    /// reset, counters that went down, a new table, a database not visited, an incomplete run.
    fn eventful_history() -> Vec<Snapshot> {
        let mut runs = Vec::new();
        for hour in 0..8u32 {
            let mut run = snapshot(
                time(hour, 0),
                1_000_000 + 30_000 * i64::from(hour),
                100_000_000 + 30_000 * i64::from(hour),
                100 + 10 * i64::from(hour),
                i64::from(hour / 2),
            );
            let app = &mut run.databases[0];
            app.collected_at = Some(time(hour, 1));
            if hour >= 2 {
                let mut orders = table(16400, "orders", 5 * i64::from(hour), 1);
                orders.schema = "shop".to_string();
                app.tables.push(orders);
            }
            if hour == 3 {
                app.tables[0].stats.as_mut().unwrap().n_tup_ins = Some(5);
            }
            if hour >= 5 {
                app.stats_reset = Some(time(4, 30));
            }
            if hour == 6 {
                run.databases[0].visit = Visit::Incomplete("tables: lock timeout".to_string());
                run.missing = Missing::not_recorded();
            }
            if hour >= 7 {
                run.server.postmaster_start_time = time(6, 30);
            }
            runs.push(run);
        }
        runs
    }

    #[test]
    fn every_saved_run_reads_back_into_the_same_trends() {
        let runs = eventful_history();
        let dir = tempfile::tempdir().unwrap();
        let history = HistoryDir::open(dir.path()).unwrap();
        for (count, run) in runs.iter().enumerate() {
            // The trends of each run against the ones before it: from the snapshots in memory,
            // and from what the directory kept of them.
            let in_memory = trends(run, &History::from_snapshots(&runs[..count]));
            let loaded = history.load().unwrap();
            assert!(loaded.notes.is_empty(), "{:?}", loaded.notes);
            assert_eq!(trends(run, &loaded), in_memory, "run {count}");
            history.save(run).unwrap();
        }
        let last = trends(
            runs.last().unwrap(),
            &History::from_snapshots(&runs[..runs.len() - 1]),
        );
        assert!(
            !last.tables.is_empty() && !last.events.is_empty(),
            "{last:?}"
        );
        for run in history.list().unwrap() {
            let read = read_run(&run).unwrap();
            let original = runs
                .iter()
                .find(|s| s.server.collected_at == read.collected_at())
                .unwrap();
            assert_eq!(read.is_complete(), original.is_complete());
        }
    }

    #[test]
    fn whole_snapshots_of_an_older_pgvac_are_converted_with_a_note() {
        let runs = eventful_history();
        let dir = tempfile::tempdir().unwrap();
        for run in &runs[..7] {
            let name = format!(
                "snapshot-{}.json",
                run.server.collected_at.format("%Y%m%dT%H%M%S%.6fZ")
            );
            fs::write(
                dir.path().join(name),
                serde_json::to_vec_pretty(run).unwrap(),
            )
            .unwrap();
        }
        let history = HistoryDir::open(dir.path()).unwrap();
        let loaded = history.load().unwrap();
        assert_eq!(loaded.runs.len(), 7);
        assert_eq!(
            loaded.notes,
            vec![
                "converted 7 whole snapshots saved by an older pgvac to compact run files (what \
                 trends need, compressed)"
                    .to_string()
            ]
        );
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.len() == 7 && names.iter().all(|n| n.starts_with("run-")),
            "{names:?}"
        );
        let mut converted = trends(&runs[7], &loaded);
        converted.notes.clear();
        let mut original = trends(&runs[7], &History::from_snapshots(&runs[..7]));
        original.notes.clear();
        assert_eq!(converted, original);
        // Loaded again: nothing left to convert.
        assert!(history.load().unwrap().notes.is_empty());
    }

    #[test]
    fn a_run_file_holds_counters_not_the_snapshot() {
        let mut big = snapshot(time(10, 0), 1_000_000, 100_000_000, 0, 0);
        big.databases[0].tables = (0..10_000)
            .map(|i| {
                table(
                    20_000 + i,
                    &format!("tenant_table_{i:05}"),
                    i64::from(i % 7),
                    3,
                )
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let history = HistoryDir::open(dir.path()).unwrap();
        let path = history.save(&big).unwrap();
        let stored = fs::metadata(&path).unwrap().len();
        let whole = serde_json::to_vec(&big).unwrap().len() as u64;
        // What a user sees: a history directory a small fraction of the snapshots' size.
        assert!(
            stored * 20 < whole,
            "{stored} bytes stored for a {whole}-byte snapshot"
        );
        let read = read_run(&path).unwrap();
        assert_eq!(read.counted_tables(), 10_000);
    }

    #[test]
    fn a_run_file_of_another_format_is_skipped_with_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let history = HistoryDir::open(dir.path()).unwrap();
        let path = history
            .save(&snapshot(time(10, 0), 1_000_000, 100_000_000, 0, 0))
            .unwrap();
        let text = zstd::decode_all(fs::read(&path).unwrap().as_slice()).unwrap();
        let mut value: serde_json::Value = serde_json::from_slice(&text).unwrap();
        value["format_version"] = 99.into();
        let future = zstd::encode_all(value.to_string().as_bytes(), 3).unwrap();
        fs::write(
            dir.path().join("run-20250301T110000.000000Z.json.zst"),
            future,
        )
        .unwrap();
        fs::write(
            dir.path().join("run-20250301T120000.000000Z.json.zst"),
            b"{}",
        )
        .unwrap();
        let loaded = history.load().unwrap();
        assert_eq!(loaded.runs.len(), 1);
        assert_eq!(loaded.notes.len(), 2, "{:?}", loaded.notes);
        assert!(
            loaded.notes[0].contains("run file format 99"),
            "{:?}",
            loaded.notes
        );
        assert!(
            loaded.notes[1].contains("not zstd-compressed"),
            "{:?}",
            loaded.notes
        );
    }
}
