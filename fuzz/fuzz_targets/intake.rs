//! Fuzz target: the webhook intake's pure path. Arbitrary headers and body go through the same
//! steps as `intake::delivery`: header lookup, `signature::verify` over the raw body, then
//! `decide` against a fixed set of Bindings. Seeds sign themselves (see [`frame`]) so the
//! fuzzer reaches payload parsing. Invariants: no panic; a correct signature always verifies and
//! a flipped body byte never does; every recorded Build is for a matching, unpaused Binding, a
//! 40-hex commit and a `refs/heads/` ref, under the deterministic name.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mosaic_core::resources::{Binding, BindingSpec, build_name};
use mosaic_webhook::decide::{Decision, decide};
use mosaic_webhook::signature::{self, SignatureError, WebhookSecret};

const SECRET: &[u8] = b"fuzz-secret";

static BINDINGS: LazyLock<Vec<Binding>> = LazyLock::new(|| {
    let make = |name: &str, repo: &str, branch: &str, paused: bool| {
        let spec: BindingSpec = serde_json::from_value(serde_json::json!({
            "deployment": "web", "repo": repo, "branch": branch,
            "image": "registry.example/team/web", "paused": paused
        }))
        .expect("binding spec");
        let mut b = Binding::new(name, spec);
        b.metadata.namespace = Some("team".into());
        b.metadata.uid = Some(format!("uid-{name}"));
        b
    };
    vec![
        make("web", "Codertocat/Hello-World", "master", false),
        make("worker", "codertocat/hello-world", "main", false),
        make("paused", "Codertocat/Hello-World", "master", true),
        make("other", "acme/app", "main", false),
    ]
});

/// One delivery in a human-writable framing (so seeds can be real payloads): header lines
/// `Name: value`, an empty line, then the raw body. A signature header whose value is `SIGN`
/// is replaced by the body's correct signature.
struct Delivery<'a> {
    headers: http::HeaderMap,
    body: &'a [u8],
}

fn frame(data: &[u8]) -> Delivery<'_> {
    let split = data.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match split {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (&data[..0], data),
    };
    let mut headers = http::HeaderMap::new();
    for line in head.split(|&c| c == b'\n') {
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        let value = if value == b"SIGN" {
            signature::sign(SECRET, body).into_bytes()
        } else {
            value.to_vec()
        };
        // Invalid names or values are dropped, as hyper would refuse them.
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name),
            http::HeaderValue::from_bytes(&value),
        ) {
            headers.append(n, v);
        }
    }
    Delivery { headers, body }
}

fuzz_target!(|data: &[u8]| {
    let secrets = [WebhookSecret::new(SECRET).expect("non-empty secret")];
    let d = frame(data);
    let headers = d.headers;
    let signed = signature::sign(SECRET, d.body);

    // The correct signature verifies; the same signature over a different body never does.
    assert_eq!(
        signature::verify(&secrets, Some(signed.as_bytes()), d.body),
        Ok(())
    );
    let mut flipped = d.body.to_vec();
    if let Some(b) = flipped.first_mut() {
        *b ^= 0x01;
        assert_eq!(
            signature::verify(&secrets, Some(signed.as_bytes()), &flipped),
            Err(SignatureError::Mismatch)
        );
    }

    // The handler's steps, in order.
    let sig = headers
        .get(signature::SIGNATURE_HEADER)
        .map(|v| v.as_bytes());
    if signature::verify(&secrets, sig, d.body).is_err() {
        return;
    }
    let Some(event) = headers.get("x-github-event").and_then(|v| v.to_str().ok()) else {
        return;
    };
    let delivery = headers
        .get("x-github-delivery")
        .and_then(|v| v.to_str().ok());
    let now = chrono::DateTime::from_timestamp(1_767_225_600, 0).expect("fixed time");
    let Ok(decision) = decide(event, delivery, d.body, &BINDINGS, now) else {
        return;
    };
    // Any error above must render as one line without the secret.
    if let Err(e) = mosaic_webhook::push_event::PushEvent::parse(d.body) {
        let msg = e.to_string();
        assert!(!msg.contains("fuzz-secret"));
    }
    if let Decision::Record(builds) = decision {
        assert_eq!(event, "push");
        let push = mosaic_webhook::push_event::PushEvent::parse(d.body).expect("recorded ⇒ parsed");
        let branch = push
            .git_ref
            .strip_prefix("refs/heads/")
            .expect("recorded ⇒ a branch ref");
        assert!(!push.deleted);
        assert!(mosaic_core::reference::parse_commit(&push.after).is_ok());
        for b in &builds {
            let bname = &b.spec.binding;
            let binding = BINDINGS
                .iter()
                .find(|x| x.metadata.name.as_deref() == Some(bname.as_str()))
                .expect("a known Binding");
            assert!(!binding.spec.paused, "paused Binding {bname} got a Build");
            assert_eq!(binding.spec.branch, branch);
            assert!(
                binding
                    .spec
                    .repo
                    .eq_ignore_ascii_case(&push.repository.full_name)
            );
            assert_eq!(b.spec.commit, push.after);
            assert_eq!(
                b.metadata.name.as_deref(),
                Some(build_name(bname, &push.after).as_str())
            );
            assert_eq!(b.spec.trigger.delivery.as_deref(), delivery);
        }
    }
});
