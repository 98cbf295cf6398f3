//! Why a Build ended as it did (`status.reason`), and why a Binding is not ready: one closed
//! list, so the webhook that writes a reason and the plugin and tests that read one name the
//! same thing. On the wire each is its CamelCase name, as before the list existed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! reasons {
    ($($(#[doc = $doc:literal])* $name:ident,)*) => {
        /// A Build's `status.reason` (and the Binding's `Ready` condition reason).
        #[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum BuildReason {
            $($(#[doc = $doc])* $name,)*
        }

        impl BuildReason {
            /// Every reason, in declaration order.
            pub const ALL: &'static [BuildReason] = &[$(BuildReason::$name,)*];

            /// The name written into `status.reason`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(BuildReason::$name => stringify!($name),)*
                }
            }
        }
    };
}

reasons! {
    // Ended well, or was decided without deploying.
    /// The image was built, pushed and rolled out, and the new pods stayed healthy.
    Deployed,
    /// A newer push of the same Binding wins.
    Superseded,
    /// The commit is not on the Binding's branch (any more).
    NotOnBranch,
    /// The Binding is paused.
    Paused,
    /// The Deployment already runs this commit.
    AlreadyDeployed,
    // The Binding and what it names.
    /// The Binding's spec cannot be acted on (repository, image, container).
    InvalidBinding,
    /// The Binding was deleted.
    BindingNotFound,
    /// The Binding's branch no longer exists in the repository (Binding condition).
    BranchNotFound,
    /// A Secret the Binding names (or a default one) cannot be read.
    SecretUnreadable,
    /// A Secret lacks the key Mosaic reads.
    SecretKeyMissing,
    /// The registry Secret gives no usable credentials for the image's registry.
    RegistryCredentials,
    /// The Deployment the Binding names does not exist.
    DeploymentNotFound,
    /// The image repository is rolled by something else.
    ImageManagedElsewhere,
    // GitHub.
    /// GitHub does not know the commit.
    CommitNotFound,
    /// GitHub refused to compare the commit with the branch.
    CompareRefused,
    /// GitHub's rate limit was reached.
    GitHubRateLimited,
    /// GitHub refused the token.
    GitHubForbidden,
    /// GitHub did not answer.
    GitHubUnavailable,
    /// The source tarball could not be fetched, or its download broke off.
    SourceUnavailable,
    // Build and push.
    /// The Docker engine did not answer.
    EngineUnavailable,
    /// The build took longer than allowed.
    BuildTimeout,
    /// The image did not build.
    BuildFailed,
    /// The registry did not take the image.
    PushFailed,
    /// The registry does not serve the pushed digest.
    DigestNotServed,
    /// A rollback names no earlier Succeeded Build of its Binding with that very image.
    RollbackRefused,
    // Rollout.
    /// The Kubernetes API server stayed unreachable.
    ClusterUnreachable,
    /// The Deployment could not be changed.
    RolloutApplyFailed,
    /// The new pods crash.
    RolloutCrashed,
    /// The new pods cannot start their containers (image pull, configuration).
    RolloutCannotStart,
    /// A new pod failed.
    RolloutPodFailed,
    /// The new pods do not become ready.
    RolloutNotReady,
    /// The new pods cannot be scheduled.
    RolloutUnschedulable,
    /// The ReplicaSet cannot create pods.
    RolloutReplicaFailure,
    /// The Deployment's progress deadline passed.
    ProgressDeadlineExceeded,
    /// The rollout did not finish in time.
    RolloutTimeout,
}

impl fmt::Display for BuildReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reason name that is not on the list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Build reason {0:?}")]
pub struct UnknownReason(pub String);

impl FromStr for BuildReason {
    type Err = UnknownReason;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownReason(s.to_string()))
    }
}

impl From<BuildReason> for String {
    fn from(r: BuildReason) -> String {
        r.as_str().to_string()
    }
}

impl PartialEq<str> for BuildReason {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for BuildReason {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_writes_the_same_names_as_display_and_reads_them_back() {
        for r in BuildReason::ALL {
            let json = serde_json::to_value(r).unwrap();
            assert_eq!(json, serde_json::json!(r.as_str()));
            assert_eq!(serde_json::from_value::<BuildReason>(json).unwrap(), *r);
            assert_eq!(r.to_string().parse::<BuildReason>(), Ok(*r));
        }
    }

    #[test]
    fn names_are_the_ones_builds_carry() {
        assert_eq!(BuildReason::Deployed, "Deployed");
        assert_eq!(BuildReason::GitHubRateLimited.as_str(), "GitHubRateLimited");
        assert_eq!(
            BuildReason::ProgressDeadlineExceeded.to_string(),
            "ProgressDeadlineExceeded"
        );
        assert_eq!(
            "RolloutFailed".parse::<BuildReason>(),
            Err(UnknownReason("RolloutFailed".into()))
        );
    }

    #[test]
    fn names_are_unique_camel_case() {
        let mut seen = std::collections::BTreeSet::new();
        for r in BuildReason::ALL {
            let s = r.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(s.starts_with(|c: char| c.is_ascii_uppercase()), "{s}");
            assert!(s.chars().all(|c| c.is_ascii_alphanumeric()), "{s}");
        }
    }
}
