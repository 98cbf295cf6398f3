//! Building a Kubernetes client from kubectl-style flags, the way kubectl does:
//! `--kubeconfig`, else `KUBECONFIG` (a merged list; missing files skipped),
//! else `~/.kube/config`, else in-cluster config.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use clap::Args;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::error::Error;

/// kubectl's connection flags, accepted by every command that talks to a cluster.
#[derive(Args, Debug, Clone, Default)]
pub struct KubeArgs {
    /// Path to the kubeconfig file to use.
    #[arg(
        help_heading = "Kubernetes options",
        long,
        global = true,
        value_name = "PATH"
    )]
    pub kubeconfig: Option<PathBuf>,
    /// The name of the kubeconfig context to use.
    #[arg(help_heading = "Kubernetes options", long, global = true)]
    pub context: Option<String>,
    /// The name of the kubeconfig cluster to use.
    #[arg(help_heading = "Kubernetes options", long, global = true)]
    pub cluster: Option<String>,
    /// The name of the kubeconfig user to use.
    #[arg(help_heading = "Kubernetes options", long, global = true)]
    pub user: Option<String>,
    /// Namespace scope for this request (default: the context's namespace).
    #[arg(help_heading = "Kubernetes options", short = 'n', long, global = true)]
    pub namespace: Option<String>,
    /// Act across all namespaces.
    #[arg(help_heading = "Kubernetes options", short = 'A', long, global = true)]
    pub all_namespaces: bool,
    /// Username to impersonate for the operation.
    #[arg(
        help_heading = "Kubernetes options",
        long = "as",
        global = true,
        value_name = "USER"
    )]
    pub as_user: Option<String>,
    /// Time to wait for a single server request, e.g. 30s, 1m (0 = no timeout).
    #[arg(
        help_heading = "Kubernetes options",
        long,
        global = true,
        value_name = "DURATION"
    )]
    pub request_timeout: Option<String>,
}

/// A connected client plus the namespace to use by default.
pub struct Cluster {
    pub client: Client,
    /// Namespace from `-n`, else the context's, else `default`.
    pub namespace: String,
    /// Who is acting: `--as`, else `--user`, else the context's user entry name.
    pub user: Option<String>,
}

/// Where the kubeconfig comes from, decided without reading anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `--kubeconfig`: only that file; missing is an error.
    Explicit(PathBuf),
    /// `KUBECONFIG`: these files, in order, duplicates removed; missing ones are skipped.
    List(Vec<PathBuf>),
    /// `~/.kube/config`, when it exists.
    Home(PathBuf),
    /// Nothing: in-cluster config, if any.
    None,
}

/// kubectl's loading order: `--kubeconfig`, else `KUBECONFIG`, else `~/.kube/config`.
pub fn source(explicit: Option<&Path>, env: Option<&OsStr>, home: Option<&Path>) -> Source {
    if let Some(p) = explicit {
        return Source::Explicit(p.to_path_buf());
    }
    if let Some(list) = env.filter(|v| !v.is_empty()) {
        let mut paths: Vec<PathBuf> = vec![];
        for p in std::env::split_paths(list) {
            if !p.as_os_str().is_empty() && !paths.contains(&p) {
                paths.push(p);
            }
        }
        return Source::List(paths);
    }
    match home.map(|h| h.join(".kube").join("config")) {
        Some(p) if p.exists() => Source::Home(p),
        _ => Source::None,
    }
}

fn current_source(args: &KubeArgs) -> Source {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    source(
        args.kubeconfig.as_deref(),
        std::env::var_os("KUBECONFIG").as_deref(),
        home.as_deref(),
    )
}

/// Whether any kubeconfig (or in-cluster config) is available, without reading files.
pub fn has_config(args: &KubeArgs) -> bool {
    match current_source(args) {
        Source::List(ps) => ps.iter().any(|p| p.exists()),
        Source::None => std::env::var_os("KUBERNETES_SERVICE_HOST").is_some(),
        _ => true,
    }
}

fn read(p: &Path) -> Result<Option<Kubeconfig>, Error> {
    let text = std::fs::read_to_string(p)
        .map_err(|e| Error::Config(format!("cannot read kubeconfig {}: {e}", p.display())))?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    Kubeconfig::read_from(p).map(Some).map_err(|e| {
        Error::Config(format!(
            "cannot read kubeconfig {}: {}",
            p.display(),
            mosaic_core::error_chain::chain(&e)
        ))
    })
}

/// Read and merge the kubeconfig the way kubectl does (first file to set a name wins).
pub fn load_kubeconfig(src: &Source) -> Result<Option<Kubeconfig>, Error> {
    match src {
        Source::Explicit(p) => read(p)?
            .ok_or_else(|| Error::Config(format!("kubeconfig {} is empty", p.display())))
            .map(Some),
        Source::Home(p) => read(p),
        Source::None => Ok(None),
        Source::List(paths) => {
            let mut merged: Option<Kubeconfig> = None;
            for p in paths.iter().filter(|p| p.exists()) {
                let Some(kc) = read(p)? else { continue };
                merged = Some(match merged {
                    None => kc,
                    Some(m) => m.merge(kc).map_err(|e| {
                        Error::Config(format!(
                            "cannot merge kubeconfig {} into the earlier files: {e}",
                            p.display()
                        ))
                    })?,
                });
            }
            Ok(merged)
        }
    }
}

/// Build a client from the flags. Errors are one line saying what to do.
pub async fn connect(args: &KubeArgs) -> Result<Cluster, Error> {
    let opts = KubeConfigOptions {
        context: args.context.clone(),
        cluster: args.cluster.clone(),
        user: args.user.clone(),
    };
    let src = current_source(args);
    let kubeconfig = load_kubeconfig(&src)?;
    let context_user = kubeconfig.as_ref().and_then(|kc| {
        let ctx = args
            .context
            .clone()
            .or_else(|| kc.current_context.clone())?;
        kc.contexts
            .iter()
            .find(|c| c.name == ctx)?
            .context
            .as_ref()?
            .user
            .clone()
    });
    let flags_given = args.context.is_some() || args.cluster.is_some() || args.user.is_some();
    let mut config = match kubeconfig {
        Some(kc) => Config::from_custom_kubeconfig(kc, &opts)
            .await
            .map_err(|e| {
                Error::Config(format!(
                    "invalid kubeconfig: {}",
                    mosaic_core::error_chain::chain(&e)
                ))
            })?,
        None if flags_given => {
            return Err(Error::Config(
                "no kubeconfig found for --context/--cluster/--user: set KUBECONFIG or pass --kubeconfig".to_string(),
            ));
        }
        None => Config::incluster().map_err(|_| {
            Error::Config(
                "no kubeconfig found: set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config"
                    .to_string(),
            )
        })?,
    };
    if let Some(t) = &args.request_timeout {
        let d = mosaic_core::duration::parse_limit(t)
            .map_err(|e| Error::Usage(format!("--request-timeout: {e}")))?;
        config.read_timeout = d;
        config.write_timeout = d;
        config.connect_timeout = d;
    }
    if let Some(u) = &args.as_user {
        config.auth_info.impersonate = Some(u.clone());
    }
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let user = args
        .as_user
        .clone()
        .or_else(|| args.user.clone())
        .or(context_user);
    let client = Client::try_from(config)
        .map_err(|e| Error::Config(format!("cannot build a client: {e}")))?;
    Ok(Cluster {
        client,
        namespace,
        user,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters:\n- name: c\n  cluster: {server: https://a.example:6443}\ncontexts:\n- name: a\n  context: {cluster: c, user: ua, namespace: team-a}\nusers:\n- name: ua\n  user: {token: x}\n";
    const B: &str = "apiVersion: v1\nkind: Config\ncurrent-context: b\nclusters:\n- name: c\n  cluster: {server: https://b.example:6443}\n- name: d\n  cluster: {server: https://d.example:6443}\ncontexts:\n- name: b\n  context: {cluster: d, user: ub}\nusers:\n- name: ub\n  user: {token: y}\n";

    #[test]
    fn sources_follow_kubectl_order() {
        let home = tempfile::tempdir().unwrap();
        assert_eq!(source(None, None, Some(home.path())), Source::None);
        std::fs::create_dir_all(home.path().join(".kube")).unwrap();
        std::fs::write(home.path().join(".kube/config"), A).unwrap();
        assert_eq!(
            source(None, None, Some(home.path())),
            Source::Home(home.path().join(".kube/config"))
        );
        let list = std::env::join_paths(["/x/a", "/x/b", "/x/a"]).unwrap();
        assert_eq!(
            source(None, Some(&list), Some(home.path())),
            Source::List(vec![PathBuf::from("/x/a"), PathBuf::from("/x/b")])
        );
        assert_eq!(
            source(Some(Path::new("/k")), Some(&list), None),
            Source::Explicit(PathBuf::from("/k"))
        );
    }

    #[test]
    fn lists_merge_first_wins_and_skip_missing_and_empty_files() {
        let d = tempfile::tempdir().unwrap();
        let (a, b, empty) = (
            d.path().join("a"),
            d.path().join("b"),
            d.path().join("empty"),
        );
        std::fs::write(&a, A).unwrap();
        std::fs::write(&b, B).unwrap();
        std::fs::write(&empty, "").unwrap();
        let src = Source::List(vec![d.path().join("missing"), empty, a, b]);
        let kc = load_kubeconfig(&src).unwrap().unwrap();
        assert_eq!(kc.current_context.as_deref(), Some("a"));
        let c = kc.clusters.iter().find(|c| c.name == "c").unwrap();
        assert_eq!(
            c.cluster.as_ref().unwrap().server.as_deref(),
            Some("https://a.example:6443")
        );
        assert!(
            kc.contexts.iter().any(|c| c.name == "b"),
            "later files add new names"
        );
        assert!(
            load_kubeconfig(&Source::List(vec![d.path().join("missing")]))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn explicit_missing_file_is_an_error() {
        let e = load_kubeconfig(&Source::Explicit(PathBuf::from("/nonexistent/kubeconfig")))
            .err()
            .unwrap();
        assert!(
            e.to_string()
                .starts_with("cannot read kubeconfig /nonexistent/kubeconfig"),
            "{e}"
        );
        assert_eq!(e.exit_code(), 1);
    }
}
