//! `kubectl mosaic bind --auto`: propose bindings for every Deployment in scope.

use crate::cli::KubeArgs;
use crate::error::{Error, Outcome};

use super::bind::BindArgs;

pub async fn run(_kube: &KubeArgs, _args: BindArgs) -> Result<Outcome, Error> {
    Err(Error::Other("bind --auto is not implemented yet".into()))
}
