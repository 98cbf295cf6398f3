//! `kubectl mosaic explain`: gathers objects (live or from files) and renders the engine's findings.

use clap::Args;

use crate::cli::KubeArgs;
use crate::error::{Error, Outcome};

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// What to explain: TYPE/NAME (e.g. deploy/api) or TYPE; everything in scope when omitted.
    pub target: Option<String>,
}

pub async fn run(_kube: &KubeArgs, _args: ExplainArgs) -> Result<Outcome, Error> {
    Err(Error::Other("explain is not implemented yet".into()))
}
