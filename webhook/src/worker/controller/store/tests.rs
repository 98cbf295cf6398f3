//! The controller's store keeps whole objects only for the Builds still to run.

use super::*;

/// A Build as the API server returns it to a watch: with the managedFields of its create and
/// of a worker's status writes, and (when finished) a status with its message, findings and
/// log tail.
fn build(phase: &str) -> Build {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
        "metadata": {
            "name": "web-0123456789ab", "namespace": "shop",
            "uid": "5c3c1b8e-6f1d-4c55-9a3e-0d1f2b3c4d5e", "resourceVersion": "48213",
            "generation": 1, "creationTimestamp": "2026-12-07T03:10:11Z",
            "labels": {"mosaic.nectar.dev/binding": "web"},
            "annotations": {"mosaic.nectar.dev/pushed-at": "2026-12-07T03:10:11.482Z"},
            "managedFields": [
                {"manager": "mosaic-webhook", "operation": "Update",
                 "apiVersion": "mosaic.nectar.dev/v1alpha1", "time": "2026-12-07T03:10:11Z",
                 "fieldsType": "FieldsV1", "fieldsV1": {
                    "f:metadata": {"f:annotations": {".": {}, "f:mosaic.nectar.dev/pushed-at": {}},
                        "f:labels": {".": {}, "f:mosaic.nectar.dev/binding": {}}},
                    "f:spec": {".": {}, "f:binding": {}, "f:commit": {}, "f:ref": {},
                        "f:trigger": {".": {}, "f:delivery": {}, "f:pusher": {}, "f:type": {}}}}},
                {"manager": "mosaic-webhook", "operation": "Update",
                 "apiVersion": "mosaic.nectar.dev/v1alpha1", "time": "2026-12-07T03:11:40Z",
                 "fieldsType": "FieldsV1", "subresource": "status", "fieldsV1": {
                    "f:status": {".": {}, "f:claimedBy": {}, "f:heartbeat": {}, "f:phase": {},
                        "f:phaseTimes": {".": {}, "f:building": {}, "f:pending": {}}}}}
            ]
        },
        "spec": {"binding": "web", "commit": "0123456789abcdef0123456789abcdef01234567",
            "ref": "refs/heads/main",
            "trigger": {"type": "push", "delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
                "pusher": "octocat"}},
        "status": {"phase": phase, "claimedBy": "mosaic-webhook-7d9f8-x2x4q",
            "heartbeat": "2026-12-07T03:11:40Z", "reason": "Deployed",
            "message": "deployed 127.0.0.1:5000/shop/web@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "logTail": "#12 DONE 0.4s\n".repeat(40),
            "findings": [{"slug": "deployment.unavailable", "severity": "error",
                "confidence": "likely", "object": {"kind": "Deployment", "namespace": "shop",
                "name": "web"}, "summary": "Deployment web has 0 of 2 replicas available."}],
            "phaseTimes": {"pending": "2026-12-07T03:10:11Z", "building": "2026-12-07T03:10:12Z",
                "finished": "2026-12-07T03:11:40Z"}}
    }))
    .expect("a Build as the API server writes it")
}

fn kept(event: Event<Build>) -> Option<Event<Build>> {
    for_controller(event, |_| false)
}

#[test]
fn a_finished_build_leaves_the_controller_store() {
    for phase in ["Succeeded", "Failed", "Superseded", "Cancelled"] {
        let b = build(phase);
        assert!(
            matches!(kept(Event::Apply(b.clone())), Some(Event::Delete(d)) if d.metadata.name == b.metadata.name),
            "{phase}: a watch update to a finished Build removes it"
        );
        assert!(
            kept(Event::InitApply(b)).is_none(),
            "{phase}: a relist leaves it out"
        );
    }
    // The store does what the events say: after a relist and an update, only the Build still
    // to run is in it.
    let (store, mut writer) = kube::runtime::reflector::store::<Build>();
    let mut running = build("Building");
    running.metadata.name = Some("web-fedcba987654".into());
    let events = [
        Event::Init,
        Event::InitApply(build("Succeeded")),
        Event::InitApply(running.clone()),
        Event::InitDone,
        Event::Apply(build("Failed")),
    ];
    for e in events.into_iter().filter_map(kept) {
        writer.apply_watcher_event(&e);
    }
    let names: Vec<_> = store
        .state()
        .iter()
        .map(|b| b.metadata.name.clone())
        .collect();
    assert_eq!(names, [running.metadata.name]);
}

#[test]
fn a_build_still_to_run_is_kept_whole_but_for_its_managed_fields() {
    for phase in [None, Some("Pending"), Some("Building"), Some("RollingOut")] {
        let mut b = build("Pending");
        match phase {
            Some(p) => b.status.as_mut().unwrap().phase = serde_json::from_value(p.into()).unwrap(),
            None => b.status = None,
        }
        for event in [Event::Apply(b.clone()), Event::InitApply(b.clone())] {
            let (Some(Event::Apply(k)) | Some(Event::InitApply(k))) = kept(event) else {
                panic!("{phase:?}: a Build still to run stays in the store");
            };
            assert_eq!(k.metadata.managed_fields, None, "{phase:?}");
            let mut expected = b.clone();
            expected.metadata.managed_fields = None;
            assert_eq!(
                serde_json::to_value(&k).unwrap(),
                serde_json::to_value(&expected).unwrap(),
                "{phase:?}: everything else is kept"
            );
        }
    }
}

#[test]
fn a_finished_build_whose_outcome_is_still_to_record_stays() {
    let b = build("Succeeded");
    let e = for_controller(Event::Apply(b.clone()), |k| {
        k.metadata.name == b.metadata.name
    });
    assert!(matches!(e, Some(Event::Apply(_))));
    let e = for_controller(Event::InitApply(b.clone()), |_| true);
    assert!(matches!(e, Some(Event::InitApply(_))));
}

#[test]
fn list_boundaries_and_deletes_pass_through() {
    assert!(matches!(kept(Event::Init), Some(Event::Init)));
    assert!(matches!(kept(Event::InitDone), Some(Event::InitDone)));
    assert!(matches!(
        kept(Event::Delete(build("Succeeded"))),
        Some(Event::Delete(_))
    ));
}
