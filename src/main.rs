fn main() -> std::process::ExitCode {
    pgvac::cli::run()
}
