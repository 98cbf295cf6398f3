//! `kubectl mosaic status --commit SHA`: what happened to one commit, per Binding: deployed
//! (and whether it still runs), superseded by a newer commit, refused (not on the branch,
//! paused), failed, or still on its way; or that no delivery for it ever arrived, and what
//! picks it up.

use std::fmt::Write as _;

use k8s_openapi::api::core::v1::Event;
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use mosaic_core::names::LABEL_COMMIT;
use mosaic_core::{Binding, Build, BuildPhase};

use crate::error::{Error, Outcome};
use crate::kubeconf;
use crate::kubeconf::KubeArgs;
use crate::output::{self, ObjectFormat};

/// A commit as typed: 7 to 40 hex digits, lower-cased.
pub fn parse_commit(s: &str) -> Result<String, Error> {
    let c = s.trim().to_ascii_lowercase();
    if (7..=40).contains(&c.len()) && c.chars().all(|ch| ch.is_ascii_hexdigit()) {
        Ok(c)
    } else {
        Err(Error::Usage(format!(
            "--commit {s:?} is not a commit id: give 7 to 40 hex digits, as `git rev-parse` prints"
        )))
    }
}

/// What happened to `b`'s commit, in words (`bindings` tell whether it still runs).
pub fn words(b: &Build, bindings: &[Binding]) -> String {
    let s = b.status.clone().unwrap_or_default();
    let msg = output::escape_terminal(s.message.as_deref().unwrap_or_default());
    let reason = s.reason.clone().unwrap_or_default();
    match s.phase {
        BuildPhase::Succeeded => {
            let image = s.image.unwrap_or_default();
            let now = bindings
                .iter()
                .find(|x| x.name_any() == b.spec.binding)
                .and_then(|x| x.status.as_ref()?.last_commit.clone());
            match now {
                Some(c) if c != b.spec.commit => format!(
                    "deployed {image}; since replaced by {}",
                    output::short_commit(&c)
                ),
                _ => format!("deployed {image}; running now"),
            }
        }
        BuildPhase::Superseded => format!("not deployed ({reason}): {msg}"),
        BuildPhase::Cancelled => format!("refused ({reason}): {msg}"),
        BuildPhase::Failed => format!("failed ({reason}): {msg}"),
        p => format!("on its way: {p}"),
    }
}

/// The text for one commit (pure). `builds` are the commit's Builds in scope.
pub fn render(commit: &str, builds: &[Build], bindings: &[Binding], events: &[Event]) -> String {
    let mut out = String::new();
    if builds.is_empty() {
        let _ = writeln!(
            out,
            "No delivery for {commit} ever arrived here, or none matched a Binding.\n\
             If it is a bound branch's head, the webhook's resync records it within its \
             --resync-interval (default 5 minutes); to build it now: \
             kubectl mosaic deploy deployment/NAME --ref {commit}"
        );
        return out;
    }
    let mut sorted: Vec<&Build> = builds.iter().collect();
    sorted.sort_by_key(|b| {
        (
            b.spec.binding.clone(),
            b.metadata.creation_timestamp.clone(),
        )
    });
    for b in sorted {
        let ns = b.namespace().unwrap_or_default();
        let trigger = format!("{:?}", b.spec.trigger.kind).to_lowercase();
        let _ = writeln!(
            out,
            "{ns}/{} (Build {}, {trigger}): {}",
            b.spec.binding,
            b.name_any(),
            words(b, bindings)
        );
    }
    for e in events {
        let _ = writeln!(
            out,
            "  event {}: {}",
            e.reason.as_deref().unwrap_or_default(),
            output::escape_terminal(e.message.as_deref().unwrap_or_default())
        );
    }
    out
}

/// Do `b`'s commit and the typed prefix agree?
fn matches(b: &Build, commit: &str) -> bool {
    b.spec.commit.starts_with(commit)
}

pub async fn run(
    kube: &KubeArgs,
    commit: &str,
    format: Option<ObjectFormat>,
) -> Result<Outcome, Error> {
    let commit = parse_commit(commit)?;
    let cluster = kubeconf::connect(kube).await?;
    let (builds_api, bindings_api, events_api): (Api<Build>, Api<Binding>, Api<Event>) =
        if kube.all_namespaces {
            let c = &cluster.client;
            (
                Api::all(c.clone()),
                Api::all(c.clone()),
                Api::all(c.clone()),
            )
        } else {
            let (c, ns) = (&cluster.client, cluster.namespace.as_str());
            (
                Api::namespaced(c.clone(), ns),
                Api::namespaced(c.clone(), ns),
                Api::namespaced(c.clone(), ns),
            )
        };
    // A full commit id is a label selector; a prefix is matched here.
    let lp = if commit.len() == 40 {
        ListParams::default().labels(&format!("{LABEL_COMMIT}={commit}"))
    } else {
        ListParams::default()
    };
    let builds: Vec<Build> = builds_api
        .list(&lp)
        .await?
        .items
        .into_iter()
        .filter(|b| matches(b, &commit))
        .collect();
    if let Some(f) = format {
        print!("{}", output::render_list(&builds, f.into())?);
        return Ok(Outcome::Success);
    }
    let bindings = bindings_api.list(&ListParams::default()).await?.items;
    let full: Vec<String> = builds.iter().map(|b| b.spec.commit.clone()).collect();
    let events: Vec<Event> = match full.first() {
        Some(c) => {
            events_api
                .list(&ListParams::default().labels(&format!("{LABEL_COMMIT}={c}")))
                .await?
                .items
        }
        None => Vec::new(),
    };
    print!("{}", render(&commit, &builds, &bindings, &events));
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    fn build(binding: &str, phase: &str, reason: &str, message: &str) -> Build {
        let status = serde_json::json!({"phase": phase, "reason": reason, "message": message,
            "image": "r.io/a@sha256:00"});
        let name = format!("{binding}-0123456789ab");
        testing::build("team", &name, binding, "2026-01-01T00:00:00Z", status)
    }

    #[test]
    fn each_fate_of_a_commit_in_words() {
        let c = testing::COMMIT;
        let mut binding = testing::binding("team", "web", "a/b", "r.io/a");
        binding.status = Some(mosaic_core::BindingStatus {
            last_commit: Some("fedcba9876543210fedcba9876543210fedcba98".into()),
            ..Default::default()
        });
        let deployed = build("web", "Succeeded", "Deployed", "deployed");
        assert_eq!(
            words(&deployed, std::slice::from_ref(&binding)),
            "deployed r.io/a@sha256:00; since replaced by fedcba9"
        );
        assert_eq!(
            words(&deployed, &[]),
            "deployed r.io/a@sha256:00; running now"
        );
        let s = build(
            "web",
            "Superseded",
            "Superseded",
            "superseded by fedcba987654",
        );
        assert!(words(&s, &[]).starts_with("not deployed (Superseded)"));
        let r = build("web", "Cancelled", "NotOnBranch", "not on branch main");
        assert_eq!(words(&r, &[]), "refused (NotOnBranch): not on branch main");
        let text = render(c, &[], &[], &[]);
        assert!(
            text.starts_with("No delivery for 0123456789abcdef"),
            "{text}"
        );
        assert!(text.contains("resync"), "{text}");
        assert!(parse_commit("xyz").is_err());
        assert_eq!(parse_commit("ABCDEF0").unwrap(), "abcdef0");
    }
}
