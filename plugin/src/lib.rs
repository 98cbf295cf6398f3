//! The kubectl plugin: command-line parsing, cluster access and output.
//! `run` is the one place where exit codes are decided.

pub mod bundle;
pub mod bundle_settings;
pub mod cli;
pub mod cmd;
pub mod error;
pub mod explain;
pub mod github;
pub mod github_deadline;
pub mod github_hook;
pub mod kubeconf;
pub mod locate;
pub mod output;
pub mod registry;
#[cfg(test)]
mod testing;
pub mod ui;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

pub use cli::{Cli, Command};
pub use error::{Error, Outcome};

/// Whether a panic message is a write to a closed stdout (`kubectl mosaic list | head -1`).
pub fn is_broken_pipe(msg: &str) -> bool {
    msg.contains("failed printing to stdout") && msg.contains("Broken pipe")
}

/// A closed pipe ends the process quietly, as SIGPIPE would; any other panic
/// becomes one `error:` line instead of a backtrace.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("unknown panic");
        if is_broken_pipe(msg) {
            std::process::exit(0);
        }
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error: {msg}{at} (please report this)");
        std::process::exit(1);
    }));
}

/// Diagnostics on stderr, only when `RUST_LOG` asks for them (nothing to set up otherwise).
fn init_tracing() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
}

/// Run the parsed command.
pub async fn dispatch(cli: Cli) -> Result<Outcome, Error> {
    let kube = &cli.kube;
    match cli.command {
        Command::Bind(args) => cmd::bind::run(kube, args).await,
        Command::Unbind(args) => cmd::unbind::run(kube, args).await,
        Command::List(args) => cmd::list::run(kube, args).await,
        Command::Status(args) => cmd::status::run(kube, args).await,
        Command::Deploy(args) => cmd::deploy::run(kube, args).await,
        Command::Rollback(args) => cmd::rollback::run(kube, args).await,
        Command::Logs(args) => cmd::logs::run(kube, args).await,
        Command::Explain(args) => cmd::explain::run(kube, args).await,
        Command::Install(args) => cmd::install::run(kube, args).await,
        Command::Uninstall(args) => cmd::uninstall::run(kube, args).await,
        Command::Hook(args) => cmd::hook::run(kube, args).await,
        Command::Ui(args) => ui::run(kube, args).await,
        Command::Version(args) => cmd::version::run(kube, args).await,
        Command::Completion(args) => cmd::completion::run(Cli::command(), args),
        Command::Complete(args) => cmd::completion::complete(&Cli::command(), kube, args).await,
    }
}

/// Parse arguments, run the command and decide the exit code.
pub fn run() -> ExitCode {
    install_panic_hook();
    init_tracing();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(dispatch(cli)) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
