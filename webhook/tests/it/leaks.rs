//! Leaks closed (issue 13), on the real stack:
//! - malformed `.dockerconfigjson` Secrets (bad JSON around a password, values of the wrong
//!   type, an `auth` that is not base64) fail their Builds with a message that quotes none of
//!   their content, in the Build, the Events, the Binding or the server's log;
//! - a failure posted to GitHub names no registry host, service DNS name or address, unless the
//!   webhook runs with `--report-details` (the Build keeps them either way).

use base64::Engine as _;
use k8s_openapi::api::core::v1::{Event, Secret};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use mosaic_core::resources::{Binding, BuildPhase, build_name};
use mosaic_tests::webhook::*;
use serde_json::json;

/// Each malformed document, with the marker it plants: a password-looking string (or number)
/// that must be found nowhere.
fn malformed(host: &str) -> Vec<(String, String)> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let pw = |i: usize| format!("Leak{i}-pw-Zq81x");
    vec![
        // Not JSON: cut short after the password.
        (
            format!(
                r#"{{"auths": {{"{host}": {{"username": "u", "password": "{}""#,
                pw(1)
            ),
            pw(1),
        ),
        // Wrong types: serde's message would quote each value.
        (format!(r#"{{"auths": "{}"}}"#, pw(2)), pw(2)),
        (format!(r#"{{"auths": {{"{host}": "{}"}}}}"#, pw(3)), pw(3)),
        (
            format!(
                r#"{{"auths": {{"{host}": {{"username": "u", "password": ["{}"]}}}}}}"#,
                pw(4)
            ),
            pw(4),
        ),
        (
            format!(r#"{{"auths": {{"{host}": {{"username": "u", "password": 4815162342}}}}}}"#),
            "4815162342".into(),
        ),
        // `auth` that is not base64, and base64 of no `user:password`.
        (
            format!(r#"{{"auths": {{"{host}": {{"auth": "{}!!"}}}}}}"#, pw(6)),
            pw(6),
        ),
        (
            format!(
                r#"{{"auths": {{"{host}": {{"auth": "{}"}}}}}}"#,
                b64(&pw(7))
            ),
            pw(7),
        ),
    ]
}

#[tokio::test]
async fn malformed_registry_secrets_put_none_of_their_content_anywhere() {
    let w = world(None, false).await;
    let client = w.kube.client.clone();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), w.ns());
    let bindings: Api<Binding> = w.bindings();
    bindings
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    let docs = malformed(&w.reg.host);
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    for (i, (doc, _)) in docs.iter().enumerate() {
        let name = format!("bad-{i}");
        let s: Secret = serde_json::from_value(json!({
            "metadata": {"name": name}, "type": "Opaque",
            "data": {".dockerconfigjson": b64(doc)}
        }))
        .unwrap();
        secrets.create(&PostParams::default(), &s).await.unwrap();
        let b: Binding = serde_json::from_value(json!({
            "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Binding",
            "metadata": {"name": name},
            // One Binding per container: each names its own (absent) Deployment, which the
            // credentials, read first, never reach.
            "spec": {"deployment": name, "repo": w.repo, "branch": "main", "image": w.image,
                "registrySecret": name, "githubSecret": "github", "takeOwnership": true}
        }))
        .unwrap();
        bindings.create(&PostParams::default(), &b).await.unwrap();
    }
    let server = start(&w, "leaks-1", &[]).await;
    let sha = w.commit("leaks: malformed secrets\n");
    let (s, j) = push(&server, &w, "d-bad", &sha).await;
    assert_eq!(s, 201, "{j}");

    let mut places: Vec<(String, String)> = Vec::new();
    for i in 0..docs.len() {
        let b = terminal(&w, &build_name(&format!("bad-{i}"), &sha), 120).await;
        let st = b.status.clone().unwrap();
        assert_eq!(st.phase, BuildPhase::Failed, "bad-{i}: {st:?}");
        assert_eq!(
            st.reason.as_deref(),
            Some("RegistryCredentials"),
            "bad-{i}: {st:?}"
        );
        let msg = st.message.clone().unwrap_or_default();
        assert!(
            msg.contains(&format!("Secret {}/bad-{i}", w.ns())),
            "the message names the Secret: {msg}"
        );
        places.push((format!("Build bad-{i}"), serde_json::to_string(&b).unwrap()));
    }
    let lp = ListParams::default();
    let events = Api::<Event>::namespaced(client.clone(), w.ns())
        .list(&lp)
        .await
        .unwrap();
    places.push((
        "Events".into(),
        serde_json::to_string(&events.items).unwrap(),
    ));
    for b in bindings.list(&lp).await.unwrap().items {
        places.push(("Binding".into(), serde_json::to_string(&b).unwrap()));
    }
    places.push((
        "GitHub statuses".into(),
        format!("{:?}", w.gh.statuses(&sha)),
    ));
    let log_path = server.log.clone();
    drop(server);
    let log = std::fs::read_to_string(log_path).unwrap();
    assert!(log.contains(&sha[..12]), "the log covers the run");
    places.push(("server log".into(), log));
    let mut leaks = Vec::new();
    for (_, marker) in &docs {
        for (place, text) in &places {
            if text.contains(marker.as_str()) {
                leaks.push(format!("{marker} in {place}"));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "secret content found:\n{}",
        leaks.join("\n")
    );
}

/// A push to a registry named by a service DNS name that does not resolve: the Build's message
/// names it, the commit status does not; with `--report-details` the status names it too.
#[tokio::test]
async fn failures_reach_github_without_internal_hosts_unless_report_details() {
    let host = "registry.mosaic-leaks.svc:5000";
    let w = world_at(Some(host), None, false).await;
    for (n, extra) in [(1, &[][..]), (2, &["--report-details"][..])] {
        let server = start(&w, &format!("leaks-gh-{n}"), extra).await;
        let sha = w.commit(&format!("leaks: unreachable registry {n}\n"));
        let (s, j) = push(&server, &w, &format!("d-gh-{n}"), &sha).await;
        assert_eq!(s, 201, "{j}");
        let b = terminal(&w, &build_name("web", &sha), 120).await;
        let st = b.status.unwrap();
        assert_eq!(st.phase, BuildPhase::Failed, "{st:?}");
        let msg = st.message.unwrap_or_default();
        assert!(msg.contains(host), "the Build keeps the details: {msg}");
        let last = w.gh.statuses(&sha).pop().expect("a commit status");
        assert_eq!(last.state, "failure", "{last:?}");
        let d = &last.description;
        if extra.is_empty() {
            assert!(d.contains("<registry>"), "{d}");
            for internal in ["mosaic-leaks", ".svc", ":5000", "10.", "127.0.0."] {
                assert!(!d.contains(internal), "{internal:?} in {d:?}");
            }
            assert!(!regex_like_ipv4(d), "an address in {d:?}");
        } else {
            assert!(d.contains(host), "--report-details posts the details: {d}");
        }
    }
}

/// Does `s` hold a dotted quad?
fn regex_like_ipv4(s: &str) -> bool {
    s.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .any(|t| t.split('.').filter(|p| !p.is_empty()).count() == 4)
}
