//! What a commit status may say. GitHub shows it to whoever reads the repository, so unless
//! the webhook runs with `--report-details`, a failure is posted without the cluster's insides
//! (`mosaic_core::public_text`): the Binding's registry host becomes `<registry>`, this pod's
//! host name and any address or internal name `<host>`/`<address>`. The Build keeps the
//! whole message. A success names the image it deployed, as the Binding names it.

use mosaic_core::public_text::{HOST, public_text};

use crate::pipeline::ports::CommitState;

/// The word the Binding's registry host becomes.
const REGISTRY: &str = "<registry>";

/// How the statuses of one commit are worded.
pub struct Public {
    /// The hosts to replace, and their words; `None` with `--report-details`.
    hide: Option<Vec<(String, &'static str)>>,
}

impl Public {
    /// For a Build pushing to `registry_host`.
    pub fn new(details: bool, registry_host: &str) -> Self {
        let hide = (!details).then(|| {
            let mut hide = vec![(registry_host.to_string(), REGISTRY)];
            if let Ok(me) = std::env::var("HOSTNAME") {
                hide.push((me, HOST));
            }
            hide
        });
        Self { hide }
    }

    /// The description to post for `text` in `state`.
    pub fn text(&self, state: CommitState, text: String) -> String {
        match &self.hide {
            Some(hide) if state != CommitState::Success => {
                let known: Vec<(&str, &str)> = hide.iter().map(|(h, w)| (h.as_str(), *w)).collect();
                public_text(&text, &known)
            }
            _ => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_posted_without_hosts_unless_details_are_asked_for() {
        let raw = "push of r.internal.example:5000/acme/api failed: dial tcp 10.0.0.7:5000: connect: connection refused";
        let public = Public::new(false, "r.internal.example:5000");
        for state in [
            CommitState::Failure,
            CommitState::Error,
            CommitState::Pending,
        ] {
            assert_eq!(
                public.text(state, raw.into()),
                "push of <registry>/acme/api failed: dial tcp <address>: connect: connection refused"
            );
        }
        let deployed = "deployed r.internal.example:5000/acme/api@sha256:00";
        assert_eq!(public.text(CommitState::Success, deployed.into()), deployed);
        let details = Public::new(true, "r.internal.example:5000");
        assert_eq!(details.text(CommitState::Failure, raw.into()), raw);
    }
}
