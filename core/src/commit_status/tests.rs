//! The reports' bound, their words, and what a failure's reason keeps.

use super::*;

fn at(secs: i64) -> Time {
    Time(k8s_openapi::jiff::Timestamp::from_second(secs).unwrap())
}

fn pending(i: i64) -> CommitReport {
    CommitReport::sent(
        "mosaic/apps/api",
        ReportState::Pending,
        &format!("step {i}"),
        at(i),
    )
}

#[test]
fn record_keeps_the_newest_in_sending_order() {
    let mut list = Vec::new();
    for i in 0..(MAX_REPORTS as i64 + 3) {
        record(&mut list, pending(i));
    }
    assert_eq!(list.len(), MAX_REPORTS);
    assert_eq!(list[0].description, "step 3");
    assert_eq!(list[MAX_REPORTS - 1].description, "step 12");
    let newest: Vec<_> = newest_first(&list)
        .map(|r| r.description.as_str())
        .collect();
    assert_eq!(newest[0], "step 12");
    assert_eq!(newest[MAX_REPORTS - 1], "step 3");
}

#[test]
fn serialized_as_the_crd_names_it() {
    let r = CommitReport::failed(
        "mosaic/apps/api",
        ReportState::Success,
        "deployed registry.example.com/api@sha256:ab",
        at(1_700_000_000),
        "GitHub answered 401 for the commit status of acme/api@0123: Bad credentials",
    );
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "context": "mosaic/apps/api",
            "state": "success",
            "description": "deployed registry.example.com/api@sha256:ab",
            "sentAt": "2023-11-14T22:13:20Z",
            "delivery": "Failed",
            "reason": "GitHub answered 401 for the commit status of acme/api@0123: Bad credentials",
        })
    );
    let back: CommitReport = serde_json::from_value(v).unwrap();
    assert_eq!(back, r);
    let sent = serde_json::to_value(pending(1)).unwrap();
    assert!(sent.get("reason").is_none(), "{sent}");
    assert_eq!(sent["state"], "pending");
    assert_eq!(sent["delivery"], "Sent");
}

#[test]
fn words_say_what_was_sent_and_what_failed() {
    assert_eq!(pending(1).words(), "pending \"step 1\" (sent)");
    let f = CommitReport::failed(
        "c",
        ReportState::Error,
        "superseded by 89ab",
        at(0),
        "GitHub did not answer the commit status report within 10s",
    );
    assert_eq!(
        f.words(),
        "error \"superseded by 89ab\" (not sent: GitHub did not answer the commit status report within 10s)"
    );
    // Quotes and escapes in a description stay quoted (the readers escape them again).
    let odd = CommitReport::sent("c", ReportState::Failure, "a \"b\"\x1b[31m", at(0));
    assert_eq!(odd.words(), "failure \"a \\\"b\\\"\\u{1b}[31m\" (sent)");
}

#[test]
fn reasons_are_one_short_line_without_credentials() {
    let r = short_reason("\n  first line\nsecond line with a body\n");
    assert_eq!(r, "first line");
    assert_eq!(short_reason(""), "unknown failure");
    let long = "x".repeat(500);
    let r = short_reason(&long);
    assert_eq!(r.chars().count(), MAX_REASON);
    assert!(r.ends_with('…'));
    let r = short_reason(
        "refused ghp_abcdefghijklmnopqrstuvwxyz0123456789 and \"github_pat_11AB_cd\" \
         Authorization: Bearer abcdefghijklmnopqrstuvwxyz at https://x-access:s3cret@api.example.com/repos",
    );
    for secret in ["ghp_", "github_pat_", "abcdefghijklmnop", "s3cret"] {
        assert!(!r.contains(secret), "{secret} in {r}");
    }
    assert_eq!(r.matches("<redacted>").count(), 4, "{r}");
    // A word after "token" that is no credential stays.
    assert_eq!(
        short_reason("invalid token for acme/api"),
        "invalid token for acme/api"
    );
}
