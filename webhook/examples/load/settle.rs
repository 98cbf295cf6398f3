//! After the load: wait until every Build ended, and judge what the Deployments did. Builds
//! and Deployments are recorded from watches: every Build ever seen, in its last state (the
//! builders delete old finished Builds beyond the history limits, so a list at the end would
//! miss them), and each Deployment's images as its generation moves. Each image maps to the
//! Build that pushed it, and so to its commit's place on the chain. Forward only: those places
//! only grow, and the last one is the branch head.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use mosaic_core::resources::{Build, BuildPhase};
use serde_json::{Value, json};

/// Every (generation, image) one Deployment had, in order.
type History = Vec<(i64, String)>;

/// Deployment → its history.
#[derive(Clone, Default)]
pub struct Rollouts(Arc<Mutex<BTreeMap<String, History>>>);

/// Every Build ever seen, by name, in its last state.
#[derive(Clone, Default)]
pub struct Builds(Arc<Mutex<HashMap<String, Build>>>);

impl Builds {
    /// Watch `api`'s Builds until the task is aborted.
    pub fn watch(&self, api: Api<Build>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut s = watcher(api, watcher::Config::default())
                .backoff(mosaic_webhook::WatchBackoff::default())
                .applied_objects()
                .boxed();
            while let Some(ev) = s.next().await {
                let Ok(b) = ev else { continue };
                let name = b.metadata.name.clone().unwrap_or_default();
                me.0.lock().expect("builds lock").insert(name, b);
            }
        })
    }

    pub fn all(&self) -> Vec<Build> {
        self.0
            .lock()
            .expect("builds lock")
            .values()
            .cloned()
            .collect()
    }
}

impl Rollouts {
    /// Watch `api`'s Deployments until the task is aborted.
    pub fn watch(&self, api: Api<Deployment>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut s = watcher(api, watcher::Config::default())
                .backoff(mosaic_webhook::WatchBackoff::default())
                .applied_objects()
                .boxed();
            while let Some(ev) = s.next().await {
                let Ok(d) = ev else { continue };
                let image = mosaic_tests::demo::first_image(&d);
                let generation = d.metadata.generation.unwrap_or(0);
                let name = d.metadata.name.clone().unwrap_or_default();
                let mut m = me.0.lock().expect("rollouts lock");
                let h = m.entry(name).or_default();
                if h.last().map(|(g, _)| *g) != Some(generation) {
                    h.push((generation, image));
                }
            }
        })
    }

    pub fn of(&self, name: &str) -> Vec<(i64, String)> {
        self.0
            .lock()
            .expect("rollouts lock")
            .get(name)
            .cloned()
            .unwrap_or_default()
    }
}

fn phase(b: &Build) -> BuildPhase {
    b.status.as_ref().map(|s| s.phase).unwrap_or_default()
}

/// Wait (up to `limit`) until at least `want` Builds were seen and, when `to_end` (a worker
/// runs), every one of them is terminal; returns them and how long it took, or `None` at the
/// limit. An intake-only replica (`--concurrency 0`) ends no Build: then only their creation
/// is awaited.
pub async fn settle(
    seen: &Builds,
    want: usize,
    to_end: bool,
    limit: Duration,
) -> (Option<Vec<Build>>, Duration) {
    let t0 = Instant::now();
    let mut last_report = Instant::now();
    loop {
        let builds = seen.all();
        let open = if to_end {
            builds.iter().filter(|b| !phase(b).is_terminal()).count()
        } else {
            0
        };
        if open == 0 && builds.len() >= want {
            return (Some(builds), t0.elapsed());
        }
        if t0.elapsed() > limit {
            eprintln!("load: {open} Builds still open after {limit:?}");
            return (None, t0.elapsed());
        }
        if last_report.elapsed() > Duration::from_secs(30) {
            eprintln!(
                "load: settling: {open} of {} Builds open after {:.0} s",
                builds.len(),
                t0.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Terminal phases by count.
pub fn phases(builds: &[Build]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for b in builds {
        *m.entry(phase(b).to_string()).or_default() += 1;
    }
    m
}

/// Judge one Deployment: `history` its (generation, image)s from `since` on, `builds` every
/// Build, `place` each commit's place on the chain, `head` the branch head. Returns the JSON
/// verdict and whether it holds (forward only, the head's Build deployed).
pub fn judge(
    binding: &str,
    history: &[(i64, String)],
    builds: &[Build],
    place: &HashMap<String, usize>,
    head: &str,
) -> (Value, bool) {
    let by_image: HashMap<&str, &Build> = builds
        .iter()
        .filter(|b| b.spec.binding == binding)
        .filter_map(|b| Some((b.status.as_ref()?.image.as_deref()?, b)))
        .collect();
    // The first entry is the Deployment as created (before Mosaic).
    let rolled: Vec<&str> = history.iter().skip(1).map(|(_, i)| i.as_str()).collect();
    let places: Vec<Option<usize>> = rolled
        .iter()
        .map(|img| {
            by_image
                .get(img)
                .and_then(|b| place.get(&b.spec.commit).copied())
        })
        .collect();
    let unknown = places.iter().filter(|p| p.is_none()).count();
    let places: Vec<usize> = places.into_iter().flatten().collect();
    let backwards = places.windows(2).filter(|w| w[0] >= w[1]).count();
    let head_build = builds
        .iter()
        .filter(|b| b.spec.binding == binding && b.spec.commit == head)
        .find(|b| phase(b) == BuildPhase::Succeeded);
    let head_image = head_build.and_then(|b| b.status.as_ref()?.image.clone());
    let final_is_head = head_image.is_some() && rolled.last().copied() == head_image.as_deref();
    let ok = unknown == 0 && backwards == 0 && final_is_head;
    let v = json!({
        "rollouts": rolled.len(), "images_of_no_build": unknown, "backward_moves": backwards,
        "chain_places": places, "final_is_head_build": final_is_head,
        "head_build": head_build.and_then(|b| b.metadata.name.clone()),
    });
    (v, ok)
}
