//! What `install` says without changing anything: `--show` (the settings the installed webhook
//! runs with), `--dry-run` (the objects it would apply), and, on a real install, which
//! remembered settings it keeps.

use k8s_openapi::api::apps::v1::Deployment;
use kube::Client;
use kube::api::{Api, DynamicObject};

use mosaic_core::install_settings::{self, Settings};
use mosaic_core::names;

use crate::bundle::Item;
use crate::error::{Error, Outcome};
use crate::output::{self, Format, stdout};

/// The intake Deployment in `namespace` and the settings it remembers (`None` when it was
/// not installed by `install`, or by an older one).
pub async fn installed(
    client: &Client,
    namespace: &str,
) -> Result<Option<(Deployment, Option<Settings>)>, Error> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    Ok(api.get_opt(names::INTAKE_NAME).await?.map(|d| {
        let s = install_settings::remembered(&d);
        (d, s)
    }))
}

/// The settings as aligned text lines, each marked `(default)` where nothing was chosen.
pub fn settings_text(s: &Settings) -> String {
    s.rows()
        .into_iter()
        .map(|(flag, value, default)| {
            format!(
                "  {flag:<20} {value}{}\n",
                if default { " (default)" } else { "" }
            )
        })
        .collect()
}

/// Lines naming each remembered setting a new install keeps because no flag replaced it.
pub fn kept_lines(remembered: &Settings, flags: &Settings) -> Vec<String> {
    remembered
        .not_replaced_by(flags)
        .rows()
        .into_iter()
        .filter(|(_, _, default)| !default)
        .map(|(flag, value, _)| {
            format!("keeping {flag} {value} from the earlier install (--reset to drop it)")
        })
        .collect()
}

/// `install --show`.
pub async fn show(
    client: &Client,
    namespace: &str,
    format: Option<Format>,
) -> Result<Outcome, Error> {
    let Some((_, remembered)) = installed(client, namespace).await? else {
        return Err(Error::NotFound(format!(
            "Mosaic is not installed in namespace {namespace} (no deployment/{}): install it with `kubectl mosaic install -n {namespace}`",
            names::INTAKE_NAME
        )));
    };
    let known = remembered.is_some();
    let s = remembered.unwrap_or_default();
    match format {
        Some(f @ (Format::Yaml | Format::Json)) => stdout(&output::render_value(&s, f)?)?,
        Some(other) => {
            return Err(Error::Usage(format!(
                "install --show -o {other:?}: use -o yaml or -o json"
            )));
        }
        None => {
            let head = if known {
                format!(
                    "deployment/{} in {namespace} runs with (a later install keeps these unless its flags replace them):\n",
                    names::INTAKE_NAME
                )
            } else {
                format!(
                    "deployment/{} in {namespace} carries no install settings (applied by kubectl apply -k, or an older install); the release defaults:\n",
                    names::INTAKE_NAME
                )
            };
            stdout(&format!("{head}{}", settings_text(&s)))?;
        }
    }
    Ok(Outcome::Success)
}

/// `install --dry-run`: the objects with the flags' settings; nothing is read or changed.
/// `secrets`: the credential Secrets the flags would store.
pub fn dry_run(
    items: &[Item],
    format: Option<Format>,
    secrets: &[&str],
    namespace: &str,
) -> Result<Outcome, Error> {
    match format {
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
    let also: String = secrets
        .iter()
        .map(|s| format!(", and apply secret/{s}"))
        .collect();
    eprintln!(
        "dry run: would also create secret/{} in {namespace} (32 random bytes) unless it exists{also}",
        names::WEBHOOK_SECRET_NAME,
    );
    eprintln!(
        "dry run: shows the flags given on the release defaults; a real install also keeps settings remembered from an earlier one (see --show)"
    );
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_settings_are_those_no_flag_replaced() {
        let remembered = Settings {
            engine_image: Some("mirror/docker:28-dind".into()),
            github_api_url: Some("https://ghe.example/api/v3".into()),
            insecure_registries: vec!["r:5000".into()],
            ..Default::default()
        };
        let flags = Settings {
            github_api_url: Some("https://other.example/api/v3".into()),
            ..Default::default()
        };
        let lines = kept_lines(&remembered, &flags);
        assert_eq!(
            lines,
            [
                "keeping --engine-image mirror/docker:28-dind from the earlier install (--reset to drop it)",
                "keeping --insecure-registry r:5000 from the earlier install (--reset to drop it)",
            ]
        );
        let text = settings_text(&remembered);
        assert!(
            text.contains("  --engine-image       mirror/docker:28-dind\n"),
            "{text}"
        );
        assert!(text.contains("https://github.com (default)"), "{text}");
    }
}
