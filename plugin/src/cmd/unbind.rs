//! `kubectl mosaic unbind`: delete the Binding of a Deployment (the Deployment is untouched).

use clap::Args;
use kube::api::DeleteParams;
use kube::{Api, ResourceExt};
use mosaic_core::Binding;

use crate::error::{Error, Outcome};
use crate::kubeconf;
use crate::kubeconf::KubeArgs;

#[derive(Args, Debug)]
pub struct UnbindArgs {
    /// The bound Deployment: deployment/NAME.
    pub target: String,
    /// The container, when the Deployment has one binding per container.
    #[arg(long, short = 'c')]
    pub container: Option<String>,
}

pub async fn run(kube: &KubeArgs, args: UnbindArgs) -> Result<Outcome, Error> {
    let deployment = super::parse_deployment_target(&args.target)?;
    let cluster = kubeconf::connect(kube).await?;
    let api: Api<Binding> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let b = super::one_binding_for(
        &api,
        &cluster.namespace,
        &deployment,
        args.container.as_deref(),
    )
    .await?;
    let name = b.name_any();
    api.delete(&name, &DeleteParams::default()).await?;
    println!("binding.mosaic.nectar.dev/{name} deleted");
    Ok(Outcome::Success)
}
