//! What the API server saw during a drill, from watches (which resume after the API server
//! restarts): every distinct (phase, claimer) of every Build, and every generation and image
//! of every Deployment. The checks read these histories.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use kube::runtime::{WatchStreamExt, watcher};
use mosaic_core::resources::{Build, BuildPhase};
use mosaic_tests::demo::first_image;

/// One observed state of a Build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub phase: BuildPhase,
    pub claimed_by: Option<String>,
}

#[derive(Default)]
struct State {
    builds: BTreeMap<String, Vec<Seen>>,
    /// Deployment → (generation, image) each time the generation moved.
    deployments: BTreeMap<String, Vec<(i64, String)>>,
}

/// The recorder. Dropping it stops the watches.
pub struct Recorder {
    state: Arc<Mutex<State>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Recorder {
    /// Start watching Builds and Deployments through these APIs.
    pub fn start(builds: kube::Api<Build>, deployments: kube::Api<Deployment>) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let tasks = Self::watch(state.clone(), builds, deployments);
        Self { state, tasks }
    }

    /// Start the watches again (keeping what was seen): after a long API outage the drill's
    /// own watches can stay in back-off well after the API server answers again.
    pub fn resume(&mut self, builds: kube::Api<Build>, deployments: kube::Api<Deployment>) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        self.tasks = Self::watch(self.state.clone(), builds, deployments);
    }

    fn watch(
        state: Arc<Mutex<State>>,
        builds: kube::Api<Build>,
        deployments: kube::Api<Deployment>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let st = state.clone();
        let b = tokio::spawn(async move {
            let mut s = watcher(builds, watcher::Config::default())
                .backoff(mosaic_webhook::WatchBackoff::default())
                .applied_objects()
                .boxed();
            while let Some(ev) = s.next().await {
                let b = match ev {
                    Ok(b) => b,
                    Err(e) => {
                        eprintln!("recorder: Build watch: {e}");
                        continue;
                    }
                };
                let seen = Seen {
                    phase: b.status.as_ref().map(|s| s.phase).unwrap_or_default(),
                    claimed_by: b.status.as_ref().and_then(|s| s.claimed_by.clone()),
                };
                let name = b.metadata.name.clone().unwrap_or_default();
                let mut st = st.lock().expect("recorder lock");
                let h = st.builds.entry(name).or_default();
                if h.last() != Some(&seen) {
                    h.push(seen);
                }
            }
        });
        let st = state.clone();
        let d = tokio::spawn(async move {
            let mut s = watcher(deployments, watcher::Config::default())
                .backoff(mosaic_webhook::WatchBackoff::default())
                .applied_objects()
                .boxed();
            while let Some(ev) = s.next().await {
                let Ok(d) = ev else { continue };
                let generation = d.metadata.generation.unwrap_or(0);
                let name = d.metadata.name.clone().unwrap_or_default();
                let mut st = st.lock().expect("recorder lock");
                let h = st.deployments.entry(name).or_default();
                if h.last().map(|(g, _)| *g) != Some(generation) {
                    h.push((generation, first_image(&d)));
                }
            }
        });
        vec![b, d]
    }

    /// Every observed state of Build `name`.
    pub fn history(&self, name: &str) -> Vec<Seen> {
        self.state
            .lock()
            .expect("recorder lock")
            .builds
            .get(name)
            .cloned()
            .unwrap_or_default()
    }

    /// Wait (up to `secs`) until the watch has seen Build `name` terminal: after an API server
    /// restart the watch resumes a little after the Build can be read again.
    pub async fn settle(&self, name: &str, secs: u64) -> Vec<Seen> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let h = self.history(name);
            if h.last().is_some_and(|s| s.phase.is_terminal())
                || std::time::Instant::now() > deadline
            {
                return h;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Every generation (with its image) seen of Deployment `name`.
    pub fn rollouts(&self, name: &str) -> Vec<(i64, String)> {
        self.state
            .lock()
            .expect("recorder lock")
            .deployments
            .get(name)
            .cloned()
            .unwrap_or_default()
    }
}

/// What a Build's history says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Times it went from a running phase to a terminal one.
    pub terminal_entries: usize,
    /// A phase change after the first terminal phase (must never happen).
    pub changed_after_terminal: bool,
    /// Times it entered Building (a claim).
    pub claims: usize,
    /// Distinct workers that claimed it.
    pub claimers: BTreeSet<String>,
    pub last: Option<BuildPhase>,
}

pub fn verdict(h: &[Seen]) -> Verdict {
    let mut v = Verdict::default();
    let mut terminal: Option<BuildPhase> = None;
    let mut prev: Option<BuildPhase> = None;
    for s in h {
        if let Some(t) = terminal
            && s.phase != t
        {
            v.changed_after_terminal = true;
        }
        if s.phase.is_terminal() && !prev.is_some_and(BuildPhase::is_terminal) {
            v.terminal_entries += 1;
            terminal.get_or_insert(s.phase);
        }
        if s.phase == BuildPhase::Building && prev != Some(BuildPhase::Building) {
            v.claims += 1;
        }
        if let Some(c) = &s.claimed_by {
            v.claimers.insert(c.clone());
        }
        prev = Some(s.phase);
    }
    v.last = prev;
    v
}

/// Phases in order, compressed: `Pending Building Pushing Building ... Succeeded`.
pub fn phases(h: &[Seen]) -> String {
    let mut out: Vec<String> = Vec::new();
    for s in h {
        let p = s.phase.as_str().to_string();
        if out.last() != Some(&p) {
            out.push(p);
        }
    }
    out.join(" ")
}
