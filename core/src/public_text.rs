//! Text that leaves the cluster (a commit status on GitHub, which anyone who can read the
//! repository reads, and the whole world for a public one) without the cluster's insides: no
//! registry host, cluster host name, address or service DNS name. A failed push's message
//! (`dial tcp 10.96.4.2:5000: connect: connection refused`, `lookup registry.kube-system.svc
//! on 10.96.0.10:53: no such host`) says in words what went wrong; where is for the cluster's
//! users, who read the Build (`kubectl mosaic status`).
//!
//! What is replaced: the hosts a caller names (the Binding's registry, this pod's name), with
//! the word it gives; URLs' hosts; IPv4 and IPv6 addresses; names under the suffixes that only
//! resolve inside a network (`.svc`, `.cluster.local`, `.internal`, `.local`, …); `localhost`;
//! and any `name:port`.

use std::sync::LazyLock;

use regex::{Captures, Regex};

/// The word an address or an unnamed host becomes.
pub const ADDRESS: &str = "<address>";
pub const HOST: &str = "<host>";

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b([a-z][a-z0-9+.-]{0,15})://[^\s/\x22'<>]+").expect("valid regex")
});
static IPV6_BRACKETED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[[0-9A-Fa-f:.%a-zA-Z]*:[0-9A-Fa-f:.%a-zA-Z]*\](:\d+)?").expect("valid regex")
});
static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(^|[^0-9a-z:.])((?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?:%[0-9a-z]+)?)")
        .expect("valid regex")
});
static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(:\d{1,5})?\b").expect("valid regex")
});
static PRIVATE_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?)*\.(?:svc|cluster\.local|local|internal|localdomain|lan|corp|intranet|home\.arpa)\b(:\d{1,5})?",
    )
    .expect("valid regex")
});
static LOCALHOST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\blocalhost(:\d{1,5})?\b").expect("valid regex"));
static NAME_PORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b([a-z0-9][a-z0-9._-]*):(\d{2,5})\b").expect("valid regex"));

/// `text` with the hosts and addresses it names replaced: each of `known` (a host, and the word
/// it becomes) first, then everything the module comment lists.
pub fn public_text(text: &str, known: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    let mut known: Vec<&(&str, &str)> = known.iter().filter(|(h, _)| !h.is_empty()).collect();
    known.sort_by_key(|(h, _)| std::cmp::Reverse(h.len()));
    for (host, word) in known {
        out = replace_ignoring_case(&out, host, word);
    }
    let out = URL.replace_all(&out, |c: &Captures| format!("{}://{HOST}", &c[1]));
    let out = IPV6_BRACKETED.replace_all(&out, ADDRESS);
    let out = IPV6.replace_all(&out, |c: &Captures| {
        let addr = &c[2];
        // An address has `::` or at least five colons; a time (`12:30:45`) has neither.
        if addr.contains("::") || addr.matches(':').count() >= 5 {
            format!("{}{ADDRESS}", &c[1])
        } else {
            c[0].to_string()
        }
    });
    let out = IPV4.replace_all(&out, ADDRESS);
    let out = PRIVATE_NAME.replace_all(&out, HOST);
    let out = LOCALHOST.replace_all(&out, HOST);
    let out = NAME_PORT.replace_all(&out, |c: &Captures| {
        // A host has a letter; `sha256:…` is a digest, not a host.
        let name = &c[1];
        if name.bytes().any(|b| b.is_ascii_alphabetic()) && !name.eq_ignore_ascii_case("sha256") {
            HOST.to_string()
        } else {
            c[0].to_string()
        }
    });
    out.into_owned()
}

fn replace_ignoring_case(text: &str, needle: &str, word: &str) -> String {
    let pattern = format!("(?i){}", regex::escape(needle));
    match Regex::new(&pattern) {
        Ok(re) => re.replace_all(text, regex::NoExpand(word)).into_owned(),
        Err(_) => text.to_string(),
    }
}

#[cfg(test)]
mod tests;
