//! `kubectl mosaic bind --auto`: for every Deployment container in scope, take
//! the running image's repository, propose a GitHub repository (image source
//! label first, else name similarity with the owner's repositories), show the
//! proposals with a confidence, and apply the chosen or confident ones.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};

use clap::Args;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use mosaic_core::Binding;
use mosaic_core::matching;
use mosaic_core::names::{OCI_LABEL_SOURCE, REGISTRY_CONFIG_KEY};

use super::proposals::{Row, parse_pick, table, workloads};
use super::write::apply_binding;
use crate::error::{Error, Outcome};
use crate::github::{GitHub, GitHubApi, GitHubArgs};
use crate::kubeconf::{self, Cluster, KubeArgs};
use crate::output::{self, Format, ObjectFormat};
use crate::registry::{Credentials, Registry};

/// The flags of `bind --auto` (its `--dry-run` and `-o` are bind's).
#[derive(Args, Debug)]
pub struct AutoArgs {
    /// Propose bindings for every Deployment in scope (-n or -A) from image labels and repo names.
    #[arg(help_heading = "Options for --auto", long)]
    pub auto: bool,
    /// With --auto: the GitHub user or organization whose repositories to match against.
    #[arg(help_heading = "Options for --auto", long, requires = "auto")]
    pub owner: Option<String>,
    /// With --auto: apply every proposal at or above the threshold without asking.
    #[arg(
        help_heading = "Options for --auto",
        long,
        short = 'y',
        requires = "auto"
    )]
    pub yes: bool,
    /// With --auto: the lowest confidence (0 to 1) applied by --yes.
    #[arg(help_heading = "Options for --auto", long, requires = "auto", default_value_t = mosaic_core::matching::DEFAULT_THRESHOLD)]
    pub threshold: f64,
}

/// Credentials for a namespace: its dockerconfigjson Secrets named by the Deployments, then the local Docker config.
pub(crate) async fn credentials(
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
            && let Some(data) = s.data.as_ref().and_then(|d| d.get(REGISTRY_CONFIG_KEY))
        {
            creds.add_docker_config(&data.0);
        }
    }
    creds.add_local_docker_config();
    creds
}

pub async fn run(
    kube: &KubeArgs,
    args: &AutoArgs,
    dry_run: bool,
    output: Option<ObjectFormat>,
    github: &GitHubArgs,
) -> Result<Outcome, Error> {
    if !(0.0..=1.0).contains(&args.threshold) {
        return Err(Error::Usage(format!(
            "--threshold {} must be between 0 and 1",
            args.threshold
        )));
    }
    let cluster = kubeconf::connect(kube).await?;
    let all = kube.all_namespaces;
    let Some(scope) = Scope::list(&cluster, all).await? else {
        eprintln!(
            "{}",
            output::no_resources((!all).then_some(cluster.namespace.as_str()))
        );
        return Ok(Outcome::Success);
    };
    let repos = owner_repos(args.owner.as_deref(), github).await?;
    let rows = scope.rows(&cluster, &repos).await?;
    let rendered = table(&rows, all, args.threshold);
    let chosen: Vec<usize> = if args.yes || dry_run {
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
    if dry_run {
        eprint!("{rendered}");
        print_bindings(&rows, &chosen, output.map_or(Format::Yaml, Format::from))?;
        return Ok(Outcome::Success);
    }
    if args.yes {
        eprint!("{rendered}");
    }
    apply_rows(&cluster.client, &rows, &chosen).await
}

/// The Deployments in scope, by namespace and name, and the repository each existing Binding
/// (by namespace and name) is bound to.
struct Scope {
    deployments: BTreeMap<String, Vec<Deployment>>,
    bound: BTreeMap<(String, String), String>,
}

impl Scope {
    /// List the scope; `None` when it holds no Deployment.
    async fn list(cluster: &Cluster, all: bool) -> Result<Option<Self>, Error> {
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
        let listed = dapi.list(&ListParams::default()).await?.items;
        if listed.is_empty() {
            return Ok(None);
        }
        let bound = bapi
            .list(&ListParams::default())
            .await?
            .items
            .iter()
            .map(|b| {
                (
                    (b.namespace().unwrap_or_default(), b.name_any()),
                    b.spec.repo.clone(),
                )
            })
            .collect();
        let mut deployments: BTreeMap<String, Vec<Deployment>> = BTreeMap::new();
        for d in listed {
            deployments
                .entry(d.namespace().unwrap_or_else(|| cluster.namespace.clone()))
                .or_default()
                .push(d);
        }
        for ds in deployments.values_mut() {
            ds.sort_by_key(|d| d.name_any());
        }
        Ok(Some(Self { deployments, bound }))
    }

    /// One row per container: bound already, or proposed from the image's source label
    /// (read with the namespace's pull credentials) and the owner's `repos`.
    async fn rows(&self, cluster: &Cluster, repos: &[String]) -> Result<Vec<Row>, Error> {
        let mut rows = vec![];
        for (ns, ds) in &self.deployments {
            let refs: Vec<&Deployment> = ds.iter().collect();
            let registry = Registry::new(credentials(&cluster.client, ns, &refs).await)
                .map_err(|e| Error::Other(format!("cannot build a registry client: {e}")))?;
            for d in ds {
                for (mut w, img, binding_name, container_field) in workloads(d) {
                    let bound_to = self.bound.get(&(ns.clone(), binding_name.clone())).cloned();
                    let proposal = if bound_to.is_some() {
                        None
                    } else {
                        match registry.labels(&img).await {
                            Ok(l) => w.source_label = l.get(OCI_LABEL_SOURCE).cloned(),
                            Err(e) => tracing::debug!(image = %img, error = %e, "no image labels"),
                        }
                        matching::propose(&w, repos)
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
        Ok(rows)
    }
}

/// The repositories of `--owner` to match names against (none without it).
async fn owner_repos(owner: Option<&str>, github: &GitHubArgs) -> Result<Vec<String>, Error> {
    let Some(owner) = owner else {
        eprintln!("No --owner given: proposals come from image source labels only");
        return Ok(vec![]);
    };
    let r = GitHub::from_env(github)?.list_repos(owner).await?;
    eprintln!("Found {} repositories of {owner}", r.len());
    Ok(r)
}

/// `--dry-run`: the chosen rows' Bindings on stdout, as a YAML stream or a JSON list.
fn print_bindings(rows: &[Row], chosen: &[usize], format: Format) -> Result<(), Error> {
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
    Ok(())
}

/// Apply the chosen rows' Bindings, one line each on stdout.
async fn apply_rows(
    client: &kube::Client,
    rows: &[Row],
    chosen: &[usize],
) -> Result<Outcome, Error> {
    if chosen.is_empty() {
        eprintln!("No bindings created.");
        return Ok(Outcome::Success);
    }
    for &i in chosen {
        let Some(b) = rows[i].binding() else { continue };
        let (_, created) = apply_binding(client, &b).await?;
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
