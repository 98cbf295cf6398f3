//! Least privilege, measured: the real `mosaic-webhook` binary runs as the intake and as a
//! builder, each under its own ServiceAccount's name (the kubeconfig impersonates
//! `system:serviceaccount:<ns>:mosaic-intake` / `mosaic-builder`, so the API server attributes
//! every request to it), through the flows that use the API: a push recorded, redelivered and
//! sent to the namespace route; a build whose rollout crashes, is diagnosed and rolled back; a
//! status write that loses a race and re-reads the Build; a head found by the resync, built and
//! verified; a reset push superseded by the newer head, with an Event on the Binding, after
//! which the builder deletes the failed Build beyond the Binding's history (`failed: 1`). The
//! stack's API server writes an audit log (tests/kube-apiserver/up.sh); this test reads each
//! part's requests from it and fails when a part
//! - made a call its table (core/src/rbac.rs) does not grant, or was refused one (any 403), or
//! - holds a grant (group, resource, verb) it never used.
//!
//! The test API server authorizes everything (no RBAC authorizer is packaged for it), so "would
//! RBAC refuse it" is decided here from the same tables the ClusterRoles are generated from,
//! `resourceNames` included; `core/tests/rbac.rs` proves the manifests grant exactly those.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use kube::api::{Patch, PatchParams};
use mosaic_core::rbac::{self, Part};
use mosaic_core::resources::{BuildPhase, build_name};
use mosaic_tests::webhook::*;

/// The stack API server's audit log (next to its kubeconfig).
pub(crate) fn audit_log() -> PathBuf {
    let kc = &mosaic_tests::stack().kubeconfig;
    let log = kc.parent().expect("kubeconfig dir").join("audit.log");
    assert!(
        log.is_file(),
        "{} does not exist: this test needs the stack's API server with its audit log \
         (tests/kube-apiserver/up.sh); restart it with `scripts/stack down && scripts/stack up`",
        log.display()
    );
    log
}

/// The stack's kubeconfig (as tests/kube-apiserver/up.sh writes it), impersonating `user`.
pub(crate) fn impersonating(w: &World, user: &str, name: &str) -> PathBuf {
    let text = std::fs::read_to_string(&w.kube.kubeconfig).unwrap();
    let marker = "\n  user:\n";
    let at = text.find(marker).expect("a user entry") + marker.len();
    let edited = format!("{}    as: {user}\n{}", &text[..at], &text[at..]);
    let path = w.dir.path().join(name);
    std::fs::write(&path, edited).unwrap();
    path
}

/// One request, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Call {
    group: String,
    resource: String,
    verb: String,
    name: String,
    code: i64,
}

/// Every request the log attributes to `user`, once per audit ID.
fn calls_of(log: &Path, user: &str) -> Vec<Call> {
    let text = std::fs::read_to_string(log).unwrap();
    let mut seen: BTreeMap<String, Call> = BTreeMap::new();
    for line in text.lines() {
        let Ok(e) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if e["impersonatedUser"]["username"].as_str() != Some(user) {
            continue;
        }
        let o = &e["objectRef"];
        let Some(resource) = o["resource"].as_str() else {
            continue; // discovery and other non-resource paths
        };
        let resource = match o["subresource"].as_str() {
            Some(sub) => format!("{resource}/{sub}"),
            None => resource.to_string(),
        };
        let call = Call {
            group: o["apiGroup"].as_str().unwrap_or_default().to_string(),
            resource,
            verb: e["verb"].as_str().unwrap_or_default().to_string(),
            name: o["name"].as_str().unwrap_or_default().to_string(),
            code: e["responseStatus"]["code"].as_i64().unwrap_or(0),
        };
        seen.insert(e["auditID"].as_str().unwrap_or_default().to_string(), call);
    }
    seen.into_values().collect()
}

/// What is wrong with `part`'s calls: refused ones, ones its table does not grant, and grants
/// it never used. Empty when it used exactly what it is granted.
fn findings(part: Part, calls: &[Call]) -> Vec<String> {
    let mut out = Vec::new();
    let mut used = BTreeSet::new();
    for c in calls {
        if c.code == 403 {
            out.push(format!("refused: {c:?}"));
        }
        match rbac::rule_for(part.rules(), &c.group, &c.resource, &c.verb) {
            None => out.push(format!("not granted by its table: {c:?}")),
            Some(r) if !r.resource_names.is_empty() && !r.resource_names.contains(&&*c.name) => {
                out.push(format!("outside the rule's resourceNames: {c:?}"))
            }
            Some(_) => {}
        }
        used.insert((c.group.clone(), c.resource.clone(), c.verb.clone()));
    }
    for g in rbac::table_grants(part.rules()).difference(&used) {
        out.push(format!("granted but never used: {g:?}"));
    }
    out
}

#[test]
fn the_check_itself_finds_unused_ungranted_and_refused_calls() {
    let call = |group: &str, resource: &str, verb: &str, name: &str, code| Call {
        group: group.into(),
        resource: resource.into(),
        verb: verb.into(),
        name: name.into(),
        code,
    };
    let api = mosaic_core::names::API_GROUP;
    let exact = vec![
        call(api, "bindings", "list", "", 200),
        call(api, "bindings", "watch", "", 200),
        call(api, "builds", "create", "", 201),
        call(api, "builds", "get", "b", 200),
        call("", "secrets", "get", "mosaic-webhook-secret", 404),
    ];
    assert_eq!(findings(Part::Intake, &exact), Vec::<String>::new());
    let mut wrong = exact.clone();
    wrong.pop();
    wrong.push(call("", "secrets", "get", "mosaic-github", 200));
    wrong.push(call("apps", "deployments", "patch", "web", 403));
    let f = findings(Part::Intake, &wrong);
    assert!(
        f.iter()
            .any(|l| l.starts_with("outside the rule's resourceNames")),
        "{f:?}"
    );
    assert!(f.iter().any(|l| l.starts_with("refused")), "{f:?}");
    assert!(f.iter().any(|l| l.starts_with("not granted")), "{f:?}");
    let f = findings(Part::Intake, &exact[1..]);
    assert_eq!(
        f,
        [format!(
            "granted but never used: (\"{api}\", \"bindings\", \"list\")"
        )]
    );
}

#[tokio::test]
async fn each_part_uses_exactly_what_its_role_grants() {
    let log = audit_log();
    let w = world(None, true).await;
    let intake_user = format!("system:serviceaccount:{}:{}", w.ns(), Part::Intake.name());
    let builder_user = format!("system:serviceaccount:{}:{}", w.ns(), Part::Builder.name());
    // Keep one finished Build of each kind: the superseded one at the end replaces the failed one.
    let history = serde_json::json!({"spec": {"history": {"failed": 1}}});
    w.bindings()
        .patch("web", &PatchParams::default(), &Patch::Merge(&history))
        .await
        .unwrap();
    let crash = w.commit("crashes\n");
    let crash_name = build_name("web", &crash);
    let crashing = crash.clone();
    let _controller = deployment_controller_by(&w, move |commit| match commit {
        Some(c) if c == crashing => Rollouts::CrashingPods,
        _ => Rollouts::Healthy,
    });

    // The intake records the push, finds the redelivery recorded, reads the namespace's key.
    let intake_kc = impersonating(&w, &intake_user, "intake.kubeconfig");
    let intake = start_with(&w, "audit-intake", &["--concurrency", "0"], &intake_kc).await;
    assert_eq!(push(&intake, &w, "d-1", &crash).await.0, 201);
    assert_eq!(push(&intake, &w, "d-1", &crash).await.0, 200);
    let body = push_body(&w.repo, &crash);
    let sig = mosaic_webhook::signature::sign(WEBHOOK_SECRET.as_bytes(), &body);
    let routed = reqwest::Client::new()
        .post(format!("{}/webhooks/github/{}", intake.url, w.ns()))
        .header("content-type", "application/json")
        .header("x-github-event", "push")
        .header("x-github-delivery", "d-2")
        .header("x-hub-signature-256", sig)
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(routed.status().is_client_error(), "{}", routed.status());

    // The builder: the crashing rollout, diagnosed and rolled back; meanwhile the Build is
    // changed under it, so its next status write conflicts and it re-reads the Build.
    let builder_kc = impersonating(&w, &builder_user, "builder.kubeconfig");
    let builder = start_with(
        &w,
        "audit-builder",
        &["--resync-interval", "2"],
        &builder_kc,
    )
    .await;
    mosaic_tests::eventually("the builder to claim the Build", 60, || {
        let api = w.builds();
        let name = crash_name.clone();
        async move {
            let b = api.get(&name).await.ok()?;
            b.status.as_ref()?.claimed_by.as_ref()?;
            Some(())
        }
    })
    .await;
    let touch = serde_json::json!({"metadata": {"labels": {"audit.test/touched": "yes"}}});
    w.builds()
        .patch(&crash_name, &PatchParams::default(), &Patch::Merge(&touch))
        .await
        .unwrap();
    let b = terminal(&w, &crash_name, 120).await;
    let st = b.status.unwrap();
    assert_eq!(
        (st.phase, st.reason.as_deref()),
        (BuildPhase::Failed, Some("RolloutCrashed"))
    );
    assert!(st.rolled_back);

    // A head nobody delivered: the resync records it, the builder deploys it.
    let head = w.commit("healthy\n");
    let found = mosaic_tests::eventually("the resync to record the new head", 60, || {
        let api = w.builds();
        let head = head.clone();
        async move {
            let l = api.list(&Default::default()).await.ok()?;
            l.items.into_iter().find(|b| b.spec.commit == head)
        }
    })
    .await;
    let name = found.metadata.name.unwrap();
    let b = terminal(&w, &name, 120).await;
    assert_eq!(b.status.unwrap().phase, BuildPhase::Succeeded);

    // A reset push of the older commit: superseded by the head, told on the Binding.
    let mut v: serde_json::Value = serde_json::from_slice(&push_body(&w.repo, &crash)).unwrap();
    v["before"] = head.clone().into();
    let reset = serde_json::to_vec(&v).unwrap();
    let (status, body) = deliver(&intake, "push", "d-3", &reset, WEBHOOK_SECRET).await;
    assert_eq!(status, 201, "{body}");
    let again = body["created"][0]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let b = terminal(&w, &again, 60).await;
    assert_eq!(b.status.unwrap().phase, BuildPhase::Superseded);
    // Bounded history: the builder that ended it deleted the older failed Build.
    mosaic_tests::eventually("the failed Build to be deleted", 30, || {
        let api = w.builds();
        let name = crash_name.clone();
        async move { api.get_opt(&name).await.ok()?.is_none().then_some(()) }
    })
    .await;
    assert!(
        w.builds().get_opt(&name).await.unwrap().is_some(),
        "the succeeded (deployed) Build is kept"
    );
    // The Event is the builder's last call of the flow: wait until the log shows it.
    mosaic_tests::eventually("the builder's Event in the audit log", 30, || {
        let calls = calls_of(&log, &builder_user);
        async move {
            calls
                .iter()
                .any(|c| c.resource == "events" && c.verb == "create")
                .then_some(())
        }
    })
    .await;
    drop(builder);
    drop(intake);

    let mut report = Vec::new();
    for (part, user) in [(Part::Intake, &intake_user), (Part::Builder, &builder_user)] {
        let calls = calls_of(&log, user);
        assert!(
            !calls.is_empty(),
            "no request of {user} in {}",
            log.display()
        );
        for f in findings(part, &calls) {
            report.push(format!("{}: {f}", part.name()));
        }
    }
    assert!(
        report.is_empty(),
        "least privilege does not hold:\n{}",
        report.join("\n")
    );
}
