//! Test double: an in-memory Kubernetes API server behind `kube::Client` (a tower service),
//! serving only what the pipeline calls: get/list of namespaced objects (with label selectors),
//! resourceVersion-guarded status replaces, and server-side apply of a Deployment's image and
//! annotations (honouring a resourceVersion in the body). It plays the Deployment controller
//! too: every apply completes at once. Every request is logged, and a hook may change the state
//! before a request is served (or take the whole server away: `State::down`).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

/// Called with the state, method, path and body before each request is served.
pub type Hook = Box<dyn FnMut(&mut State, &Method, &str, &Value) + Send>;

/// Objects by path (`/apis/…/namespaces/ns/builds/name`), and what was asked.
#[derive(Default)]
pub struct State {
    pub objects: BTreeMap<String, Value>,
    pub log: Vec<(Method, String)>,
    /// While set, every request is answered 503 (an API server that is away).
    pub down: bool,
    next_rv: u64,
}

impl State {
    /// Store `obj` at `collection/name`, giving it a fresh resourceVersion.
    pub fn put(&mut self, collection: &str, obj: Value) {
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let path = format!("{collection}/{name}");
        self.store(path, obj);
    }

    fn store(&mut self, path: String, mut obj: Value) -> Value {
        self.next_rv += 1;
        obj["metadata"]["resourceVersion"] = self.next_rv.to_string().into();
        self.objects.insert(path, obj.clone());
        obj
    }

    /// Requests made with `method` to paths containing `part`.
    pub fn count(&self, method: &Method, part: &str) -> usize {
        self.log
            .iter()
            .filter(|(m, p)| m == method && p.contains(part))
            .count()
    }
}

/// A fake cluster; clone it to look at the state from a test.
#[derive(Clone, Default)]
pub struct FakeKube {
    pub state: Arc<Mutex<State>>,
    hook: Arc<Mutex<Option<Hook>>>,
}

fn reply(code: u16, body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_default()
}

fn status(code: u16, reason: &str, message: &str) -> Response<Full<Bytes>> {
    reply(
        code,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
            "reason": reason, "message": message, "code": code}),
    )
}

fn selected(obj: &Value, selector: Option<&str>) -> bool {
    let Some(sel) = selector else { return true };
    sel.split(',')
        .filter_map(|kv| kv.split_once('='))
        .all(|(k, v)| obj["metadata"]["labels"][k].as_str() == Some(v))
}

impl FakeKube {
    pub fn client(&self) -> kube::Client {
        let me = self.clone();
        let svc = tower::service_fn(move |req: Request<kube::client::Body>| {
            let me = me.clone();
            async move { Ok::<_, Infallible>(me.serve(req).await) }
        });
        kube::Client::new(svc, "default")
    }

    pub fn on_request(&self, hook: Hook) {
        *self.hook.lock().unwrap() = Some(hook);
    }

    async fn serve(&self, req: Request<kube::client::Body>) -> Response<Full<Bytes>> {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let query = req.uri().query().unwrap_or_default().to_string();
        let bytes = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let mut st = self.state.lock().unwrap();
        // A dry run changes nothing: it is neither counted among the writes nor shown to hooks.
        let dry_run = query.split('&').any(|kv| kv == "dryRun=All");
        if !dry_run {
            st.log.push((method.clone(), path.clone()));
            if let Some(h) = self.hook.lock().unwrap().as_mut() {
                h(&mut st, &method, &path, &body);
            }
        }
        if st.down {
            return status(503, "ServiceUnavailable", "the API server is away");
        }
        let selector = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("labelSelector="))
            .map(|s| {
                s.replace("%3D", "=")
                    .replace("%2F", "/")
                    .replace("%2C", ",")
            });
        match method {
            Method::GET => match st.objects.get(&path) {
                Some(o) => reply(200, o),
                None => {
                    let prefix = format!("{path}/");
                    let items: Vec<Value> = st
                        .objects
                        .iter()
                        .filter(|(p, _)| p.starts_with(&prefix) && !p[prefix.len()..].contains('/'))
                        .map(|(_, o)| o.clone())
                        .filter(|o| selected(o, selector.as_deref()))
                        .collect();
                    if items.is_empty() && path.rsplit('/').next().is_some_and(is_name) {
                        return status(404, "NotFound", &format!("{path} not found"));
                    }
                    reply(
                        200,
                        &json!({"metadata": {"resourceVersion": "1"}, "items": items}),
                    )
                }
            },
            Method::PUT => {
                let Some(obj_path) = path.strip_suffix("/status").map(str::to_string) else {
                    return status(405, "MethodNotAllowed", "only status is replaced");
                };
                let Some(cur) = st.objects.get(&obj_path) else {
                    return status(404, "NotFound", &obj_path);
                };
                if cur["metadata"]["resourceVersion"] != body["metadata"]["resourceVersion"] {
                    return status(409, "Conflict", "the object has been modified");
                }
                let mut next = cur.clone();
                next["status"] = body["status"].clone();
                let stored = st.store(obj_path, next);
                reply(200, &stored)
            }
            Method::PATCH => {
                let Some(cur) = st.objects.get(&path).cloned() else {
                    return status(404, "NotFound", &path);
                };
                if dry_run {
                    return reply(200, &cur);
                }
                let rv = &body["metadata"]["resourceVersion"];
                if !rv.is_null() && *rv != cur["metadata"]["resourceVersion"] {
                    return status(409, "Conflict", "the object has been modified");
                }
                let stored = apply_deployment(&mut st, path, cur, &body);
                reply(200, &stored)
            }
            Method::POST => {
                let name = body["metadata"]["name"].as_str().unwrap_or_default();
                let obj_path = format!("{path}/{name}");
                if st.objects.contains_key(&obj_path) {
                    return status(409, "AlreadyExists", &obj_path);
                }
                let stored = st.store(obj_path, body);
                reply(201, &stored)
            }
            _ => status(405, "MethodNotAllowed", method.as_str()),
        }
    }
}

/// Collections are plural resource names; object names in these tests contain a digit or dash.
fn is_name(segment: &str) -> bool {
    !matches!(
        segment,
        "builds" | "bindings" | "deployments" | "secrets" | "replicasets" | "pods" | "events"
    )
}

/// Merge an apply of container images and template annotations, and complete the rollout.
fn apply_deployment(st: &mut State, path: String, mut dep: Value, patch: &Value) -> Value {
    let template = &patch["spec"]["template"];
    if let Some(ann) = template["metadata"]["annotations"].as_object() {
        for (k, v) in ann {
            dep["spec"]["template"]["metadata"]["annotations"][k] = v.clone();
        }
    }
    for c in template["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let containers = dep["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .expect("containers");
        if let Some(mine) = containers.iter_mut().find(|m| m["name"] == c["name"]) {
            mine["image"] = c["image"].clone();
        }
    }
    let generation = dep["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
    dep["metadata"]["generation"] = generation.into();
    dep["status"] = json!({"observedGeneration": generation, "replicas": 1,
        "updatedReplicas": 1, "availableReplicas": 1});
    st.store(path, dep)
}
