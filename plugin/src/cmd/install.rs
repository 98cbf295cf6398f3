//! `kubectl mosaic install`: server-side applies the embedded manifests (the same
//! bytes as `manifests/`) with the user's settings (images, GitHub URLs, plain-HTTP
//! registries; remembered on the Deployment and kept by later runs), creates the
//! webhook secret once, stores the GitHub token and registry credentials it is given
//! (the defaults for Bindings that name none), waits for the webhook, and says how to
//! point GitHub at it. Running it twice changes nothing; a change made by other means
//! is reported, never reset silently (`install_apply`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{ArgAction, Args};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::Api;

use mosaic_core::install_settings::Settings;
use mosaic_core::names;
use mosaic_core::netpol::Egress;

use super::install_apply::{self, Applied, apply, apply_secret, ensure_webhook_secret, secret};
use super::install_show;
use crate::bundle::{self, Item};
use crate::error::{Error, Outcome};
use crate::kubeconf;
use crate::kubeconf::KubeArgs;
use crate::output::{self, Format};

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// Store the GitHub token held by this environment variable in Secret mosaic-github (key `token`).
    #[arg(long, value_name = "VAR")]
    pub github_token_from_env: Option<String>,
    /// Store the `auths` of this Docker config file (e.g. ~/.docker/config.json) in Secret
    /// mosaic-registry (type kubernetes.io/dockerconfigjson).
    #[arg(long, value_name = "PATH")]
    pub registry_credentials_from: Option<PathBuf>,
    /// Run this webhook image instead of the release's (e.g. a mirror's copy, or one built
    /// from webhook/Dockerfile); REPO@sha256:… pins it, a tag alone is run with a warning.
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Run this Docker engine image instead of the pinned docker:28-dind (e.g. a mirror's
    /// copy); REPO@sha256:… pins it, a tag alone is run with a warning.
    #[arg(long, value_name = "IMAGE")]
    pub engine_image: Option<String>,
    /// GitHub REST API base URL (GitHub Enterprise: https://HOST/api/v3).
    #[arg(long, value_name = "URL")]
    pub github_api_url: Option<String>,
    /// GitHub web base URL (GitHub Enterprise: https://HOST), for the images' source label.
    #[arg(long, value_name = "URL")]
    pub github_web_url: Option<String>,
    /// A registry reached over plain HTTP, HOST[:PORT] as image references name it
    /// (repeatable): given to the engine (dockerd --insecure-registry) and to the webhook's
    /// digest check. Replaces the remembered list.
    #[arg(long = "insecure-registry", value_name = "HOST:PORT")]
    pub insecure_registries: Vec<String>,
    /// Replicas of the builder Deployment (each builds with its own Docker engine; default 2).
    /// Turns --builder-autoscale off.
    #[arg(long, value_name = "N", conflicts_with = "builder_autoscale")]
    pub builders: Option<i32>,
    /// Let a HorizontalPodAutoscaler run MIN to MAX builders, 1 per 2 unfinished Builds (needs
    /// a metrics adapter serving mosaic_builds_unfinished: README, "Autoscaling the builders").
    /// Install then leaves the builders' replicas to it; --builders N turns it off.
    #[arg(long, value_name = "MIN:MAX", value_parser = clap::value_parser!(mosaic_core::autoscale::Autoscale))]
    pub builder_autoscale: Option<mosaic_core::autoscale::Autoscale>,
    /// Watch only these namespaces, and read Secrets only there (Roles in each, plus the
    /// default credentials of the install namespace), instead of a cluster-wide Secret grant.
    #[arg(long, value_name = "NS,NS", value_delimiter = ',')]
    pub namespaces: Vec<String>,
    /// The API server's address the builders may reach, as a CIDR (repeatable; default: the
    /// addresses of endpoints/kubernetes, else the private ranges on ports 443 and 6443).
    #[arg(long = "api-server-cidr", value_name = "CIDR")]
    pub api_server_cidrs: Vec<String>,
    /// A port builds may reach outside the denied ranges (repeatable; default 443 and 80).
    #[arg(long = "builder-egress-port", value_name = "PORT")]
    pub egress_ports: Vec<u16>,
    /// A range builds may not reach (repeatable; replaces the default: link-local, loopback
    /// and the private ranges).
    #[arg(long = "builder-deny-cidr", value_name = "CIDR")]
    pub deny_cidrs: Vec<String>,
    /// Forget the settings remembered from earlier installs: what the flags do not give
    /// returns to the release default.
    #[arg(long)]
    pub reset: bool,
    /// Print the settings the installed webhook runs with, and change nothing.
    #[arg(long, conflicts_with = "dry_run")]
    pub show: bool,
    /// Take back fields that were changed by other means (kubectl edit or patch, another
    /// tool) instead of reporting them and leaving the object as it is.
    #[arg(long)]
    pub force_conflicts: bool,
    /// Print what would be applied and change nothing (no cluster access needed).
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: print the objects as yaml or json; with --show, the settings.
    #[arg(short = 'o', long, value_enum, value_name = "FORMAT")]
    pub output: Option<Format>,
    /// Wait until every intake and builder replica is available.
    #[arg(long, action = ArgAction::Set, default_value_t = true, value_name = "BOOL")]
    pub wait: bool,
    /// How long to wait for the webhook, e.g. 90s, 5m.
    #[arg(long, default_value = "5m", value_name = "DURATION")]
    pub timeout: String,
}

/// The namespace install and uninstall work in: `-n`, else mosaic-system
/// (never the context's namespace: Mosaic has its own).
pub fn install_namespace(kube: &KubeArgs) -> String {
    kube.namespace
        .clone()
        .unwrap_or_else(|| names::SYSTEM_NAMESPACE.to_string())
}

/// Credentials read from the user's sources, validated before the cluster is touched.
struct Sources {
    github_token: Option<String>,
    registry_config: Option<Vec<u8>>,
}

fn read_sources(args: &InstallArgs) -> Result<Sources, Error> {
    let github_token = match &args.github_token_from_env {
        None => None,
        Some(var) => Some(std::env::var(var).ok().filter(|v| !v.trim().is_empty()).ok_or_else(|| {
            Error::Usage(format!(
                "--github-token-from-env {var}: the environment variable {var} is not set or empty; export it or drop the flag"
            ))
        })?),
    };
    let registry_config = match &args.registry_credentials_from {
        None => None,
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| {
                Error::Input(format!(
                    "--registry-credentials-from {}: cannot read it: {e}",
                    path.display()
                ))
            })?;
            Some(bundle::registry_secret_data(&bytes).map_err(|e| {
                Error::Input(format!(
                    "--registry-credentials-from {}: {e}",
                    path.display()
                ))
            })?)
        }
    };
    Ok(Sources {
        github_token: github_token.map(|t| t.trim().to_string()),
        registry_config,
    })
}

fn bundle_objects(namespace: &str) -> Result<Vec<Item>, Error> {
    bundle::objects(namespace).map_err(|e| Error::Other(e.to_string()))
}

/// Wait until every intake and builder replica is available, printing progress on stderr
/// when it changes.
async fn wait_ready(client: &Client, namespace: &str, timeout: Duration) -> Result<(), Error> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    loop {
        let mut lines = Vec::new();
        let mut all_ready = true;
        for name in [names::INTAKE_NAME, names::BUILDER_NAME] {
            match api.get_opt(name).await? {
                Some(d) => {
                    let (ready, line) = bundle::webhook_progress(&d);
                    all_ready &= ready;
                    lines.push(line);
                }
                None => {
                    all_ready = false;
                    lines.push(format!("deployment/{name} does not exist yet"));
                }
            }
        }
        let line = lines.join("; ");
        if all_ready {
            eprintln!("webhook ready: {line}");
            return Ok(());
        }
        if line != last {
            eprintln!("waiting for Mosaic in {namespace}: {line}");
            last = line;
        }
        if Instant::now() >= deadline {
            return Err(Error::Other(format!(
                "Mosaic was not ready within {}s ({last}); see why with `kubectl mosaic explain deployment/{} -n {namespace}` (or deployment/{}), or rerun with --wait=false",
                timeout.as_secs(),
                names::BUILDER_NAME,
                names::INTAKE_NAME
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The settings the flags give (unset where no flag was given).
pub fn flag_settings(args: &InstallArgs) -> Settings {
    Settings {
        image: args.image.clone(),
        engine_image: args.engine_image.clone(),
        github_api_url: args.github_api_url.clone(),
        github_web_url: args.github_web_url.clone(),
        insecure_registries: args.insecure_registries.clone(),
        builders: args.builders,
        builder_autoscale: args.builder_autoscale,
        namespaces: args.namespaces.clone(),
        api_server_cidrs: args.api_server_cidrs.clone(),
        egress_ports: args.egress_ports.clone(),
        deny_cidrs: args.deny_cidrs.clone(),
    }
}

/// The settings to apply: the remembered ones (unless `--reset`), replaced by the flags given.
fn settings_for(remembered: Option<&Settings>, flags: &Settings, reset: bool) -> Settings {
    let base = remembered.filter(|_| !reset).cloned().unwrap_or_default();
    for line in install_show::kept_lines(&base, flags) {
        eprintln!("{line}");
    }
    base.overridden_by(flags)
}

pub async fn run(kube: &KubeArgs, args: InstallArgs) -> Result<Outcome, Error> {
    let namespace = install_namespace(kube);
    let timeout = mosaic_core::duration::parse_flag(&args.timeout)
        .map_err(|e| Error::Usage(format!("--timeout: {e}")))?;
    if args.output.is_some() && !args.dry_run && !args.show {
        return Err(Error::Usage(
            "-o is only for --dry-run or --show: add --dry-run to print the manifests".into(),
        ));
    }
    let flags = flag_settings(&args);
    flags.validate().map_err(|e| Error::Usage(e.to_string()))?;
    if args.show {
        let cluster = kubeconf::connect(kube).await?;
        return install_show::show(&cluster.client, &namespace, args.output).await;
    }
    let mut items = bundle_objects(&namespace)?;
    if args.dry_run {
        for w in mosaic_core::images::unpinned_settings(&flags) {
            eprintln!("warning: {w}");
        }
        set_settings(&mut items, &flags, &flags.egress(), &namespace)?;
        let mut secrets = vec![];
        if args.github_token_from_env.is_some() {
            secrets.push(names::GITHUB_SECRET_NAME);
        }
        if args.registry_credentials_from.is_some() {
            secrets.push(names::REGISTRY_SECRET_NAME);
        }
        return install_show::dry_run(&items, args.output, &secrets, &namespace);
    }
    let sources = read_sources(&args)?;
    let cluster = kubeconf::connect(kube).await?;
    let client = cluster.client;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    let remembered = match deployments.get_opt(names::INTAKE_NAME).await {
        Ok(d) => d
            .as_ref()
            .and_then(mosaic_core::install_settings::remembered),
        // Not allowed to read it: the first apply below says what is refused, and why.
        Err(kube::Error::Api(e)) if e.code == 403 => None,
        Err(e) => return Err(e.into()),
    };
    let settings = settings_for(remembered.as_ref(), &flags, args.reset);
    settings
        .validate()
        .map_err(|e| Error::Input(format!("remembered setting: {e}; rerun with --reset")))?;
    for w in mosaic_core::images::unpinned_settings(&settings) {
        eprintln!("warning: {w}");
    }
    let egress = super::install_egress::egress(&client, &settings).await;
    set_settings(&mut items, &settings, &egress, &namespace)?;
    super::install_autoscale::prepare(&client, &namespace, &settings).await?;
    let mut conflicts = Vec::new();
    for item in &items {
        match apply(&client, item, args.force_conflicts).await? {
            Applied::Done(what) => eprintln!("{} {what}", item.display()),
            Applied::Conflict(why) => {
                eprintln!("{} not applied: {why}", item.display());
                conflicts.push((item.display(), why));
            }
            Applied::Unserved => eprintln!("{}", install_apply::unserved(item)?),
        }
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    let what = ensure_webhook_secret(&secrets, &namespace).await?;
    eprintln!("secret/{} {what}", names::WEBHOOK_SECRET_NAME);
    store_credentials(&secrets, &namespace, sources).await?;
    if !conflicts.is_empty() {
        return Err(install_apply::conflict_error(&conflicts));
    }
    if args.wait {
        wait_ready(&client, &namespace, timeout).await?;
    }
    output::stdout(&bundle::next_steps(&namespace))?;
    Ok(Outcome::Success)
}

fn set_settings(
    items: &mut Vec<Item>,
    settings: &Settings,
    egress: &Egress,
    namespace: &str,
) -> Result<(), Error> {
    crate::bundle_settings::set_settings(items, settings, egress, namespace)
        .map_err(|e| Error::Other(e.to_string()))
}

/// Store the GitHub token and registry credentials given by flag (the webhook's defaults
/// for Bindings that name no Secret).
async fn store_credentials(
    secrets: &Api<Secret>,
    namespace: &str,
    sources: Sources,
) -> Result<(), Error> {
    if let Some(token) = sources.github_token {
        let s = secret(
            namespace,
            names::GITHUB_SECRET_NAME,
            "Opaque",
            names::GITHUB_TOKEN_KEY,
            token.into_bytes(),
        );
        eprintln!(
            "secret/{} {}",
            names::GITHUB_SECRET_NAME,
            apply_secret(secrets, &s).await?
        );
    }
    if let Some(config) = sources.registry_config {
        let s = secret(
            namespace,
            names::REGISTRY_SECRET_NAME,
            names::REGISTRY_SECRET_TYPE,
            names::REGISTRY_CONFIG_KEY,
            config,
        );
        eprintln!(
            "secret/{} {}",
            names::REGISTRY_SECRET_NAME,
            apply_secret(secrets, &s).await?
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_defaults_to_mosaic_system_not_the_context() {
        assert_eq!(install_namespace(&KubeArgs::default()), "mosaic-system");
        let k = KubeArgs {
            namespace: Some("ops".into()),
            ..Default::default()
        };
        assert_eq!(install_namespace(&k), "ops");
    }

    #[test]
    fn a_missing_token_variable_is_a_usage_error_naming_it() {
        let args = InstallArgs {
            github_token_from_env: Some("MOSAIC_TEST_SURELY_UNSET_VAR".into()),
            registry_credentials_from: None,
            image: None,
            engine_image: None,
            github_api_url: None,
            github_web_url: None,
            insecure_registries: Vec::new(),
            builders: None,
            builder_autoscale: None,
            namespaces: Vec::new(),
            api_server_cidrs: Vec::new(),
            egress_ports: Vec::new(),
            deny_cidrs: Vec::new(),
            reset: false,
            show: false,
            force_conflicts: false,
            dry_run: false,
            output: None,
            wait: false,
            timeout: "1s".into(),
        };
        let e = read_sources(&args).err().expect("error");
        assert!(
            e.to_string()
                .contains("MOSAIC_TEST_SURELY_UNSET_VAR is not set"),
            "{e}"
        );
        assert_eq!(e.exit_code(), 2);
    }
}
