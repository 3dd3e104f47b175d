//! Test snapshots for the rules: a real freshly initialised cluster of each version (settings,
//! databases, the autovacuum launcher; catalog tables left out) from `tests/fixtures/base-NN.json`,
//! changed by small, readable builders.

use chrono::{DateTime, Duration, Utc};

use crate::snapshot::{
    Database, Persistence, PlatformKind, RelKind, Setting, Snapshot, Table, TableOptions,
    TableStats, Visit,
};

/// What a rule's registry test runs: snapshots that must fire it and snapshots that must not.
pub struct Examples {
    pub fires: Vec<(&'static str, Snapshot)>,
    pub quiet: Vec<(&'static str, Snapshot)>,
}

/// The snapshot of a fresh cluster of `major` (12-18), as `pgvac collect` read it.
pub fn base(major: i32) -> Snapshot {
    let json = match major {
        12 => include_str!("../../../tests/fixtures/base-12.json"),
        13 => include_str!("../../../tests/fixtures/base-13.json"),
        14 => include_str!("../../../tests/fixtures/base-14.json"),
        15 => include_str!("../../../tests/fixtures/base-15.json"),
        16 => include_str!("../../../tests/fixtures/base-16.json"),
        17 => include_str!("../../../tests/fixtures/base-17.json"),
        18 => include_str!("../../../tests/fixtures/base-18.json"),
        _ => panic!("no fixture for PostgreSQL {major}"),
    };
    serde_json::from_str(json).expect("fixture parses")
}

/// The database every fixture table goes into.
pub const DB: &str = "app";

/// A fresh cluster of `major` with an empty, visited database `app`.
pub struct Fx(pub Snapshot);

impl Fx {
    pub fn new(major: i32) -> Fx {
        let mut snapshot = base(major);
        let mut app = snapshot.databases[0].clone();
        app.name = DB.to_string();
        app.oid = 16384;
        app.visit = Visit::Visited;
        app.tables.clear();
        snapshot.databases.insert(0, app);
        Fx(snapshot)
    }

    /// When the snapshot was taken.
    pub fn now(&self) -> DateTime<Utc> {
        self.0.server.collected_at
    }

    /// Change a setting (added when the version's snapshot lacks it).
    pub fn set(mut self, name: &str, value: &str) -> Fx {
        match self.0.settings.iter_mut().find(|s| s.name == name) {
            Some(setting) => {
                setting.setting = value.to_string();
                setting.source = "configuration file".to_string();
            }
            None => self.0.settings.push(Setting {
                name: name.to_string(),
                setting: value.to_string(),
                unit: None,
                vartype: "string".to_string(),
                source: "configuration file".to_string(),
                context: "sighup".to_string(),
                boot_val: None,
                reset_val: None,
                pending_restart: false,
            }),
        }
        self
    }

    /// `ALTER DATABASE app SET name = value`, as `pg_db_role_setting` stores it.
    pub fn database_setting(self, name: &str, value: &str) -> Fx {
        self.role_setting(16384, 0, name, value)
    }

    /// A `pg_db_role_setting` entry (database oid 0: every database; role oid 0: every role,
    /// 10: the bootstrap superuser `postgres`).
    pub fn role_setting(mut self, database_oid: u32, role_oid: u32, name: &str, value: &str) -> Fx {
        let database = self
            .0
            .databases
            .iter()
            .find(|d| d.oid == database_oid)
            .map(|d| d.name.clone());
        let role = match role_oid {
            0 => None,
            10 => Some("postgres".to_string()),
            _ => Some(format!("role{role_oid}")),
        };
        self.0
            .role_settings
            .get_or_insert_with(Vec::new)
            .push(crate::snapshot::RoleSetting {
                database_oid,
                database,
                role_oid,
                role,
                name: name.to_string(),
                value: value.to_string(),
            });
        self
    }

    /// pgvac's own session has `value` for `name` from `source` (`user`: its role's setting).
    pub fn session_setting(mut self, name: &str, value: &str, source: &str) -> Fx {
        self = self.set(name, value);
        if let Some(setting) = self.0.settings.iter_mut().find(|s| s.name == name) {
            setting.source = source.to_string();
        }
        self
    }

    /// Make it an RDS instance.
    pub fn rds(mut self) -> Fx {
        self.0.server.platform.kind = PlatformKind::Rds;
        self.0.server.platform.evidence = vec!["rds.extensions".to_string()];
        self.set("rds.adaptive_autovacuum", "on")
    }

    /// Add a table to `app`; the database's ages follow its oldest table.
    pub fn table(mut self, table: T) -> Fx {
        let table = table.0;
        let app = self.app();
        if let Some(age) = table.xid_age {
            app.xid_age = app.xid_age.max(age);
        }
        if let Some(age) = table.mxid_age {
            app.mxid_age = app.mxid_age.max(age);
        }
        app.tables.push(table);
        self
    }

    pub fn app(&mut self) -> &mut Database {
        self.0
            .databases
            .iter_mut()
            .find(|d| d.name == DB)
            .expect("fixture has app")
    }

    /// Change anything else.
    pub fn with(mut self, change: impl FnOnce(&mut Snapshot)) -> Fx {
        change(&mut self.0);
        self
    }

    pub fn done(self) -> Snapshot {
        self.0
    }
}

/// Rows per 8 kB page in fixture tables (rows of ~100 bytes).
pub const ROWS_PER_PAGE: i64 = 80;

/// A fixture table: `T::new("orders").rows(2_000_000).dead(500_000)`.
pub struct T(pub Table);

impl T {
    /// A small, vacuumed, analyzed table with statistics and one index.
    pub fn new(name: &str) -> T {
        let mut hasher = 0u32;
        for b in name.bytes() {
            hasher = hasher.wrapping_mul(31).wrapping_add(u32::from(b));
        }
        T(Table {
            oid: 20000 + hasher % 10000,
            schema: "public".to_string(),
            name: name.to_string(),
            kind: RelKind::Table,
            persistence: Persistence::Permanent,
            reltuples: 0.0,
            relpages: 0,
            relallvisible: 0,
            relallfrozen: None,
            heap_bytes: 0,
            xid_age: Some(1_000),
            mxid_age: Some(1),
            reloptions: Vec::new(),
            options: Default::default(),
            toast: None,
            owner_oid: None,
            stats: Some(TableStats {
                n_tup_ins: Some(0),
                n_tup_upd: Some(0),
                n_tup_del: Some(0),
                n_live_tup: Some(0),
                n_dead_tup: Some(0),
                n_mod_since_analyze: Some(0),
                n_ins_since_vacuum: Some(0),
                vacuum_count: Some(0),
                autovacuum_count: Some(0),
                analyze_count: Some(0),
                autoanalyze_count: Some(0),
                ..TableStats::default()
            }),
            index_count: 1,
            index_bytes: 0,
        })
    }

    /// `rows` live rows, all inserted since the stats reset, all pages all-visible.
    pub fn rows(mut self, rows: i64) -> T {
        let pages = rows / ROWS_PER_PAGE + 1;
        self.0.reltuples = rows as f64;
        self.0.relpages = pages;
        self.0.relallvisible = pages;
        self.0.heap_bytes = pages * 8192;
        self.0.index_bytes = (pages / 4 + 1) * 8192;
        let stats = self.stats();
        stats.n_live_tup = Some(rows);
        stats.n_tup_ins = Some(rows);
        self
    }

    /// Heap size in bytes (pages follow; rows unchanged).
    pub fn heap_bytes(mut self, bytes: i64) -> T {
        self.0.relpages = bytes / 8192;
        self.0.relallvisible = self.0.relpages;
        self.0.heap_bytes = bytes;
        self
    }

    pub fn index_bytes(mut self, bytes: i64) -> T {
        self.0.index_bytes = bytes;
        self
    }

    pub fn all_visible_pages(mut self, pages: i64) -> T {
        self.0.relallvisible = pages;
        self
    }

    /// `n_dead_tup`.
    pub fn dead(mut self, rows: i64) -> T {
        self.stats().n_dead_tup = Some(rows);
        self
    }

    /// Updates since the stats reset (also counted as modifications since analyze).
    pub fn updated(mut self, rows: i64) -> T {
        self.stats().n_tup_upd = Some(rows);
        self
    }

    pub fn deleted(mut self, rows: i64) -> T {
        self.stats().n_tup_del = Some(rows);
        self
    }

    pub fn inserted(mut self, rows: i64) -> T {
        self.stats().n_tup_ins = Some(rows);
        self
    }

    /// `n_ins_since_vacuum` (13+ only: absent on 12 snapshots).
    pub fn inserted_since_vacuum(mut self, rows: i64) -> T {
        self.stats().n_ins_since_vacuum = Some(rows);
        self
    }

    pub fn modified_since_analyze(mut self, rows: i64) -> T {
        self.stats().n_mod_since_analyze = Some(rows);
        self
    }

    pub fn xid_age(mut self, age: i64) -> T {
        self.0.xid_age = Some(age);
        self
    }

    pub fn mxid_age(mut self, age: i64) -> T {
        self.0.mxid_age = Some(age);
        self
    }

    /// A reloption as the server stores it, e.g. `autovacuum_enabled=false`.
    pub fn option(mut self, option: &str) -> T {
        self.0.reloptions.push(option.to_string());
        self.0.options = TableOptions::parse(&self.0.reloptions).into();
        self
    }

    /// Last autovacuumed `hours` ago.
    pub fn autovacuumed_hours_ago(mut self, now: DateTime<Utc>, hours: i64) -> T {
        let stats = self.stats();
        stats.last_autovacuum = Some(now - Duration::hours(hours));
        stats.autovacuum_count = Some(stats.autovacuum_count.unwrap_or(0) + 1);
        self
    }

    pub fn schema(mut self, schema: &str) -> T {
        self.0.schema = schema.to_string();
        self
    }

    pub fn kind(mut self, kind: RelKind) -> T {
        self.0.kind = kind;
        self
    }

    pub fn persistence(mut self, persistence: Persistence) -> T {
        self.0.persistence = persistence;
        self
    }

    /// Make the snapshot look like a 12 server's: no `n_ins_since_vacuum`.
    pub fn without_insert_counter(mut self) -> T {
        self.stats().n_ins_since_vacuum = None;
        self
    }

    fn stats(&mut self) -> &mut TableStats {
        self.0.stats.get_or_insert_with(TableStats::default)
    }
}

/// Marks a snapshot whose LOG rule examples read a log: what follows is the log's text.
const LOG_TEXT: &str = "pgvac-example-log-text:";
/// ... or the name of a file of the corpus in `tests/fixtures/logs/`.
const LOG_FILE: &str = "pgvac-example-log-file:";

impl Fx {
    /// Rule examples read this log (a `stderr` log with the default prefix) with the snapshot.
    pub fn log_text(mut self, text: &str) -> Fx {
        self.0.server.system_identifier = Some(format!("{LOG_TEXT}{text}"));
        self
    }

    /// Rule examples read this file of the real-server corpus (`tests/fixtures/logs/`) with the
    /// snapshot.
    pub fn log_file(mut self, name: &str) -> Fx {
        self.0.server.system_identifier = Some(format!("{LOG_FILE}{name}"));
        self
    }
}

/// The `log_line_prefix` a corpus file was written with, from its name (`pg13-rds.log`).
pub fn corpus_prefix(name: &str) -> &'static str {
    if name.contains("-rds.") {
        crate::logs::prefix::RDS
    } else if name.contains("-custom.") {
        "%m [%p] %q%u@%d/%a "
    } else {
        crate::logs::prefix::DEFAULT
    }
}

/// A file of the corpus.
pub fn corpus_file(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/logs")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The log a rule example reads with `snapshot` (see [`Fx::log_text`], [`Fx::log_file`]),
/// summed up with the snapshot's `autovacuum_max_workers`.
pub fn example_log(snapshot: &Snapshot) -> Option<crate::logs::LogSummary> {
    use crate::logs::{Prefix, summarise_text};
    let marker = snapshot.server.system_identifier.as_deref()?;
    let (text, prefix) = if let Some(text) = marker.strip_prefix(LOG_TEXT) {
        (text.as_bytes().to_vec(), crate::logs::prefix::DEFAULT)
    } else {
        let name = marker.strip_prefix(LOG_FILE)?;
        (corpus_file(name), corpus_prefix(name))
    };
    let prefix = Prefix::new(prefix).expect("corpus prefix compiles");
    let workers = crate::analysis::autovacuum::GlobalSettings::from_snapshot(snapshot).max_workers;
    Some(summarise_text(&text, &prefix, None).finish(u32::try_from(workers).unwrap_or(3)))
}

/// Log entries for rule examples, as the server writes them (stderr, default prefix). `at` is a
/// time of day on 2026-12-01, `HH:MM:SS`.
pub mod entries {
    fn prefix(at: &str, pid: i32) -> String {
        format!("2026-12-01 {at}.000 UTC [{pid}] ")
    }

    /// A 15+ vacuum report.
    pub fn vacuum(at: &str, pid: i32, kind: &str, table: &str, scans: u32, dead: Dead) -> String {
        let p = prefix(at, pid);
        format!(
            "{p}LOG:  automatic {kind}of table \"{table}\": index scans: {scans}\n\
             \tpages: 0 removed, 1000 remain, 1000 scanned (100.00% of total)\n\
             \ttuples: {} removed, 50000 remain, {} are dead but not yet removable\n\
             \tremovable cutoff: {}, which was {} XIDs old when operation ended\n\
             \tindex scan needed: 500 pages from table (50.00% of total) had {} dead item \
             identifiers removed\n\
             \tavg read rate: 1.000 MB/s, avg write rate: 1.000 MB/s\n\
             \tbuffer usage: 100 hits, 10 misses, 10 dirtied\n\
             \tWAL usage: 10 records, 0 full page images, 1000 bytes\n\
             \tsystem usage: CPU: user: 0.10 s, system: 0.00 s, elapsed: {:.2} s\n",
            dead.removed, dead.left, dead.cutoff, dead.cutoff_age, dead.removed, dead.elapsed
        )
    }

    /// What a vacuum removed and left.
    #[derive(Clone, Copy)]
    pub struct Dead {
        pub removed: u64,
        pub left: u64,
        pub cutoff: u64,
        pub cutoff_age: u64,
        pub elapsed: f64,
    }

    /// A run that removed `removed` rows in `elapsed` seconds and left none.
    pub fn clean(removed: u64, elapsed: f64) -> Dead {
        Dead {
            removed,
            left: 0,
            cutoff: 1000,
            cutoff_age: 0,
            elapsed,
        }
    }

    /// A cancellation, with the lock wait `log_lock_waits` logs for it when `statement` is given.
    pub fn cancel(at: &str, pid: i32, table: &str, statement: Option<&str>) -> String {
        let mut text = String::new();
        if let Some(statement) = statement {
            let w = prefix(at, pid + 1);
            text.push_str(&format!(
                "{w}LOG:  process {} still waiting for AccessExclusiveLock on relation 16389 of \
                 database 16384 after 1000.112 ms\n\
                 {w}DETAIL:  Process holding the lock: {pid}. Wait queue: {}.\n\
                 {w}STATEMENT:  {statement}\n",
                pid + 1,
                pid + 1
            ));
        }
        let p = prefix(at, pid);
        text.push_str(&format!(
            "{p}ERROR:  canceling autovacuum task\n\
             {p}CONTEXT:  while scanning block 4 of relation \"public.x\"\n\
             \tautomatic vacuum of table \"{table}\"\n"
        ));
        text
    }

    /// A lock skip.
    pub fn skip(at: &str, pid: i32, relation: &str) -> String {
        format!(
            "{}LOG:  skipping vacuum of \"{relation}\" --- lock not available\n",
            prefix(at, pid)
        )
    }

    /// Any other entry (a warning's message), with the prefix.
    pub fn warning(at: &str, pid: i32, message: &str) -> String {
        format!("{}WARNING:  {message}\n", prefix(at, pid))
    }

    /// An error entry.
    pub fn error(at: &str, pid: i32, message: &str) -> String {
        format!("{}ERROR:  {message}\n", prefix(at, pid))
    }
}
