//! `kubectl mosaic rollback`: apply an earlier successful Build's image again, recorded as a
//! Build with trigger `rollback` (core's `rollback`: which Build, and the Build itself); the
//! webhook applies that digest without fetching or building anything.

use clap::Args;
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use mosaic_core::names::{FIELD_MANAGER_PLUGIN, LABEL_BINDING};
use mosaic_core::{Binding, Build, rollback};

use crate::error::{Error, Outcome};
use crate::kubeconf;
use crate::kubeconf::KubeArgs;
use crate::output::{self, ObjectFormat};

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  kubectl mosaic rollback deployment/api\n  kubectl mosaic rollback deployment/api --to api-3f2a9c1e0b7d --wait"
)]
pub struct RollbackArgs {
    /// The bound Deployment: deployment/NAME.
    pub target: String,
    /// The Succeeded Build whose image to run again (default: the newest one whose image is
    /// not the one running).
    #[arg(long, value_name = "BUILD")]
    pub to: Option<String>,
    /// The container, when the Deployment has one binding per container.
    #[arg(long, short = 'c')]
    pub container: Option<String>,
    /// Follow the rollback until it finishes; exit non-zero if it does not succeed.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: how long to wait, e.g. 10m (0: no limit).
    #[arg(long, default_value = "30m", value_name = "DURATION")]
    pub timeout: String,
    /// Output format: json or yaml (the created Build).
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<ObjectFormat>,
}

/// The command line of a rollback of `binding` to Build `to`.
pub fn command(binding: &Binding, to: &str) -> String {
    format!(
        "kubectl mosaic rollback {} --to {to}",
        super::target(binding)
    )
}

/// Create the rollback Build of `binding` to `to` (else the newest earlier success), as `user`.
pub async fn start(
    client: &kube::Client,
    binding: &Binding,
    to: Option<&str>,
    user: Option<String>,
) -> Result<Build, Error> {
    let ns = binding.namespace().unwrap_or_default();
    let api: Api<Build> = Api::namespaced(client.clone(), &ns);
    let lp = ListParams::default().labels(&format!("{LABEL_BINDING}={}", binding.name_any()));
    let builds: Vec<Build> = api
        .list(&lp)
        .await?
        .items
        .into_iter()
        .filter(|b| b.spec.binding == binding.name_any())
        .collect();
    let running = binding
        .status
        .as_ref()
        .and_then(|s| s.last_image.as_deref());
    let source = rollback::choose(&builds, to, running).map_err(|e| Error::Input(e.to_string()))?;
    let build = rollback::rollback_build(binding, source, user, output::now_secs().unsigned_abs())
        .ok_or_else(|| {
            Error::Other(format!(
                "binding {} has no namespace: read it from the cluster",
                binding.name_any()
            ))
        })?;
    let name = build.name_any();
    Ok(api
        .patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER_PLUGIN),
            &Patch::Apply(&build),
        )
        .await?)
}

pub async fn run(kube: &KubeArgs, args: RollbackArgs) -> Result<Outcome, Error> {
    let deployment = super::parse_deployment_target(&args.target)?;
    let timeout = mosaic_core::duration::parse_limit(&args.timeout)
        .map_err(|e| Error::Usage(format!("--timeout: {e}")))?;
    let to = args
        .to
        .as_deref()
        .map(super::parse_build_target)
        .transpose()?;
    let cluster = kubeconf::connect(kube).await?;
    let bindings: Api<Binding> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let binding = super::one_binding_for(
        &bindings,
        &cluster.namespace,
        &deployment,
        args.container.as_deref(),
    )
    .await?;
    let stored = start(
        &cluster.client,
        &binding,
        to.as_deref(),
        cluster.user.clone(),
    )
    .await?;
    let name = stored.name_any();
    let t = &stored.spec.trigger;
    eprintln!(
        "Rolling back to build/{} ({}, commit {})",
        t.build.as_deref().unwrap_or_default(),
        t.image.as_deref().unwrap_or_default(),
        output::short_commit(&stored.spec.commit)
    );
    match args.output {
        Some(f) => print!("{}", output::render_value(&stored, f.into())?),
        None => println!("build.mosaic.nectar.dev/{name} created"),
    }
    if args.wait {
        let api: Api<Build> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
        super::deploy::follow(&api, &name, timeout).await
    } else {
        Ok(Outcome::Success)
    }
}
