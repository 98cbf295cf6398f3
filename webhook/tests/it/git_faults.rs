//! Real-stack tests of GitHub failing the branch check: 404, 422, a spent rate limit (403 with
//! GitHub's headers), 5xx and timeouts each end the Build with one clear reason, in its status
//! (and, for the refusals, in an Event on the Binding), and nothing is built or deployed on a guess; a transient
//! failure is asked again and, once GitHub answers, the Build deploys.

use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams};
use mosaic_core::names::LABEL_COMMIT;
use mosaic_core::resources::{BuildPhase, build_name};
use mosaic_tests::webhook::*;

/// Push `sha`; wait for its Build to end: (phase, reason, message).
async fn outcome(server: &Server, w: &World, sha: &str) -> (BuildPhase, String, String) {
    let (s, j) = push(server, w, &format!("d-{sha}"), sha).await;
    assert_eq!(s, 201, "{j}");
    let b = terminal(w, &build_name("web", sha), 120).await;
    let st = b.status.unwrap_or_default();
    (
        st.phase,
        st.reason.unwrap_or_default(),
        st.message.unwrap_or_default(),
    )
}

/// The reasons of the Events for `sha` (the worker writes one just after the Build's phase).
/// The reasons of the Events about commit `sha` on objects of `kind` (the Binding's "why not
/// deployed", or the Build's phase Events), once one of them is `until`.
async fn events_for(w: &World, sha: &str, kind: &str, until: &str) -> Vec<String> {
    let api = Api::<Event>::namespaced(w.kube.client.clone(), w.ns());
    let lp = ListParams::default().labels(&format!("{LABEL_COMMIT}={sha}"));
    let (api, lp) = (&api, &lp);
    mosaic_tests::eventually("the Build's Event", 30, || async move {
        let found: Vec<String> = api
            .list(lp)
            .await
            .ok()?
            .items
            .into_iter()
            .filter(|e| e.involved_object.kind.as_deref() == Some(kind))
            .filter_map(|e| e.reason)
            .collect();
        found.iter().any(|r| r == until).then_some(found)
    })
    .await
}

/// (what, the fault to inject, the Build's reason, words its message holds).
type Case<'a> = (&'a str, Box<dyn Fn() + 'a>, &'a str, &'a str);

#[tokio::test]
async fn each_github_failure_of_the_branch_check_has_one_reason_and_deploys_nothing() {
    let w = world(None, true).await;
    let _controller = deployment_controller(&w, Rollouts::Healthy);
    let server = start(
        &w,
        "git-faults",
        &["--github-timeout", "1", "--retry-pauses", "1"],
    )
    .await;
    let before = deployed_image(&w).await;
    let branches = format!("/repos/{}/branches", w.repo);
    let compare = format!("/repos/{}/compare", w.repo);
    let cases: [Case<'_>; 5] = [
        (
            "404 on compare",
            Box::new(|| w.gh.inject_fault(&compare, 404)),
            "CommitNotFound",
            "does not know",
        ),
        (
            "422 on compare",
            Box::new(|| w.gh.inject_fault(&compare, 422)),
            "CompareRefused",
            "refused to compare",
        ),
        (
            "spent rate limit",
            Box::new(|| w.gh.inject_rate_limit(&branches)),
            "GitHubRateLimited",
            "rate limit",
        ),
        (
            "503 for good",
            Box::new(|| w.gh.inject_fault(&branches, 503)),
            "GitHubUnavailable",
            "could not be asked",
        ),
        (
            "no answer within --github-timeout",
            Box::new(|| {
                w.gh.inject_delay(&branches, std::time::Duration::from_secs(3))
            }),
            "GitHubUnavailable",
            "could not be asked",
        ),
    ];
    for (case, inject, want, words) in cases {
        // Not the head (a newer commit is), so the check also asks compare.
        let sha = w.commit(&format!("{case}\n"));
        w.commit(&format!("{case}, newer\n"));
        w.gh.clear_faults();
        inject();
        let downloads = w.gh.tarball_downloads();
        let (phase, reason, message) = outcome(&server, &w, &sha).await;
        assert_eq!(phase, BuildPhase::Failed, "{case}: {message}");
        assert_eq!(reason, want, "{case}: {message}");
        assert!(message.contains(words), "{case}: {message}");
        assert!(
            message.contains("not built on a guess"),
            "{case}: {message}"
        );
        assert!(!message.contains(GITHUB_TOKEN), "{case}: the token leaked");
        // Refusals decided before the Build is claimed leave an Event on the Binding; a GitHub
        // that stays away is retried by the run itself, whose failure is the Build's own
        // Failed phase Event.
        if want != "GitHubUnavailable" {
            assert_eq!(
                events_for(&w, &sha, "Binding", want).await,
                [want],
                "{case}: one Event"
            );
        }
        // (Waits for the Build's Failed Event: `eventually` fails the test when it never comes.)
        events_for(&w, &sha, "Build", "Failed").await;
        assert_eq!(
            w.gh.tarball_downloads(),
            downloads,
            "{case}: nothing fetched"
        );
        assert_eq!(deployed_image(&w).await, before, "{case}: nothing deployed");
    }
    w.gh.clear_faults();

    // Transient: a 502, then GitHub answers: asked again, and the head deploys.
    let sha = w.commit("after a 502\n");
    w.gh.inject_fault_times(&branches, 502, 1);
    let (phase, reason, message) = outcome(&server, &w, &sha).await;
    assert_eq!(phase, BuildPhase::Succeeded, "{reason}: {message}");
    assert_ne!(deployed_image(&w).await, before);
}
