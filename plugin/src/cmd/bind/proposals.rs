//! The proposal table of `bind --auto`, as plain data and functions: one row per
//! Deployment container, the Binding a row proposes, the rendered table, and
//! parsing the user's pick.

use k8s_openapi::api::apps::v1::Deployment;
use kube::ResourceExt;
use mosaic_core::matching::{Proposal, Workload};
use mosaic_core::names::{DEFAULT_BRANCH, DEFAULT_CONTEXT, DEFAULT_DOCKERFILE};
use mosaic_core::reference::{ImageRef, RepoName};
use mosaic_core::{Binding, bound_container};

use super::write::BindRequest;
use crate::output::Table;

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
            verify: None,
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
            let bname = bound_container::binding_name(&name, &c.name, containers.len());
            let field = several.then(|| c.name.clone());
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
