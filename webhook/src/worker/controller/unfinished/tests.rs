//! The gauge's count by state, from Builds shaped as the API server returns them.

use super::*;

/// A Build as a watch shows it: as the intake created it (no status), or with the status a
/// worker wrote (`claimedBy`, `heartbeat` and the phase).
fn build(name: &str, status: Option<serde_json::Value>) -> Build {
    let mut b = serde_json::json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
        "metadata": {
            "name": name, "namespace": "shop",
            "uid": "5c3c1b8e-6f1d-4c55-9a3e-0d1f2b3c4d5e", "resourceVersion": "48213",
            "generation": 1, "creationTimestamp": "2026-12-07T03:10:11Z",
            "labels": {"mosaic.nectar.dev/binding": "web"}
        },
        "spec": {"binding": "web", "commit": "0123456789abcdef0123456789abcdef01234567",
            "ref": "refs/heads/main",
            "trigger": {"type": "push", "delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
                "pusher": "octocat"}}
    });
    if let Some(s) = status {
        b["status"] = s;
    }
    serde_json::from_value(b).expect("a Build as the API server writes it")
}

fn claimed(phase: &str, heartbeat: &str) -> serde_json::Value {
    serde_json::json!({"phase": phase, "claimedBy": "mosaic-builder-7d9f8-x2x4q",
        "heartbeat": heartbeat, "message": "claimed",
        "phaseTimes": {"pending": "2026-12-07T03:10:11Z", "building": "2026-12-07T03:10:12Z"}})
}

const TTL: Duration = Duration::from_secs(60);

fn at(t: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(t).expect("a time").to_utc()
}

#[test]
fn new_and_released_builds_are_pending_held_ones_claimed_finished_ones_not_counted() {
    let released = serde_json::json!({"phase": "Pending", "message": "released",
        "phaseTimes": {"pending": "2026-12-07T03:10:11Z"}});
    let builds = [
        build("new", None),
        build("released", Some(released)),
        build(
            "building",
            Some(claimed("Building", "2026-12-07T03:11:30Z")),
        ),
        build("pushing", Some(claimed("Pushing", "2026-12-07T03:11:35Z"))),
        build("done", Some(claimed("Succeeded", "2026-12-07T03:11:35Z"))),
        build("failed", Some(claimed("Failed", "2026-12-07T03:11:35Z"))),
    ];
    assert_eq!(
        count(&builds, TTL, at("2026-12-07T03:11:40Z")),
        Unfinished {
            pending: 2,
            claimed: 2
        }
    );
}

#[test]
fn a_build_whose_claim_expired_waits_for_a_builder_again() {
    let builds = [build(
        "orphan",
        Some(claimed("Building", "2026-12-07T03:10:12Z")),
    )];
    let fresh = count(&builds, TTL, at("2026-12-07T03:11:11Z"));
    assert_eq!(
        fresh,
        Unfinished {
            pending: 0,
            claimed: 1
        }
    );
    let expired = count(&builds, TTL, at("2026-12-07T03:11:12Z"));
    assert_eq!(
        expired,
        Unfinished {
            pending: 1,
            claimed: 0
        }
    );
}
