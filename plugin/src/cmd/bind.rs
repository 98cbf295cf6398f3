//! `kubectl mosaic bind`: validate a Deployment, container, image repository,
//! GitHub repository and Secrets, then server-side apply the `Binding`.

use clap::Args;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{ObjectMeta, Patch, PatchParams};
use mosaic_core::names::FIELD_MANAGER_PLUGIN;
use mosaic_core::reference::{ImageRef, RepoName};
use mosaic_core::{Binding, BindingSpec};

use crate::cli::{GitHubArgs, KubeArgs};
use crate::error::{Error, Outcome};
use crate::kubeconf;
use crate::output::{self, Format, ObjectFormat};

/// The type a `--registry-secret` must have.
pub const REGISTRY_SECRET_TYPE: &str = "kubernetes.io/dockerconfigjson";
/// The key a `--github-secret` must hold.
pub const GITHUB_SECRET_KEY: &str = "token";

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
    /// A kubernetes.io/dockerconfigjson Secret with push credentials.
    #[arg(long, value_name = "SECRET")]
    pub registry_secret: Option<String>,
    /// A Secret holding a GitHub token under the key `token`.
    #[arg(long, value_name = "SECRET")]
    pub github_secret: Option<String>,
    /// Do not roll back to the previous image when a rollout fails.
    #[arg(long)]
    pub no_rollback: bool,
    /// Validate and print the Binding without creating it.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format: yaml or json (default: a one-line summary).
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<ObjectFormat>,

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
    #[command(flatten)]
    pub github: GitHubArgs,
}

/// The container a Binding targets and the Binding's name, decided from the pod's containers.
#[derive(Debug, PartialEq, Eq)]
pub struct ContainerChoice {
    /// Written to `spec.container` (None: the pod's only container).
    pub container: Option<String>,
    pub binding_name: String,
}

/// Pick the container: `--container` must exist; it is required when there are several.
pub fn choose_container(
    deployment: &str,
    containers: &[String],
    requested: Option<&str>,
) -> Result<ContainerChoice, Error> {
    let several = containers.len() > 1;
    match requested {
        Some(c) if containers.iter().any(|x| x == c) => Ok(ContainerChoice {
            container: Some(c.to_string()),
            binding_name: if several {
                format!("{deployment}-{c}")
            } else {
                deployment.to_string()
            },
        }),
        Some(c) => Err(Error::Input(format!(
            "container {c:?} not found in deployment/{deployment}: its containers are {}",
            containers.join(", ")
        ))),
        None if several => Err(Error::Input(format!(
            "deployment/{deployment} has {} containers ({}): choose one with --container",
            containers.len(),
            containers.join(", ")
        ))),
        None if containers.is_empty() => Err(Error::Input(format!(
            "deployment/{deployment} has no containers in its pod template"
        ))),
        None => Ok(ContainerChoice {
            container: None,
            binding_name: deployment.to_string(),
        }),
    }
}

/// A branch name git would accept (the subset that matters here).
pub fn validate_branch(b: &str) -> Result<(), Error> {
    let bad = b.is_empty()
        || b.len() > 255
        || b.starts_with('-')
        || b.starts_with('/')
        || b.ends_with('/')
        || b.ends_with(".lock")
        || b.contains("..")
        || b.contains("//")
        || b.contains("@{")
        || b.bytes()
            .any(|c| c.is_ascii_control() || b" ~^:?*[\\".contains(&c));
    if bad {
        return Err(Error::Input(format!(
            "branch {b:?} is not a valid git branch name"
        )));
    }
    Ok(())
}

/// A path inside the repository: relative, no `..`.
pub fn validate_repo_path(flag: &str, p: &str) -> Result<(), Error> {
    if p.is_empty() || p.starts_with('/') || p.split('/').any(|c| c == "..") || p.contains('\\') {
        return Err(Error::Input(format!(
            "{flag} {p:?} must be a relative path inside the repository (no leading / and no ..)"
        )));
    }
    Ok(())
}

/// Everything `bind` needs, already checked for syntax.
#[derive(Debug, Clone)]
pub struct BindRequest {
    pub deployment: String,
    pub repo: RepoName,
    pub image: ImageRef,
    pub branch: String,
    pub container: Option<String>,
    pub dockerfile: String,
    pub context: String,
    pub registry_secret: Option<String>,
    pub github_secret: Option<String>,
    pub rollback: bool,
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
        Ok(Self {
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

    /// The Binding object for this request.
    pub fn to_binding(&self, name: &str, namespace: &str, container: Option<String>) -> Binding {
        let mut b = Binding::new(
            name,
            BindingSpec {
                deployment: self.deployment.clone(),
                container,
                repo: self.repo.to_string(),
                branch: self.branch.clone(),
                image: self.image.repository(),
                dockerfile: self.dockerfile.clone(),
                context: self.context.clone(),
                registry_secret: self.registry_secret.clone(),
                github_secret: self.github_secret.clone(),
                rollback_on_failure: self.rollback,
                paused: false,
            },
        );
        b.metadata = ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            ..Default::default()
        };
        b
    }
}

/// Names of the containers in a Deployment's pod template.
pub fn container_names(d: &Deployment) -> Vec<String> {
    d.spec
        .template
        .spec
        .as_ref()
        .map(|p| p.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default()
}

/// Check that a registry Secret exists and is a dockerconfigjson.
pub fn check_registry_secret(
    name: &str,
    namespace: &str,
    secret: Option<&Secret>,
) -> Result<(), Error> {
    let s = secret.ok_or_else(|| {
        Error::Input(format!(
            "secret {name:?} not found in namespace {namespace:?}: create it with `kubectl create secret docker-registry {name} --docker-server=… --docker-username=… --docker-password=…`"
        ))
    })?;
    let ty = s.type_.as_deref().unwrap_or("Opaque");
    if ty != REGISTRY_SECRET_TYPE {
        return Err(Error::Input(format!(
            "secret {name:?} has type {ty}, but --registry-secret needs type {REGISTRY_SECRET_TYPE}: create it with `kubectl create secret docker-registry`"
        )));
    }
    Ok(())
}

/// Check that a GitHub Secret exists and holds the key `token`.
pub fn check_github_secret(
    name: &str,
    namespace: &str,
    secret: Option<&Secret>,
) -> Result<(), Error> {
    let s = secret.ok_or_else(|| {
        Error::Input(format!(
            "secret {name:?} not found in namespace {namespace:?}: create it with `kubectl create secret generic {name} --from-literal=token=…`"
        ))
    })?;
    let has = s
        .data
        .as_ref()
        .is_some_and(|d| d.contains_key(GITHUB_SECRET_KEY))
        || s.string_data
            .as_ref()
            .is_some_and(|d| d.contains_key(GITHUB_SECRET_KEY));
    if !has {
        return Err(Error::Input(format!(
            "secret {name:?} has no key {GITHUB_SECRET_KEY:?}: --github-secret needs the GitHub token under the key {GITHUB_SECRET_KEY} (`kubectl create secret generic {name} --from-literal=token=…`)"
        )));
    }
    Ok(())
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
    let choice = choose_container(
        &req.deployment,
        &container_names(&d),
        req.container.as_deref(),
    )?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    if let Some(s) = &req.registry_secret {
        check_registry_secret(s, namespace, secrets.get_opt(s).await?.as_ref())?;
    }
    if let Some(s) = &req.github_secret {
        check_github_secret(s, namespace, secrets.get_opt(s).await?.as_ref())?;
    }
    Ok(req.to_binding(&choice.binding_name, namespace, choice.container))
}

/// Server-side apply a Binding; returns the stored object and whether it was new.
pub async fn apply_binding(client: &kube::Client, b: &Binding) -> Result<(Binding, bool), Error> {
    let ns = b.metadata.namespace.as_deref().unwrap_or("default");
    let name = b.metadata.name.as_deref().unwrap_or_default();
    let api: Api<Binding> = Api::namespaced(client.clone(), ns);
    let existed = api.get_opt(name).await?.is_some();
    let pp = PatchParams::apply(FIELD_MANAGER_PLUGIN).force();
    let stored = api.patch(name, &pp, &Patch::Apply(b)).await?;
    Ok((stored, !existed))
}

pub async fn run(kube: &KubeArgs, args: BindArgs) -> Result<Outcome, Error> {
    if args.auto {
        return super::auto::run(kube, args).await;
    }
    let req = BindRequest::from_args(&args)?;
    let cluster = kubeconf::connect(kube).await?;
    let binding = validated_binding(&cluster.client, &cluster.namespace, &req).await?;
    let name = binding.metadata.name.clone().unwrap_or_default();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn single_container_needs_no_flag() {
        let c = choose_container("api", &names(&["app"]), None).unwrap();
        assert_eq!(
            c,
            ContainerChoice {
                container: None,
                binding_name: "api".into()
            }
        );
        let c = choose_container("api", &names(&["app"]), Some("app")).unwrap();
        assert_eq!(
            c,
            ContainerChoice {
                container: Some("app".into()),
                binding_name: "api".into()
            }
        );
    }

    #[test]
    fn several_containers_need_a_choice_and_name_the_binding() {
        let e = choose_container("api", &names(&["app", "proxy"]), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "deployment/api has 2 containers (app, proxy): choose one with --container"
        );
        assert_eq!(e.exit_code(), 2);
        let c = choose_container("api", &names(&["app", "proxy"]), Some("proxy")).unwrap();
        assert_eq!(c.binding_name, "api-proxy");
        let e = choose_container("api", &names(&["app", "proxy"]), Some("nope")).unwrap_err();
        assert!(
            e.to_string().contains("its containers are app, proxy"),
            "{e}"
        );
    }

    #[test]
    fn branches() {
        for ok in ["main", "release/1.2", "feature-x"] {
            validate_branch(ok).unwrap();
        }
        for bad in ["", "a..b", "-x", "a b", "x.lock", "a:b", "a/"] {
            assert!(validate_branch(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn repo_paths() {
        validate_repo_path("--dockerfile", "docker/Dockerfile").unwrap();
        validate_repo_path("--build-context", ".").unwrap();
        assert!(validate_repo_path("--dockerfile", "../Dockerfile").is_err());
        assert!(validate_repo_path("--dockerfile", "/etc/passwd").is_err());
    }

    #[test]
    fn secret_checks() {
        let e = check_registry_secret("reg", "ns", None).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("secret \"reg\" not found in namespace \"ns\""),
            "{e}"
        );
        let opaque = Secret {
            type_: Some("Opaque".into()),
            ..Default::default()
        };
        let e = check_registry_secret("reg", "ns", Some(&opaque)).unwrap_err();
        assert!(e.to_string().contains("has type Opaque"), "{e}");
        let ok = Secret {
            type_: Some(REGISTRY_SECRET_TYPE.into()),
            ..Default::default()
        };
        check_registry_secret("reg", "ns", Some(&ok)).unwrap();
        let e = check_github_secret("gh", "ns", Some(&opaque)).unwrap_err();
        assert!(e.to_string().contains("has no key \"token\""), "{e}");
        let mut data = std::collections::BTreeMap::new();
        data.insert("token".to_string(), k8s_openapi::ByteString(b"x".to_vec()));
        let with = Secret {
            data: Some(data),
            ..Default::default()
        };
        check_github_secret("gh", "ns", Some(&with)).unwrap();
    }
}
