//! Pod rules for image pulls: missing image, denied access, unreachable registry,
//! invalid names, `imagePullPolicy: Never`, and back-off whose cause has expired.

use super::pod::{Cs, container_events, describe, events_evidence, finding, learn, statuses};
use super::{Ctx, Rule};
use crate::explain::finding::{Evidence, Finding, Severity};
use crate::explain::index::{Index, Obj};
use crate::explain::value::str_at;

pub const RULES: &[Rule] = &[
    rule("pod.image-pull.not-found", not_found),
    rule("pod.image-pull.unauthorized", unauthorized),
    rule("pod.image-pull.registry-unreachable", unreachable),
    rule("pod.image-pull.invalid-name", invalid_name),
    rule("pod.image-pull.never-policy", never_policy),
    rule("pod.image-pull.backoff-unknown", backoff_unknown),
    rule("pod.image-pull.transfer-failed", transfer_failed),
];

const fn rule(slug: &'static str, check: fn(&Obj, &Index, &Ctx) -> Vec<Finding>) -> Rule {
    Rule {
        slug,
        kinds: &["Pod"],
        symptom: false,
        check,
    }
}

const PULL_REASONS: &[&str] = &["ErrImagePull", "ImagePullBackOff", "RegistryUnavailable"];

/// Why a pull failed, as far as the messages tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    NotFound,
    Unauthorized,
    Unreachable,
    /// The registry answered, but the layer download broke off.
    Transfer,
}

fn classify(msg: &str) -> Option<Cause> {
    // Docker: "manifest for x not found: manifest unknown"; registries: "manifest unknown";
    // containerd 1.x: "failed to resolve reference \"x\": x: not found"; containerd 2.x:
    // "failed to resolve image: x: not found".
    if re!(r"manifest (for \S+ )?(not found|unknown)|failed to resolve (reference|image)\b.*: not found|not found: manifest unknown").is_match(msg) {
        Some(Cause::NotFound)
    } else if re!(r"pull access denied|insufficient_scope|[Uu]nauthorized|authorization failed|403 Forbidden|denied: ").is_match(msg) {
        Some(Cause::Unauthorized)
    } else if re!(r"no such host|i/o timeout|connection refused|TLS handshake timeout|x509: |certificate|Timeout exceeded|registry is unavailable").is_match(msg) {
        Some(Cause::Unreachable)
    } else if re!(r"unexpected EOF|short read|failed to copy|failed commit on ref").is_match(msg) {
        Some(Cause::Transfer)
    } else {
        None
    }
}

/// A message that only says the pull is being retried, not why it failed.
fn is_bare_backoff(m: &str) -> bool {
    m.is_empty()
        || re!(r"^(Back-off pulling image|Error: (ImagePullBackOff|ErrImagePull)$)").is_match(m)
}

/// The runtime's own words: what follows the last `desc = ` of a CRI error, else the
/// message without its `Failed to pull image "x": ` prefix.
fn essence(m: &str) -> &str {
    if let Some(i) = m.rfind("desc = ") {
        return &m[i + "desc = ".len()..];
    }
    re!(r#"^Failed to pull image "[^"]*": "#)
        .find(m)
        .map_or(m, |p| &m[p.end()..])
}

/// At most `n` characters of `m`, with `…` when cut.
fn clip(m: &str, n: usize) -> String {
    if m.chars().count() <= n {
        m.to_string()
    } else {
        format!("{}…", m.chars().take(n).collect::<String>())
    }
}

/// A container whose image pull fails, with the newest message that tells why.
struct Pull<'a> {
    cs: Cs<'a>,
    image: String,
    cause: Option<Cause>,
    /// The message carrying the cause (or the degraded one).
    message: Option<String>,
    /// A message that states why the pull failed in words explain does not classify
    /// (never a bare back-off): quoted rather than called unknown.
    stated: Option<String>,
    evidence: Vec<Evidence>,
}

fn failing_pulls<'a>(pod: &'a Obj, ix: &Index) -> Vec<Pull<'a>> {
    let mut out = Vec::new();
    for cs in statuses(pod) {
        let Some(reason) = cs.waiting_reason().filter(|r| PULL_REASONS.contains(r)) else {
            continue;
        };
        let image = cs
            .spec(pod)
            .and_then(|s| str_at(s, "image"))
            .or_else(|| str_at(cs.v, "image"))
            .unwrap_or("?")
            .to_string();
        let mut evidence = cs.waiting_evidence(pod);
        let events = container_events(ix, pod, &cs, &["Failed", "FailedToRetrieveImagePullSecret"]);
        let mut candidates: Vec<(String, Option<Evidence>)> = Vec::new();
        if let Some(m) = cs.waiting_message() {
            candidates.push((m.to_string(), None));
        }
        for e in &events {
            candidates.push((e.message.clone(), Some(e.evidence())));
        }
        let stated = candidates
            .iter()
            .map(|(m, _)| m.trim())
            .find(|m| !is_bare_backoff(m))
            .map(str::to_string);
        let hit = candidates
            .iter()
            .find_map(|(m, e)| classify(m).map(|c| (c, m.clone(), e.clone())));
        let (cause, message) = match hit {
            Some((c, m, e)) => {
                evidence.extend(e);
                (Some(c), Some(m))
            }
            None => {
                evidence.extend(events_evidence(&events));
                evidence.extend(events_evidence(&container_events(
                    ix,
                    pod,
                    &cs,
                    &["BackOff"],
                )));
                (None, cs.waiting_message().map(str::to_string))
            }
        };
        if reason == "RegistryUnavailable" && cause.is_none() {
            out.push(Pull {
                cs,
                image,
                cause: Some(Cause::Unreachable),
                message,
                stated,
                evidence,
            });
            continue;
        }
        out.push(Pull {
            cs,
            image,
            cause,
            message,
            stated,
            evidence,
        });
    }
    out
}

fn pulls_with(pod: &Obj, ix: &Index, cause: Option<Cause>) -> Vec<Finding> {
    let pulls = failing_pulls(pod, ix);
    let Some(mut p) = pulls.into_iter().find(|p| p.cause == cause) else {
        return Vec::new();
    };
    let (slug, sev, summary, possible) = headline(&p, cause);
    let f = finding(slug, sev, pod, summary)
        .possible(possible)
        .evidence_all(std::mem::take(&mut p.evidence));
    let f = advise(f, pod, &p, cause);
    vec![f.fix(describe(pod)).learn(learn::IMAGE_PULL)]
}

/// The slug, severity and summary of a failing pull, and whether its cause is only
/// possible (a refusal that may also mean the repository does not exist).
fn headline(p: &Pull<'_>, cause: Option<Cause>) -> (&'static str, Severity, String, bool) {
    match cause {
        Some(Cause::NotFound) => (
            "pod.image-pull.not-found",
            Severity::Error,
            format!(
                "image {} not found in its registry (container {}): wrong name or tag, or never pushed",
                p.image, p.cs.name
            ),
            false,
        ),
        Some(Cause::Unauthorized) => {
            let (text, ambiguous) = refused(p);
            (
                "pod.image-pull.unauthorized",
                Severity::Error,
                text,
                ambiguous,
            )
        }
        Some(Cause::Unreachable) => (
            "pod.image-pull.registry-unreachable",
            Severity::Error,
            format!(
                "node cannot reach the registry of image {} (container {}): DNS, network, TLS or timeout",
                p.image, p.cs.name
            ),
            false,
        ),
        Some(Cause::Transfer) => (
            "pod.image-pull.transfer-failed",
            Severity::Error,
            format!(
                "downloading image {} (container {}) breaks off mid-transfer: {}",
                p.image,
                p.cs.name,
                clip(essence(p.message.as_deref().unwrap_or_default()), 60)
            ),
            false,
        ),
        None => (
            "pod.image-pull.backoff-unknown",
            Severity::Error,
            match &p.stated {
                Some(m) => format!(
                    "pulling image {} (container {}) fails: {}",
                    p.image,
                    p.cs.name,
                    clip(essence(m), 90)
                ),
                None => format!(
                    "pulling image {} (container {}) keeps failing and the data no longer says why",
                    p.image, p.cs.name
                ),
            },
            false,
        ),
    }
}

/// What a registry's refusal means: no credentials sent, a repository that may not
/// exist (then only possible), or wrong credentials.
fn refused(p: &Pull<'_>) -> (String, bool) {
    // An htpasswd registry says which: it asked for credentials and got none.
    let no_creds = p
        .message
        .as_deref()
        .is_some_and(|m| m.contains("no basic auth credentials"));
    let ambiguous = !no_creds
        && p.message.as_deref().is_some_and(|m| {
            m.contains("pull access denied")
                || m.contains("may require")
                || m.contains("may not exist")
        });
    let text = if no_creds {
        format!(
            "registry refused image {} (container {}): it requires credentials and the pull sent none",
            p.image, p.cs.name
        )
    } else if ambiguous {
        format!(
            "registry refused image {} (container {}): the repository does not exist or needs credentials",
            p.image, p.cs.name
        )
    } else {
        format!(
            "registry refused image {} (container {}): pull credentials missing or wrong",
            p.image, p.cs.name
        )
    };
    (text, ambiguous)
}

/// The evidence and fixes that fit the cause of a failing pull.
fn advise(mut f: Finding, pod: &Obj, p: &Pull<'_>, cause: Option<Cause>) -> Finding {
    let ns = pod.ns_flag();
    match cause {
        Some(Cause::NotFound) => {
            f = f
                .fix(format!("Check that the tag exists: docker manifest inspect {} (or look in the registry UI)", p.image))
                .fix("Fix the image name or tag in the pod template, or push the image.");
        }
        Some(Cause::Unauthorized) => {
            let secrets: Vec<&str> = pod
                .arr("spec.imagePullSecrets")
                .iter()
                .filter_map(|s| str_at(s, "name"))
                .collect();
            f = f.evidence(pod.field(
                "spec.imagePullSecrets",
                if secrets.is_empty() {
                    "(none)".to_string()
                } else {
                    secrets.join(", ")
                },
            ));
            f = f
                .fix(format!("Check the repository name and that it exists: docker pull {}", p.image))
                .fix(format!("Create a pull secret: kubectl create secret docker-registry regcred --docker-server=REGISTRY --docker-username=USER --docker-password=...{ns}"))
                .fix("Reference it in spec.imagePullSecrets (or on the pod's ServiceAccount).");
        }
        Some(Cause::Unreachable) => {
            f = f
                .fix("From the node, check DNS and connectivity to the registry host (nslookup, curl https://REGISTRY/v2/).")
                .fix("For x509 errors, install the registry's CA on the nodes or fix the registry's certificate.");
        }
        Some(Cause::Transfer) => {
            f = f
                .fix(format!("Pull it by hand from the node to see where it breaks: crictl pull {}", p.image))
                .fix("Check the node's disk space (df -h /var/lib/containerd) and any proxy between the node and the registry.");
        }
        None if p.stated.is_some() => {
            f = f
                .evidence(Evidence::note("The runtime's own message is quoted above; explain does not recognise its wording as a missing image, refused credentials or an unreachable registry."))
                .fix(format!("Try the image by hand: docker pull {}", p.image));
        }
        None => {
            f = f
                .evidence(Evidence::note("The registry's error message has expired from the events; only the back-off is left, so the cause (missing tag, credentials or network) cannot be read from this data."))
                .fix(format!("Watch a fresh pull attempt: kubectl delete pod {}{ns} (its controller recreates it), then kubectl describe pod", pod.name))
                .fix(format!("Try the image by hand: docker pull {}", p.image));
        }
    }
    f
}

fn not_found(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    pulls_with(pod, ix, Some(Cause::NotFound))
}
fn unauthorized(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    pulls_with(pod, ix, Some(Cause::Unauthorized))
}
fn unreachable(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    pulls_with(pod, ix, Some(Cause::Unreachable))
}
fn transfer_failed(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    pulls_with(pod, ix, Some(Cause::Transfer))
}
fn backoff_unknown(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    pulls_with(pod, ix, None)
}

fn waiting_with<'a>(pod: &'a Obj, reason: &str) -> Option<Cs<'a>> {
    statuses(pod)
        .into_iter()
        .find(|c| c.waiting_reason() == Some(reason))
}

fn invalid_name(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let Some(cs) = waiting_with(pod, "InvalidImageName") else {
        return Vec::new();
    };
    let image = cs.spec(pod).and_then(|s| str_at(s, "image")).unwrap_or("?");
    vec![
        finding(
            "pod.image-pull.invalid-name",
            Severity::Error,
            pod,
            format!("Pod {}: {} has an image reference that is not a valid image name: {image:?}.", pod.name, cs.label()),
        )
        .evidence_all(cs.waiting_evidence(pod))
        .evidence_all(events_evidence(&container_events(ix, pod, &cs, &["InspectFailed"])))
        .fix("Write the image as [registry/]repository[:tag][@sha256:digest], all lower case, without spaces or a scheme (no https://).")
        .fix(describe(pod)),
    ]
}

fn never_policy(pod: &Obj, ix: &Index, _: &Ctx) -> Vec<Finding> {
    let Some(cs) = waiting_with(pod, "ErrImageNeverPull") else {
        return Vec::new();
    };
    let image = cs.spec(pod).and_then(|s| str_at(s, "image")).unwrap_or("?");
    vec![
        finding(
            "pod.image-pull.never-policy",
            Severity::Error,
            pod,
            format!("Pod {}: image {image} for {} is not on node {} and imagePullPolicy is Never.", pod.name, cs.label(), pod.str("spec.nodeName").unwrap_or("?")),
        )
        .evidence_all(cs.waiting_evidence(pod))
        .evidence(pod.field(format!("spec.containers[name={}].imagePullPolicy", cs.name), "Never"))
        .evidence_all(events_evidence(&container_events(ix, pod, &cs, &["ErrImageNeverPull"])))
        .fix("Set imagePullPolicy to IfNotPresent, or load the image onto every node first (e.g. kind load docker-image / minikube image load).")
        .fix(describe(pod)),
    ]
}

#[cfg(test)]
mod tests;
