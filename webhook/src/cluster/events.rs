//! The shape every Kubernetes Event of the webhook has, and its one way of writing them: an
//! Event about one object (its namespace is the Event's), under a deterministic name, so
//! writing it again (a redelivery, a retried phase change) is a harmless 409; reported by the
//! one component the webhook uses for all its Events (`mosaic-webhook`), counted once, first and
//! last seen now. What each Event says is its writer's: `build_events` (a Build's phases),
//! `worker::binding_events` and `intake::notices` (why a push did not deploy, on the Binding).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::Resource;
use kube::api::{Api, PostParams};
use mosaic_core::names;

/// What an Event is about: an object of kind `K` (`Binding`, `Build`).
pub fn about<K: Resource<DynamicType = ()>>(
    name: &str,
    namespace: &str,
    uid: Option<String>,
) -> ObjectReference {
    ObjectReference {
        api_version: Some(K::api_version(&()).into_owned()),
        kind: Some(K::kind(&()).into_owned()),
        name: Some(name.to_string()),
        namespace: Some(namespace.to_string()),
        uid,
        ..Default::default()
    }
}

/// The Event `name` about `involved`, saying `reason` and `message` at `now`; `Warning` when
/// `warning`, else `Normal`.
pub fn event(
    involved: ObjectReference,
    name: String,
    labels: BTreeMap<String, String>,
    (reason, message): (&str, String),
    warning: bool,
    now: Time,
) -> Event {
    Event {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: involved.namespace.clone(),
            labels: Some(labels),
            ..Default::default()
        },
        involved_object: involved,
        reason: Some(reason.to_string()),
        message: Some(message),
        type_: Some(if warning { "Warning" } else { "Normal" }.into()),
        source: Some(EventSource {
            component: Some(names::WEBHOOK_NAME.to_string()),
            host: None,
        }),
        reporting_component: Some(names::WEBHOOK_NAME.to_string()),
        first_timestamp: Some(now.clone()),
        last_timestamp: Some(now),
        count: Some(1),
        ..Default::default()
    }
}

/// Write `ev` in its namespace; one already there (409) is fine. The caller logs an error.
pub async fn create(client: kube::Client, ev: &Event) -> Result<(), kube::Error> {
    let ns = ev.metadata.namespace.as_deref().unwrap_or_default();
    match Api::<Event>::namespaced(client, ns)
        .create(&PostParams::default(), ev)
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}
