//! What the drills that push one app's commits one at a time around a fault (`kill`,
//! `takeover`, `kube`) share: their setup (one app with 192 KiB of padding per commit, the
//! registry throttled, a stand-in Deployment controller that completes rollouts after 3 s, and
//! a Recorder of what the API server saw), and the one check of how each push ended: its Build
//! Succeeded, entered a terminal phase once and never changed after, and the Deployment moved
//! exactly one generation, to the Build's image.

use std::time::Duration;

use mosaic_core::resources::{Build, BuildPhase, BuildStatus};
use mosaic_tests::fault_proxy::Mode;

use crate::Report;
use crate::record::{Recorder, Seen, verdict};
use crate::world::{World, controller, world};

/// The world of one such drill. The stand-in controller runs as long as the drill.
pub struct Rounds {
    pub w: World,
    pub rec: Recorder,
    _controller: tokio::task::JoinHandle<()>,
}

/// Set up the world, the registry reached at `registry_bytes_per_sec`.
pub async fn rounds(registry_bytes_per_sec: u64) -> Rounds {
    let w = world(1, 192 * 1024).await;
    w.proxy.set_mode(Mode::Throttle(registry_bytes_per_sec));
    let _controller = controller(&w, Duration::from_secs(3));
    let rec = Recorder::start(w.builds(), w.deployments());
    Rounds {
        w,
        rec,
        _controller,
    }
}

/// How one push ended.
pub struct Ended {
    pub name: String,
    pub status: BuildStatus,
    /// What the Recorder saw of the Build.
    pub history: Vec<Seen>,
    /// The Deployment's generation now, and how far it moved since the push.
    pub generation: i64,
    pub moved: i64,
    /// The Deployment's image now.
    pub image: String,
}

impl Rounds {
    /// What became of `build` (terminal) and of the Deployment, which was at `generation`
    /// before the push; the Recorder is given up to `settle_secs` to have seen the end.
    pub async fn ended(&self, build: &Build, generation: i64, settle_secs: u64) -> Ended {
        let name = build.metadata.name.clone().unwrap_or_default();
        let history = self.rec.settle(&name, settle_secs).await;
        let now = self.w.generation(0).await;
        Ended {
            status: build.status.clone().unwrap_or_default(),
            history,
            generation: now,
            moved: now - generation,
            image: self.w.image(0).await,
            name,
        }
    }
}

impl Ended {
    /// The checks every push must pass; what fails is lost, under `label`.
    pub fn check(&self, label: &str, report: &mut Report) {
        let (name, st) = (&self.name, &self.status);
        if st.phase != BuildPhase::Succeeded {
            report.lost(format!(
                "{label}: {name} ended {} ({:?}): {:?}",
                st.phase, st.reason, st.message
            ));
        }
        let v = verdict(&self.history);
        if v.terminal_entries != 1 || v.changed_after_terminal {
            report.lost(format!(
                "{label}: {name} terminal entries {}, changed after {}",
                v.terminal_entries, v.changed_after_terminal
            ));
        }
        if self.moved != 1 || Some(&self.image) != st.image.as_ref() {
            report.lost(format!(
                "{label}: Deployment moved {} generations, image {}, Build image {:?}",
                self.moved, self.image, st.image
            ));
        }
    }
}
