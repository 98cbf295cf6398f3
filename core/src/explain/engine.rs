//! Runs the rules over an index and turns raw rule output into a report: per-object
//! `supersedes`, chains from owner references, default teaching text, and the
//! root-cause collapse of symptom findings.

use std::collections::{HashMap, HashSet};

use super::Report;
use super::finding::{Evidence, Finding, ObjectRef};
use super::index::{Index, Obj, selector_matches};
use super::rules::{self, Ctx};
use super::{catalog, what_changed};

/// Runs every rule over an already built index.
pub fn explain_index(index: &Index, ctx: &Ctx) -> Report {
    let rules = rules::all();
    let mut found: Vec<(Finding, bool)> = Vec::new();
    for obj in index.objects() {
        let start = found.len();
        // Healthy pods (most of a dump) skip the Pod rules; see `rules::pod::quiet`.
        let quiet_pod = obj.kind == "Pod" && rules::pod::quiet(obj);
        for rule in rules.iter().filter(|r| {
            r.kinds.contains(&obj.kind.as_str()) && !(quiet_pod && r.slug.starts_with("pod."))
        }) {
            found.extend(
                (rule.check)(obj, index, ctx)
                    .into_iter()
                    .map(|f| (f, rule.symptom)),
            );
        }
        if found.len() == start {
            continue;
        }
        let here: Vec<String> = found[start..].iter().map(|(f, _)| f.slug.clone()).collect();
        let mut i = start;
        while i < found.len() {
            if here
                .iter()
                .any(|s| catalog::supersedes(s, &found[i].0.slug))
            {
                found.remove(i);
            } else {
                i += 1;
            }
        }
        let chain = index.chain(obj);
        for (f, _) in &mut found[start..] {
            if f.chain.is_empty() {
                f.chain.clone_from(&chain);
            }
            if f.learn.is_none() {
                f.learn = catalog::mode(&f.slug).map(|m| m.explanation.to_string());
            }
        }
    }
    let mut findings = collapse(index, found);
    link_roots(&mut findings);
    what_changed::add(index, &mut findings);
    Report {
        findings,
        notes: index.notes(),
    }
}

/// Terminal facts (a failed Job, a rollout past its deadline, a CronJob whose last run
/// failed) stay on their own object; each names the root cause found further down its
/// chain, e.g. the crash loop of the Job's pod.
fn link_roots(findings: &mut [Finding]) {
    let mut below: HashMap<ObjectRef, Vec<usize>> = HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        for r in f.chain.iter().filter(|r| **r != f.object) {
            below.entry(r.clone()).or_default().push(i);
        }
    }
    let mut links: Vec<(usize, Evidence)> = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        if !TERMINAL.contains(&f.slug.as_str()) {
            continue;
        }
        for &c in below.get(&f.object).into_iter().flatten().take(2) {
            let cause = &findings[c];
            links.push((
                i,
                Evidence {
                    object: Some(format!("{}/{}", cause.object.kind, cause.object.name)),
                    note: Some(format!("root cause: {} ({})", cause.summary, cause.slug)),
                    ..Evidence::default()
                },
            ));
        }
    }
    for (i, e) in links {
        findings[i].evidence.push(e);
    }
}

/// Slugs that state a terminal fact about their own object: reported even when a
/// cause further down explains them, and linked to it.
const TERMINAL: &[&str] = &[
    "job.backoff-limit",
    "job.deadline-exceeded",
    "cronjob.last-job-failed",
    "deployment.progress-deadline",
];

/// Root cause first: drops a symptom finding on object X when a cause (non-symptom)
/// finding sits on an object whose chain passes through X, or on a Pod that X (a
/// Service) selects. Returns the rest, most severe first.
fn collapse(index: &Index, found: Vec<(Finding, bool)>) -> Vec<Finding> {
    let mut above_causes: HashSet<&ObjectRef> = HashSet::new();
    let mut pods_with_causes: HashSet<usize> = HashSet::new();
    for (f, symptom) in &found {
        if *symptom {
            continue;
        }
        above_causes.extend(f.chain.iter().filter(|r| **r != f.object));
        if f.object.kind == "Pod"
            && let Some(p) = index.get("Pod", f.object.namespace.as_deref(), &f.object.name)
        {
            pods_with_causes.insert(p.id);
        }
    }
    let cause_pods: Vec<&Obj> = pods_with_causes
        .iter()
        .map(|&id| &index.objects()[id])
        .collect();
    let explained = |x: &ObjectRef| {
        above_causes.contains(x)
            || (x.kind == "Service"
                && !cause_pods.is_empty()
                && index
                    .get("Service", x.namespace.as_deref(), &x.name)
                    .and_then(|svc| svc.get("spec.selector"))
                    .is_some_and(|sel| {
                        cause_pods.iter().any(|p| {
                            p.namespace == x.namespace && selector_matches(sel, p.labels())
                        })
                    }))
    };
    let keep: Vec<bool> = found
        .iter()
        .map(|(f, symptom)| !*symptom || !explained(&f.object))
        .collect();
    let mut out: Vec<Finding> = found
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|((f, _), _)| f)
        .collect();
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.object.namespace.cmp(&b.object.namespace))
            .then_with(|| a.object.kind.cmp(&b.object.kind))
            .then_with(|| a.object.name.cmp(&b.object.name))
            .then_with(|| a.slug.cmp(&b.slug))
    });
    out
}

#[cfg(test)]
mod tests;
