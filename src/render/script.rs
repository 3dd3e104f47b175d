//! `pgvac report --format sql`: the fixes as one script to review and run with psql.
//!
//! Layout: a header (what, when, which server, how to run it), then the server settings
//! (`ALTER SYSTEM SET` and one `SELECT pg_reload_conf()`, a note for those that need a restart;
//! on RDS and Aurora, where `ALTER SYSTEM` is not allowed, the parameter-group changes as
//! comments), then statements that run from any database (sessions to terminate, dropping an
//! invalid database), then one block per database, opened with psql's `\connect`, with its
//! per-table `ALTER TABLE ... SET (...)` and `VACUUM`s. Every statement is preceded by a comment
//! naming its finding.
//!
//! There is no `BEGIN`/`COMMIT`: `ALTER SYSTEM` and `VACUUM` cannot run in a transaction block,
//! and one table's lock timeout should not undo the others. Each statement commits on its own;
//! `psql -v ON_ERROR_STOP=1` stops at the first error.
//!
//! Statements that end sessions or drop things (`pg_terminate_backend`, `DROP`, `ROLLBACK
//! PREPARED`, dropping a replication slot) are commented out unless `--include-destructive`;
//! fixes meant to be adapted before running (display only) are always commented out.
//!
//! Names come from the catalog and may contain anything: identifiers and literals are quoted by
//! `crate::sql` when the rules build the SQL, and every comment goes through
//! [`printable`], so a newline in a name can never end a comment and start a statement.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::text::printable;
use super::{Options, Report};
use crate::analysis::findings::{Finding, Needs, RunOn, Safety};
use crate::sql::{quote_ident, quote_literal};

pub fn write(out: &mut dyn Write, report: &Report, options: &Options) -> io::Result<()> {
    let snapshot = report.snapshot;
    let server = &snapshot.server;
    let managed = matches!(
        server.platform.kind,
        crate::snapshot::PlatformKind::Rds | crate::snapshot::PlatformKind::Aurora
    );
    let (critical, warning, info) = report.counts();
    comment(
        out,
        &format!(
            "pgvac {}: autovacuum fixes for {} ({}), collected {} as {} from {}.",
            env!("CARGO_PKG_VERSION"),
            report.server_version(),
            report.platform_name(),
            server.collected_at.to_rfc3339(),
            server.connected_user,
            server.connected_database
        ),
    )?;
    comment(
        out,
        &format!(
            "Generated {} from {critical} critical, {warning} warning and {info} info findings.",
            report.generated_at.to_rfc3339()
        ),
    )?;
    if let Some(summary) = super::incomplete_summary(snapshot) {
        comment(
            out,
            &format!(
                "INCOMPLETE run: {summary}. These fixes cover only what was read: fixes for the \
                 rest are missing, not unneeded."
            ),
        )?;
    }
    comment(
        out,
        "Review before running, then: psql -X -v ON_ERROR_STOP=1 -f THIS_FILE (as a superuser).",
    )?;
    comment(
        out,
        "Each statement commits on its own: no BEGIN/COMMIT, since ALTER SYSTEM and VACUUM \
         cannot run in a transaction block.",
    )?;
    if options.include_destructive {
        comment(
            out,
            "--include-destructive: statements that end sessions or drop objects are NOT \
             commented out.",
        )?;
    } else {
        comment(
            out,
            "Statements that end sessions or drop objects are commented out (--include-destructive \
             leaves them in).",
        )?;
    }

    let mut wrote_any = false;
    wrote_any |= settings(out, report, managed)?;

    // The remaining fixes, by where they run: anywhere, or connected to one database.
    let mut anywhere: Vec<&Finding> = Vec::new();
    let mut per_database: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for finding in report.findings {
        let Some(fix) = &finding.recommendation else {
            continue;
        };
        if !fix.settings.is_empty() || fix.sql.is_none() {
            continue;
        }
        match run_in(finding) {
            Some(database) => per_database.entry(database).or_default().push(finding),
            None => anywhere.push(finding),
        }
    }
    if !anywhere.is_empty() {
        section(out, "From any database: sessions, slots, databases")?;
        for finding in anywhere {
            statement(out, finding, options)?;
        }
        wrote_any = true;
    }
    for (database, findings) in per_database {
        section(out, &format!("Database {database}"))?;
        match connect(database) {
            Some(line) => writeln!(out, "{line}")?,
            None => comment(
                out,
                "This database's name cannot be written in a psql \\connect line: connect to it \
                 yourself and run these statements there.",
            )?,
        }
        for finding in findings {
            statement(out, finding, options)?;
        }
        wrote_any = true;
    }
    if !wrote_any {
        writeln!(out)?;
        comment(out, "Nothing to change.")?;
    }
    Ok(())
}

/// `-- text`, one line per line of text, control characters escaped.
fn comment(out: &mut dyn Write, text: &str) -> io::Result<()> {
    for line in printable(text).lines() {
        writeln!(out, "-- {line}")?;
    }
    Ok(())
}

fn section(out: &mut dyn Write, title: &str) -> io::Result<()> {
    writeln!(out)?;
    comment(out, &format!("==== {title} ===="))
}

fn finding_comment(out: &mut dyn Write, finding: &Finding) -> io::Result<()> {
    writeln!(out)?;
    comment(
        out,
        &format!(
            "{} ({}) {}: {}",
            finding.code, finding.severity, finding.object, finding.message
        ),
    )
}

/// The settings block: one `ALTER SYSTEM SET` per setting (the most severe finding's value),
/// then one reload, and a note for those that need a restart. On RDS and Aurora: comments.
fn settings(out: &mut dyn Write, report: &Report, managed: bool) -> io::Result<bool> {
    let with_settings: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| {
            f.recommendation
                .as_ref()
                .is_some_and(|r| !r.settings.is_empty())
        })
        .collect();
    if with_settings.is_empty() {
        return Ok(false);
    }
    if managed {
        section(
            out,
            "Server settings: change these in the DB parameter group (ALTER SYSTEM is not \
             allowed on RDS and Aurora)",
        )?;
    } else {
        section(out, "Server settings")?;
    }
    let mut done: Vec<&str> = Vec::new();
    let mut reload = false;
    let mut restart: Vec<&str> = Vec::new();
    for finding in with_settings {
        finding_comment(out, finding)?;
        let Some(fix) = &finding.recommendation else {
            continue;
        };
        for change in &fix.settings {
            if done.contains(&change.name.as_str()) {
                comment(
                    out,
                    &format!("{} is set above, by a more severe finding.", change.name),
                )?;
                continue;
            }
            done.push(&change.name);
            match change.needs {
                Needs::ParameterGroup => comment(
                    out,
                    &format!(
                        "parameter group: {} = {} (dynamic)",
                        change.name, change.value
                    ),
                )?,
                Needs::ParameterGroupReboot => comment(
                    out,
                    &format!(
                        "parameter group: {} = {} (static: reboot the instance)",
                        change.name, change.value
                    ),
                )?,
                needs => {
                    writeln!(
                        out,
                        "ALTER SYSTEM SET {} = {};",
                        quote_ident(&change.name),
                        quote_literal(&change.value)
                    )?;
                    if needs == Needs::Restart {
                        restart.push(&change.name);
                    } else {
                        reload = true;
                    }
                }
            }
        }
    }
    if reload {
        writeln!(out)?;
        comment(out, "Apply the settings above that a reload applies.")?;
        writeln!(out, "SELECT pg_reload_conf();")?;
    }
    if !restart.is_empty() {
        writeln!(out)?;
        comment(
            out,
            &format!(
                "Takes effect only after a server restart: {}.",
                restart.join(", ")
            ),
        )?;
    }
    Ok(true)
}

/// One finding's statements, commented out when they are destructive or display only.
fn statement(out: &mut dyn Write, finding: &Finding, options: &Options) -> io::Result<()> {
    let Some(fix) = &finding.recommendation else {
        return Ok(());
    };
    let Some(sql) = &fix.sql else {
        return Ok(());
    };
    finding_comment(out, finding)?;
    let destructive = fix.destructive;
    let display_only = fix.safety == Safety::DisplayOnly;
    let commented = display_only || (destructive && !options.include_destructive);
    if display_only {
        comment(out, "To adapt before running:")?;
    } else if destructive && commented {
        comment(
            out,
            &format!(
                "Destructive, commented out ({}). Uncomment to run, or use --include-destructive.",
                fix.text
            ),
        )?;
    } else if fix.safety == Safety::NeedsCare {
        comment(out, &format!("Needs care: {}", fix.text))?;
    }
    for line in sql.lines() {
        if commented {
            writeln!(out, "-- {line}")?;
        } else {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// Where a finding's SQL must run: connected to a database, or anywhere (`None`).
fn run_in(finding: &Finding) -> Option<&str> {
    finding
        .recommendation
        .as_ref()
        .and_then(|fix| fix.run_on.as_ref())
        .and_then(RunOn::database_name)
}

/// psql's `\connect` to a database, or `None` when the name cannot be written on one line.
/// psql strips double quotes from the argument (doubling escapes one); a name with `=` or a URI
/// prefix would be read as a connection string, so it is passed as one, `dbname` quoted by
/// libpq's rules.
fn connect(database: &str) -> Option<String> {
    if database.chars().any(char::is_control) {
        return None;
    }
    let psql_quote = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
    let looks_like_conninfo = database.contains('=')
        || database.starts_with("postgres://")
        || database.starts_with("postgresql://");
    if looks_like_conninfo {
        let libpq = format!(
            "dbname='{}'",
            database.replace('\\', "\\\\").replace('\'', "\\'")
        );
        Some(format!(
            "\\connect -reuse-previous=on {}",
            psql_quote(&libpq)
        ))
    } else {
        Some(format!("\\connect {}", psql_quote(database)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixtures::{self, generated_at};
    use crate::render::{Format, Report, write};
    use crate::snapshot::Snapshot;

    fn render(snapshot: &Snapshot, options: &Options) -> String {
        let analysis = crate::analysis::Analysis::new(snapshot);
        let mut out = Vec::new();
        write(
            &mut out,
            Format::Sql,
            &Report::new(&analysis, generated_at()),
            options,
        )
        .unwrap();
        String::from_utf8(out)
            .unwrap()
            .replace(env!("CARGO_PKG_VERSION"), "[version]")
    }

    #[test]
    fn warning_script() {
        let text = render(&fixtures::warning(), &Options::default());
        assert!(!text.lines().any(|l| l.starts_with("BEGIN")), "{text}");
        assert!(
            text.contains(
                "ALTER TABLE \"My Schema\".\"Parked \"\"Rows\"\"; DROP TABLE x; --\" RESET \
                 (autovacuum_enabled);"
            ),
            "{text}"
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn critical_script_comments_out_terminations_unless_asked() {
        let text = render(&fixtures::critical(), &Options::default());
        assert!(
            text.lines()
                .filter(|l| l.contains("pg_terminate_backend"))
                .all(|l| l.starts_with("-- ")),
            "{text}"
        );
        insta::assert_snapshot!(text);
        let options = Options {
            include_destructive: true,
            ..Options::default()
        };
        let text = render(&fixtures::critical(), &options);
        assert!(
            text.lines().any(|l| l.starts_with(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = 4242"
            )),
            "{text}"
        );
    }

    #[test]
    fn rds_settings_are_parameter_group_comments() {
        let snapshot = crate::analysis::rules::fixture::Fx::new(16)
            .rds()
            .set("autovacuum_vacuum_cost_delay", "20")
            .done();
        let text = render(&snapshot, &Options::default());
        assert!(
            !text.lines().any(|l| l.starts_with("ALTER SYSTEM")),
            "{text}"
        );
        assert!(
            text.contains("-- parameter group: autovacuum_vacuum_cost_delay = 2ms (dynamic)"),
            "{text}"
        );
    }

    #[test]
    fn connect_lines_quote_any_name() {
        assert_eq!(connect("app").unwrap(), "\\connect \"app\"");
        assert_eq!(connect("My \"DB\"").unwrap(), "\\connect \"My \"\"DB\"\"\"");
        assert_eq!(
            connect("a=b").unwrap(),
            "\\connect -reuse-previous=on \"dbname='a=b'\""
        );
        assert_eq!(connect("bad\nname"), None);
    }

    /// The script comments out what a fix says is destructive, so every fix must say it: a
    /// statement that signals a session, drops something or ends a prepared transaction is
    /// marked destructive, and nothing else is. (Checked here on the text, the one place
    /// pgvac reads its own SQL: to test the fields the renderers decide by.)
    #[test]
    fn every_fix_that_ends_or_drops_something_says_it_is_destructive() {
        fn outside_quotes(sql: &str) -> String {
            let mut out = String::with_capacity(sql.len());
            let mut quote: Option<char> = None;
            for c in sql.chars() {
                match quote {
                    Some(q) if c == q => quote = None,
                    Some(_) => {}
                    None if c == '\'' || c == '"' => quote = Some(c),
                    None => out.push(c),
                }
            }
            out.to_ascii_lowercase()
        }
        let words = [
            "_backend(",
            "drop ",
            "rollback prepared",
            "commit prepared",
            "pg_drop_replication_slot",
        ];
        let mut snapshots = vec![
            fixtures::warning(),
            fixtures::critical(),
            fixtures::blockers(),
        ];
        for rule in crate::analysis::rules::all() {
            let examples = (rule.examples)();
            snapshots.extend(examples.fires.into_iter().map(|(_, s)| s));
        }
        let mut checked = 0;
        for snapshot in &snapshots {
            let analysis = crate::analysis::Analysis::new(snapshot);
            for finding in &analysis.findings {
                let Some(fix) = &finding.recommendation else {
                    continue;
                };
                let Some(sql) = &fix.sql else {
                    continue;
                };
                let text = outside_quotes(sql);
                let ends_or_drops = words.iter().any(|w| text.contains(w));
                assert_eq!(
                    fix.destructive, ends_or_drops,
                    "{} {}: destructive = {} for\n{sql}",
                    finding.code, finding.object, fix.destructive
                );
                assert!(
                    fix.run_on.is_some(),
                    "{}: SQL without a place",
                    finding.code
                );
                checked += 1;
            }
        }
        assert!(checked > 10, "only {checked} fixes checked");
    }

    #[test]
    fn names_cannot_escape_a_comment() {
        let snapshot = crate::analysis::rules::fixture::Fx::new(16)
            .table(
                crate::analysis::rules::fixture::T::new("evil\nDROP TABLE y;")
                    .rows(10_000)
                    .dead(5_000)
                    .option("autovacuum_enabled=false"),
            )
            .done();
        let text = render(&snapshot, &Options::default());
        // The comment shows the newline escaped; the statement keeps it inside the quoted
        // name, where it belongs, so the line after it is the rest of that name.
        assert!(text.contains("evil\\u{a}DROP TABLE y;"), "{text}");
        for (i, line) in text.lines().enumerate() {
            if line.starts_with("DROP TABLE") {
                let previous = text.lines().nth(i - 1).unwrap_or("");
                assert!(
                    previous.ends_with("\"evil") && line.ends_with("RESET (autovacuum_enabled);"),
                    "{text}"
                );
            }
        }
    }
}
