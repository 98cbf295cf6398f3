//! `kubectl mosaic deploy`: resolve a branch or commit, create a manual `Build`
//! for the Deployment's Binding, and optionally follow it to the end.

use std::time::{Duration, Instant};

use clap::Args;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};
use mosaic_core::names::FIELD_MANAGER_PLUGIN;
use mosaic_core::new_build::base36;
use mosaic_core::resources::{BuildTrigger, build_name};
use mosaic_core::{Binding, Build, BuildPhase, CommitRef};

use crate::error::{Error, Outcome};
use crate::github::GitHubArgs;
use crate::github::{GitHub, GitHubApi, TOKEN_ENV};
use crate::kubeconf;
use crate::kubeconf::KubeArgs;
use crate::output::{self, ObjectFormat};

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  kubectl mosaic deploy deployment/api\n  kubectl mosaic deploy deployment/api --ref release-1.2 --wait\n  kubectl mosaic deploy deployment/api --ref 3f2a9c1e0b7d4a6f8e5c2b1a0f9e8d7c6b5a4f3e"
)]
pub struct DeployArgs {
    /// The bound Deployment: deployment/NAME.
    pub target: String,
    /// Branch, tag or commit SHA to deploy (default: the binding's branch).
    #[arg(long = "ref", value_name = "BRANCH|SHA")]
    pub git_ref: Option<String>,
    /// The container, when the Deployment has one binding per container.
    #[arg(long, short = 'c')]
    pub container: Option<String>,
    /// Follow the build until it finishes; exit non-zero if it does not succeed.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: how long to wait, e.g. 10m (0: no limit).
    #[arg(long, default_value = "30m", value_name = "DURATION")]
    pub timeout: String,
    /// Output format: json or yaml (the created Build).
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<ObjectFormat>,
    #[command(flatten)]
    pub github: GitHubArgs,
}

/// A ref as the user typed it, classified.
#[derive(Debug, PartialEq, Eq)]
pub enum RefChoice {
    /// A full commit id: used as is.
    Commit(String),
    /// Anything else: resolved through GitHub; the Build's `ref` is this full ref.
    Named { lookup: String, full_ref: String },
}

/// Classify `--ref` (or the binding's branch).
pub fn classify_ref(r: &str) -> RefChoice {
    if let Ok(c) = mosaic_core::reference::parse_commit(r) {
        return RefChoice::Commit(c.to_string());
    }
    let full_ref = if r.starts_with("refs/") {
        r.to_string()
    } else {
        format!("refs/heads/{r}")
    };
    let lookup = r
        .strip_prefix("refs/heads/")
        .or_else(|| r.strip_prefix("refs/tags/"))
        .unwrap_or(r)
        .to_string();
    RefChoice::Named { lookup, full_ref }
}

/// The manual Build of `commit` for `binding`, named `name` (the commit's Build name, or that
/// with a suffix when an earlier Build of the commit has ended).
pub fn manual_build(
    binding: &Binding,
    name: &str,
    commit: CommitRef<'_>,
    user: Option<String>,
) -> Result<Build, Error> {
    let mut b =
        Build::for_commit(binding, commit, BuildTrigger::manual(user)).ok_or_else(|| {
            Error::Other(format!(
                "binding {} has no namespace: read it from the cluster",
                binding.name_any()
            ))
        })?;
    b.metadata.name = Some(name.to_string());
    Ok(b)
}

/// The token for resolving refs: `GITHUB_TOKEN`, else the binding's GitHub Secret when readable.
async fn github_token(client: &kube::Client, binding: &Binding) -> Option<String> {
    if let Ok(t) = std::env::var(TOKEN_ENV)
        && !t.is_empty()
    {
        return Some(t);
    }
    let name = binding.spec.github_secret.as_deref()?;
    let api: Api<Secret> = Api::namespaced(client.clone(), &binding.namespace()?);
    let s = api.get_opt(name).await.ok()??;
    let bytes = s.data?.remove(mosaic_core::names::GITHUB_TOKEN_KEY)?.0;
    String::from_utf8(bytes).ok().map(|t| t.trim().to_string())
}

/// The commit and full ref to build for what the user asked (`--ref`, else the branch):
/// a full SHA as is, anything else resolved through GitHub.
pub async fn resolve(
    client: &kube::Client,
    binding: &Binding,
    wanted: &str,
    github: &GitHubArgs,
) -> Result<(String, String), Error> {
    match classify_ref(wanted) {
        RefChoice::Commit(c) => Ok((c.clone(), c)),
        RefChoice::Named { lookup, full_ref } => {
            let gh = GitHub::new(github, github_token(client, binding).await)?;
            let c = gh.resolve_commit(&binding.spec.repo, &lookup).await?;
            eprintln!(
                "Resolved {lookup} in {} to {}",
                binding.spec.repo,
                output::short_commit(&c)
            );
            Ok((c, full_ref))
        }
    }
}

/// What `start` did.
pub enum Started {
    /// A new manual Build, as stored.
    Created(Box<Build>),
    /// A Build of this commit is still on its way: nothing created.
    Running { name: String, phase: BuildPhase },
}

/// Create the manual Build of `commit` for a Binding (in the Binding's namespace), unless one
/// for the commit is still running; a finished one gets a sibling with a time suffix.
pub async fn start(
    client: &kube::Client,
    binding: &Binding,
    commit: &str,
    git_ref: &str,
    user: Option<String>,
) -> Result<Started, Error> {
    let ns = binding.namespace().unwrap_or_default();
    let builds: Api<Build> = Api::namespaced(client.clone(), &ns);
    let mut name = build_name(&binding.name_any(), commit);
    if let Some(existing) = builds.get_opt(&name).await? {
        let phase = existing
            .status
            .as_ref()
            .map(|s| s.phase)
            .unwrap_or_default();
        if !phase.is_terminal() {
            return Ok(Started::Running { name, phase });
        }
        name = format!("{name}-{}", base36(output::now_secs().unsigned_abs()));
    }
    let commit = CommitRef {
        sha: commit,
        git_ref,
    };
    let build = manual_build(binding, &name, commit, user)?;
    let stored = builds
        .patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER_PLUGIN),
            &Patch::Apply(&build),
        )
        .await?;
    Ok(Started::Created(Box::new(stored)))
}

pub async fn run(kube: &KubeArgs, args: DeployArgs) -> Result<Outcome, Error> {
    let deployment = super::parse_deployment_target(&args.target)?;
    let timeout = mosaic_core::duration::parse_limit(&args.timeout)
        .map_err(|e| Error::Usage(format!("--timeout: {e}")))?;
    let cluster = kubeconf::connect(kube).await?;
    let bindings: Api<Binding> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let binding = super::one_binding_for(
        &bindings,
        &cluster.namespace,
        &deployment,
        args.container.as_deref(),
    )
    .await?;
    let wanted = args
        .git_ref
        .clone()
        .unwrap_or_else(|| binding.spec.branch.clone());
    let (commit, git_ref) = resolve(&cluster.client, &binding, &wanted, &args.github).await?;
    let builds: Api<Build> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let stored = match start(
        &cluster.client,
        &binding,
        &commit,
        &git_ref,
        cluster.user.clone(),
    )
    .await?
    {
        Started::Created(b) => *b,
        Started::Running { name, phase } => {
            eprintln!("build/{name} for this commit is already {phase}");
            return if args.wait {
                follow(&builds, &name, timeout).await
            } else {
                Ok(Outcome::Success)
            };
        }
    };
    let name = stored.name_any();
    match args.output {
        Some(f) => print!("{}", output::render_value(&stored, f.into())?),
        None => println!("build.mosaic.nectar.dev/{name} created"),
    }
    if args.wait {
        follow(&builds, &name, timeout).await
    } else {
        Ok(Outcome::Success)
    }
}

/// Poll a Build until it reaches a terminal phase, reporting each phase on stderr.
pub async fn follow(
    api: &Api<Build>,
    name: &str,
    timeout: Option<Duration>,
) -> Result<Outcome, Error> {
    let start = Instant::now();
    let mut last: Option<BuildPhase> = None;
    loop {
        let b = api.get_opt(name).await?.ok_or_else(|| {
            Error::NotFound(format!("build/{name} was deleted while waiting for it"))
        })?;
        let status = b.status.clone().unwrap_or_default();
        if last != Some(status.phase) {
            eprintln!(
                "build/{name}: {} ({}s)",
                status.phase,
                start.elapsed().as_secs()
            );
            last = Some(status.phase);
        }
        if status.phase.is_terminal() {
            if status.phase == BuildPhase::Succeeded {
                if let Some(img) = &status.image {
                    eprintln!("build/{name} deployed {img}");
                }
                return Ok(Outcome::Success);
            }
            for f in &status.findings {
                eprintln!("  {}: {}", f.slug, f.summary);
            }
            let why = [status.reason.as_deref(), status.message.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>();
            return Err(Error::Other(format!(
                "build/{name} ended {}{}{}: see `kubectl mosaic logs build/{name}` and `kubectl mosaic status`",
                status.phase,
                if why.is_empty() { "" } else { ": " },
                why.join(": ")
            )));
        }
        if timeout.is_some_and(|t| start.elapsed() > t) {
            return Err(Error::Other(format!(
                "timed out waiting for build/{name} (still {}): it keeps running; follow it with `kubectl mosaic status`",
                status.phase
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_are_classified() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(classify_ref(sha), RefChoice::Commit(sha.into()));
        assert_eq!(
            classify_ref("main"),
            RefChoice::Named {
                lookup: "main".into(),
                full_ref: "refs/heads/main".into()
            }
        );
        assert_eq!(
            classify_ref("refs/tags/v1"),
            RefChoice::Named {
                lookup: "v1".into(),
                full_ref: "refs/tags/v1".into()
            }
        );
        assert!(matches!(classify_ref("0123abc"), RefChoice::Named { .. }));
    }

    #[test]
    fn manual_builds_carry_labels_user_and_owner() {
        // A Binding as the API server returns it.
        let binding: Binding = serde_json::from_value(serde_json::json!({
            "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Binding",
            "metadata": {"name": "api", "namespace": "ns", "uid": "uid-api", "resourceVersion": "3"},
            "spec": {"deployment": "api", "repo": "acme/api", "image": "r.example.com/api"}}))
        .unwrap();
        let c = "0123456789abcdef0123456789abcdef01234567";
        let commit = CommitRef {
            sha: c,
            git_ref: "refs/heads/main",
        };
        let b = manual_build(
            &binding,
            "api-0123456789ab-x1",
            commit,
            Some("alice".into()),
        )
        .unwrap();
        assert_eq!(b.name_any(), "api-0123456789ab-x1");
        assert_eq!(
            b.spec.trigger.kind,
            mosaic_core::resources::TriggerKind::Manual
        );
        assert_eq!(b.spec.trigger.user.as_deref(), Some("alice"));
        assert_eq!(b.spec.git_ref, "refs/heads/main");
        let labels = b.labels();
        assert_eq!(labels[mosaic_core::names::LABEL_BINDING], "api");
        assert_eq!(labels[mosaic_core::names::LABEL_COMMIT], c);
        assert_eq!(
            labels[mosaic_core::names::LABEL_MANAGED_BY],
            FIELD_MANAGER_PLUGIN
        );
        assert_eq!(b.namespace().as_deref(), Some("ns"));
        assert_eq!(b.owner_references()[0].uid, "uid-api");
    }
}
