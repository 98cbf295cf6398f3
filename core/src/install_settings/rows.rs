//! How `install --show` and install's "keeping" lines list the settings: one row per flag,
//! with the value in effect and whether it is the release default.

use super::{DEFAULT_GITHUB_API_URL, DEFAULT_GITHUB_WEB_URL, Settings};
use crate::netpol;

impl Settings {
    /// Each setting as (install flag, value in effect, whether it is the release default).
    pub fn rows(&self) -> Vec<(&'static str, String, bool)> {
        let list = |flag, v: &[String], default: &str| {
            if v.is_empty() {
                (flag, default.to_string(), true)
            } else {
                (flag, v.join(", "), false)
            }
        };
        let one = |flag, v: &Option<String>, default: String| match v {
            Some(v) => (flag, v.clone(), false),
            None => (flag, default, true),
        };
        vec![
            one("--image", &self.image, crate::install::webhook_image()),
            one(
                "--engine-image",
                &self.engine_image,
                crate::install::engine_image(),
            ),
            one(
                "--github-api-url",
                &self.github_api_url,
                DEFAULT_GITHUB_API_URL.into(),
            ),
            one(
                "--github-web-url",
                &self.github_web_url,
                DEFAULT_GITHUB_WEB_URL.into(),
            ),
            list("--insecure-registry", &self.insecure_registries, "(none)"),
            match (self.builders, self.builder_autoscale) {
                (Some(n), _) => ("--builders", n.to_string(), false),
                (None, Some(_)) => ("--builders", "(chosen by the HPA)".into(), true),
                (None, None) => (
                    "--builders",
                    crate::install::BUILDER_REPLICAS.to_string(),
                    true,
                ),
            },
            match self.builder_autoscale {
                Some(a) => ("--builder-autoscale", a.to_string(), false),
                None => ("--builder-autoscale", "(off)".into(), true),
            },
            list(
                "--namespaces",
                &self.namespaces,
                "(all: Secrets readable cluster-wide)",
            ),
            list(
                "--api-server-cidr",
                &self.api_server_cidrs,
                &netpol::FALLBACK_API_SERVER.join(", "),
            ),
            list(
                "--builder-egress-port",
                &self
                    .egress_ports
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>(),
                &netpol::DEFAULT_PORTS
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            list(
                "--builder-deny-cidr",
                &self.deny_cidrs,
                &netpol::DEFAULT_DENY.join(", "),
            ),
        ]
    }
}
