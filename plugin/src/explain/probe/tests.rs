//! Putting a probe's results on the Service's findings: a probe that shows the
//! targetPort is wrong makes the mismatch certain (and an error); a Service without
//! findings gets notes; a probe that did not run is a note.

use mosaic_core::explain::probe::{Check, Layer, Outcome};
use mosaic_core::explain::{Confidence, Finding, ObjectRef, Severity};

use super::{Ran, attach};

fn mismatch() -> Finding {
    let svc = ObjectRef {
        kind: "Service".into(),
        namespace: Some("shop".into()),
        name: "web".into(),
    };
    Finding::new(
        "service.target-port-mismatch",
        Severity::Warning,
        svc,
        "Service web sends traffic to port 9090, but the selected pods only declare other ports.",
    )
    .possible(true)
}

fn outcome(layer: Layer, url: &str, exit: i32, http: Option<u16>) -> Outcome {
    Outcome {
        check: Check {
            layer,
            url: url.into(),
        },
        exit,
        http,
        millis: 3,
    }
}

/// What curl reports from a pod whose app listens on 8080 while the Service targets 9090.
fn wrong_port() -> Vec<Outcome> {
    vec![
        outcome(Layer::Endpoint, "http://10.244.0.15:9090/", 7, None),
        outcome(
            Layer::DeclaredPort,
            "http://10.244.0.15:8080/",
            0,
            Some(200),
        ),
    ]
}

#[test]
fn a_probe_showing_the_wrong_target_port_makes_the_finding_certain() {
    let mut findings = vec![mismatch()];
    let mut notes = Vec::new();
    let timeout = std::time::Duration::from_secs(60);
    attach(
        &mut findings,
        &mut notes,
        "web",
        Ran::Done(wrong_port()),
        timeout,
    );
    let f = &findings[0];
    assert_eq!(f.confidence, Confidence::Certain);
    assert!(!f.possible);
    assert_eq!(f.severity, Severity::Error);
    assert!(f.evidence.iter().any(|e| e.note.as_deref()
        == Some("probe: the pods do not answer on the Service's target port, but one answers at http://10.244.0.15:8080/: the targetPort is wrong")));
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn without_findings_the_probe_is_notes_and_a_skipped_probe_says_why() {
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    let ok = vec![outcome(
        Layer::Endpoint,
        "http://10.244.0.15:8080/",
        0,
        Some(200),
    )];
    let timeout = std::time::Duration::from_secs(60);
    attach(&mut findings, &mut notes, "web", Ran::Done(ok), timeout);
    assert_eq!(
        notes,
        [
            "probe of Service web: every layer answers",
            "probe: endpoint http://10.244.0.15:8080/: answers HTTP 200, in 3 ms"
        ]
    );
    let mut notes = Vec::new();
    attach(
        &mut findings,
        &mut notes,
        "web",
        Ran::TimedOut("it was not scheduled: 0/1 nodes are available".into()),
        timeout,
    );
    assert_eq!(
        notes,
        [
            "the probe of Service web did not finish within 60 s (it was not scheduled: 0/1 nodes are available); its pod was deleted"
        ]
    );
}
