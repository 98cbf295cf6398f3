//! The sibling index against a full scan of the Builds, and what it keeps of each.
use super::*;
use kube::runtime::reflector::{Store, store, store::Writer};
use mosaic_core::names::ANNOTATION_PUSHED_AT;
use mosaic_core::resources::BuildPhase;

/// A Build of `binding` pushed `at` seconds into the day, in `phase` (Pending when `None`).
fn build(ns: &str, name: &str, binding: &str, at: u32, phase: Option<BuildPhase>) -> Build {
    let mut b: Build = serde_json::from_value(serde_json::json!({
        "apiVersion": "mosaic.nectar.dev/v1alpha1", "kind": "Build",
        "metadata": {"name": name, "namespace": ns,
            "labels": {LABEL_BINDING: binding},
            "annotations": {ANNOTATION_PUSHED_AT:
                format!("2026-12-03T{:02}:{:02}:{:02}Z", at / 3600 % 24, at / 60 % 60, at % 60)}},
        "spec": {"binding": binding, "commit": "a".repeat(40), "ref": "refs/heads/main",
            "trigger": {"type": "manual", "user": "t"}}
    }))
    .expect("a valid Build");
    if let Some(phase) = phase {
        b.status = Some(mosaic_core::resources::BuildStatus {
            phase,
            ..Default::default()
        });
    }
    b
}

/// An index, and beside it a store of the whole Builds from the same events: what the API
/// server has, to check the index's answers against.
struct Cache {
    cache: BuildCache,
    index: Arc<SiblingIndex>,
    whole: Store<Build>,
    writer: Writer<Build>,
}

impl Cache {
    fn new() -> Self {
        let (whole, writer) = store::<Build>();
        let cache = BuildCache::default();
        let index = cache.add();
        Cache {
            cache,
            index,
            whole,
            writer,
        }
    }

    fn event(&mut self, e: Event<Build>) {
        self.writer.apply_watcher_event(&e);
        self.index.apply(&e);
    }

    fn list(&mut self, builds: Vec<Build>) {
        self.event(Event::Init);
        for b in builds {
            self.event(Event::InitApply(b));
        }
        self.event(Event::InitDone);
    }

    fn newer(&self, b: &Build) -> Option<String> {
        self.cache
            .newer(b)
            .expect("the cache covers its own Build")
            .map(|n| n.build)
    }

    /// The siblings of `b` among the whole Builds, as a label-selected list returns them.
    fn siblings(&self, b: &Build) -> Vec<Build> {
        self.whole
            .state_filter(|s| {
                s.metadata.namespace == b.metadata.namespace
                    && labelled_as(s, &b.spec.binding)
                    && s.spec.binding == b.spec.binding
            })
            .into_iter()
            .map(|s| Build::clone(&s))
            .collect()
    }
}

#[test]
fn newer_is_the_newest_sibling_that_still_counts() {
    let mut c = Cache::new();
    let me = build("a", "web-1", "web", 10, None);
    c.list(vec![
        me.clone(),
        build("a", "web-2", "web", 20, Some(BuildPhase::Building)),
        build("a", "web-3", "web", 30, Some(BuildPhase::Superseded)),
        build("a", "web-4", "web", 40, Some(BuildPhase::Failed)),
        build("a", "api-9", "api", 90, None),
        build("b", "web-9", "web", 90, None),
    ]);
    assert_eq!(c.newer(&me).as_deref(), Some("web-2"));
    // The newest counts once it is Succeeded; a Build is never newer than itself.
    c.event(Event::Apply(build(
        "a",
        "web-4",
        "web",
        40,
        Some(BuildPhase::Succeeded),
    )));
    assert_eq!(c.newer(&me).as_deref(), Some("web-4"));
    assert_eq!(c.newer(&build("a", "web-4", "web", 40, None)), None);
    // Deleted, it is gone from the answer.
    c.event(Event::Delete(build("a", "web-4", "web", 40, None)));
    assert_eq!(c.newer(&me).as_deref(), Some("web-2"));
    // A Build labelled for another Binding is not a sibling, whatever its spec says.
    let mut mislabelled = build("a", "web-5", "web", 50, None);
    mislabelled
        .metadata
        .labels
        .as_mut()
        .unwrap()
        .insert(LABEL_BINDING.into(), "api".into());
    c.event(Event::Apply(mislabelled.clone()));
    assert_eq!(c.newer(&me).as_deref(), Some("web-2"));
    // It is still covered: the cache answers for it without the API server.
    assert_eq!(c.cache.newer(&mislabelled), Some(None));
}

#[test]
fn the_index_answers_what_the_whole_builds_answer() {
    // A deterministic mix of creates, updates (phase, push time, rollout announced or rolled
    // back), deletes and relists over two namespaces and two Bindings, with equal push times
    // (the name decides). Both questions, asked of the index's summaries, answer what they
    // answer asked of the whole Builds a list returns.
    let mut c = Cache::new();
    let mut seed: u64 = 0x5eed;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let phases = [
        None,
        Some(BuildPhase::Building),
        Some(BuildPhase::Superseded),
        Some(BuildPhase::Failed),
        Some(BuildPhase::Succeeded),
        Some(BuildPhase::Cancelled),
        Some(BuildPhase::RollingOut),
        Some(BuildPhase::Verifying),
    ];
    let mut all: HashMap<(String, String), Build> = HashMap::new();
    for step in 0..600 {
        let ns = ["a", "b"][next(2) as usize];
        let binding = ["web", "api"][next(2) as usize];
        let name = format!("{binding}-{}", next(40));
        let mut b = build(
            ns,
            &name,
            binding,
            next(30) as u32,
            phases[next(8) as usize],
        );
        b.spec.commit = format!("{:040x}", next(1 << 20));
        if let Some(s) = b.status.as_mut() {
            if next(2) == 0 {
                s.phase_times.rolling_out = Some(crate::cluster::claim::now_time());
            }
            s.rolled_back = next(3) == 0;
        }
        // The name fixes the Binding: an update keeps it, as on the API server.
        let key = (ns.to_owned(), name.clone());
        if let Some(old) = all.get(&key) {
            b.spec.binding = old.spec.binding.clone();
            b.metadata.labels = old.metadata.labels.clone();
        }
        match next(10) {
            0 => {
                if let Some(old) = all.remove(&key) {
                    c.event(Event::Delete(old));
                }
            }
            1 if step % 50 == 0 => {
                all.insert(key, b);
                c.list(all.values().cloned().collect());
            }
            _ => {
                all.insert(key, b.clone());
                c.event(Event::Apply(b));
            }
        }
        for b in all.values() {
            let siblings = c.siblings(b);
            assert_eq!(
                c.cache.newer(b).expect("covered"),
                crate::pipeline::latest::newer_build(b, &siblings).map(Newer::of),
                "step {step}, {:?}",
                b.metadata.name
            );
            assert_eq!(
                c.cache
                    .newer_where(b, Standing::reached_deployment)
                    .expect("covered"),
                crate::pipeline::latest::deployment_taken_by(b, &siblings).map(Newer::of),
                "step {step}, {:?}",
                b.metadata.name
            );
        }
    }
}

#[test]
fn a_relist_replaces_the_whole_index() {
    let mut c = Cache::new();
    c.list(
        (0..50)
            .map(|i| build("a", &format!("web-{i}"), "web", i, None))
            .collect(),
    );
    c.list(vec![build("a", "web-7", "web", 7, None)]);
    let live = c.index.live.read().unwrap();
    let space = &live.namespaces["a"];
    assert_eq!(space.filed.len(), 1);
    assert_eq!(
        space.by_binding.values().map(BTreeMap::len).sum::<usize>(),
        1
    );
}

#[test]
fn a_build_the_cache_has_not_seen_falls_back_to_the_api() {
    let mut c = Cache::new();
    c.list(vec![build("a", "web-1", "web", 1, None)]);
    assert!(
        c.cache
            .newer(&build("a", "web-2", "web", 2, None))
            .is_none()
    );
    assert!(
        BuildCache::default()
            .newer(&build("a", "web-1", "web", 1, None))
            .is_none()
    );
}

#[tokio::test]
async fn a_binding_s_history_comes_from_the_index_and_a_wait_ends_at_the_event_it_needs() {
    let mut c = Cache::new();
    let mut other = build("a", "web-3", "web", 3, None);
    other
        .metadata
        .labels
        .as_mut()
        .unwrap()
        .insert(LABEL_BINDING.into(), "api".into());
    let mut first = build("a", "web-1", "web", 1, Some(BuildPhase::Failed));
    first.metadata.creation_timestamp = Some(Time("2026-12-03T00:00:01Z".parse().unwrap()));
    c.list(vec![
        first.clone(),
        build("a", "web-2", "web", 2, None),
        other,
        build("b", "web-4", "web", 4, None),
        build("a", "api-5", "api", 5, None),
    ]);
    let mut history = c.cache.history_of("a", "web");
    history.sort_by(|x, y| x.name.cmp(&y.name));
    assert_eq!(
        history,
        [
            history::Entry::of(&first),
            history::Entry::of(&build("a", "web-2", "web", 2, None)),
        ],
        "only web's labelled Builds of namespace a, with their creation time and phase"
    );
    let ended = |cache: &BuildCache| cache.ended_or_gone("a", "web-2");
    let short = Duration::from_millis(50);
    assert!(!c.cache.until(ended, short).await, "not ended yet");
    assert!(c.cache.ended_or_gone("a", "web-1"), "ended");
    assert!(c.cache.ended_or_gone("a", "never-seen"), "gone");
    let cache = c.cache.clone();
    let waiting = tokio::spawn(async move { cache.until(ended, Duration::from_secs(30)).await });
    tokio::task::yield_now().await;
    c.event(Event::Apply(build(
        "a",
        "web-2",
        "web",
        2,
        Some(BuildPhase::Cancelled),
    )));
    assert!(waiting.await.unwrap(), "the wait sees the event");
}
