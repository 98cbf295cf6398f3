//! `kubectl mosaic bind`: validate a Deployment, container, image repository,
//! GitHub repository and Secrets, then server-side apply the `Binding`.
//!
//! The command sits on top of plain parts, each used in one direction only: `input` (the
//! flags' syntax, the container, the Secrets) and `owner` (who else writes the container) check
//! a request, `write` turns it into the Binding and applies it. `bind --auto` is `auto`, which
//! lists the cluster and asks the registry, over `proposals` (the table, pure), and writes
//! through `write` too. Which container a Binding writes, and its name, is
//! `mosaic_core::bound_container`; matching images to repositories is `mosaic_core::matching`.

pub mod auto;
pub mod input;
pub mod owner;
pub mod proposals;
pub mod write;

use clap::Args;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use mosaic_core::reference::{ImageRef, RepoName};
use mosaic_core::{Binding, bound_container};

use self::auto::AutoArgs;
use self::write::{BindRequest, apply_binding};
use crate::error::{Error, Outcome};
use crate::github::GitHubArgs;
use crate::kubeconf;
use crate::kubeconf::KubeArgs;
use crate::output::{self, Format, ObjectFormat};

use self::input::{
    check_github_secret, check_registry_secret, choose_container, validate_branch,
    validate_repo_path,
};

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  kubectl mosaic bind deployment/api --repo acme/api --image ghcr.io/acme/api\n  kubectl mosaic bind deployment/web --container app --repo https://github.com/acme/web --image registry.example.com/acme/web --branch release\n  kubectl mosaic bind --auto --owner acme --yes"
)]
pub struct BindArgs {
    /// The Deployment to bind: deployment/NAME.
    #[arg(required_unless_present = "auto", conflicts_with = "auto")]
    pub target: Option<String>,
    /// GitHub repository: OWNER/NAME or https://github.com/OWNER/NAME.
    #[arg(long, required_unless_present = "auto")]
    pub repo: Option<String>,
    /// Image repository to push to, without tag or digest: REGISTRY/REPO.
    #[arg(long, required_unless_present = "auto")]
    pub image: Option<String>,
    /// Branch whose pushes are built and deployed.
    #[arg(long, default_value = mosaic_core::names::DEFAULT_BRANCH)]
    pub branch: String,
    /// Container to update (required when the pod has several).
    #[arg(long, short = 'c')]
    pub container: Option<String>,
    /// Path of the Dockerfile, relative to --build-context.
    #[arg(long, default_value = mosaic_core::names::DEFAULT_DOCKERFILE)]
    pub dockerfile: String,
    /// Build context: a directory of the repository.
    #[arg(long = "build-context", alias = "context-dir", value_name = "DIR", default_value = mosaic_core::names::DEFAULT_CONTEXT)]
    pub build_context: String,
    /// A kubernetes.io/dockerconfigjson Secret with push credentials, in the Binding's
    /// namespace (default: the Secret `install --registry-credentials-from` stored).
    #[arg(long, value_name = "SECRET")]
    pub registry_secret: Option<String>,
    /// A Secret holding a GitHub token under the key `token`, in the Binding's namespace
    /// (default: the Secret `install --github-token-from-env` stored).
    #[arg(long, value_name = "SECRET")]
    pub github_secret: Option<String>,
    /// Do not roll back to the previous image when a rollout fails.
    #[arg(long)]
    pub no_rollback: bool,
    /// How long new pods must stay healthy after a rollout before its Build is Succeeded
    /// (e.g. 30s; default: derived from the Deployment's minReadySeconds and probes).
    #[arg(long, value_name = "DURATION")]
    pub verify_window: Option<String>,
    /// How long every new pod may stay unready before the rollout fails (e.g. 90s; default:
    /// derived from the readiness probe, at least the webhook's --ready-grace).
    #[arg(long, value_name = "DURATION")]
    pub ready_grace: Option<String>,
    /// Validate and print the Binding without creating it.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format: yaml or json (default: a one-line summary).
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<ObjectFormat>,

    #[command(flatten)]
    pub propose: AutoArgs,
    #[command(flatten)]
    pub github: GitHubArgs,
}

impl BindRequest {
    /// Check the flags that need no cluster.
    pub fn from_args(args: &BindArgs) -> Result<Self, Error> {
        let target = args
            .target
            .as_deref()
            .ok_or_else(|| Error::Usage("deployment/NAME is required".into()))?;
        let deployment = super::parse_deployment_target(target)?;
        let repo = RepoName::parse(args.repo.as_deref().unwrap_or_default())
            .map_err(|e| Error::Input(e.to_string()))?;
        let image = ImageRef::parse_repository(args.image.as_deref().unwrap_or_default())
            .map_err(|e| Error::Input(e.to_string()))?;
        validate_branch(&args.branch)?;
        validate_repo_path("--dockerfile", &args.dockerfile)?;
        validate_repo_path("--build-context", &args.build_context)?;
        for s in [&args.registry_secret, &args.github_secret]
            .into_iter()
            .flatten()
        {
            if !super::is_dns_subdomain(s) {
                return Err(Error::Input(format!("{s:?} is not a valid Secret name")));
            }
        }
        for (flag, v) in [
            ("--verify-window", &args.verify_window),
            ("--ready-grace", &args.ready_grace),
        ] {
            if let Some(v) = v {
                mosaic_core::duration::parse(v)
                    .map_err(|e| Error::Input(format!("{flag}: {e}")))?;
            }
        }
        let verify = (args.verify_window.is_some() || args.ready_grace.is_some()).then(|| {
            mosaic_core::resources::VerifySpec {
                window: args.verify_window.clone(),
                grace: args.ready_grace.clone(),
            }
        });
        Ok(Self {
            verify,
            deployment,
            repo,
            image,
            branch: args.branch.clone(),
            container: args.container.clone(),
            dockerfile: args.dockerfile.clone(),
            context: args.build_context.clone(),
            registry_secret: args.registry_secret.clone(),
            github_secret: args.github_secret.clone(),
            rollback: !args.no_rollback,
        })
    }
}

/// Validate a request against the cluster and return the Binding to apply.
pub async fn validated_binding(
    client: &kube::Client,
    namespace: &str,
    req: &BindRequest,
) -> Result<Binding, Error> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let d = deployments.get_opt(&req.deployment).await?.ok_or_else(|| {
        Error::Input(format!(
            "deployment {:?} not found in namespace {namespace:?}: check the name with `kubectl get deployments -n {namespace}`",
            req.deployment
        ))
    })?;
    let names = bound_container::container_names(&d);
    let choice = choose_container(&req.deployment, &names, req.container.as_deref())?;
    let existing = Api::<Binding>::namespaced(client.clone(), namespace)
        .list(&ListParams::default())
        .await?
        .items;
    owner::one_owner(
        &choice.binding_name,
        &req.deployment,
        choice.container.as_deref(),
        &names,
        &existing,
    )?;
    let written = bound_container::written(choice.container.as_deref(), &names);
    let warning = written.and_then(|c| {
        let managers = owner::image_managers(&d, &c);
        owner::ownership_warning(&req.deployment, &c, &managers)
    });
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    if let Some(s) = &req.registry_secret {
        check_registry_secret(s, namespace, secrets.get_opt(s).await?.as_ref())?;
    }
    if let Some(s) = &req.github_secret {
        check_github_secret(s, namespace, secrets.get_opt(s).await?.as_ref())?;
    }
    // Only once the request is valid, so a refused bind prints one error line.
    if let Some(w) = warning {
        eprintln!("{w}");
    }
    Ok(req.to_binding(&choice.binding_name, namespace, choice.container))
}

pub async fn run(kube: &KubeArgs, args: BindArgs) -> Result<Outcome, Error> {
    if args.propose.auto {
        return auto::run(kube, &args.propose, args.dry_run, args.output, &args.github).await;
    }
    let req = BindRequest::from_args(&args)?;
    let cluster = kubeconf::connect(kube).await?;
    let binding = validated_binding(&cluster.client, &cluster.namespace, &req).await?;
    let name = binding.name_any();
    if args.dry_run {
        print!(
            "{}",
            output::render_value(&binding, args.output.map_or(Format::Yaml, Format::from))?
        );
        return Ok(Outcome::Success);
    }
    let (stored, created) = apply_binding(&cluster.client, &binding).await?;
    match args.output {
        Some(f) => print!("{}", output::render_value(&stored, f.into())?),
        None => println!(
            "binding.mosaic.nectar.dev/{name} {}",
            if created { "created" } else { "configured" }
        ),
    }
    Ok(Outcome::Success)
}
