//! The checks `bind` makes before it writes anything, as plain functions: the
//! container and the Binding's name, the branch, paths inside the repository,
//! and the Secrets named by `--registry-secret` and `--github-secret`.

use k8s_openapi::api::core::v1::Secret;
use mosaic_core::bound_container;
use mosaic_core::names::{GITHUB_TOKEN_KEY, REGISTRY_SECRET_TYPE};

use crate::error::Error;

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
            binding_name: bound_container::binding_name(deployment, c, containers.len()),
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
        .is_some_and(|d| d.contains_key(GITHUB_TOKEN_KEY))
        || s.string_data
            .as_ref()
            .is_some_and(|d| d.contains_key(GITHUB_TOKEN_KEY));
    if !has {
        return Err(Error::Input(format!(
            "secret {name:?} has no key {GITHUB_TOKEN_KEY:?}: --github-secret needs the GitHub token under the key {GITHUB_TOKEN_KEY} (`kubectl create secret generic {name} --from-literal=token=…`)"
        )));
    }
    Ok(())
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
        data.insert(
            GITHUB_TOKEN_KEY.to_string(),
            k8s_openapi::ByteString(b"x".to_vec()),
        );
        let with = Secret {
            data: Some(data),
            ..Default::default()
        };
        check_github_secret("gh", "ns", Some(&with)).unwrap();
    }
}
