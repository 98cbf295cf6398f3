//! The kubectl plugin: command-line parsing, cluster access and output.
//! `run` is the one place where exit codes are decided.

pub mod bundle;
pub mod cli;
pub mod cmd;
pub mod error;
pub mod explain;
pub mod github;
pub mod github_hook;
pub mod kubeconf;
pub mod output;
pub mod registry;

use std::process::ExitCode;

use clap::Parser;

pub use cli::{Cli, Command};
pub use error::{Error, Outcome};

/// Parse arguments, run the command and decide the exit code.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(cmd::dispatch(cli)) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
