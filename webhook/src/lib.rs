//! The in-cluster webhook server: intake, worker, and their wiring.

use clap::Parser;

/// Mosaic's in-cluster webhook: builds and rolls pushed commits.
#[derive(Parser, Debug)]
#[command(name = "mosaic-webhook", version)]
pub struct Config {}

/// Parse configuration, run the server and decide the exit code (the only place that does).
pub fn run() -> std::process::ExitCode {
    let _cfg = match Config::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return std::process::ExitCode::from(code);
        }
    };
    std::process::ExitCode::SUCCESS
}
