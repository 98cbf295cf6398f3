//! `kubectl mosaic install`: server-side applies the embedded manifests (the same
//! bytes as `manifests/`), creates the webhook secret once, stores the GitHub
//! token and registry credentials it is given, waits for the webhook, and says
//! how to point GitHub at it. Running it twice changes nothing.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{ArgAction, Args};
use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};

use mosaic_core::names;

use crate::bundle::{self, Item};
use crate::cli::KubeArgs;
use crate::error::{Error, Outcome};
use crate::kubeconf;
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
    /// Run this webhook image instead of the release's (e.g. one built from webhook/Dockerfile).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Print what would be applied and change nothing (no cluster access needed).
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: print the objects as yaml or json.
    #[arg(short = 'o', long, value_enum, value_name = "FORMAT")]
    pub output: Option<Format>,
    /// Wait until every webhook replica is available.
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

/// `30s`, `5m`, `1h` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, Error> {
    let bad = || Error::Usage(format!("invalid duration {s:?}: use e.g. 90s, 5m or 1h"));
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..split].parse().map_err(|_| bad())?;
    let secs = match &s[split..] {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(bad()),
    };
    Ok(Duration::from_secs(secs))
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

fn api_for(client: &Client, item: &Item) -> Api<DynamicObject> {
    match (&item.kind.namespaced, &item.object.metadata.namespace) {
        (true, Some(ns)) => Api::namespaced_with(client.clone(), ns, &item.kind.resource),
        _ => Api::all_with(client.clone(), &item.kind.resource),
    }
}

/// Server-side apply one object; returns kubectl's word for what happened.
async fn apply(client: &Client, item: &Item) -> Result<&'static str, Error> {
    let api = api_for(client, item);
    let before = api.get_opt(item.name()).await?;
    let pp = PatchParams::apply(names::FIELD_MANAGER_PLUGIN).force();
    let after = api
        .patch(item.name(), &pp, &Patch::Apply(&item.object))
        .await?;
    Ok(outcome(before.as_ref(), &after))
}

/// kubectl's word for an apply: `created`, `unchanged` when nothing but
/// bookkeeping (resourceVersion, managedFields timestamps) differs, else `configured`.
pub fn outcome<T: serde::Serialize>(before: Option<&T>, after: &T) -> &'static str {
    let content = |o: &T| {
        let mut v = serde_json::to_value(o).unwrap_or_default();
        if let Some(m) = v.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            m.remove("resourceVersion");
            m.remove("managedFields");
        }
        v
    };
    match before {
        None => "created",
        Some(b) if content(b) == content(after) => "unchanged",
        Some(_) => "configured",
    }
}

fn secret(namespace: &str, name: &str, type_: &str, key: &str, value: Vec<u8>) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            labels: Some(mosaic_core::install::labels()),
            ..Default::default()
        },
        type_: Some(type_.into()),
        data: Some([(key.to_string(), ByteString(value))].into()),
        ..Default::default()
    }
}

/// Create the webhook secret (32 random bytes, hex) unless one exists; never replace it.
async fn ensure_webhook_secret(
    secrets: &Api<Secret>,
    namespace: &str,
) -> Result<&'static str, Error> {
    if secrets.get_opt(names::WEBHOOK_SECRET_NAME).await?.is_some() {
        return Ok("unchanged");
    }
    let mut raw = [0u8; 32];
    rand::Rng::fill(&mut rand::rng(), &mut raw);
    let value: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let s = secret(
        namespace,
        names::WEBHOOK_SECRET_NAME,
        "Opaque",
        names::WEBHOOK_SECRET_KEY,
        value.into_bytes(),
    );
    match secrets.create(&PostParams::default(), &s).await {
        Ok(_) => Ok("created"),
        // Another install created it between our get and create: keep theirs.
        Err(kube::Error::Api(e)) if e.code == 409 => Ok("unchanged"),
        Err(e) => Err(e.into()),
    }
}

async fn apply_secret(secrets: &Api<Secret>, s: &Secret) -> Result<&'static str, Error> {
    let name = s.name_any();
    let before = secrets.get_opt(&name).await?;
    let pp = PatchParams::apply(names::FIELD_MANAGER_PLUGIN).force();
    let after = secrets.patch(&name, &pp, &Patch::Apply(s)).await?;
    Ok(outcome(before.as_ref(), &after))
}

/// Wait until every webhook replica is available, printing progress on stderr when it changes.
async fn wait_ready(client: &Client, namespace: &str, timeout: Duration) -> Result<(), Error> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    loop {
        let line = match api.get_opt(names::WEBHOOK_NAME).await? {
            Some(d) => {
                let (ready, line) = bundle::webhook_progress(&d);
                if ready {
                    eprintln!("webhook ready: {line}");
                    return Ok(());
                }
                line
            }
            None => "the webhook Deployment does not exist yet".to_string(),
        };
        if line != last {
            eprintln!(
                "waiting for deployment/{} in {namespace}: {line}",
                names::WEBHOOK_NAME
            );
            last = line;
        }
        if Instant::now() >= deadline {
            return Err(Error::Other(format!(
                "the webhook was not ready within {}s ({last}); see why with `kubectl mosaic explain deployment/{} -n {namespace}`, or rerun with --wait=false",
                timeout.as_secs(),
                names::WEBHOOK_NAME
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Write to stdout; a closed pipe (`| head`) is not an error.
fn stdout(text: &str) -> Result<(), Error> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::Other(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

fn dry_run(items: &[Item], args: &InstallArgs, namespace: &str) -> Result<Outcome, Error> {
    match args.output {
        Some(f @ (Format::Yaml | Format::Json)) => {
            let objects: Vec<&DynamicObject> = items.iter().map(|i| &i.object).collect();
            stdout(&output::render_list(&objects, f)?)?;
        }
        Some(other) => {
            return Err(Error::Usage(format!(
                "install --dry-run -o {other:?}: use -o yaml or -o json"
            )));
        }
        None => {
            let lines: String = items
                .iter()
                .map(|i| format!("{} (dry run)\n", i.display()))
                .collect();
            stdout(&lines)?;
        }
    }
    eprintln!(
        "dry run: would also create secret/{} in {namespace} (32 random bytes) unless it exists{}{}",
        names::WEBHOOK_SECRET_NAME,
        if args.github_token_from_env.is_some() {
            format!(", and apply secret/{}", names::GITHUB_SECRET_NAME)
        } else {
            String::new()
        },
        if args.registry_credentials_from.is_some() {
            format!(", and apply secret/{}", names::REGISTRY_SECRET_NAME)
        } else {
            String::new()
        },
    );
    Ok(Outcome::Success)
}

pub async fn run(kube: &KubeArgs, args: InstallArgs) -> Result<Outcome, Error> {
    let namespace = install_namespace(kube);
    let timeout = parse_duration(&args.timeout)?;
    if args.output.is_some() && !args.dry_run {
        return Err(Error::Usage(
            "-o is only for --dry-run: add --dry-run to print the manifests".into(),
        ));
    }
    let mut items = bundle_objects(&namespace)?;
    if let Some(image) = &args.image {
        if image.trim().is_empty() || image.contains(char::is_whitespace) {
            return Err(Error::Usage(format!(
                "--image {image:?} is not an image reference"
            )));
        }
        bundle::set_webhook_image(&mut items, image);
    }
    if args.dry_run {
        return dry_run(&items, &args, &namespace);
    }
    let sources = read_sources(&args)?;
    let cluster = kubeconf::connect(kube).await?;
    let client = cluster.client;
    for item in &items {
        let what = apply(&client, item).await?;
        eprintln!("{} {what}", item.display());
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    let what = ensure_webhook_secret(&secrets, &namespace).await?;
    eprintln!("secret/{} {what}", names::WEBHOOK_SECRET_NAME);
    if let Some(token) = sources.github_token {
        let s = secret(
            &namespace,
            names::GITHUB_SECRET_NAME,
            "Opaque",
            names::GITHUB_TOKEN_KEY,
            token.into_bytes(),
        );
        eprintln!(
            "secret/{} {}",
            names::GITHUB_SECRET_NAME,
            apply_secret(&secrets, &s).await?
        );
    }
    if let Some(config) = sources.registry_config {
        let s = secret(
            &namespace,
            names::REGISTRY_SECRET_NAME,
            "kubernetes.io/dockerconfigjson",
            ".dockerconfigjson",
            config,
        );
        eprintln!(
            "secret/{} {}",
            names::REGISTRY_SECRET_NAME,
            apply_secret(&secrets, &s).await?
        );
    }
    if args.wait {
        wait_ready(&client, &namespace, timeout).await?;
    }
    stdout(&bundle::next_steps(&namespace))?;
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_ignore_bookkeeping() {
        let obj = |rv: &str, time: &str, replicas: i32| {
            serde_json::json!({"metadata": {"name": "w", "resourceVersion": rv,
                "managedFields": [{"manager": "kubectl-mosaic", "time": time}]},
                "spec": {"replicas": replicas}})
        };
        let a = obj("1", "2026-01-01T00:00:00Z", 2);
        assert_eq!(outcome(None, &a), "created");
        assert_eq!(
            outcome(Some(&a), &obj("2", "2026-01-01T00:00:01Z", 2)),
            "unchanged"
        );
        assert_eq!(
            outcome(Some(&a), &obj("2", "2026-01-01T00:00:01Z", 3)),
            "configured"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("12").unwrap(), Duration::from_secs(12));
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("m").is_err());
    }

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
