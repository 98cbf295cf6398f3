//! One line from an error and its `source()` chain, for every message Mosaic shows or records:
//! clients (kube, reqwest, octocrab, bollard, hyper) put the cause ("operation timed out",
//! "connection refused") in a source, not in their own message.

use std::error::Error;

/// `e`'s message followed by each source's, joined by ": ", skipping a source whose text the
/// line already holds (many errors repeat their source in their own message).
pub fn chain(e: &dyn Error) -> String {
    let mut line = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let text = s.to_string();
        if !text.is_empty() && !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        next = s.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("client error (SendRequest)")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("Service Error: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("error sending request")]
    struct Two(#[source] Outer);

    #[derive(Debug, thiserror::Error)]
    #[error("")]
    struct Empty;

    #[derive(Debug, thiserror::Error)]
    #[error("wrapped")]
    struct WrapsEmpty(#[source] Empty);

    fn timed_out() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, "operation timed out")
    }

    #[test]
    fn sources_reach_the_line_once() {
        assert_eq!(
            chain(&Outer(timed_out())),
            "client error (SendRequest): operation timed out"
        );
        assert_eq!(
            chain(&Repeats(timed_out())),
            "Service Error: operation timed out"
        );
        assert_eq!(
            chain(&Two(Outer(timed_out()))),
            "error sending request: client error (SendRequest): operation timed out"
        );
    }

    #[test]
    fn empty_sources_add_nothing() {
        assert_eq!(chain(&WrapsEmpty(Empty)), "wrapped");
        assert_eq!(chain(&timed_out()), "operation timed out");
    }
}
