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
use mosaic_core::matching::{self, Proposal, Workload};
use mosaic_core::names::{DEFAULT_BRANCH, DEFAULT_CONTEXT, DEFAULT_DOCKERFILE, OCI_LABEL_SOURCE};
use mosaic_core::reference::{ImageRef, RepoName};

use super::bind::{self, BindArgs, BindRequest};
use crate::cli::KubeArgs;
use crate::error::{Error, Outcome};
use crate::github::{GitHub, GitHubApi};
use crate::kubeconf;
use crate::output::{self, Format, Table};
use crate::registry::{Credentials, Registry};

/// One row of the proposal table.
#[derive(Debug, Clone)]
pub struct Row {
    pub namespace: String,
    pub workload: Workload,
    /// Binding name this container would get.
    pub binding_name: String,
    /// `spec.container` (set only when the pod has several containers).
    pub container_field: Option<String>,
    pub proposal: Option<Proposal>,
    /// Repo of an existing Binding for this container (shown, never changed).
    pub bound_to: Option<String>,
}

impl Row {
    /// Whether `--yes` applies this row.
    pub fn confident(&self, threshold: f64) -> bool {
        self.bound_to.is_none()
            && self
                .proposal
                .as_ref()
                .is_some_and(|p| p.confidence >= threshold)
    }

    /// The Binding this row proposes.
    pub fn binding(&self) -> Option<Binding> {
        let p = self.proposal.as_ref()?;
        let req = BindRequest {
            deployment: self.workload.deployment.clone(),
            repo: RepoName::parse(&p.repo).ok()?,
            image: ImageRef::parse_repository(&self.workload.image_repository).ok()?,
            branch: DEFAULT_BRANCH.into(),
            container: None,
            dockerfile: DEFAULT_DOCKERFILE.into(),
            context: DEFAULT_CONTEXT.into(),
            registry_secret: None,
            github_secret: None,
            rollback: true,
        };
        Some(req.to_binding(
            &self.binding_name,
            &self.namespace,
            self.container_field.clone(),
        ))
    }
}

/// The workloads of a Deployment: one per container with a parseable image.
pub fn workloads(d: &Deployment) -> Vec<(Workload, ImageRef, String, Option<String>)> {
    let name = d.name_any();
    let containers = d
        .spec
        .template
        .spec
        .as_ref()
        .map(|p| p.containers.clone())
        .unwrap_or_default();
    let several = containers.len() > 1;
    containers
        .iter()
        .filter_map(|c| {
            let img = ImageRef::parse(c.image.as_deref()?).ok()?;
            let w = Workload {
                deployment: name.clone(),
                container: c.name.clone(),
                image_repository: img.repository(),
                source_label: None,
            };
            let (bname, field) = if several {
                (format!("{name}-{}", c.name), Some(c.name.clone()))
            } else {
                (name.clone(), None)
            };
            Some((w, img, bname, field))
        })
        .collect()
}

/// Render the proposal table (pure).
pub fn table(rows: &[Row], all_namespaces: bool, threshold: f64) -> String {
    let mut headers = vec!["#"];
    if all_namespaces {
        headers.push("namespace");
    }
    headers.extend([
        "deployment",
        "container",
        "image",
        "repo",
        "confidence",
        "basis",
        "action",
    ]);
    let mut t = Table::new(&headers, false);
    for (i, r) in rows.iter().enumerate() {
        let mut cells = vec![(i + 1).to_string()];
        if all_namespaces {
            cells.push(r.namespace.clone());
        }
        let (repo, conf, basis) = match (&r.bound_to, &r.proposal) {
            (Some(repo), _) => (repo.clone(), "-".into(), "existing binding".into()),
            (None, Some(p)) => (
                p.repo.clone(),
                format!("{:.0}%", p.confidence * 100.0),
                p.basis.to_string(),
            ),
            (None, None) => ("<none>".into(), "-".into(), "no match".into()),
        };
        let action = if r.bound_to.is_some() {
            "already bound"
        } else if r.confident(threshold) {
            "bind"
        } else if r.proposal.is_some() {
            "ask"
        } else {
            "skip"
        };
        cells.extend([
            r.workload.deployment.clone(),
            r.workload.container.clone(),
            r.workload.image_repository.clone(),
            repo,
            conf,
            basis,
            action.into(),
        ]);
        t.row(cells);
    }
    t.render()
}

/// Parse the user's pick: `1,3`, `2-4`, `all`, or empty for none. Numbers are 1-based rows.
pub fn parse_pick(input: &str, rows: usize) -> Result<Vec<usize>, String> {
    let s = input.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("none") || s.eq_ignore_ascii_case("n") {
        return Ok(vec![]);
    }
    if s.eq_ignore_ascii_case("all") || s.eq_ignore_ascii_case("a") {
        return Ok((0..rows).collect());
    }
    let mut out = vec![];
    for part in s.split([',', ' ']).filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (usize, usize) = match (a.trim().parse(), b.trim().parse()) {
            (Ok(a), Ok(b)) => (a, b),
            _ => return Err(format!("{part:?} is not a row number")),
        };
        if a == 0 || b > rows || a > b {
            return Err(format!("{part:?} is outside rows 1-{rows}"));
        }
        out.extend((a - 1)..b);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use mosaic_core::matching::Basis;

    fn row(dep: &str, p: Option<(&str, f64)>, bound: Option<&str>) -> Row {
        Row {
            namespace: "ns".into(),
            workload: Workload {
                deployment: dep.into(),
                container: dep.into(),
                image_repository: format!("registry.example.com/acme/{dep}"),
                source_label: None,
            },
            binding_name: dep.into(),
            container_field: None,
            proposal: p.map(|(r, c)| Proposal {
                repo: r.into(),
                confidence: c,
                basis: Basis::SameName { name: dep.into() },
            }),
            bound_to: bound.map(str::to_string),
        }
    }

    #[test]
    fn only_confident_unbound_rows_are_applied() {
        assert!(row("api", Some(("acme/api", 1.0)), None).confident(0.8));
        assert!(!row("api", Some(("acme/api", 0.6)), None).confident(0.8));
        assert!(!row("api", Some(("acme/api", 1.0)), Some("acme/api")).confident(0.8));
        assert!(!row("api", None, None).confident(0.0));
    }

    #[test]
    fn table_shows_actions() {
        let rows = vec![
            row("api", Some(("acme/api", 1.0)), None),
            row("web", Some(("acme/website", 0.6)), None),
            row("db", None, None),
            row("old", None, Some("acme/old")),
        ];
        let t = table(&rows, false, 0.8);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("#   DEPLOYMENT"), "{t}");
        assert!(
            lines[1].contains("acme/api")
                && lines[1].contains("100%")
                && lines[1].ends_with("bind"),
            "{t}"
        );
        assert!(lines[2].contains("60%") && lines[2].ends_with("ask"), "{t}");
        assert!(lines[3].ends_with("skip"), "{t}");
        assert!(
            lines[4].contains("existing binding") && lines[4].ends_with("already bound"),
            "{t}"
        );
    }

    #[test]
    fn proposed_bindings_use_bind_defaults() {
        let b = row("api", Some(("acme/api", 1.0)), None).binding().unwrap();
        assert_eq!(b.name_any(), "api");
        assert_eq!(b.spec.repo, "acme/api");
        assert_eq!(b.spec.image, "registry.example.com/acme/api");
        assert_eq!(b.spec.branch, "main");
        assert!(b.spec.rollback_on_failure);
    }

    #[test]
    fn picks() {
        assert_eq!(parse_pick("", 3).unwrap(), Vec::<usize>::new());
        assert_eq!(parse_pick("all", 3).unwrap(), vec![0, 1, 2]);
        assert_eq!(parse_pick("1,3", 3).unwrap(), vec![0, 2]);
        assert_eq!(parse_pick("2-3 1", 3).unwrap(), vec![0, 1, 2]);
        assert!(parse_pick("4", 3).is_err());
        assert!(parse_pick("x", 3).is_err());
        assert!(parse_pick("0", 3).is_err());
    }
}
