//! The command line as a user reads it: clap's definitions ([`crate::cli::Cli`]) with an example
//! for every command. This one [`command`] is what parses the arguments and what `--help`, the
//! shell completions (`pgvac completions`) and the man pages (`pgvac man`) are generated from,
//! so they cannot disagree. The generated files are committed (`contrib/completions/`,
//! `docs/man/`) and a test fails when they are stale (`UPDATE_DOCS=1 cargo test` rewrites
//! them); another test parses every example, so none can rot.

use anyhow::{Context, Result};
use clap::{CommandFactory, FromArgMatches};

use crate::cli::Cli;

/// Examples per command, as typed in a shell (`|` and `>` end the pgvac part).
pub const EXAMPLES: &[(&str, &[&str])] = &[
    (
        "pgvac",
        &[
            "pgvac demo",
            "pgvac report 'host=db1.internal user=pgvac dbname=postgres'",
            "pgvac sessions -h db1.internal -U pgvac",
        ],
    ),
    (
        "collect",
        &[
            "pgvac collect 'host=db1.internal user=pgvac' -o snapshot.json",
            "pgvac collect -h db1.internal -U pgvac -d shop -d billing --jobs 2",
        ],
    ),
    (
        "sessions",
        &[
            "pgvac sessions 'host=db1.internal user=pgvac'",
            "pgvac sessions -h db1.internal -U postgres --terminate --min-idle 10min",
            "pgvac sessions -h db1.internal -U postgres --terminate --pid 4242 --execute",
            "pgvac sessions --snapshot snapshot.json --format json",
        ],
    ),
    (
        "report",
        &[
            "pgvac report 'postgres://pgvac@db1.internal/postgres?sslmode=verify-full&sslrootcert=ca.pem'",
            "pgvac report --snapshot snapshot.json --verbose",
            "pgvac report -h db1.internal -U pgvac --ignore TABLE003 --ignore CONFIG004",
            "pgvac report -h db1.internal -U pgvac --format json -o /var/lib/pgvac/report.json --history /var/lib/pgvac/history",
            "pgvac report -h db1.internal -U pgvac --format sql > fixes.sql",
            "pgvac report -h db1.internal -U pgvac --log /var/log/postgresql/postgresql-16-main.log",
        ],
    ),
    (
        "logs",
        &[
            "pgvac logs /var/log/postgresql/postgresql-16-main.log",
            "pgvac logs --prefix rds postgresql.log.2026-12-01-08.gz",
            "pgvac logs postgresql.csv --format json > autovacuum.json",
        ],
    ),
    (
        "ping",
        &[
            "pgvac ping 'host=db1.internal user=pgvac'",
            "pgvac ping -h /var/run/postgresql -U postgres",
        ],
    ),
    (
        "rules",
        &[
            "pgvac rules",
            "pgvac rules --format json | jq -r '.rules[].code'",
        ],
    ),
    (
        "explain",
        &[
            "pgvac explain TABLE001",
            "pgvac explain dead-row-trigger-too-high",
        ],
    ),
    (
        "demo",
        &[
            "pgvac demo",
            "pgvac demo --pg-version 16 --keep",
            "pgvac demo --server postgres://postgres:demo@localhost:5432/postgres",
        ],
    ),
    (
        "completions",
        &[
            "pgvac completions bash > ~/.local/share/bash-completion/completions/pgvac",
            "pgvac completions zsh > ~/.zfunc/_pgvac",
            "pgvac completions fish > ~/.config/fish/completions/pgvac.fish",
        ],
    ),
    (
        "man",
        &["pgvac man | man -l -", "pgvac man report > pgvac-report.1"],
    ),
];

/// pgvac's command line, with the examples in each command's help.
pub fn command() -> clap::Command {
    let mut command = Cli::command();
    for (name, examples) in EXAMPLES {
        let add = |c: clap::Command| {
            let examples = format!("Examples:\n  {}", examples.join("\n  "));
            let text = match c.get_after_help() {
                Some(before) => format!("{before}\n\n{examples}"),
                None => examples,
            };
            c.after_help(text)
        };
        command = if *name == "pgvac" {
            add(command)
        } else {
            command.mut_subcommand(*name, add)
        };
    }
    command
}

/// Parse the process's arguments with [`command`].
pub fn parse() -> Result<Cli, clap::Error> {
    let matches = command().try_get_matches()?;
    Cli::from_arg_matches(&matches)
}

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// The command whose page to print (e.g. report) [default: pgvac's own page].
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

/// The completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command(), "pgvac", &mut out);
    out
}

/// Every man page: `pgvac` first, then one per command, with their file names.
pub fn man_pages() -> Result<Vec<(String, Vec<u8>)>> {
    let mut command = command().disable_help_subcommand(true);
    command.build();
    let mut pages = Vec::new();
    let mut render = |cmd: clap::Command| -> Result<()> {
        let man = clap_mangen::Man::new(cmd)
            .source(format!("pgvac {}", env!("CARGO_PKG_VERSION")))
            .manual("pgvac manual");
        let mut out = Vec::new();
        man.render(&mut out)
            .context("could not render the man page")?;
        pages.push((man.get_filename(), out));
        Ok(())
    };
    render(command.clone())?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        render(sub.clone())?;
    }
    Ok(pages)
}

pub fn print_completions(args: &CompletionsArgs) -> Result<u8> {
    crate::cli::write_output(None, |out| Ok(out.write_all(&completions(args.shell))?))?;
    Ok(0)
}

pub fn print_man(args: &ManArgs) -> Result<u8> {
    let file = match &args.command {
        None => "pgvac.1".to_string(),
        Some(name) => format!("pgvac-{name}.1"),
    };
    let pages = man_pages()?;
    let (_, page) = pages.iter().find(|(f, _)| *f == file).ok_or_else(|| {
        anyhow::anyhow!(
            "no command {:?}: `pgvac --help` lists them",
            args.command.as_deref().unwrap_or("")
        )
    })?;
    crate::cli::write_output(None, |out| Ok(out.write_all(page)?))?;
    Ok(0)
}

/// Where the generated completion scripts are committed, per shell.
pub const COMPLETION_FILES: &[(clap_complete::Shell, &str)] = &[
    (clap_complete::Shell::Bash, "contrib/completions/pgvac.bash"),
    (clap_complete::Shell::Zsh, "contrib/completions/_pgvac"),
    (clap_complete::Shell::Fish, "contrib/completions/pgvac.fish"),
];

/// Where the man pages are committed.
pub const MAN_DIR: &str = "docs/man";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::generated;

    /// The words of an example up to a pipe or redirect, quotes removed.
    fn words(example: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut word = String::new();
        let mut quoted = false;
        for c in example.chars() {
            match c {
                '\'' => quoted = !quoted,
                ' ' if !quoted => {
                    if !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                }
                '|' | '>' if !quoted => break,
                c => word.push(c),
            }
        }
        if !word.is_empty() {
            words.push(word);
        }
        words
    }

    #[test]
    fn every_command_has_examples_that_parse() {
        let command = command();
        let mut names: Vec<&str> = command
            .get_subcommands()
            .map(|s| s.get_name())
            .filter(|n| *n != "help")
            .collect();
        names.push("pgvac");
        for name in names {
            let Some((_, examples)) = EXAMPLES.iter().find(|(n, _)| *n == name) else {
                panic!("pgvac {name} has no example in help::EXAMPLES");
            };
            for example in *examples {
                let args = words(example);
                assert_eq!(args[0], "pgvac", "{example}");
                if name != "pgvac" {
                    assert_eq!(args[1], name, "{example}");
                }
                if let Err(e) = command.clone().try_get_matches_from(&args) {
                    panic!("{example}: {e}");
                }
            }
        }
        let help = command
            .clone()
            .try_get_matches_from(["pgvac", "report", "--help"])
            .unwrap_err()
            .to_string();
        assert!(help.contains("Exit status: 0"), "{help}");
        assert!(help.contains("Examples:\n  pgvac report"), "{help}");
    }

    #[test]
    fn committed_completions_are_current() {
        for (shell, path) in COMPLETION_FILES {
            let script = String::from_utf8(completions(*shell)).unwrap();
            assert!(script.contains("terminate"), "{shell}: no flags?");
            generated::assert_current(path, &script);
        }
    }

    #[test]
    fn committed_man_pages_are_current() {
        let pages = man_pages().unwrap();
        assert!(pages.iter().any(|(f, _)| f == "pgvac-demo.1"));
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(MAN_DIR);
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                std::fs::remove_file(entry.path()).unwrap();
            }
        }
        for (file, page) in &pages {
            let text = String::from_utf8(page.clone()).unwrap();
            assert!(text.contains("Examples:"), "{file}");
            generated::assert_current(&format!("{MAN_DIR}/{file}"), &text);
        }
        let committed = std::fs::read_dir(&dir).map_or(0, |d| d.count());
        assert_eq!(
            committed,
            pages.len(),
            "{MAN_DIR} has pages of commands that no longer exist: run UPDATE_DOCS=1 cargo test"
        );
    }
}
