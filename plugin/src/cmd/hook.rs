//! `kubectl mosaic hook`: creates or updates the GitHub webhook of one repository
//! (or of every bound one) so pushes reach Mosaic, signed with the cluster's
//! webhook secret, which is read from the cluster and never printed.

use std::collections::BTreeSet;

use clap::Args;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};

use mosaic_core::{Binding, names};

use crate::error::{Error, Outcome};
use crate::github::GitHubArgs;
use crate::github_hook::{self, GitHubHooks};
use crate::kubeconf;
use crate::kubeconf::KubeArgs;

#[derive(Args, Debug)]
pub struct HookArgs {
    /// The repository, OWNER/NAME.
    #[arg(
        long,
        required_unless_present = "all_bound",
        conflicts_with = "all_bound"
    )]
    pub repo: Option<String>,
    /// The public https URL GitHub delivers to, ending in /webhooks/github.
    #[arg(long)]
    pub url: String,
    /// Hook every repository a Binding names in the namespace (-n), or in all namespaces with -A.
    #[arg(long)]
    pub all_bound: bool,
    /// Namespace Mosaic is installed in (holds the webhook secret).
    #[arg(long, default_value = names::SYSTEM_NAMESPACE, value_name = "NS")]
    pub system_namespace: String,
    /// One secret per namespace: hook each repository to <url>/<namespace> for every namespace
    /// that binds it, signed with that namespace's Secret (created when missing).
    #[arg(long)]
    pub per_namespace: bool,
    /// With --per-namespace: make new keys (the old ones stay valid as `previous`) and update
    /// the hooks.
    #[arg(long, requires = "per_namespace")]
    pub rotate: bool,
    #[command(flatten)]
    pub github: GitHubArgs,
}

/// `OWNER/NAME` (a GitHub URL is accepted too), normalised.
fn check_repo(repo: &str) -> Result<String, Error> {
    mosaic_core::reference::RepoName::parse(repo)
        .map(|r| format!("{}/{}", r.owner, r.name))
        .map_err(|e| {
            Error::Usage(format!(
                "--repo {repo:?}: {e}; write OWNER/NAME, e.g. acme/api"
            ))
        })
}

/// The webhook secret `install` stored, read from the install namespace.
async fn webhook_secret(client: &kube::Client, namespace: &str) -> Result<String, Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let missing = || {
        Error::NotFound(format!(
            "secret/{} in namespace {namespace} has no key {:?}: run `kubectl mosaic install{}` first, or point --system-namespace at Mosaic's namespace",
            names::WEBHOOK_SECRET_NAME,
            names::WEBHOOK_SECRET_KEY,
            if namespace == names::SYSTEM_NAMESPACE {
                String::new()
            } else {
                format!(" -n {namespace}")
            }
        ))
    };
    let secret = api
        .get_opt(names::WEBHOOK_SECRET_NAME)
        .await?
        .ok_or_else(missing)?;
    let bytes = secret
        .data
        .and_then(|mut d| d.remove(names::WEBHOOK_SECRET_KEY))
        .ok_or_else(missing)?;
    let s = String::from_utf8(bytes.0).map_err(|_| {
        Error::Input(format!(
            "secret/{} holds a non-UTF-8 webhook secret; GitHub needs text: recreate it",
            names::WEBHOOK_SECRET_NAME
        ))
    })?;
    Ok(s.trim().to_string())
}

async fn bound_repos(
    client: &kube::Client,
    namespace: Option<&str>,
) -> Result<BTreeSet<String>, Error> {
    let api: Api<Binding> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    Ok(api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .map(|b| b.spec.repo)
        .collect())
}

pub async fn run(kube: &KubeArgs, args: HookArgs) -> Result<Outcome, Error> {
    github_hook::validate_url(&args.url)?;
    let repo = args.repo.as_deref().map(check_repo).transpose()?;
    let token = std::env::var(crate::github::TOKEN_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            Error::Usage(format!(
                "{} is not set: export a token that can manage the repository's webhooks (classic scope admin:repo_hook, or fine-grained Webhooks: write)",
                crate::github::TOKEN_ENV
            ))
        })?;
    let github = GitHubHooks::new(args.github.deadline(), token.trim().to_string())?;

    let cluster = kubeconf::connect(kube).await?;
    if args.per_namespace {
        let scope = (!kube.all_namespaces).then_some(cluster.namespace.as_str());
        return super::hook_ns::run(
            &cluster.client,
            &github,
            scope,
            repo.as_deref(),
            &args.url,
            args.rotate,
        )
        .await;
    }
    let secret = webhook_secret(&cluster.client, &args.system_namespace).await?;
    let repos: Vec<String> = match repo {
        Some(r) => vec![r],
        None => {
            let scope = (!kube.all_namespaces).then_some(cluster.namespace.as_str());
            let all = bound_repos(&cluster.client, scope).await?;
            if all.is_empty() {
                eprintln!(
                    "{}; bind a Deployment first with `kubectl mosaic bind`",
                    crate::output::no_resources(scope)
                );
            }
            all.into_iter().collect()
        }
    };
    github_hook::hook_all(&github, &repos, &args.url, &secret).await
}
