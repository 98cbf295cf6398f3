//! The one way a Build comes to exist: for a commit of a Binding, whatever started it (a push,
//! the resync, `kubectl mosaic deploy`). Its name, labels and owner are decided here, so a
//! webhook Build and a manual one differ only in their trigger.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Resource;

use crate::names;
use crate::resources::{BuildTrigger, TriggerKind, build_name};
use crate::{Binding, Build, BuildSpec};

/// A commit and the ref it was pushed to or chosen from (`refs/heads/main`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitRef<'a> {
    pub sha: &'a str,
    pub git_ref: &'a str,
}

/// Base-36 text of a number (short, DNS-safe suffixes of the name of a Build made again for a commit or a rollback).
pub fn base36(mut n: u64) -> String {
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = vec![];
    loop {
        out.push(digits[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

impl Build {
    /// The Build of `commit` for `binding`: named [`build_name`] (so a redelivery maps to the
    /// same Build), in the Binding's namespace, labelled with its Binding, commit and the
    /// component that records it, and owned by the Binding (deleted with it). `None` when the
    /// Binding lacks a name or namespace (it was not read from the API server).
    pub fn for_commit(
        binding: &Binding,
        commit: CommitRef<'_>,
        trigger: BuildTrigger,
    ) -> Option<Build> {
        let bname = binding.metadata.name.clone()?;
        let ns = binding.metadata.namespace.clone()?;
        let recorded_by = match trigger.kind {
            TriggerKind::Push | TriggerKind::Resync => names::WEBHOOK_NAME,
            TriggerKind::Manual | TriggerKind::Rollback => names::FIELD_MANAGER_PLUGIN,
        };
        let mut build = Build::new(
            &build_name(&bname, commit.sha),
            BuildSpec {
                binding: bname.clone(),
                commit: commit.sha.to_string(),
                git_ref: commit.git_ref.to_string(),
                trigger,
            },
        );
        let meta = &mut build.metadata;
        meta.namespace = Some(ns);
        meta.labels = Some(
            [
                (names::LABEL_BINDING.to_string(), bname.clone()),
                (names::LABEL_COMMIT.to_string(), commit.sha.to_string()),
                (names::LABEL_MANAGED_BY.to_string(), recorded_by.to_string()),
            ]
            .into(),
        );
        if let Some(uid) = &binding.metadata.uid {
            meta.owner_references = Some(vec![OwnerReference {
                api_version: Binding::api_version(&()).into_owned(),
                kind: Binding::kind(&()).into_owned(),
                name: bname,
                uid: uid.clone(),
                controller: Some(true),
                block_owner_deletion: None,
            }]);
        }
        Some(build)
    }

    /// Stamp when the push was received (RFC 3339): latest-wins orders a Binding's Builds by it.
    pub fn pushed_at(mut self, at: &str) -> Self {
        self.metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(names::ANNOTATION_PUSHED_AT.to_string(), at.to_string());
        self
    }
}

impl BuildTrigger {
    /// A push GitHub delivered (`delivery` id, `pusher` login, the commit the branch held `before`).
    pub fn push(delivery: Option<String>, pusher: Option<String>, before: Option<String>) -> Self {
        Self {
            kind: TriggerKind::Push,
            delivery,
            pusher,
            user: None,
            before,
            build: None,
            image: None,
        }
    }

    /// A branch head the resync found without a Build (`before`: the last deployed commit).
    pub fn resync(before: Option<String>) -> Self {
        Self {
            kind: TriggerKind::Resync,
            delivery: None,
            pusher: None,
            user: None,
            before,
            build: None,
            image: None,
        }
    }

    /// A Build `user` asked for (`kubectl mosaic deploy`).
    pub fn manual(user: Option<String>) -> Self {
        Self {
            kind: TriggerKind::Manual,
            delivery: None,
            pusher: None,
            user,
            before: None,
            build: None,
            image: None,
        }
    }

    /// `user` asked to apply Build `build`'s image (`repo@sha256:…`) again
    /// (`kubectl mosaic rollback`).
    pub fn rollback(user: Option<String>, build: String, image: String) -> Self {
        Self {
            kind: TriggerKind::Rollback,
            delivery: None,
            pusher: None,
            user,
            before: None,
            build: Some(build),
            image: Some(image),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base36_is_short() {
        assert_eq!(super::base36(0), "0");
        assert_eq!(super::base36(35), "z");
        assert_eq!(super::base36(36), "10");
        assert!(super::base36(4_000_000_000).len() <= 7);
    }

    use super::*;

    const SHA: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";

    /// A Binding as the API server returns it: name, namespace and uid set.
    fn binding() -> Binding {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Binding",
            "metadata": {"name": "web", "namespace": "team", "uid": "uid-web",
                         "resourceVersion": "7", "creationTimestamp": "2026-01-02T03:04:05Z"},
            "spec": {"deployment": "web", "repo": "acme/web", "image": "r.example.com/web"}}))
        .unwrap()
    }

    fn commit() -> CommitRef<'static> {
        CommitRef {
            sha: SHA,
            git_ref: "refs/heads/main",
        }
    }

    #[test]
    fn every_trigger_gets_name_labels_and_owner() {
        for (trigger, recorded_by) in [
            (
                BuildTrigger::push(Some("d-1".into()), Some("octo".into()), None),
                "mosaic-webhook",
            ),
            (BuildTrigger::resync(Some("0".repeat(40))), "mosaic-webhook"),
            (BuildTrigger::manual(Some("alice".into())), "kubectl-mosaic"),
        ] {
            let kind = trigger.kind;
            let b = Build::for_commit(&binding(), commit(), trigger).unwrap();
            assert_eq!(b.metadata.name.as_deref(), Some("web-6113728f27ae"));
            assert_eq!(b.metadata.namespace.as_deref(), Some("team"));
            let labels = b.metadata.labels.as_ref().unwrap();
            assert_eq!(labels[names::LABEL_BINDING], "web");
            assert_eq!(labels[names::LABEL_COMMIT], SHA);
            assert_eq!(labels[names::LABEL_MANAGED_BY], recorded_by, "{kind:?}");
            let owner = &b.metadata.owner_references.as_ref().unwrap()[0];
            assert_eq!(
                (owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()),
                ("Binding", "web", "uid-web"),
                "{kind:?}"
            );
            assert_eq!(owner.api_version, "mosaic.nectar.dev/v1alpha1");
            assert_eq!(owner.controller, Some(true));
            assert_eq!(b.spec.binding, "web");
            assert_eq!(b.spec.commit, SHA);
            assert_eq!(b.spec.git_ref, "refs/heads/main");
            assert_eq!(b.spec.trigger.kind, kind);
            assert!(b.metadata.annotations.is_none());
        }
    }

    #[test]
    fn pushed_at_is_stamped() {
        let b = Build::for_commit(&binding(), commit(), BuildTrigger::push(None, None, None))
            .unwrap()
            .pushed_at("2026-01-02T03:04:05.123456789Z");
        assert_eq!(
            b.metadata.annotations.unwrap()[names::ANNOTATION_PUSHED_AT],
            "2026-01-02T03:04:05.123456789Z"
        );
    }

    #[test]
    fn a_binding_not_from_the_api_server_gets_none() {
        let mut b = binding();
        b.metadata.namespace = None;
        assert!(Build::for_commit(&b, commit(), BuildTrigger::manual(None)).is_none());
        let mut b = binding();
        b.metadata.uid = None;
        let build = Build::for_commit(&b, commit(), BuildTrigger::manual(None)).unwrap();
        assert!(build.metadata.owner_references.is_none());
    }
}
