//! One line from an error and its `source()` chain: adapters (octocrab, bollard, hyper) put the
//! cause ("operation timed out", "connection reset") in a source, not in their own message.

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

    #[test]
    fn sources_reach_the_line_once() {
        let timed_out = || std::io::Error::new(std::io::ErrorKind::TimedOut, "operation timed out");
        assert_eq!(
            chain(&Outer(timed_out())),
            "client error (SendRequest): operation timed out"
        );
        assert_eq!(
            chain(&Repeats(timed_out())),
            "Service Error: operation timed out"
        );
    }
}
