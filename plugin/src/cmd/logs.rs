//! `kubectl mosaic logs`: the log tail a Build keeps in its status, with its terminal control
//! sequences shown instead of obeyed (`output::escape_log`).

use clap::Args;
use kube::Api;
use mosaic_core::Build;

use crate::error::{Error, Outcome};
use crate::kubeconf;
use crate::kubeconf::KubeArgs;

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// The Build: build/NAME.
    pub target: String,
}

pub async fn run(kube: &KubeArgs, args: LogsArgs) -> Result<Outcome, Error> {
    let name = super::parse_build_target(&args.target)?;
    let cluster = kubeconf::connect(kube).await?;
    let api: Api<Build> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let build = api.get_opt(&name).await?.ok_or_else(|| {
        Error::NotFound(format!(
            "build {name:?} not found in namespace {:?}: list builds with `kubectl get builds.mosaic.nectar.dev -n {}`",
            cluster.namespace, cluster.namespace
        ))
    })?;
    let status = build.status.unwrap_or_default();
    match status.log_tail.as_deref().filter(|l| !l.is_empty()) {
        Some(log) => {
            // The log is the build's output: a hostile repository writes it.
            let log = crate::output::escape_log(log);
            print!("{log}");
            if !log.ends_with('\n') {
                println!();
            }
        }
        None => eprintln!("build/{name} has no log yet (phase {})", status.phase),
    }
    Ok(Outcome::Success)
}
