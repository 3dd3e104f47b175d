//! What one log entry says about autovacuum, read from its message text.
//!
//! The texts are those of PostgreSQL 12-18 in English (`lc_messages` C or en): `heap_vacuum_rel`
//! in `vacuumlazy.c` (the vacuum report), `do_analyze_rel` in `analyze.c`, `autovacuum.c` (orphan
//! temp tables, workers that took too long to start), `vacuum.c` (lock skips, "far in the past"),
//! `postgres.c` (cancellations), `proc.c` (lock waits, with `log_lock_waits`), `varsup.c` and
//! `multixact.c` (wraparound). The version is never a flag: each line is read by its text, so a
//! log that spans an upgrade reads right. A line of a vacuum report that pgvac does not know, or a
//! known line whose numbers do not parse, becomes a [`Record::problems`] entry and leaves its
//! fields empty; the rest of the entry and of the file is read on.

use serde::Serialize;

use super::time::LogTime;

/// The severity of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Notice,
    Warning,
    Error,
    Log,
    Fatal,
    Panic,
}

impl Level {
    pub fn parse(text: &str) -> Option<Level> {
        Some(match text {
            "DEBUG" | "DEBUG1" | "DEBUG2" | "DEBUG3" | "DEBUG4" | "DEBUG5" => Level::Debug,
            "INFO" => Level::Info,
            "NOTICE" => Level::Notice,
            "WARNING" => Level::Warning,
            "ERROR" => Level::Error,
            "LOG" => Level::Log,
            "FATAL" => Level::Fatal,
            "PANIC" => Level::Panic,
            _ => return None,
        })
    }
}

/// One entry of any log format: the message and the lines that belong to it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    /// Line (stderr, jsonlog) or record start line (csvlog) in its file, from 1.
    pub line: u64,
    pub time: Option<LogTime>,
    pub pid: Option<i32>,
    /// The session's database (empty for autovacuum workers, which have no client session).
    pub database: Option<String>,
    pub backend_type: Option<String>,
    pub level: Option<Level>,
    /// The message, lines joined with `\n`.
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    pub context: Option<String>,
    pub statement: Option<String>,
}

/// `database.schema.table` as a vacuum or analyze message names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
pub struct TableName {
    pub database: String,
    pub schema: String,
    pub name: String,
}

impl TableName {
    /// Split `db.schema.table`. The server writes the three names unquoted, so a dot inside one
    /// is ambiguous: the database ends at the first dot and the table starts after the last.
    pub fn parse(text: &str) -> Option<TableName> {
        let (database, rest) = text.split_once('.')?;
        let (schema, name) = rest.rsplit_once('.')?;
        if database.is_empty() || schema.is_empty() || name.is_empty() {
            return None;
        }
        Some(TableName {
            database: database.to_string(),
            schema: schema.to_string(),
            name: name.to_string(),
        })
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.database, self.schema, self.name)
    }
}

/// Vacuum or analyze.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Vacuum,
    Analyze,
}

/// How a vacuum treated the table's indexes (14+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IndexScan {
    NotNeeded,
    Needed,
    Bypassed,
    BypassedByFailsafe,
}

/// One index of a vacuum report (14+).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct IndexPages {
    pub name: String,
    pub pages: u64,
    pub newly_deleted: u64,
    pub currently_deleted: u64,
    pub reusable: u64,
}

/// The numbers every autovacuum report ends with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Usage {
    /// `delay time` (18, with `track_cost_delay_timing`), ms.
    pub delay_ms: Option<f64>,
    /// `I/O timings` (14+, with `track_io_timing`), ms.
    pub io_read_ms: Option<f64>,
    pub io_write_ms: Option<f64>,
    pub read_rate_mbs: Option<f64>,
    pub write_rate_mbs: Option<f64>,
    pub buffer_hits: Option<u64>,
    /// `misses` (12-17), `reads` (18).
    pub buffer_reads: Option<u64>,
    pub buffer_dirtied: Option<u64>,
    /// `WAL usage` (13+ for vacuum, 18 for analyze).
    pub wal_records: Option<u64>,
    pub wal_fpi: Option<u64>,
    pub wal_bytes: Option<u64>,
    /// `buffers full` (18).
    pub wal_buffers_full: Option<u64>,
    pub cpu_user_s: Option<f64>,
    pub cpu_system_s: Option<f64>,
    /// The run's duration, from `system usage` (10 ms resolution).
    pub elapsed_s: Option<f64>,
}

/// An `automatic vacuum of table` report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Vacuum {
    pub table: Option<TableName>,
    pub aggressive: bool,
    /// `to prevent wraparound`: an anti-wraparound (forced) vacuum.
    pub wraparound: bool,
    pub index_scans: Option<u32>,
    pub pages_removed: Option<u64>,
    pub pages_remain: Option<u64>,
    /// 15+.
    pub pages_scanned: Option<u64>,
    /// 18.
    pub pages_eagerly_scanned: Option<u64>,
    /// 12-14.
    pub pages_skipped_pins: Option<u64>,
    /// 12-14.
    pub pages_skipped_frozen: Option<u64>,
    pub tuples_removed: Option<u64>,
    pub tuples_remain: Option<u64>,
    /// Dead rows the run could not remove yet: the horizon held them.
    pub tuples_not_removable: Option<u64>,
    /// 15+: dead rows left because a page's cleanup lock was busy.
    pub tuples_missed: Option<u64>,
    pub tuples_missed_pages: Option<u64>,
    /// 12-14: `oldest xmin`.
    pub oldest_xmin: Option<u64>,
    /// 15+: `removable cutoff` and how many XIDs old it was.
    pub removable_cutoff: Option<u64>,
    pub removable_cutoff_age: Option<i64>,
    pub new_relfrozenxid: Option<u64>,
    pub relfrozenxid_advance: Option<i64>,
    pub new_relminmxid: Option<u64>,
    pub relminmxid_advance: Option<i64>,
    /// 16+.
    pub frozen_pages: Option<u64>,
    pub tuples_frozen: Option<u64>,
    /// 18: `visibility map`.
    pub vm_all_visible: Option<u64>,
    pub vm_all_frozen: Option<u64>,
    pub vm_were_all_visible: Option<u64>,
    /// 14+.
    pub index_scan: Option<IndexScan>,
    pub dead_item_pages: Option<u64>,
    pub dead_items: Option<u64>,
    pub indexes: Vec<IndexPages>,
    #[serde(flatten)]
    pub usage: Usage,
}

impl Vacuum {
    /// The horizon the run used: `removable cutoff` (15+) or `oldest xmin` (12-14).
    pub fn cutoff(&self) -> Option<u64> {
        self.removable_cutoff.or(self.oldest_xmin)
    }
}

/// An `automatic analyze of table` report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Analyze {
    pub table: Option<TableName>,
    #[serde(flatten)]
    pub usage: Usage,
}

/// Why a table was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    LockNotAvailable,
    RelationGone,
}

/// The ID whose wraparound a message warns of.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum IdKind {
    Xid,
    Multixact,
    MultixactMember,
}

/// What an autovacuum-related entry says.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Vacuum(Box<Vacuum>),
    Analyze(Box<Analyze>),
    /// `skipping vacuum of "t" --- lock not available`: only the relation's name is logged.
    Skipped {
        action: Action,
        relation: String,
        reason: SkipReason,
    },
    /// `canceling autovacuum task`, with the table from its context.
    Cancelled {
        action: Action,
        table: Option<TableName>,
        /// The inner context (13+): `while scanning block 4 of relation "public.t"`.
        phase: Option<String>,
    },
    /// Any other error of an autovacuum task.
    Failed {
        action: Action,
        table: Option<TableName>,
        message: String,
    },
    /// `bypassing nonessential maintenance of table ... as a failsafe` (14+).
    Failsafe {
        table: Option<TableName>,
        index_scans: Option<u32>,
    },
    /// `worker took too long to start; canceled`.
    WorkerStartTimeout,
    OrphanTempTable {
        table: Option<TableName>,
    },
    /// `must be vacuumed within` (warning) or `is not accepting commands` (stopped).
    Wraparound {
        id: IdKind,
        stopped: bool,
        /// The database, by name or as `OID n`.
        database: Option<String>,
        remaining: Option<u64>,
    },
    /// `oldest xmin is far in the past` (12-15), `cutoff for removing and freezing tuples is far
    /// in the past` (16+), and the multixact forms.
    HorizonFarInPast {
        multixact: bool,
    },
    /// `process N still waiting for MODE on OBJECT after X ms` (`log_lock_waits`).
    LockWait {
        waiter: i32,
        mode: String,
        object: String,
        waited_ms: Option<f64>,
        /// From the detail: `Process holding the lock: 123.` / `Processes holding the lock: ...`.
        holders: Vec<i32>,
        statement: Option<String>,
    },
    /// `autovacuum: processing database "x"` (DEBUG1).
    WorkerDatabase {
        database: String,
    },
}

/// An interpreted entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub line: u64,
    pub time: Option<LogTime>,
    pub pid: Option<i32>,
    pub event: Event,
    /// Lines or fields of the entry pgvac could not read, each with what it was.
    pub problems: Vec<String>,
}

/// Whether a message may be about autovacuum, from its first bytes: lets the stderr reader skip
/// building entries for the rest.
pub fn may_interest(level: Option<Level>, message: &str) -> bool {
    match level {
        Some(Level::Error | Level::Warning | Level::Fatal | Level::Panic) => true,
        Some(Level::Log | Level::Debug) => {
            message.starts_with("automatic ")
                || message.starts_with("skipping ")
                || message.starts_with("autovacuum")
                || message.starts_with("process ")
        }
        _ => false,
    }
}

/// Read what an entry says, or `None` when it is not about autovacuum.
pub fn interpret(entry: &Entry) -> Option<Record> {
    let mut problems = Vec::new();
    let event = read_event(entry, &mut problems)?;
    Some(Record {
        line: entry.line,
        time: entry.time,
        pid: entry.pid,
        event,
        problems,
    })
}

fn quoted_after<'m>(text: &'m str, start: &str) -> Option<&'m str> {
    let rest = text.strip_prefix(start)?.strip_prefix('"')?;
    Some(rest)
}

fn read_event(entry: &Entry, problems: &mut Vec<String>) -> Option<Event> {
    let message = entry.message.as_str();
    let first = message.lines().next().unwrap_or("");
    match entry.level? {
        Level::Log => {
            if let Some(event) = read_vacuum(message, problems) {
                return Some(event);
            }
            if let Some(event) = read_analyze(message, problems) {
                return Some(event);
            }
            if let Some(event) = read_skip(first) {
                return Some(event);
            }
            if let Some(rest) = quoted_after(first, "autovacuum: dropping orphan temp table ") {
                return Some(Event::OrphanTempTable {
                    table: rest.strip_suffix('"').and_then(TableName::parse),
                });
            }
            if let Some(event) = read_lock_wait(entry, first) {
                return Some(event);
            }
            None
        }
        Level::Debug => {
            let rest = quoted_after(first, "autovacuum: processing database ")?;
            Some(Event::WorkerDatabase {
                database: rest.strip_suffix('"')?.to_string(),
            })
        }
        Level::Warning => read_warning(first),
        Level::Error | Level::Fatal | Level::Panic => {
            if let Some(event) = read_stopped(first) {
                return Some(event);
            }
            let (action, table, phase) = task_context(entry.context.as_deref()?)?;
            if first == "canceling autovacuum task" {
                Some(Event::Cancelled {
                    action,
                    table,
                    phase,
                })
            } else {
                Some(Event::Failed {
                    action,
                    table,
                    message: first.to_string(),
                })
            }
        }
        Level::Info | Level::Notice => None,
    }
}

/// The autovacuum task a context names: its last line is `automatic vacuum of table "d.s.t"`
/// or `automatic analyze of table "d.s.t"`; lines before it say where it was.
fn task_context(context: &str) -> Option<(Action, Option<TableName>, Option<String>)> {
    let mut lines: Vec<&str> = context
        .lines()
        .map(|l| l.trim_start_matches('\t'))
        .collect();
    let last = lines.pop()?;
    let (action, rest) = if let Some(rest) = quoted_after(last, "automatic vacuum of table ") {
        (Action::Vacuum, rest)
    } else {
        (
            Action::Analyze,
            quoted_after(last, "automatic analyze of table ")?,
        )
    };
    let table = rest.strip_suffix('"').and_then(TableName::parse);
    let phase = (!lines.is_empty()).then(|| lines.join("; "));
    Some((action, table, phase))
}

fn read_skip(first: &str) -> Option<Event> {
    let (action, rest) = if let Some(rest) = quoted_after(first, "skipping vacuum of ") {
        (Action::Vacuum, rest)
    } else {
        (
            Action::Analyze,
            quoted_after(first, "skipping analyze of ")?,
        )
    };
    let (relation, reason) = if let Some(name) = rest.strip_suffix("\" --- lock not available") {
        (name, SkipReason::LockNotAvailable)
    } else {
        (
            rest.strip_suffix("\" --- relation no longer exists")?,
            SkipReason::RelationGone,
        )
    };
    Some(Event::Skipped {
        action,
        relation: relation.to_string(),
        reason,
    })
}

fn read_warning(first: &str) -> Option<Event> {
    if first == "worker took too long to start; canceled"
        || first == "autovacuum worker took too long to start; canceled"
    {
        return Some(Event::WorkerStartTimeout);
    }
    if let Some(rest) = quoted_after(first, "bypassing nonessential maintenance of table ") {
        let (name, scans) = rest.split_once("\" as a failsafe after ")?;
        return Some(Event::Failsafe {
            table: TableName::parse(name),
            index_scans: scans
                .strip_suffix(" index scans")
                .and_then(|n| n.parse().ok()),
        });
    }
    match first {
        "oldest xmin is far in the past"
        | "cutoff for removing and freezing tuples is far in the past" => {
            return Some(Event::HorizonFarInPast { multixact: false });
        }
        "oldest multixact is far in the past"
        | "cutoff for freezing multixacts is far in the past" => {
            return Some(Event::HorizonFarInPast { multixact: true });
        }
        _ => {}
    }
    // `database "x" must be vacuumed within N transactions`
    // `database "x" must be vacuumed before N more MultiXactId(s) is/are used`
    // `database with OID n must be vacuumed before N more multixact member(s) is/are used`
    let rest = first.strip_prefix("database ")?;
    let (database, rest) = database_ref(rest)?;
    if let Some(count) = rest.strip_prefix(" must be vacuumed within ") {
        let remaining = count
            .strip_suffix(" transactions")
            .or(count.strip_suffix(" transaction"));
        return Some(Event::Wraparound {
            id: IdKind::Xid,
            stopped: false,
            database: Some(database),
            remaining: remaining.and_then(|n| n.parse().ok()),
        });
    }
    let count = rest.strip_prefix(" must be vacuumed before ")?;
    let (number, what) = count.split_once(" more ")?;
    let id = if what.starts_with("MultiXactId") {
        IdKind::Multixact
    } else if what.starts_with("multixact member") {
        IdKind::MultixactMember
    } else {
        return None;
    };
    Some(Event::Wraparound {
        id,
        stopped: false,
        database: Some(database),
        remaining: number.parse().ok(),
    })
}

/// `"name"` or `with OID n` at the start of `text`, and what follows.
fn database_ref(text: &str) -> Option<(String, &str)> {
    if let Some(rest) = text.strip_prefix('"') {
        let end = rest.find('"')?;
        return Some((rest[..end].to_string(), &rest[end + 1..]));
    }
    let rest = text.strip_prefix("with OID ")?;
    let end = rest.find(' ').unwrap_or(rest.len());
    Some((format!("OID {}", &rest[..end]), &rest[end..]))
}

/// The stop messages: `database is not accepting commands [that assign new transaction IDs] to
/// avoid wraparound data loss in database "x"` (17 added the bracketed words), the multixact
/// form (`that generate new MultiXactIds`, 17: `that assign new MultiXactIds`), and
/// `multixact "members" limit exceeded`.
fn read_stopped(first: &str) -> Option<Event> {
    if first == "multixact \"members\" limit exceeded" {
        return Some(Event::Wraparound {
            id: IdKind::MultixactMember,
            stopped: true,
            database: None,
            remaining: Some(0),
        });
    }
    let rest = first.strip_prefix("database is not accepting commands ")?;
    let (words, database) = rest.split_once("to avoid wraparound data loss in database ")?;
    let id = if words.contains("MultiXactIds") {
        IdKind::Multixact
    } else {
        IdKind::Xid
    };
    Some(Event::Wraparound {
        id,
        stopped: true,
        database: database_ref(database).map(|(name, _)| name),
        remaining: Some(0),
    })
}

fn read_lock_wait(entry: &Entry, first: &str) -> Option<Event> {
    let rest = first.strip_prefix("process ")?;
    let (waiter, rest) = rest.split_once(" still waiting for ")?;
    let waiter = waiter.parse().ok()?;
    let (mode, rest) = rest.split_once(" on ")?;
    let (object, waited) = rest.rsplit_once(" after ")?;
    let holders = entry
        .detail
        .as_deref()
        .and_then(|detail| {
            let detail = detail.lines().next()?;
            let rest = detail
                .strip_prefix("Process holding the lock: ")
                .or_else(|| detail.strip_prefix("Processes holding the lock: "))?;
            let list = rest.split(". Wait queue:").next()?;
            Some(
                list.trim_end_matches('.')
                    .split(", ")
                    .filter_map(|p| p.trim().parse().ok())
                    .collect(),
            )
        })
        .unwrap_or_default();
    Some(Event::LockWait {
        waiter,
        mode: mode.to_string(),
        object: object.to_string(),
        waited_ms: waited.strip_suffix(" ms").and_then(|n| n.parse().ok()),
        holders,
        statement: entry.statement.clone(),
    })
}

/// A cursor over one line of a report.
struct Scan<'l> {
    rest: &'l str,
    ok: bool,
}

impl<'l> Scan<'l> {
    fn new(text: &'l str) -> Scan<'l> {
        Scan {
            rest: text,
            ok: true,
        }
    }

    fn lit(&mut self, literal: &str) -> &mut Self {
        match self.rest.strip_prefix(literal) {
            Some(rest) if self.ok => self.rest = rest,
            _ => self.ok = false,
        }
        self
    }

    /// Whether `literal` comes next; consumes it when it does.
    fn accept(&mut self, literal: &str) -> bool {
        if !self.ok {
            return false;
        }
        match self.rest.strip_prefix(literal) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn token(&mut self, allowed: impl Fn(u8) -> bool) -> Option<&'l str> {
        if !self.ok {
            return None;
        }
        let end = self
            .rest
            .bytes()
            .position(|b| !allowed(b))
            .unwrap_or(self.rest.len());
        if end == 0 {
            self.ok = false;
            return None;
        }
        let (token, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(token)
    }

    fn u64(&mut self) -> Option<u64> {
        let value = self.token(|b| b.is_ascii_digit())?.parse().ok();
        if value.is_none() {
            self.ok = false;
        }
        value
    }

    fn i64(&mut self) -> Option<i64> {
        let value = self
            .token(|b| b.is_ascii_digit() || b == b'-')?
            .parse()
            .ok();
        if value.is_none() {
            self.ok = false;
        }
        value
    }

    fn f64(&mut self) -> Option<f64> {
        let value = self
            .token(|b| b.is_ascii_digit() || b == b'.' || b == b'-')?
            .parse()
            .ok();
        if value.is_none() {
            self.ok = false;
        }
        value
    }

    /// Everything was read and matched.
    fn done(&self) -> bool {
        self.ok && self.rest.is_empty()
    }
}

fn header_table(rest: &str, end: &str) -> Option<(Option<TableName>, String)> {
    let rest = rest.strip_prefix('"')?;
    let (name, tail) = rest.rsplit_once(end)?;
    Some((TableName::parse(name), tail.to_string()))
}

fn read_vacuum(message: &str, problems: &mut Vec<String>) -> Option<Event> {
    let mut lines = message.lines();
    let first = lines.next()?;
    let rest = first.strip_prefix("automatic ")?;
    let (aggressive, rest) = match rest.strip_prefix("aggressive ") {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let rest = rest.strip_prefix("vacuum ")?;
    let (wraparound, rest) = match rest.strip_prefix("to prevent wraparound ") {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let rest = rest.strip_prefix("of table ")?;
    let (table, scans) = header_table(rest, "\": index scans: ")?;
    let mut vacuum = Vacuum {
        table,
        aggressive,
        wraparound,
        index_scans: scans.parse().ok(),
        ..Vacuum::default()
    };
    if vacuum.index_scans.is_none() {
        problems.push(format!("unreadable index scans in: {first}"));
    }
    if vacuum.table.is_none() {
        problems.push(format!("unreadable table name in: {first}"));
    }
    for line in lines {
        let line = line.trim_start_matches('\t');
        if !vacuum_line(&mut vacuum, line) && !usage_line(&mut vacuum.usage, line) {
            problems.push(format!("unrecognised line in a vacuum report: {line}"));
        }
    }
    Some(Event::Vacuum(Box::new(vacuum)))
}

/// One line of the vacuum-only part of a report; false when it is not one or does not parse.
fn vacuum_line(v: &mut Vacuum, line: &str) -> bool {
    if let Some(rest) = line.strip_prefix("pages: ") {
        let mut s = Scan::new(rest);
        let removed = s.u64();
        s.lit(" removed, ");
        let remain = s.u64();
        s.lit(" remain, ");
        let number = s.u64();
        if s.accept(" skipped due to pins, ") {
            // 12-14
            let frozen = s.u64();
            s.lit(" skipped frozen");
            if s.done() {
                (v.pages_skipped_pins, v.pages_skipped_frozen) = (number, frozen);
            }
        } else {
            s.lit(" scanned (");
            s.f64();
            s.lit("% of total)");
            if s.accept(", ") {
                v.pages_eagerly_scanned = s.u64();
                s.lit(" eagerly scanned");
            }
            if s.done() {
                v.pages_scanned = number;
            }
        }
        if !s.done() {
            v.pages_eagerly_scanned = None;
            return false;
        }
        (v.pages_removed, v.pages_remain) = (removed, remain);
        return true;
    }
    if let Some(rest) = line.strip_prefix("tuples missed: ") {
        let mut s = Scan::new(rest);
        let missed = s.u64();
        s.lit(" dead from ");
        let pages = s.u64();
        s.lit(" pages not removed due to cleanup lock contention");
        if s.done() {
            (v.tuples_missed, v.tuples_missed_pages) = (missed, pages);
        }
        return s.done();
    }
    if let Some(rest) = line.strip_prefix("tuples: ") {
        let mut s = Scan::new(rest);
        let removed = s.u64();
        s.lit(" removed, ");
        let remain = s.u64();
        s.lit(" remain, ");
        let dead = s.u64();
        s.lit(" are dead but not yet removable");
        let xmin = if s.accept(", oldest xmin: ") {
            s.u64()
        } else {
            None
        };
        if s.done() {
            (v.tuples_removed, v.tuples_remain, v.tuples_not_removable) = (removed, remain, dead);
            v.oldest_xmin = xmin;
        }
        return s.done();
    }
    if let Some(rest) = line.strip_prefix("removable cutoff: ") {
        let mut s = Scan::new(rest);
        let cutoff = s.u64();
        s.lit(", which was ");
        let age = s.i64();
        s.lit(" XIDs old when operation ended");
        if s.done() {
            (v.removable_cutoff, v.removable_cutoff_age) = (cutoff, age);
        }
        return s.done();
    }
    if let Some(rest) = line.strip_prefix("new relfrozenxid: ") {
        let mut s = Scan::new(rest);
        let xid = s.u64();
        s.lit(", which is ");
        let ahead = s.i64();
        s.lit(" XIDs ahead of previous value");
        if s.done() {
            (v.new_relfrozenxid, v.relfrozenxid_advance) = (xid, ahead);
        }
        return s.done();
    }
    if let Some(rest) = line.strip_prefix("new relminmxid: ") {
        let mut s = Scan::new(rest);
        let mxid = s.u64();
        s.lit(", which is ");
        let ahead = s.i64();
        s.lit(" MXIDs ahead of previous value");
        if s.done() {
            (v.new_relminmxid, v.relminmxid_advance) = (mxid, ahead);
        }
        return s.done();
    }
    if let Some(rest) = line.strip_prefix("frozen: ") {
        let mut s = Scan::new(rest);
        let pages = s.u64();
        s.lit(" pages from table (");
        s.f64();
        s.lit("% of total) had ");
        let tuples = s.u64();
        s.lit(" tuples frozen");
        if s.done() {
            (v.frozen_pages, v.tuples_frozen) = (pages, tuples);
        }
        return s.done();
    }
    if let Some(rest) = line.strip_prefix("visibility map: ") {
        let mut s = Scan::new(rest);
        let visible = s.u64();
        s.lit(" pages set all-visible, ");
        let frozen = s.u64();
        s.lit(" pages set all-frozen (");
        let were = s.u64();
        s.lit(" were all-visible)");
        if s.done() {
            (v.vm_all_visible, v.vm_all_frozen, v.vm_were_all_visible) = (visible, frozen, were);
        }
        return s.done();
    }
    if let Some(rest) = line.strip_prefix("index scan ") {
        let mut s = Scan::new(rest);
        let kind = if s.accept("not needed: ") {
            IndexScan::NotNeeded
        } else if s.accept("needed: ") {
            IndexScan::Needed
        } else if s.accept("bypassed by failsafe: ") {
            IndexScan::BypassedByFailsafe
        } else if s.accept("bypassed: ") {
            IndexScan::Bypassed
        } else {
            return false;
        };
        let pages = s.u64();
        s.lit(" pages from table (");
        s.f64();
        let items = if s.accept("% of total) had ") {
            let n = s.u64();
            s.lit(" dead item identifiers removed");
            n
        } else {
            s.lit("% of total) have ");
            let n = s.u64();
            s.lit(" dead item identifiers");
            n
        };
        if s.done() {
            v.index_scan = Some(kind);
            (v.dead_item_pages, v.dead_items) = (pages, items);
        }
        return s.done();
    }
    if let Some(rest) = line.strip_prefix("index \"") {
        let Some((name, numbers)) = rest.rsplit_once("\": pages: ") else {
            return false;
        };
        let mut s = Scan::new(numbers);
        let pages = s.u64();
        s.lit(" in total, ");
        let newly = s.u64();
        s.lit(" newly deleted, ");
        let current = s.u64();
        s.lit(" currently deleted, ");
        let reusable = s.u64();
        s.lit(" reusable");
        if let (true, Some(pages), Some(newly), Some(current), Some(reusable)) =
            (s.done(), pages, newly, current, reusable)
        {
            v.indexes.push(IndexPages {
                name: name.to_string(),
                pages,
                newly_deleted: newly,
                currently_deleted: current,
                reusable,
            });
            return true;
        }
        return false;
    }
    false
}

/// One of the lines vacuum and analyze reports share; false when it is not one or does not
/// parse.
fn usage_line(u: &mut Usage, line: &str) -> bool {
    if let Some(rest) = line.strip_prefix("delay time: ") {
        let mut s = Scan::new(rest);
        let ms = s.f64();
        s.lit(" ms");
        if s.done() {
            u.delay_ms = ms;
        }
        return s.done();
    }
    if let Some(rest) = line
        .strip_prefix("I/O timings: ")
        .or_else(|| line.strip_prefix("I/O Timings: "))
    {
        let mut s = Scan::new(rest);
        s.lit("read: ");
        let read = s.f64();
        s.lit(" ms, write: ");
        let write = s.f64();
        s.lit(" ms");
        if s.done() {
            (u.io_read_ms, u.io_write_ms) = (read, write);
        }
        return s.done();
    }
    if let Some(rest) = line.strip_prefix("avg read rate: ") {
        let mut s = Scan::new(rest);
        let read = s.f64();
        s.lit(" MB/s, avg write rate: ");
        let write = s.f64();
        s.lit(" MB/s");
        if s.done() {
            (u.read_rate_mbs, u.write_rate_mbs) = (read, write);
        }
        return s.done();
    }
    if let Some(rest) = line.strip_prefix("buffer usage: ") {
        let mut s = Scan::new(rest);
        let hits = s.u64();
        s.lit(" hits, ");
        let reads = s.u64();
        if !s.accept(" misses, ") {
            s.lit(" reads, ");
        }
        let dirtied = s.u64();
        s.lit(" dirtied");
        if s.done() {
            (u.buffer_hits, u.buffer_reads, u.buffer_dirtied) = (hits, reads, dirtied);
        }
        return s.done();
    }
    if let Some(rest) = line.strip_prefix("WAL usage: ") {
        let mut s = Scan::new(rest);
        let records = s.u64();
        s.lit(" records, ");
        let fpi = s.u64();
        s.lit(" full page images, ");
        let bytes = s.u64();
        s.lit(" bytes");
        let full = if s.accept(", ") {
            let n = s.u64();
            s.lit(" buffers full");
            n
        } else {
            None
        };
        if s.done() {
            (u.wal_records, u.wal_fpi, u.wal_bytes) = (records, fpi, bytes);
            u.wal_buffers_full = full;
        }
        return s.done();
    }
    if let Some(rest) = line.strip_prefix("system usage: ") {
        return system_usage(u, rest);
    }
    false
}

/// `CPU: user: 0.00 s, system: 0.00 s, elapsed: 0.00 s`.
fn system_usage(u: &mut Usage, text: &str) -> bool {
    let mut s = Scan::new(text);
    s.lit("CPU: user: ");
    let user = s.f64();
    s.lit(" s, system: ");
    let system = s.f64();
    s.lit(" s, elapsed: ");
    let elapsed = s.f64();
    s.lit(" s");
    if s.done() {
        (u.cpu_user_s, u.cpu_system_s, u.elapsed_s) = (user, system, elapsed);
    }
    s.done()
}

fn read_analyze(message: &str, problems: &mut Vec<String>) -> Option<Event> {
    let mut lines = message.lines();
    let first = lines.next()?;
    let rest = first.strip_prefix("automatic analyze of table ")?;
    let mut analyze = Analyze::default();
    // 12-13: one line, `automatic analyze of table "d.s.t" system usage: CPU: ...`.
    if let Some((table, usage)) = header_table(rest, "\" system usage: ") {
        analyze.table = table;
        if !system_usage(&mut analyze.usage, &usage) {
            problems.push(format!("unreadable system usage in: {first}"));
        }
    } else {
        let name = rest.strip_prefix('"').and_then(|r| r.strip_suffix('"'));
        analyze.table = name.and_then(TableName::parse);
    }
    if analyze.table.is_none() {
        problems.push(format!("unreadable table name in: {first}"));
    }
    for line in lines {
        let line = line.trim_start_matches('\t');
        if !usage_line(&mut analyze.usage, line) {
            problems.push(format!("unrecognised line in an analyze report: {line}"));
        }
    }
    Some(Event::Analyze(Box::new(analyze)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(level: Level, message: &str) -> Entry {
        Entry {
            line: 1,
            level: Some(level),
            message: message.to_string(),
            ..Entry::default()
        }
    }

    fn event(level: Level, message: &str) -> Option<Event> {
        let record = interpret(&entry(level, message))?;
        assert!(record.problems.is_empty(), "{:?}", record.problems);
        Some(record.event)
    }

    // Texts written by the format strings of the PostgreSQL source, for the messages the test
    // servers cannot be made to write (the corpus in tests/fixtures/logs has the others).

    #[test]
    fn failsafe_and_worker_start_timeouts() {
        assert_eq!(
            event(
                Level::Warning,
                "bypassing nonessential maintenance of table \"shop.public.orders\" as a \
                 failsafe after 2 index scans"
            ),
            Some(Event::Failsafe {
                table: TableName::parse("shop.public.orders"),
                index_scans: Some(2),
            })
        );
        for text in [
            "worker took too long to start; canceled",
            "autovacuum worker took too long to start; canceled",
        ] {
            assert_eq!(event(Level::Warning, text), Some(Event::WorkerStartTimeout));
        }
    }

    #[test]
    fn wraparound_warnings_and_stops_of_every_version() {
        let warn = |id, database: &str, remaining| Event::Wraparound {
            id,
            stopped: false,
            database: Some(database.to_string()),
            remaining: Some(remaining),
        };
        let stop = |id, database: Option<&str>| Event::Wraparound {
            id,
            stopped: true,
            database: database.map(str::to_string),
            remaining: Some(0),
        };
        let cases = [
            (
                Level::Warning,
                "database \"shop\" must be vacuumed within 39999000 transactions",
                warn(IdKind::Xid, "shop", 39_999_000),
            ),
            (
                Level::Warning,
                "database with OID 16384 must be vacuumed within 1 transactions",
                warn(IdKind::Xid, "OID 16384", 1),
            ),
            (
                Level::Warning,
                "database \"shop\" must be vacuumed before 9 more MultiXactIds are used",
                warn(IdKind::Multixact, "shop", 9),
            ),
            (
                Level::Warning,
                "database with OID 5 must be vacuumed before 1 more multixact member is used",
                warn(IdKind::MultixactMember, "OID 5", 1),
            ),
            (
                Level::Error,
                "database is not accepting commands to avoid wraparound data loss in database \
                 \"shop\"",
                stop(IdKind::Xid, Some("shop")),
            ),
            (
                Level::Error,
                "database is not accepting commands that assign new transaction IDs to avoid \
                 wraparound data loss in database \"shop\"",
                stop(IdKind::Xid, Some("shop")),
            ),
            (
                Level::Error,
                "database is not accepting commands that generate new MultiXactIds to avoid \
                 wraparound data loss in database with OID 5",
                stop(IdKind::Multixact, Some("OID 5")),
            ),
            (
                Level::Error,
                "database is not accepting commands that assign new MultiXactIds to avoid \
                 wraparound data loss in database \"shop\"",
                stop(IdKind::Multixact, Some("shop")),
            ),
            (
                Level::Error,
                "multixact \"members\" limit exceeded",
                stop(IdKind::MultixactMember, None),
            ),
        ];
        for (level, text, expected) in cases {
            assert_eq!(event(level, text), Some(expected), "{text}");
        }
        for (text, multixact) in [
            ("oldest xmin is far in the past", false),
            (
                "cutoff for removing and freezing tuples is far in the past",
                false,
            ),
            ("oldest multixact is far in the past", true),
            ("cutoff for freezing multixacts is far in the past", true),
        ] {
            assert_eq!(
                event(Level::Warning, text),
                Some(Event::HorizonFarInPast { multixact })
            );
        }
    }

    #[test]
    fn an_unknown_line_is_a_problem_and_the_rest_is_read() {
        let record = interpret(&entry(
            Level::Log,
            "automatic vacuum of table \"d.s.t\": index scans: 0\n\
             pages: 0 removed, 1 remain, 1 scanned (100.00% of total)\n\
             pages are fine today\n\
             tuples: 3 removed, 1x remain, 0 are dead but not yet removable\n\
             system usage: CPU: user: 0.01 s, system: 0.00 s, elapsed: 1.50 s",
        ))
        .unwrap();
        assert_eq!(record.problems.len(), 2, "{:?}", record.problems);
        let Event::Vacuum(vacuum) = record.event else {
            panic!("not a vacuum");
        };
        assert_eq!(vacuum.pages_scanned, Some(1));
        assert_eq!(vacuum.tuples_removed, None);
        assert_eq!(vacuum.usage.elapsed_s, Some(1.5));
    }

    #[test]
    fn other_errors_of_autovacuum_tasks_and_unrelated_entries() {
        let mut failed = entry(Level::Error, "could not open file \"base/5/16384\": x");
        failed.context = Some("automatic analyze of table \"d.s.t\"".to_string());
        assert_eq!(
            interpret(&failed).map(|r| r.event),
            Some(Event::Failed {
                action: Action::Analyze,
                table: TableName::parse("d.s.t"),
                message: "could not open file \"base/5/16384\": x".to_string(),
            })
        );
        assert_eq!(event(Level::Error, "relation \"x\" does not exist"), None);
        assert_eq!(event(Level::Log, "checkpoint starting: time"), None);
    }

    #[test]
    fn names_with_dots_split_at_the_first_and_last_dot() {
        let name = TableName::parse("app.prod.public.orders.2024").unwrap();
        assert_eq!(
            (
                name.database.as_str(),
                name.schema.as_str(),
                name.name.as_str()
            ),
            ("app", "prod.public.orders", "2024")
        );
        assert!(TableName::parse("nodots").is_none());
    }
}
