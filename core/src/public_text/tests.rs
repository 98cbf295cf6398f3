//! Unit tests of public_text, with messages shaped as dockerd, Go's resolver and the webhook
//! write them.

use super::*;

const REGISTRY: (&str, &str) = ("registry.acme.example:5000", "<registry>");

#[test]
fn failed_pushes_lose_their_hosts_and_addresses() {
    for (raw, want) in [
        (
            "push of registry.acme.example:5000/acme/api:abc failed: Get \"https://registry.acme.example:5000/v2/\": dial tcp 10.96.4.2:5000: connect: connection refused",
            "push of <registry>/acme/api:abc failed: Get \"https://<registry>/v2/\": dial tcp <address>: connect: connection refused",
        ),
        (
            "Get \"https://registry.kube-system.svc:5000/v2/\": dial tcp: lookup registry.kube-system.svc on 10.96.0.10:53: no such host",
            "Get \"https://<host>/v2/\": dial tcp: lookup <host> on <address>: no such host",
        ),
        (
            "dial tcp [fd00:10:96::a]:443: i/o timeout; lookup mirror.internal on fe80::1%eth0",
            "dial tcp <address>: i/o timeout; lookup <host> on <address>",
        ),
        (
            "reading the API server at kubernetes.default.svc.cluster.local:443 and localhost:8080",
            "reading the API server at <host> and <host>",
        ),
        (
            "unknown blob at registry:5000 (HTTP 500)",
            "unknown blob at <host> (HTTP 500)",
        ),
    ] {
        assert_eq!(public_text(raw, &[REGISTRY]), want, "{raw}");
    }
}

#[test]
fn words_digests_times_and_files_stay() {
    for text in [
        "crash loop: container app exits with code 1 about 1 s after start (restarted 6 times)",
        "not deployed: superseded by 0123456789ab",
        "build failed: COPY failed: file not found in build context: hello.txt",
        "deployed sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "step 2/3 at 12:30:45 took 1.5s, version 1.2.3",
        "verifying: the new pods must stay healthy for 1s",
    ] {
        assert_eq!(public_text(text, &[REGISTRY]), text);
    }
}

#[test]
fn known_hosts_match_in_any_case_longest_first() {
    let known = [("web-7d9c", "<host>"), ("web-7d9c-x2", "<pod>")];
    assert_eq!(
        public_text("pod WEB-7d9c-x2 of web-7d9c", &known),
        "pod <pod> of <host>"
    );
}
