//! `kubectl mosaic bind --auto`: for every Deployment container in scope, take
//! the running image's repository, propose a GitHub repository (image source
//! label first, else name similarity with the owner's repositories), show the
//! proposals with a confidence, and apply the chosen or confident ones.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use mosaic_core::Binding;
use mosaic_core::matching;
use mosaic_core::names::OCI_LABEL_SOURCE;

use super::bind::{self, BindArgs};
pub use super::proposals::{Row, parse_pick, table, workloads};
use crate::cli::KubeArgs;
use crate::error::{Error, Outcome};
use crate::github::{GitHub, GitHubApi};
use crate::kubeconf;
use crate::output::{self, Format};
use crate::registry::{Credentials, Registry};

/// Credentials for a namespace: its dockerconfigjson Secrets named by the Deployments, then the local Docker config.
async fn credentials(
    client: &kube::Client,
    namespace: &str,
    deployments: &[&Deployment],
) -> Credentials {
    let mut creds = Credentials::default();
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mut names: Vec<String> = deployments
        .iter()
        .filter_map(|d| d.spec.template.spec.as_ref()?.image_pull_secrets.clone())
        .flatten()
        .map(|r| r.name)
        .collect();
    names.sort();
    names.dedup();
    for n in names {
        if let Ok(Some(s)) = api.get_opt(&n).await
            && let Some(data) = s.data.as_ref().and_then(|d| d.get(".dockerconfigjson"))
        {
            creds.add_docker_config(&data.0);
        }
    }
    creds.add_local_docker_config();
    creds
}

pub async fn run(kube: &KubeArgs, args: BindArgs) -> Result<Outcome, Error> {
    if !(0.0..=1.0).contains(&args.threshold) {
        return Err(Error::Usage(format!(
            "--threshold {} must be between 0 and 1",
            args.threshold
        )));
    }
    let cluster = kubeconf::connect(kube).await?;
    let all = kube.all_namespaces;
    let (dapi, bapi): (Api<Deployment>, Api<Binding>) = if all {
        (
            Api::all(cluster.client.clone()),
            Api::all(cluster.client.clone()),
        )
    } else {
        (
            Api::namespaced(cluster.client.clone(), &cluster.namespace),
            Api::namespaced(cluster.client.clone(), &cluster.namespace),
        )
    };
    let deployments = dapi.list(&ListParams::default()).await?.items;
    if deployments.is_empty() {
        eprintln!(
            "{}",
            output::no_resources((!all).then_some(cluster.namespace.as_str()))
        );
        return Ok(Outcome::Success);
    }
    let bindings = bapi.list(&ListParams::default()).await?.items;
    let bound: BTreeMap<(String, String), String> = bindings
        .iter()
        .map(|b| {
            (
                (b.namespace().unwrap_or_default(), b.name_any()),
                b.spec.repo.clone(),
            )
        })
        .collect();

    let repos = match &args.owner {
        Some(owner) => {
            let gh = GitHub::from_env(&args.github)?;
            let r = gh.list_repos(owner).await?;
            eprintln!("Found {} repositories of {owner}", r.len());
            r
        }
        None => {
            eprintln!("No --owner given: proposals come from image source labels only");
            vec![]
        }
    };

    let mut by_ns: BTreeMap<String, Vec<&Deployment>> = BTreeMap::new();
    for d in &deployments {
        by_ns
            .entry(d.namespace().unwrap_or_else(|| cluster.namespace.clone()))
            .or_default()
            .push(d);
    }
    let mut rows = vec![];
    for ds in by_ns.values_mut() {
        ds.sort_by_key(|d| d.name_any());
    }
    for (ns, ds) in &by_ns {
        let registry = Registry::new(credentials(&cluster.client, ns, ds).await)
            .map_err(|e| Error::Other(format!("cannot build a registry client: {e}")))?;
        for d in ds {
            for (mut w, img, binding_name, container_field) in workloads(d) {
                let bound_to = bound.get(&(ns.clone(), binding_name.clone())).cloned();
                if bound_to.is_none() {
                    match registry.labels(&img).await {
                        Ok(l) => w.source_label = l.get(OCI_LABEL_SOURCE).cloned(),
                        Err(e) => tracing::debug!(image = %img, error = %e, "no image labels"),
                    }
                }
                let proposal = if bound_to.is_some() {
                    None
                } else {
                    matching::propose(&w, &repos)
                };
                rows.push(Row {
                    namespace: ns.clone(),
                    workload: w,
                    binding_name,
                    container_field,
                    proposal,
                    bound_to,
                });
            }
        }
    }

    let rendered = table(&rows, all, args.threshold);
    let chosen: Vec<usize> = if args.yes || args.dry_run {
        (0..rows.len())
            .filter(|&i| rows[i].confident(args.threshold))
            .collect()
    } else if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        eprint!("{rendered}");
        pick(&rows)?
    } else {
        print!("{rendered}");
        eprintln!(
            "Nothing applied: re-run with --yes to bind the rows marked \"bind\" (confidence >= {:.0}%), or run on a terminal to choose.",
            args.threshold * 100.0
        );
        return Ok(Outcome::Success);
    };

    if args.dry_run {
        eprint!("{rendered}");
        let format = args.output.map_or(Format::Yaml, Format::from);
        let objs: Vec<Binding> = chosen.iter().filter_map(|&i| rows[i].binding()).collect();
        match format {
            Format::Json => print!("{}", output::render_list(&objs, Format::Json)?),
            _ => {
                for (i, b) in objs.iter().enumerate() {
                    if i > 0 {
                        println!("---");
                    }
                    print!("{}", output::render_value(b, Format::Yaml)?);
                }
            }
        }
        return Ok(Outcome::Success);
    }
    if args.yes {
        eprint!("{rendered}");
    }
    if chosen.is_empty() {
        eprintln!("No bindings created.");
        return Ok(Outcome::Success);
    }
    for i in chosen {
        let Some(b) = rows[i].binding() else { continue };
        let (_, created) = bind::apply_binding(&cluster.client, &b).await?;
        println!(
            "binding.mosaic.nectar.dev/{} {}",
            b.name_any(),
            if created { "created" } else { "configured" }
        );
    }
    Ok(Outcome::Success)
}

/// Ask on the terminal which rows to apply.
fn pick(rows: &[Row]) -> Result<Vec<usize>, Error> {
    let selectable: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].bound_to.is_none() && rows[i].proposal.is_some())
        .collect();
    if selectable.is_empty() {
        return Ok(vec![]);
    }
    let stdin = std::io::stdin();
    loop {
        eprint!("Bind which rows? (e.g. 1,3 or 2-4, all, or Enter for none): ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        if stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::Other(format!("cannot read the answer: {e}")))?
            == 0
        {
            return Ok(vec![]);
        }
        match parse_pick(&line, rows.len()) {
            Ok(p) => return Ok(p.into_iter().filter(|i| selectable.contains(i)).collect()),
            Err(e) => eprintln!("{e}"),
        }
    }
}
