//! Building a Kubernetes client from kubectl-style flags, the way kubectl does:
//! `--kubeconfig`, else `KUBECONFIG` (a merged list; missing files skipped),
//! else `~/.kube/config`, else in-cluster config.

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::cli::KubeArgs;
use crate::error::Error;

/// A connected client plus the namespace to use by default.
pub struct Cluster {
    pub client: Client,
    /// Namespace from `-n`, else the context's, else `default`.
    pub namespace: String,
}

fn load_kubeconfig(args: &KubeArgs) -> Result<Option<Kubeconfig>, Error> {
    if let Some(p) = &args.kubeconfig {
        return Kubeconfig::read_from(p)
            .map(Some)
            .map_err(|e| Error::Config(format!("cannot read kubeconfig {}: {e}", p.display())));
    }
    if let Some(list) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let mut merged: Option<Kubeconfig> = None;
        for p in std::env::split_paths(&list) {
            if !p.exists() {
                continue;
            }
            let kc = Kubeconfig::read_from(&p)
                .map_err(|e| Error::Config(format!("cannot read kubeconfig {}: {e}", p.display())))?;
            merged = Some(match merged {
                None => kc,
                Some(m) => m.merge(kc).map_err(|e| Error::Config(format!("cannot merge kubeconfigs: {e}")))?,
            });
        }
        return Ok(merged);
    }
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    match home.map(|h| h.join(".kube").join("config")) {
        Some(p) if p.exists() => Kubeconfig::read_from(&p)
            .map(Some)
            .map_err(|e| Error::Config(format!("cannot read kubeconfig {}: {e}", p.display()))),
        _ => Ok(None),
    }
}

fn parse_timeout(s: &str) -> Result<Option<std::time::Duration>, Error> {
    let bad = || Error::Usage(format!("invalid --request-timeout {s:?}: use a duration such as 30s, 1m or 0"));
    if s == "0" {
        return Ok(None);
    }
    let (num, unit) = s.find(|c: char| !c.is_ascii_digit()).map_or((s, "s"), |i| (&s[..i], &s[i..]));
    let n: u64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(bad()),
    };
    Ok(Some(std::time::Duration::from_secs(secs)))
}

/// Build a client from the flags. Errors are one line saying what to do.
pub async fn connect(args: &KubeArgs) -> Result<Cluster, Error> {
    let opts = KubeConfigOptions {
        context: args.context.clone(),
        cluster: args.cluster.clone(),
        user: args.user.clone(),
    };
    let mut config = match load_kubeconfig(args)? {
        Some(kc) => Config::from_custom_kubeconfig(kc, &opts)
            .await
            .map_err(|e| Error::Config(format!("invalid kubeconfig: {e}")))?,
        None => Config::incluster().map_err(|_| {
            Error::Config(
                "no kubeconfig found: set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config".to_string(),
            )
        })?,
    };
    if let Some(t) = &args.request_timeout {
        let d = parse_timeout(t)?;
        config.read_timeout = d;
        config.write_timeout = d;
        config.connect_timeout = d;
    }
    if let Some(u) = &args.as_user {
        config.auth_info.impersonate = Some(u.clone());
    }
    let namespace = args.namespace.clone().unwrap_or_else(|| config.default_namespace.clone());
    let client = Client::try_from(config).map_err(|e| Error::Config(format!("cannot build a client: {e}")))?;
    Ok(Cluster { client, namespace })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("0").unwrap(), None);
        assert_eq!(parse_timeout("30s").unwrap(), Some(std::time::Duration::from_secs(30)));
        assert_eq!(parse_timeout("2m").unwrap(), Some(std::time::Duration::from_secs(120)));
        assert!(parse_timeout("abc").is_err());
        assert!(parse_timeout("5d").is_err());
    }
}
