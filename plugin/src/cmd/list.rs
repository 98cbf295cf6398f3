//! `kubectl mosaic list`: bindings with their last commit, image, build phase and age.

use clap::Args;
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use mosaic_core::{Binding, Build};

use crate::error::{Error, Outcome};
use crate::kubeconf;
use crate::kubeconf::KubeArgs;
use crate::output::{self, Format, Table};

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Output format.
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<Format>,
    /// Do not print table headers.
    #[arg(long)]
    pub no_headers: bool,
}

/// The Build a Binding's row reports: `status.lastBuild`, else the newest Build labelled with the Binding.
/// (`builds` may hold `Build`s or `Arc<Build>`s, as the UI's watch stores do.)
pub fn last_build<'a, B: std::borrow::Borrow<Build>>(
    b: &Binding,
    builds: &'a [B],
) -> Option<&'a Build> {
    let ns = b.namespace();
    let same = |x: &&Build| x.namespace() == ns && x.spec.binding == b.name_any();
    let mine = || builds.iter().map(|x| x.borrow()).filter(same);
    if let Some(name) = b.status.as_ref().and_then(|s| s.last_build.as_deref())
        && let Some(found) = mine().find(|x| x.name_any() == name)
    {
        return Some(found);
    }
    mine().max_by_key(|x| {
        x.metadata
            .creation_timestamp
            .as_ref()
            .map(|t| t.0.as_second())
    })
}

/// Render the table for `list` (pure: objects in, text out).
pub fn table(
    bindings: &[Binding],
    builds: &[Build],
    all_namespaces: bool,
    wide: bool,
    no_headers: bool,
) -> String {
    let mut headers = vec![];
    if all_namespaces {
        headers.push("namespace");
    }
    headers.extend([
        "name",
        "deployment",
        "repo",
        "branch",
        "commit",
        "image",
        "phase",
        "age",
    ]);
    if wide {
        headers.extend(["container", "build", "deployed image"]);
    }
    let mut t = Table::new(&headers, no_headers);
    let mut sorted: Vec<&Binding> = bindings.iter().collect();
    sorted.sort_by_key(|b| (b.namespace(), b.name_any()));
    for b in sorted {
        let status = b.status.clone().unwrap_or_default();
        let build = last_build(b, builds);
        let commit = status
            .last_commit
            .as_deref()
            .or(build.map(|x| x.spec.commit.as_str()))
            .map(output::short_commit);
        let phase = build
            .and_then(|x| x.status.as_ref())
            .map(|s| s.phase.to_string());
        let mut row = vec![];
        if all_namespaces {
            row.push(b.namespace().unwrap_or_default());
        }
        row.extend([
            b.name_any(),
            b.spec.deployment.clone(),
            b.spec.repo.clone(),
            b.spec.branch.clone(),
            output::or_none(commit.as_deref()),
            b.spec.image.clone(),
            output::or_none(phase.as_deref().or(build.map(|_| "Pending"))),
            output::age(b.metadata.creation_timestamp.as_ref()),
        ]);
        if wide {
            row.extend([
                output::or_none(b.spec.container.as_deref()),
                output::or_none(build.map(|x| x.name_any()).as_deref()),
                output::or_none(status.last_image.as_deref()),
            ]);
        }
        t.row(row);
    }
    t.render()
}

pub async fn run(kube: &KubeArgs, args: ListArgs) -> Result<Outcome, Error> {
    let cluster = kubeconf::connect(kube).await?;
    let (bapi, buildapi): (Api<Binding>, Api<Build>) = if kube.all_namespaces {
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
    let bindings = bapi.list(&ListParams::default()).await?.items;
    match args.output {
        Some(f @ (Format::Json | Format::Yaml)) => {
            print!("{}", output::render_list(&bindings, f)?);
            return Ok(Outcome::Success);
        }
        Some(Format::Name) => {
            for b in &bindings {
                println!("binding.mosaic.nectar.dev/{}", b.name_any());
            }
            return Ok(Outcome::Success);
        }
        _ => {}
    }
    if bindings.is_empty() {
        eprintln!(
            "{}",
            output::no_resources((!kube.all_namespaces).then_some(cluster.namespace.as_str()))
        );
        return Ok(Outcome::Success);
    }
    let builds = buildapi.list(&ListParams::default()).await?.items;
    print!(
        "{}",
        table(
            &bindings,
            &builds,
            kube.all_namespaces,
            args.output == Some(Format::Wide),
            args.no_headers
        )
    );
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use mosaic_core::BuildPhase;

    fn binding(name: &str) -> Binding {
        testing::binding("ns", name, "acme/api", "registry.example.com/acme/api")
    }

    /// Build `name` of `binding` in `phase`, created `minute` minutes past midnight.
    fn build(name: &str, binding: &str, phase: BuildPhase, minute: u32) -> Build {
        let created = format!("2026-01-01T00:{minute:02}:00Z");
        testing::build(
            "ns",
            name,
            binding,
            &created,
            serde_json::json!({"phase": phase}),
        )
    }

    #[test]
    fn rows_show_the_newest_build() {
        let builds = vec![
            build("old", "api", BuildPhase::Failed, 1),
            build("new", "api", BuildPhase::Building, 2),
        ];
        let out = table(
            &[binding("api"), binding("web")],
            &builds,
            false,
            false,
            false,
        );
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("NAME   DEPLOYMENT   REPO"), "{out}");
        assert!(
            lines[1].contains("0123456") && lines[1].contains("Building"),
            "{out}"
        );
        assert!(lines[2].contains("<none>"), "{out}");
        let wide = table(&[binding("api")], &builds, true, true, true);
        assert!(wide.starts_with("ns   api"), "{wide}");
        assert!(wide.contains("new"), "{wide}");
    }

    #[test]
    fn status_last_build_wins() {
        let builds = vec![
            build("old", "api", BuildPhase::Failed, 1),
            build("new", "api", BuildPhase::Building, 2),
        ];
        let mut b = binding("api");
        b.status = Some(mosaic_core::BindingStatus {
            last_build: Some("old".into()),
            ..Default::default()
        });
        assert_eq!(last_build(&b, &builds).unwrap().name_any(), "old");
    }
}
