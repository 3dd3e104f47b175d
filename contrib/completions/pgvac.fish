# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_pgvac_global_optspecs
    string join \n ?/help V/version
end

function __fish_pgvac_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_pgvac_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_pgvac_using_subcommand
    set -l cmd (__fish_pgvac_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c pgvac -n "__fish_pgvac_needs_command" -s ? -l help -d 'Print help (-h is the host, as in psql)'
complete -c pgvac -n "__fish_pgvac_needs_command" -s V -l version -d 'Print version'
complete -c pgvac -n "__fish_pgvac_needs_command" -f -a "collect" -d 'Read the cluster into a JSON snapshot (to stdout, or atomically to --output)'
complete -c pgvac -n "__fish_pgvac_needs_command" -f -a "sessions" -d 'What holds vacuum back (sessions, prepared transactions, slots, standbys, temp tables), ranked, with the SQL that releases each; --terminate ends the sessions among them'
complete -c pgvac -n "__fish_pgvac_needs_command" -f -a "report" -d 'Analyse a cluster (or a snapshot file) and print the findings, most severe first'
complete -c pgvac -n "__fish_pgvac_needs_command" -f -a "logs" -d 'What autovacuum did, from the server log: per table, database and hour'
complete -c pgvac -n "__fish_pgvac_needs_command" -f -a "ping" -d 'Connect as the other commands would, and say where: server, port, database, role, TLS, primary or standby. Exit 0 when connected, 3 when not (with the reason on one line)'
complete -c pgvac -n "__fish_pgvac_needs_command" -f -a "rules" -d 'List the rules pgvac checks'
complete -c pgvac -n "__fish_pgvac_needs_command" -f -a "explain" -d 'Print the documentation of one rule: what it checks, why, how, the fix, sources'
complete -c pgvac -n "__fish_pgvac_needs_command" -f -a "demo" -d 'Start a throwaway PostgreSQL with the problems pgvac finds, show the report, remove it'
complete -c pgvac -n "__fish_pgvac_needs_command" -f -a "completions" -d 'Print the completion script of a shell (bash, zsh, fish, elvish, powershell)'
complete -c pgvac -n "__fish_pgvac_needs_command" -f -a "man" -d 'Print pgvac\'s man page, or one command\'s, in roff'
complete -c pgvac -n "__fish_pgvac_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pgvac -n "__fish_pgvac_using_subcommand collect" -l dsn -d 'Connection string, as a flag' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand collect" -s h -l host -d 'Database server host or socket directory; a comma-separated list tries each in turn [env: PGHOST; default: the Unix-domain socket in /var/run/postgresql, or /tmp where that directory does not exist]' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand collect" -s p -l port -d 'Database server port [env: PGPORT; default: 5432]' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand collect" -s U -l username -d 'Database user name [env: PGUSER; default: the operating-system user]' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand collect" -s d -l dbname -d 'Visit only this database (repeatable); the first is where pgvac connects first. Default: every database that accepts connections, starting from the one psql would connect to (the connection string\'s, the service\'s, PGDATABASE, else the role\'s name)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand collect" -l exclude-db -d 'Do not visit this database (repeatable)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand collect" -l jobs -d 'Databases read at the same time' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand collect" -l connect-timeout -d 'Give up on a host after this long (seconds, fractions allowed, or 2min...; 0 waits without limit; as in libpq, less than 2 s counts as 2 s) [env: PGCONNECT_TIMEOUT or connect_timeout=, whole seconds; default 10s]' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand collect" -l statement-timeout -d 'statement_timeout of pgvac\'s sessions (rounded up to whole milliseconds; 0 is refused, since the server reads it as no timeout)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand collect" -l lock-timeout -d 'lock_timeout of pgvac\'s sessions (rounded up to whole milliseconds; not 0)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand collect" -s o -l output -d 'Write the snapshot to FILE (atomically: all or nothing) instead of stdout' -r -F
complete -c pgvac -n "__fish_pgvac_using_subcommand collect" -l allow-partial -d 'Accept an incomplete run (a database or source that could not be read): exit 0 and write --output anyway. The snapshot still records what is missing'
complete -c pgvac -n "__fish_pgvac_using_subcommand collect" -s ? -l help -d 'Print help (-h is the host, as in psql)'
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -l dsn -d 'Connection string, as a flag' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -s h -l host -d 'Database server host or socket directory; a comma-separated list tries each in turn [env: PGHOST; default: the Unix-domain socket in /var/run/postgresql, or /tmp where that directory does not exist]' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -s p -l port -d 'Database server port [env: PGPORT; default: 5432]' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -s U -l username -d 'Database user name [env: PGUSER; default: the operating-system user]' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -s d -l dbname -d 'Visit only this database (repeatable); the first is where pgvac connects first. Default: every database that accepts connections, starting from the one psql would connect to (the connection string\'s, the service\'s, PGDATABASE, else the role\'s name)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -l exclude-db -d 'Do not visit this database (repeatable)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -l jobs -d 'Databases read at the same time' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -l connect-timeout -d 'Give up on a host after this long (seconds, fractions allowed, or 2min...; 0 waits without limit; as in libpq, less than 2 s counts as 2 s) [env: PGCONNECT_TIMEOUT or connect_timeout=, whole seconds; default 10s]' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -l statement-timeout -d 'statement_timeout of pgvac\'s sessions (rounded up to whole milliseconds; 0 is refused, since the server reads it as no timeout)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -l lock-timeout -d 'lock_timeout of pgvac\'s sessions (rounded up to whole milliseconds; not 0)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -l format -d 'Output format' -r -f -a "table\t'A table for people'
json\t'One JSON object'"
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -l width -d 'Columns the table fits in [default: the terminal\'s width, or 100]' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -l snapshot -d 'Analyse this snapshot (from `pgvac collect`) instead of reading the server. With --terminate --execute pgvac still connects, checks the snapshot is from that server since its last restart, and re-checks every session before acting' -r -F
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -l idle-threshold -d 'Idle in transaction longer than this is a warning' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -l transaction-threshold -d 'Transactions, prepared transactions and inactive slots held longer than this are a warning' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -l xid-age-warning -d 'Holding the horizon this many XIDs behind is a warning (RDS ladder: 500M)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -l xid-age-critical -d 'Holding the horizon this many XIDs behind is critical (RDS ladder: 1B act now, 1.5B fix immediately)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -l min-xact-age -d 'Only sessions whose transaction has been open at least this long' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -l min-idle -d 'Only sessions idle in transaction at least this long (from state_change)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -l min-xid-age -d 'Only sessions holding the horizon at least this many XIDs behind' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -l user -d 'Only sessions of this role (repeatable). Not the role pgvac connects as: that is -U' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -l pid -d 'Only this pid (repeatable). -d/--dbname also limits --terminate to those databases' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -l terminate -d 'End the blocking client sessions (a dry run printing the SQL unless --execute)'
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -l execute -d 'Really terminate (asks on a terminal; see --yes)'
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -l yes -d 'Do not ask for confirmation (needed with --execute when stdin is not a terminal)'
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -l allow-partial -d 'Accept an incomplete run (a database or source that could not be read): the worst blocker decides the exit status, and --execute may act on what was read'
complete -c pgvac -n "__fish_pgvac_using_subcommand sessions" -s ? -l help -d 'Print help (-h is the host, as in psql)'
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -l dsn -d 'Connection string, as a flag' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -s h -l host -d 'Database server host or socket directory; a comma-separated list tries each in turn [env: PGHOST; default: the Unix-domain socket in /var/run/postgresql, or /tmp where that directory does not exist]' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -s p -l port -d 'Database server port [env: PGPORT; default: 5432]' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -s U -l username -d 'Database user name [env: PGUSER; default: the operating-system user]' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -s d -l dbname -d 'Visit only this database (repeatable); the first is where pgvac connects first. Default: every database that accepts connections, starting from the one psql would connect to (the connection string\'s, the service\'s, PGDATABASE, else the role\'s name)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -l exclude-db -d 'Do not visit this database (repeatable)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -l jobs -d 'Databases read at the same time' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -l connect-timeout -d 'Give up on a host after this long (seconds, fractions allowed, or 2min...; 0 waits without limit; as in libpq, less than 2 s counts as 2 s) [env: PGCONNECT_TIMEOUT or connect_timeout=, whole seconds; default 10s]' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -l statement-timeout -d 'statement_timeout of pgvac\'s sessions (rounded up to whole milliseconds; 0 is refused, since the server reads it as no timeout)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -l lock-timeout -d 'lock_timeout of pgvac\'s sessions (rounded up to whole milliseconds; not 0)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -l snapshot -d 'Analyse this snapshot file (from `pgvac collect`) instead of connecting; the report is the one the live run would have given. No connection options with it' -r -F
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -l format -d 'Output format: table (the terminal report), json (schema in docs/report.schema.json), sql (a script of the fixes for psql), markdown, prometheus (textfile collector)' -r -f -a "table\t'The terminal report: sections of tables, for people'
json\t'One JSON document (schema in docs/report.schema.json), for programs'
sql\t'A reviewable SQL script of the fixes, for psql'
markdown\t'Markdown, for tickets and wikis'
prometheus\t'Prometheus text format, for node_exporter\'s textfile collector'"
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -s o -l output -d 'Write the report to FILE (atomically: the old file or the whole new one) instead of stdout' -r -F
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -l fail-on -d 'Which findings make the exit status non-zero: warning (1 or 2), critical (2 only), or never (0 unless pgvac could not complete)' -r -f -a "warning\t''
critical\t''
never\t''"
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -l ignore -d 'Leave out the findings of this rule (a code such as TABLE003, or its name; repeatable, or comma-separated in PGVAC_IGNORE): for findings a team has accepted. They count for nothing, and the report says how many were left out' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -l color -d 'Colour in the terminal report: auto (on a terminal, unless NO_COLOR is set), always, never' -r -f -a "auto\t''
always\t''
never\t''"
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -l width -d 'Columns the terminal report fits in [default: the terminal\'s width, or 100]' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -l top -d 'Show at most N rows and findings per section' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -l history -d 'Keep what trends need of each run in DIR (created if missing; one compressed file a run) and report trends against the earlier ones: XIDs consumed per hour, time until each database reaches its limits, dead rows and autovacuums per table. Rates need two runs' -r -F
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -l log -d 'Add findings from this server log (repeatable; `-` for stdin, .gz read transparently): the LOG rules' -r -F
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -l log-prefix -d 'With --log: the server\'s log_line_prefix (`rds`: the RDS default)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -l log-format -d 'With --log: the log format [default: from the file name, else its first line]' -r -f -a "stderr\t'`log_destination = stderr` (also through the logging collector), any log_line_prefix'
csvlog\t'`log_destination = csvlog`'
jsonlog\t'`log_destination = jsonlog` (15+)'"
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -l keep -d 'With --history: how many runs to keep (the newest)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -s v -l verbose -d 'Show the evidence of each finding (the numbers the rule used) and the locks fixes take'
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -l include-destructive -d 'SQL script: leave statements that end sessions or drop objects uncommented'
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -l allow-partial -d 'Accept an incomplete run (a database or source that could not be read): the findings decide the exit status, and --output and --history are written anyway. The report still says what was not read'
complete -c pgvac -n "__fish_pgvac_using_subcommand report" -s ? -l help -d 'Print help (-h is the host, as in psql)'
complete -c pgvac -n "__fish_pgvac_using_subcommand logs" -l prefix -d 'The server\'s log_line_prefix, for stderr logs (`rds`: the RDS default `%t:%r:%u@%d:[%p]:`)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand logs" -l log-format -d 'The log format [default: from the file name, else from its first line]' -r -f -a "stderr\t'`log_destination = stderr` (also through the logging collector), any log_line_prefix'
csvlog\t'`log_destination = csvlog`'
jsonlog\t'`log_destination = jsonlog` (15+)'"
complete -c pgvac -n "__fish_pgvac_using_subcommand logs" -l format -d 'Output format' -r -f -a "table\t'A table for people'
json\t'One JSON object (schema: docs/logs.schema.json)'
markdown\t'Markdown'"
complete -c pgvac -n "__fish_pgvac_using_subcommand logs" -l max-workers -d 'autovacuum_max_workers, to count when every worker was busy' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand logs" -l top -d 'Show at most N tables (table and markdown)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand logs" -l width -d 'Columns the table fits in [default: 100]' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand logs" -s o -l output -d 'Write to FILE (atomically) instead of stdout' -r -F
complete -c pgvac -n "__fish_pgvac_using_subcommand logs" -s ? -l help -d 'Print help (-h is the host, as in psql)'
complete -c pgvac -n "__fish_pgvac_using_subcommand ping" -l dsn -d 'Connection string, as a flag' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand ping" -s h -l host -d 'Database server host or socket directory; a comma-separated list tries each in turn [env: PGHOST; default: the Unix-domain socket in /var/run/postgresql, or /tmp where that directory does not exist]' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand ping" -s p -l port -d 'Database server port [env: PGPORT; default: 5432]' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand ping" -s U -l username -d 'Database user name [env: PGUSER; default: the operating-system user]' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand ping" -s d -l dbname -d 'Visit only this database (repeatable); the first is where pgvac connects first. Default: every database that accepts connections, starting from the one psql would connect to (the connection string\'s, the service\'s, PGDATABASE, else the role\'s name)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand ping" -l exclude-db -d 'Do not visit this database (repeatable)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand ping" -l jobs -d 'Databases read at the same time' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand ping" -l connect-timeout -d 'Give up on a host after this long (seconds, fractions allowed, or 2min...; 0 waits without limit; as in libpq, less than 2 s counts as 2 s) [env: PGCONNECT_TIMEOUT or connect_timeout=, whole seconds; default 10s]' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand ping" -l statement-timeout -d 'statement_timeout of pgvac\'s sessions (rounded up to whole milliseconds; 0 is refused, since the server reads it as no timeout)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand ping" -l lock-timeout -d 'lock_timeout of pgvac\'s sessions (rounded up to whole milliseconds; not 0)' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand ping" -s ? -l help -d 'Print help (-h is the host, as in psql)'
complete -c pgvac -n "__fish_pgvac_using_subcommand rules" -l format -d 'table (code, name, severity, summary), markdown (every rule\'s documentation: the source of docs/rules.md) or json (for tooling; schema in docs/rules.schema.json)' -r -f -a "table\t''
markdown\t''
json\t''"
complete -c pgvac -n "__fish_pgvac_using_subcommand rules" -l markdown -d 'Same as --format markdown'
complete -c pgvac -n "__fish_pgvac_using_subcommand rules" -s ? -l help -d 'Print help (-h is the host, as in psql)'
complete -c pgvac -n "__fish_pgvac_using_subcommand explain" -s ? -l help -d 'Print help (-h is the host, as in psql)'
complete -c pgvac -n "__fish_pgvac_using_subcommand demo" -l pg-version -d 'Start this major version (12-18) of those installed [default: the newest]' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand demo" -l server -d 'Seed this existing server instead of starting one (the Docker route): a superuser connection string. It must be a throwaway server with no databases of its own and the demo\'s settings (`docker-compose.yml` starts one); it is left seeded' -r
complete -c pgvac -n "__fish_pgvac_using_subcommand demo" -l save-snapshot -d 'Also write the snapshot the report was made from to FILE' -r -F
complete -c pgvac -n "__fish_pgvac_using_subcommand demo" -l keep -d 'After the report, keep the server and the demo\'s sessions until Ctrl-C, to try pgvac on them by hand (for example `pgvac sessions --terminate`)'
complete -c pgvac -n "__fish_pgvac_using_subcommand demo" -s ? -l help -d 'Print help (-h is the host, as in psql)'
complete -c pgvac -n "__fish_pgvac_using_subcommand completions" -s ? -l help -d 'Print help (-h is the host, as in psql)'
complete -c pgvac -n "__fish_pgvac_using_subcommand man" -s ? -l help -d 'Print help (-h is the host, as in psql)'
complete -c pgvac -n "__fish_pgvac_using_subcommand help; and not __fish_seen_subcommand_from collect sessions report logs ping rules explain demo completions man help" -f -a "collect" -d 'Read the cluster into a JSON snapshot (to stdout, or atomically to --output)'
complete -c pgvac -n "__fish_pgvac_using_subcommand help; and not __fish_seen_subcommand_from collect sessions report logs ping rules explain demo completions man help" -f -a "sessions" -d 'What holds vacuum back (sessions, prepared transactions, slots, standbys, temp tables), ranked, with the SQL that releases each; --terminate ends the sessions among them'
complete -c pgvac -n "__fish_pgvac_using_subcommand help; and not __fish_seen_subcommand_from collect sessions report logs ping rules explain demo completions man help" -f -a "report" -d 'Analyse a cluster (or a snapshot file) and print the findings, most severe first'
complete -c pgvac -n "__fish_pgvac_using_subcommand help; and not __fish_seen_subcommand_from collect sessions report logs ping rules explain demo completions man help" -f -a "logs" -d 'What autovacuum did, from the server log: per table, database and hour'
complete -c pgvac -n "__fish_pgvac_using_subcommand help; and not __fish_seen_subcommand_from collect sessions report logs ping rules explain demo completions man help" -f -a "ping" -d 'Connect as the other commands would, and say where: server, port, database, role, TLS, primary or standby. Exit 0 when connected, 3 when not (with the reason on one line)'
complete -c pgvac -n "__fish_pgvac_using_subcommand help; and not __fish_seen_subcommand_from collect sessions report logs ping rules explain demo completions man help" -f -a "rules" -d 'List the rules pgvac checks'
complete -c pgvac -n "__fish_pgvac_using_subcommand help; and not __fish_seen_subcommand_from collect sessions report logs ping rules explain demo completions man help" -f -a "explain" -d 'Print the documentation of one rule: what it checks, why, how, the fix, sources'
complete -c pgvac -n "__fish_pgvac_using_subcommand help; and not __fish_seen_subcommand_from collect sessions report logs ping rules explain demo completions man help" -f -a "demo" -d 'Start a throwaway PostgreSQL with the problems pgvac finds, show the report, remove it'
complete -c pgvac -n "__fish_pgvac_using_subcommand help; and not __fish_seen_subcommand_from collect sessions report logs ping rules explain demo completions man help" -f -a "completions" -d 'Print the completion script of a shell (bash, zsh, fish, elvish, powershell)'
complete -c pgvac -n "__fish_pgvac_using_subcommand help; and not __fish_seen_subcommand_from collect sessions report logs ping rules explain demo completions man help" -f -a "man" -d 'Print pgvac\'s man page, or one command\'s, in roff'
complete -c pgvac -n "__fish_pgvac_using_subcommand help; and not __fish_seen_subcommand_from collect sessions report logs ping rules explain demo completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
