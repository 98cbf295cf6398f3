//! What the Binding page reads live on each load, beside the watch stores: the Binding's
//! Events (why a push did or did not deploy) and the Deployment's pods with their state.

use std::fmt::Write as _;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use mosaic_core::Binding;

use super::html::esc;
use crate::output;

/// The Binding's Events, newest first, as a section (or the API's refusal).
pub async fn events(client: &kube::Client, b: &Binding) -> String {
    let ns = b.namespace().unwrap_or_default();
    // Filtered here, not by a field selector: not every API server serves involvedObject.*.
    let name = b.name_any();
    let mut out = String::from("<h2>Events</h2>");
    let listed = Api::<Event>::namespaced(client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .map(|mut l| {
            l.items.retain(|e| {
                e.involved_object.kind.as_deref() == Some("Binding")
                    && e.involved_object.name.as_deref() == Some(name.as_str())
            });
            l
        });
    match listed {
        Err(e) => {
            let _ = write!(
                out,
                "<p class=\"error\">error: {}</p>",
                esc(&crate::error::Error::from(e).to_string())
            );
        }
        Ok(l) if l.items.is_empty() => out.push_str("<p>No Events.</p>"),
        Ok(l) => {
            let mut items = l.items;
            items.sort_by_key(|e| {
                std::cmp::Reverse(e.last_timestamp.as_ref().map(|t| t.0.as_second()))
            });
            out.push_str("<ul id=\"events\" class=\"events\">");
            for e in items.iter().take(20) {
                let _ = write!(
                    out,
                    "<li><strong>{}</strong> {}: {} <span class=\"sub\">({} ago)</span></li>",
                    esc(e.type_.as_deref().unwrap_or("")),
                    esc(e.reason.as_deref().unwrap_or("")),
                    esc(e.message.as_deref().unwrap_or("")),
                    esc(&output::age(e.last_timestamp.as_ref())),
                );
            }
            out.push_str("</ul>");
        }
    }
    out
}

/// The Deployment's pods (by its selector) and their phase and readiness.
pub async fn pods(client: &kube::Client, ns: &str, d: Option<&Deployment>) -> String {
    let mut out = String::from("<h2>Pods</h2>");
    let Some(labels) = d.and_then(|d| d.spec.selector.match_labels.clone()) else {
        out.push_str("<p>No Deployment selector to find pods by.</p>");
        return out;
    };
    let sel = labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    match Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels(&sel))
        .await
    {
        Err(e) => {
            let _ = write!(
                out,
                "<p class=\"error\">error: {}</p>",
                esc(&crate::error::Error::from(e).to_string())
            );
        }
        Ok(l) if l.items.is_empty() => out.push_str("<p>No pods.</p>"),
        Ok(l) => {
            out.push_str("<ul id=\"pods\">");
            for p in &l.items {
                let st = p.status.clone().unwrap_or_default();
                let ready = st
                    .container_statuses
                    .unwrap_or_default()
                    .iter()
                    .filter(|c| c.ready)
                    .count();
                let total = p.spec.as_ref().map_or(0, |s| s.containers.len());
                let _ = write!(
                    out,
                    "<li>{} {} ({ready}/{total} ready)</li>",
                    esc(&p.name_any()),
                    esc(st.phase.as_deref().unwrap_or("Unknown")),
                );
            }
            out.push_str("</ul>");
        }
    }
    out
}
