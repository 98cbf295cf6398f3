//! Subcommand implementations and dispatch.

pub mod explain;

use crate::cli::{Cli, Command};
use crate::error::{Error, Outcome};

/// Run the parsed command.
pub async fn dispatch(cli: Cli) -> Result<Outcome, Error> {
    match cli.command {
        Command::Explain(args) => explain::run(&cli.kube, args).await,
        Command::Version => {
            println!("kubectl-mosaic {}", env!("CARGO_PKG_VERSION"));
            Ok(Outcome::Success)
        }
    }
}
