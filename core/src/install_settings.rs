//! What a user chooses at `kubectl mosaic install`: the images (for mirrors and air-gapped
//! clusters), the GitHub endpoints (GitHub Enterprise), the registries reached over plain
//! HTTP, the number of builders (fixed, or a range an HPA scales within), the namespaces whose
//! Secrets may be read and the builders' egress. A choice left unset is the release default.
//! The settings are written onto the Deployments ([`apply`]), remembered on them in one
//! annotation ([`remembered`]) so a later `install` keeps them, validated here once for every
//! caller, and listed by `rows`.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Container;
use serde::{Deserialize, Serialize};

use crate::autoscale::{Autoscale, AutoscaleError};
use crate::install::{ENGINE_CONTAINER, WEBHOOK_CONTAINER};
use crate::names;
use crate::netpol::{self, Egress};
use crate::rbac::SecretScope;

/// Annotation on the webhook Deployment holding the settings `install` applied, as JSON.
pub const ANNOTATION_SETTINGS: &str = "mosaic.nectar.dev/install-settings";

/// The webhook's GitHub REST API base URL when none is set.
pub const DEFAULT_GITHUB_API_URL: &str = "https://api.github.com";
/// The webhook's GitHub web base URL when none is set.
pub const DEFAULT_GITHUB_WEB_URL: &str = "https://github.com";

/// The install choices; `None` or empty means the release default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// Webhook image (`--image`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Docker engine image (`--engine-image`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_image: Option<String>,
    /// GitHub REST API base URL (`--github-api-url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_api_url: Option<String>,
    /// GitHub web base URL (`--github-web-url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_web_url: Option<String>,
    /// Registries reached over plain HTTP, `HOST[:PORT]` (`--insecure-registry`, repeatable).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub insecure_registries: Vec<String>,
    /// Replicas of the builder Deployment (`--builders`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builders: Option<i32>,
    /// The builders' replica range under a HorizontalPodAutoscaler (`--builder-autoscale`);
    /// the HPA, not install, then sets the builder Deployment's replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builder_autoscale: Option<Autoscale>,
    /// The only namespaces watched and whose Secrets may be read (`--namespaces`); empty:
    /// every namespace, with a cluster-wide Secret grant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// The API server's addresses the builders may reach (`--api-server-cidr`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_server_cidrs: Vec<String>,
    /// Ports the builders may reach outside the denied ranges (`--builder-egress-port`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub egress_ports: Vec<u16>,
    /// Ranges the builders may not reach (`--builder-deny-cidr`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny_cidrs: Vec<String>,
}

/// A setting that cannot be used, with what to give instead.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingError {
    #[error(
        "--{flag} {value:?} is not an image reference: give e.g. registry.local/mosaic/docker:28-dind"
    )]
    Image { flag: &'static str, value: String },
    #[error(
        "--{flag} {value:?} is not an http(s) URL: give e.g. https://github.example.com/api/v3"
    )]
    Url { flag: &'static str, value: String },
    #[error(
        "--insecure-registry {0:?} is not HOST or HOST:PORT: give the registry's address as images name it, e.g. registry.kube-system.svc:5000 (no scheme, no path)"
    )]
    Registry(String),
    #[error("--builders {0} is out of range: give 0 to 100")]
    Builders(i32),
    #[error("--builder-autoscale {0}")]
    Autoscale(AutoscaleError),
    #[error(
        "--builders and --builder-autoscale both given: give --builders N for a fixed number of builders, or --builder-autoscale MIN:MAX to let an HPA choose"
    )]
    BuildersAndAutoscale,
    #[error(
        "--namespaces {0:?} is not a namespace name: give lower-case names separated by commas, e.g. shop,billing"
    )]
    Namespace(String),
    #[error("--{flag} {value:?} is not a CIDR: give ADDRESS/PREFIX, e.g. 10.0.0.1/32")]
    Cidr { flag: &'static str, value: String },
    #[error("--builder-egress-port 0 is not a port: give 1 to 65535")]
    Port,
}

fn namespace_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn image_ok(s: &str) -> bool {
    !s.is_empty() && !s.contains(char::is_whitespace) && !s.contains("://")
}

fn url_ok(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    matches!(rest, Some(r) if !r.is_empty() && !r.starts_with('/'))
        && !s.contains(char::is_whitespace)
}

fn registry_ok(s: &str) -> bool {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) if !s.ends_with(']') => (h, Some(p)),
        _ => (s, None),
    };
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'))
        && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0))
}

/// Check one `--insecure-registry` value, `HOST[:PORT]` as image references name it.
pub fn check_registry(s: &str) -> Result<(), SettingError> {
    if registry_ok(s) {
        Ok(())
    } else {
        Err(SettingError::Registry(s.to_string()))
    }
}

impl Settings {
    /// Every setting checked; the first problem found.
    pub fn validate(&self) -> Result<(), SettingError> {
        for (flag, v) in [("image", &self.image), ("engine-image", &self.engine_image)] {
            if let Some(v) = v.as_deref().filter(|v| !image_ok(v)) {
                return Err(SettingError::Image {
                    flag,
                    value: v.into(),
                });
            }
        }
        for (flag, v) in [
            ("github-api-url", &self.github_api_url),
            ("github-web-url", &self.github_web_url),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !url_ok(v)) {
                return Err(SettingError::Url {
                    flag,
                    value: v.into(),
                });
            }
        }
        self.insecure_registries
            .iter()
            .try_for_each(|r| check_registry(r))?;
        if let Some(n) = self.builders.filter(|n| !(0..=100).contains(n)) {
            return Err(SettingError::Builders(n));
        }
        if let Some(a) = self.builder_autoscale {
            a.check().map_err(SettingError::Autoscale)?;
            if self.builders.is_some() {
                return Err(SettingError::BuildersAndAutoscale);
            }
        }
        if let Some(n) = self.namespaces.iter().find(|n| !namespace_ok(n)) {
            return Err(SettingError::Namespace(n.clone()));
        }
        for (flag, list) in [
            ("api-server-cidr", &self.api_server_cidrs),
            ("builder-deny-cidr", &self.deny_cidrs),
        ] {
            if let Some(c) = list.iter().find(|c| !netpol::cidr_ok(c)) {
                return Err(SettingError::Cidr {
                    flag,
                    value: c.clone(),
                });
            }
        }
        if self.egress_ports.contains(&0) {
            return Err(SettingError::Port);
        }
        Ok(())
    }

    /// The builders' egress as chosen.
    pub fn egress(&self) -> Egress {
        Egress {
            api_server: self.api_server_cidrs.clone(),
            ports: self.egress_ports.clone(),
            deny: self.deny_cidrs.clone(),
        }
    }

    /// Where Secrets may be read.
    pub fn secret_scope(&self) -> SecretScope {
        if self.namespaces.is_empty() {
            SecretScope::ClusterWide
        } else {
            SecretScope::Namespaces(self.namespaces.clone())
        }
    }

    /// `self` with every setting `flags` gives replacing the remembered one; a list given
    /// replaces the remembered list (duplicates dropped, order kept). `--builders` and
    /// `--builder-autoscale` replace each other: either one given drops both remembered.
    pub fn overridden_by(&self, flags: &Settings) -> Settings {
        let pick = |new: &Option<String>, old: &Option<String>| new.clone().or(old.clone());
        Settings {
            image: pick(&flags.image, &self.image),
            engine_image: pick(&flags.engine_image, &self.engine_image),
            github_api_url: pick(&flags.github_api_url, &self.github_api_url),
            github_web_url: pick(&flags.github_web_url, &self.github_web_url),
            insecure_registries: replaced(&flags.insecure_registries, &self.insecure_registries),
            builders: flags
                .builders
                .or(self.builders.filter(|_| !flags.sizes_builders())),
            builder_autoscale: flags
                .builder_autoscale
                .or(self.builder_autoscale.filter(|_| !flags.sizes_builders())),
            namespaces: replaced(&flags.namespaces, &self.namespaces),
            api_server_cidrs: replaced(&flags.api_server_cidrs, &self.api_server_cidrs),
            egress_ports: replaced(&flags.egress_ports, &self.egress_ports),
            deny_cidrs: replaced(&flags.deny_cidrs, &self.deny_cidrs),
        }
    }

    /// The settings of `self` that `flags` leaves in place (what `overridden_by` keeps from
    /// `self`); every other one unset.
    pub fn not_replaced_by(&self, flags: &Settings) -> Settings {
        let keep =
            |old: &Option<String>, new: &Option<String>| old.clone().filter(|_| new.is_none());
        Settings {
            image: keep(&self.image, &flags.image),
            engine_image: keep(&self.engine_image, &flags.engine_image),
            github_api_url: keep(&self.github_api_url, &flags.github_api_url),
            github_web_url: keep(&self.github_web_url, &flags.github_web_url),
            insecure_registries: kept(&self.insecure_registries, &flags.insecure_registries),
            builders: self.builders.filter(|_| !flags.sizes_builders()),
            builder_autoscale: self.builder_autoscale.filter(|_| !flags.sizes_builders()),
            namespaces: kept(&self.namespaces, &flags.namespaces),
            api_server_cidrs: kept(&self.api_server_cidrs, &flags.api_server_cidrs),
            egress_ports: kept(&self.egress_ports, &flags.egress_ports),
            deny_cidrs: kept(&self.deny_cidrs, &flags.deny_cidrs),
        }
    }
}

impl Settings {
    /// Do these settings say how many builders run (a number or a range)?
    fn sizes_builders(&self) -> bool {
        self.builders.is_some() || self.builder_autoscale.is_some()
    }
}

/// `old` when nothing is `given`, else nothing.
fn kept<T: Clone>(old: &[T], given: &[T]) -> Vec<T> {
    if given.is_empty() {
        old.to_vec()
    } else {
        Vec::new()
    }
}

/// `given` when any, else `old`; duplicates dropped, order kept.
fn replaced<T: Clone + Eq + std::hash::Hash>(given: &[T], old: &[T]) -> Vec<T> {
    let mut out = if given.is_empty() { old } else { given }.to_vec();
    let mut seen = std::collections::HashSet::new();
    out.retain(|r| seen.insert(r.clone()));
    out
}

/// The settings a Deployment was installed with (its annotation); `None` when it carries none
/// (not installed by `install`, or by an older one) or the annotation is not ours.
pub fn remembered(d: &Deployment) -> Option<Settings> {
    let raw = d.metadata.annotations.as_ref()?.get(ANNOTATION_SETTINGS)?;
    serde_json::from_str(raw).ok()
}

fn container<'a>(d: &'a mut Deployment, name: &str) -> Option<&'a mut Container> {
    d.spec
        .template
        .spec
        .as_mut()?
        .containers
        .iter_mut()
        .find(|c| c.name == name)
}

fn push_args(c: &mut Container, args: impl IntoIterator<Item = String>) {
    c.args.get_or_insert_with(Vec::new).extend(args);
}

/// Write `s` onto a Deployment as generated by [`crate::install::intake_deployment`] or
/// [`crate::install::builder_deployment`]: images, the webhook's GitHub, plain-HTTP and
/// namespace flags, the engine's `--insecure-registry` arguments, the builders' replicas (none
/// under autoscaling: the HPA owns them, and an applied value would fight it), and the
/// annotation that remembers them.
pub fn apply(s: &Settings, d: &mut Deployment) {
    if d.metadata.name.as_deref() == Some(names::BUILDER_NAME) {
        if let Some(n) = s.builders {
            d.spec.replicas = Some(n);
        }
        if s.builder_autoscale.is_some() {
            d.spec.replicas = None;
        }
    }
    let insecure = |c: &mut Container| {
        push_args(
            c,
            s.insecure_registries
                .iter()
                .map(|r| format!("--insecure-registry={r}")),
        )
    };
    if let Some(c) = container(d, WEBHOOK_CONTAINER) {
        if let Some(i) = &s.image {
            c.image = Some(i.clone());
        }
        let urls = [
            ("--github-api-url", &s.github_api_url),
            ("--github-web-url", &s.github_web_url),
        ];
        push_args(
            c,
            urls.into_iter()
                .filter_map(|(f, v)| v.as_ref().map(|v| format!("{f}={v}"))),
        );
        insecure(c);
        if !s.namespaces.is_empty() {
            push_args(c, [format!("--namespace={}", s.namespaces.join(","))]);
        }
    }
    if let Some(c) = container(d, ENGINE_CONTAINER) {
        if let Some(i) = &s.engine_image {
            c.image = Some(i.clone());
        }
        insecure(c);
    }
    d.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(
            ANNOTATION_SETTINGS.into(),
            serde_json::to_string(s).expect("settings serialise"),
        );
}

mod rows;
#[cfg(test)]
mod tests;
