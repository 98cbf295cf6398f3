//! The outcome of each push, printed and checked: for the working commit the digest in the
//! registry, the Deployment's image and GitHub's statuses; for the breaking commit the root
//! cause in one sentence, its evidence, the rollback to the previous digest and the failure
//! status on the commit.

use mosaic_core::explain::{Evidence, Finding};
use mosaic_core::names;
use mosaic_core::resources::{Build, BuildPhase};

use crate::follow::{brief, short};
use mosaic_tests::demo::Style;
use mosaic_tests::webhook;

/// `state "description"` of each status GitHub received for `sha`, oldest first.
fn statuses(w: &webhook::World, sha: &str) -> Vec<(String, String)> {
    w.gh.statuses(sha)
        .into_iter()
        .map(|c| (c.state, c.description))
        .collect()
}

fn chain(st: &[(String, String)]) -> String {
    let parts: Vec<String> = st.iter().map(|(s, d)| format!("{s} {d:?}")).collect();
    parts.join(" -> ")
}

/// The pod template's commit annotation on Deployment web.
async fn deployed_commit(w: &webhook::World) -> Result<String, String> {
    let dep = w
        .deployments()
        .get("web")
        .await
        .map_err(|e| e.to_string())?;
    Ok(dep
        .spec
        .template
        .metadata
        .and_then(|m| m.annotations)
        .and_then(|a| a.get(names::ANNOTATION_COMMIT).cloned())
        .unwrap_or_default())
}

/// The working push: the digest is in the registry, Deployment web runs it, GitHub saw
/// pending, pending, success. Returns the image.
pub async fn success(
    w: &webhook::World,
    b: &Build,
    sha: &str,
    out: Style,
) -> Result<String, String> {
    let s = b.status.clone().unwrap_or_default();
    let image = s.image.clone().unwrap_or_default();
    let (repo_part, digest) = image
        .split_once('@')
        .ok_or_else(|| format!("Build status.image {image:?} is not by digest"))?;
    let served = webhook::registry_serves(w, digest).await;
    if served != 200 {
        return Err(format!(
            "the registry answered {served} for {repo_part}@{digest}"
        ));
    }
    let running = webhook::deployed_image(w).await;
    let commit = deployed_commit(w).await?;
    if running != image || commit != sha {
        return Err(format!(
            "Deployment web runs {running} for commit {commit:?}, expected {image} for {sha}"
        ));
    }
    let st = statuses(w, sha);
    let want = [
        "pending building",
        "pending rolling out",
        "pending verifying",
        "success deployed",
    ];
    if st.len() != want.len()
        || !st
            .iter()
            .zip(want)
            .all(|((s, d), w)| format!("{s} {d}").starts_with(w))
    {
        return Err(format!(
            "GitHub received {}, expected pending building, pending rolling out, pending verifying, success",
            chain(&st)
        ));
    }
    println!("  registry     {repo_part} has {digest} (HEAD …/manifests/…: {served})");
    println!(
        "  deployment   web runs it, pod template annotated with commit {}",
        short(sha)
    );
    println!("  github       {}: {}", short(sha), brief(&chain(&st)));
    println!(
        "{} {} pushed -> built -> pushed -> Deployment web rolled to it; GitHub told at every step",
        out.green("ok"),
        short(sha)
    );
    Ok(image)
}

fn evidence_line(e: &Evidence) -> String {
    if let Some(reason) = &e.reason {
        let count = e.count.map(|c| format!(" (x{c})")).unwrap_or_default();
        return format!(
            "event {reason}{count}: {}",
            e.message.as_deref().unwrap_or_default()
        );
    }
    if let Some(note) = &e.note {
        return format!("note: {note}");
    }
    format!(
        "{} {} = {}",
        e.object.as_deref().unwrap_or_default(),
        e.field.as_deref().unwrap_or_default(),
        e.value.as_deref().unwrap_or_default()
    )
}

fn print_finding(f: &Finding) {
    println!(
        "  evidence     ({} on {}/{})",
        f.slug, f.object.kind, f.object.name
    );
    for e in &f.evidence {
        println!("               {}", evidence_line(e));
    }
    if let Some(fix) = f.fix.first() {
        println!("  fix          {fix}");
    }
}

/// The breaking push: the Build failed with the crash as its cause, the Deployment is back on
/// `previous` (the working push's digest) and GitHub saw the failure with the cause.
pub async fn failure(
    w: &webhook::World,
    b: &Build,
    sha: &str,
    previous: &str,
    previous_sha: &str,
    out: Style,
) -> Result<(), String> {
    let s = b.status.clone().unwrap_or_default();
    if s.phase != BuildPhase::Failed || s.reason.as_deref() != Some("RolloutCrashed") {
        return Err(format!(
            "the breaking commit's Build ended {} ({}): {}, expected Failed (RolloutCrashed)",
            s.phase,
            s.reason.unwrap_or_default(),
            s.message.unwrap_or_default()
        ));
    }
    let cause = s.message.clone().unwrap_or_default();
    println!("  cause        {cause}");
    let Some(f) = s.findings.iter().find(|f| f.object.kind == "Pod") else {
        return Err(format!("no finding about the new pod in {:?}", s.findings));
    };
    print_finding(f);
    let running = webhook::deployed_image(w).await;
    let commit = deployed_commit(w).await?;
    if !s.rolled_back || running != previous || commit != previous_sha {
        return Err(format!(
            "expected a rollback to {previous} (commit {previous_sha}); Deployment web runs {running} \
             (commit {commit:?}), rolledBack {}",
            s.rolled_back
        ));
    }
    let digest = previous.split_once('@').map_or(previous, |(_, d)| d);
    println!(
        "  rollback     Deployment web back on {} (push 1's digest, commit {})",
        brief(digest),
        short(previous_sha)
    );
    let st = statuses(w, sha);
    let Some((state, d)) = st.last() else {
        return Err("GitHub received no status for the breaking commit".into());
    };
    if state != "failure" || d.chars().count() > 140 || !cause.starts_with(d.trim_end_matches('…'))
    {
        return Err(format!(
            "GitHub received {}, expected a failure with the cause last",
            chain(&st)
        ));
    }
    let earlier = chain(&st[..st.len() - 1]);
    println!(
        "  github       {}: {earlier} -> failure (the cause above)",
        short(sha)
    );
    println!(
        "{} {} failed as it should: the crash explained on the Build and the commit, the previous digest rolled back",
        out.green("ok"),
        short(sha)
    );
    Ok(())
}
