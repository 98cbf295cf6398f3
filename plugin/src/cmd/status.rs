//! `kubectl mosaic status`: a binding, its recent builds with phases and durations, the
//! Deployment's rollout state in words, the findings of a failed rollout, and why recent pushes
//! did not deploy. Here: the flags and the reads; `report` holds the data, `render` the text;
//! `--commit` is `status_commit`.

mod render;
mod report;
#[cfg(test)]
mod tests;

use clap::Args;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Event;
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use mosaic_core::names::LABEL_BINDING;
use mosaic_core::{Binding, Build};

use crate::error::{Error, Outcome};
use crate::kubeconf;
use crate::kubeconf::KubeArgs;
use crate::output::{self, ObjectFormat};

pub use render::render;
pub use report::{
    RECENT_BUILDS, RECENT_EVENTS, StatusReport, build_seconds, plain_http_registry, report,
    rollout_words,
};

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The bound Deployment: deployment/NAME (every binding in scope when omitted).
    pub target: Option<String>,
    /// The container, when the Deployment has one binding per container.
    #[arg(long, short = 'c')]
    pub container: Option<String>,
    /// Output format: json or yaml (binding, rollout state and recent builds per binding).
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<ObjectFormat>,
    /// What happened to one commit (7 to 40 hex digits): deployed, superseded, refused, failed,
    /// or never delivered.
    #[arg(long, value_name = "SHA", conflicts_with_all = ["target", "container"])]
    pub commit: Option<String>,
}

pub async fn run(kube: &KubeArgs, args: StatusArgs) -> Result<Outcome, Error> {
    if let Some(commit) = &args.commit {
        return super::status_commit::run(kube, commit, args.output).await;
    }
    let cluster = kubeconf::connect(kube).await?;
    let all = kube.all_namespaces && args.target.is_none();
    let bapi: Api<Binding> = if all {
        Api::all(cluster.client.clone())
    } else {
        Api::namespaced(cluster.client.clone(), &cluster.namespace)
    };
    let bindings = match &args.target {
        Some(t) => {
            let d = super::parse_deployment_target(t)?;
            vec![
                super::one_binding_for(&bapi, &cluster.namespace, &d, args.container.as_deref())
                    .await?,
            ]
        }
        None => bapi.list(&ListParams::default()).await?.items,
    };
    if bindings.is_empty() {
        eprintln!(
            "{}",
            output::no_resources((!all).then_some(cluster.namespace.as_str()))
        );
        return Ok(Outcome::Success);
    }
    // The registries the webhook reaches over plain HTTP, from its install settings; a webhook
    // this user cannot see leaves only loopback registries marked.
    let plain = crate::locate::plain_http_registries(&cluster.client).await;
    let now = output::now_secs();
    let mut first = true;
    let mut gathered = vec![];
    for b in &bindings {
        let ns = b.namespace().unwrap_or_else(|| cluster.namespace.clone());
        let builds = Api::<Build>::namespaced(cluster.client.clone(), &ns)
            .list(&ListParams::default().labels(&format!("{LABEL_BINDING}={}", b.name_any())))
            .await?
            .items;
        let dep = Api::<Deployment>::namespaced(cluster.client.clone(), &ns)
            .get_opt(&b.spec.deployment)
            .await?;
        let events = binding_events(&cluster.client, &ns, &b.name_any()).await;
        if args.output.is_some() {
            gathered.push((b, dep, builds, events));
            continue;
        }
        if !first {
            println!();
        }
        first = false;
        print!("{}", render(b, dep.as_ref(), &builds, &events, now, &plain));
    }
    if let Some(f) = args.output {
        let reports: Vec<StatusReport> = gathered
            .iter()
            .map(|(b, d, builds, events)| report(b, d.as_ref(), builds, events, &plain))
            .collect();
        print!("{}", output::render_list(&reports, f.into())?);
    }
    Ok(Outcome::Success)
}

/// The Events the webhook wrote on Binding `name` (labelled with it). Events are a courtesy:
/// a user who may not list them still gets the rest of `status` (a note on stderr).
async fn binding_events(client: &kube::Client, ns: &str, name: &str) -> Vec<Event> {
    let lp = ListParams::default().labels(&format!("{LABEL_BINDING}={name}"));
    match Api::<Event>::namespaced(client.clone(), ns).list(&lp).await {
        Ok(l) => l.items,
        Err(e) => {
            eprintln!(
                "note: cannot list the Events of Binding {ns}/{name} (why pushes did not deploy): {}",
                mosaic_core::permission::kube_error(&e)
            );
            Vec::new()
        }
    }
}
